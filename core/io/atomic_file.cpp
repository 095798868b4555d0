#include "io/atomic_file.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace obsprop::io {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const fs::path& path, const std::string& what, int err) {
    throw std::runtime_error(path.string() + ": " + what + ": " + std::strerror(err));
}

// fsync of a folder makes a rename in it durable; some file systems refuse it (EINVAL), which is harmless.
void sync_folder(const fs::path& dir) {
    const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

void refuse_folder(const fs::path& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec))
        throw std::runtime_error(path.string() + ": is a folder, not a file (choose a file name)");
}

} // namespace

fs::path temporary_for(const fs::path& path) {
    return fs::path(path.string() + ".tmp");
}

void write_file_checked(const fs::path& path, std::string_view bytes) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail(path, "cannot write", errno);
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd);
            fail(path, "writing failed", err);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) { // EINVAL: a device or pipe cannot be synced
        const int err = errno;
        ::close(fd);
        fail(path, "flushing to disk failed", err);
    }
    if (::close(fd) != 0) fail(path, "closing failed", errno);
}

void commit_file(const fs::path& tmp, const fs::path& path) {
    std::error_code ec;
    auto drop = [&] { fs::remove(tmp, ec); };
    try {
        refuse_folder(path);
    } catch (...) {
        drop();
        throw;
    }
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        drop();
        fail(tmp, "cannot open the finished temporary file", err);
    }
    const bool synced = ::fsync(fd) == 0 || errno == EINVAL;
    const int sync_err = errno;
    ::close(fd);
    if (!synced) {
        drop();
        fail(tmp, "flushing to disk failed", sync_err);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        drop();
        fail(path, "could not replace the file", err);
    }
    sync_folder(path.parent_path());
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
    refuse_folder(path);
    const fs::path tmp = temporary_for(path);
    std::error_code ec;
    fs::remove(tmp, ec); // a stale temporary of an interrupted save (or a symlink planted there)
    try {
        write_file_checked(tmp, bytes);
    } catch (...) {
        fs::remove(tmp, ec);
        throw;
    }
    commit_file(tmp, path);
}

} // namespace obsprop::io
