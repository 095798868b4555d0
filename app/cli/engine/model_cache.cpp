#include "model_cache.h"

#include <algorithm>
#include <chrono>
#include <system_error>

namespace obsprop::cli {

std::vector<ModelCache::FileStamp> ModelCache::stamp(const std::filesystem::path& dir) {
    std::vector<FileStamp> files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        std::error_code ec;
        if (!e.is_regular_file(ec)) continue; // follows symbolic links, as the loader does
        FileStamp f;
        f.name = e.path().filename().string();
        f.size = e.file_size();
        f.mtime_ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(e.last_write_time().time_since_epoch())
                .count();
        files.push_back(std::move(f));
    }
    std::sort(files.begin(), files.end(),
              [](const FileStamp& a, const FileStamp& b) { return a.name < b.name; });
    return files;
}

analyses::LoadedModel ModelCache::get(const std::filesystem::path& dir) {
    std::filesystem::path canonical;
    std::vector<FileStamp> files;
    try {
        canonical = std::filesystem::canonical(dir);
        files = stamp(canonical);
    } catch (const std::filesystem::filesystem_error&) {
        return analyses::read_model_folder(dir); // not a readable folder: the loader says what is wrong
    }
    const auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
        return e.canonical == canonical && e.spelling == dir;
    });
    if (it != entries_.end()) {
        if (it->files == files) {
            entries_.splice(entries_.begin(), entries_, it);
            return entries_.front().model;
        }
        entries_.erase(it); // changed on disk since it was read
    }
    Entry e{canonical, dir, std::move(files), analyses::read_model_folder(dir)};
    entries_.push_front(std::move(e));
    while (entries_.size() > capacity_)
        entries_.pop_back();
    return entries_.front().model;
}

} // namespace obsprop::cli
