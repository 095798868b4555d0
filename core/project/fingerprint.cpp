// Model fingerprints (project.h): what a project records to notice that its model folder has changed.
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "io/input_guard.h"
#include "io/safetensors.h"
#include "project/project.h"

namespace obsprop::project {

namespace fs = std::filesystem;

namespace {

class Hasher {
  public:
    Hasher() : st_(XXH3_createState()) { XXH3_64bits_reset(st_); }
    ~Hasher() { XXH3_freeState(st_); }
    Hasher(const Hasher&) = delete;
    Hasher& operator=(const Hasher&) = delete;
    void feed(const void* p, std::size_t n) { XXH3_64bits_update(st_, p, n); }
    void feed(const std::string& s) {
        const std::uint64_t n = s.size(); // length-prefixed, so concatenations cannot collide
        feed(&n, sizeof n);
        feed(s.data(), s.size());
    }
    std::string digest(const char* prefix) const {
        char buf[48];
        std::snprintf(buf, sizeof buf, "%s%016llx", prefix,
                      static_cast<unsigned long long>(XXH3_64bits_digest(st_)));
        return buf;
    }

  private:
    XXH3_state_t* st_;
};

// A whole regular file (a FIFO or a device planted under the name is refused, never waited on).
std::string read_all(const fs::path& p, std::uint64_t max_bytes) {
    try {
        return io::read_regular_file(p, max_bytes);
    } catch (const io::ReadError& e) {
        if (e.kind() == io::ReadError::Kind::NotFound || e.kind() == io::ReadError::Kind::CannotOpen)
            throw ProjectError(p.string() + ": cannot open");
        throw ProjectError(p.string() + ": " + e.what());
    }
}

// The first format: config.json, each weights file's name and size and its first MiB.
std::string fingerprint_v1(const fs::path& dir) {
    XXH3_state_t* st = XXH3_createState();
    XXH3_64bits_reset(st);
    auto feed = [&](const std::string& s) { XXH3_64bits_update(st, s.data(), s.size()); };
    try {
        feed(read_all(dir / "config.json", io::kMaxConfigBytes));
    } catch (...) {
        XXH3_freeState(st);
        throw;
    }
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().extension() == ".safetensors") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::string head;
        try {
            head = io::read_regular_file_prefix(f, 1 << 20);
        } catch (const io::ReadError& e) {
            if (e.kind() == io::ReadError::Kind::NotRegular) {
                XXH3_freeState(st);
                throw ProjectError(f.string() + ": " + e.what());
            }
            // Unreadable: hashed as empty, as this format always did.
        }
        feed(f.filename().string() + ":" + std::to_string(fs::file_size(f, ec)));
        feed(head);
    }
    const auto h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    char buf[32];
    std::snprintf(buf, sizeof buf, "xxh3:%016llx", static_cast<unsigned long long>(h));
    return buf;
}

} // namespace

std::string fingerprint_model(const fs::path& dir) {
    Hasher h;
    h.feed(std::string("obsprop model fingerprint 2"));
    h.feed(read_all(dir / "config.json", io::kMaxConfigBytes));
    for (const char* name : {"tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json",
                             "special_tokens_map.json", "tokenizer.model"}) {
        std::error_code ec;
        if (!fs::is_regular_file(dir / name, ec)) continue;
        h.feed(std::string(name));
        h.feed(read_all(dir / name, io::kMaxTokenizerBytes));
    }
    try {
        const auto ckpt = io::Checkpoint::open(dir);
        constexpr std::size_t kSamples = 64, kChunk = 64;
        for (const auto& name : ckpt.names()) {
            const io::TensorView& t = ckpt.get(name);
            std::string meta = name + "|" + io::dtype_name(t.dtype) + "|";
            for (auto s : t.shape)
                meta += std::to_string(s) + ",";
            h.feed(meta);
            // Samples spread evenly from the first byte to the last: any change of a whole tensor (a rescaled
            // or swapped layer) shows, while a 16 GB model costs a few megabytes of reads.
            if (t.nbytes <= kSamples * kChunk) {
                h.feed(t.data, t.nbytes);
                continue;
            }
            for (std::size_t i = 0; i < kSamples; ++i) {
                const std::size_t at = (t.nbytes - kChunk) / (kSamples - 1) * i;
                h.feed(t.data + at, kChunk);
            }
        }
    } catch (const io::FormatError& e) {
        throw ProjectError(std::string("cannot fingerprint the model: ") + e.what());
    }
    return h.digest("xxh3v2:");
}

bool fingerprint_matches(const std::string& saved, const fs::path& dir) {
    if (saved.empty()) return true;
    if (saved.rfind("xxh3:", 0) == 0) return saved == fingerprint_v1(dir);
    return saved == fingerprint_model(dir);
}

} // namespace obsprop::project
