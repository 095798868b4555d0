// Writing files so that a crash, a kill or a full disk never leaves a torn or silently short file.
#pragma once

#include <filesystem>
#include <string_view>

namespace obsprop::io {

// Writes all of `bytes` to `path` (created or truncated), flushes them to disk (fsync) and closes the file,
// checking every step. Throws std::runtime_error naming the path and the system's reason (e.g. "No space left
// on device"). Not atomic by itself: see write_file_atomic.
void write_file_checked(const std::filesystem::path& path, std::string_view bytes);

// Replaces `path` with `bytes` so that a reader sees the old file or the whole new one, never a mix: the
// bytes go to `<path>.tmp` in the same folder (a stale one from an interrupted run is replaced), are flushed
// to disk, and the temporary is renamed over `path`; then the folder itself is synced. A failure removes the
// temporary. Throws std::runtime_error naming the path and the reason (a folder where the file should be, a
// missing or read-only folder, a full disk).
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// Moves a finished temporary file (written by someone else, e.g. a figure renderer) over `path` the same way:
// fsync, rename, folder sync. Throws std::runtime_error; removes `tmp` on failure.
void commit_file(const std::filesystem::path& tmp, const std::filesystem::path& path);

// The temporary name write_file_atomic uses for `path`.
std::filesystem::path temporary_for(const std::filesystem::path& path);

} // namespace obsprop::io
