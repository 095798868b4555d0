// The model folders `obsprop batch` keeps loaded between requests: a request that opens a model folder (its
// own --model, or its --project's model) gets the weights and tokenizer an earlier request loaded, as long
// as the folder's files are unchanged (the same names, sizes and modification times); otherwise the folder
// is read again. At most `capacity` folders are kept, the least recently used is dropped first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <list>
#include <string>
#include <vector>

#include "analyses/model_folder.h"

namespace obsprop::cli {

class ModelCache {
  public:
    explicit ModelCache(std::size_t capacity) : capacity_(capacity) {}
    // The folder's model: kept, or read (analyses::read_model_folder, whose errors propagate).
    analyses::LoadedModel get(const std::filesystem::path& dir);

  private:
    struct FileStamp {
        std::string name;
        std::uintmax_t size = 0;
        std::int64_t mtime_ns = 0;
        bool operator==(const FileStamp&) const = default;
    };
    struct Entry {
        // The folder is identified by its canonical path; the spelling it was opened with is kept too,
        // because results name the folder as the user wrote it (an export's manifest, Copy as Command).
        std::filesystem::path canonical, spelling;
        std::vector<FileStamp> files;
        analyses::LoadedModel model;
    };
    static std::vector<FileStamp> stamp(const std::filesystem::path& dir);

    std::size_t capacity_;
    std::list<Entry> entries_; // the most recently used first
};

} // namespace obsprop::cli
