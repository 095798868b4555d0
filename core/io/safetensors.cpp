// Validated, memory-mapped safetensors reader. See safetensors.h for the file layout.
//
// The whole file is mapped PROT_READ|PROT_WRITE with MAP_PRIVATE: pages are copy-on-write, so a stray
// write through a TensorView can neither fault nor reach the file on disk. Nothing in the header is
// trusted: every length, offset and size product is checked (with overflow guards) before any pointer
// into the mapping is formed. Tensor data need not be aligned; readers copy with memcpy.
#include "io/safetensors.h"

#include "io/input_guard.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace obsprop::io {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr std::uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000; // real headers are a few hundred KB
constexpr std::uint64_t kMaxIndexBytes = 100ull * 1000 * 1000;
constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

struct DTypeInfo {
    DType type;
    const char* name;
    std::size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::F64, "F64", 8}, {DType::F32, "F32", 4},   {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8}, {DType::I32, "I32", 4},   {DType::I16, "I16", 2}, {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},   {DType::BOOL, "BOOL", 1},
};

const DTypeInfo& info(DType t) {
    for (const auto& d : kDTypes)
        if (d.type == t) return d;
    throw std::invalid_argument("obsprop::io: invalid DType value");
}

[[noreturn]] void fail(const fs::path& file, const std::string& problem) {
    throw FormatError(file.string() + ": " + problem);
}

[[noreturn]] void fail(const fs::path& file, const std::string& tensor, const std::string& problem) {
    throw FormatError(file.string() + ": tensor '" + tensor + "': " + problem);
}

std::string shape_str(const std::vector<std::int64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

// A JSON integer >= 0 (floats such as 3.0 are rejected; so are negatives).
bool as_uint(const json& j, std::uint64_t& out) {
    if (j.is_number_unsigned()) {
        out = j.get<std::uint64_t>();
        return true;
    }
    if (j.is_number_integer() && j.get<std::int64_t>() >= 0) {
        out = static_cast<std::uint64_t>(j.get<std::int64_t>());
        return true;
    }
    return false;
}

std::string errno_text() {
    return std::strerror(errno);
}

} // namespace

// ---------------------------------------------------------------------------------------------- dtypes

std::size_t dtype_size(DType t) {
    return info(t).size;
}

const char* dtype_name(DType t) {
    return info(t).name;
}

bool parse_dtype(const std::string& s, DType& out) {
    for (const auto& d : kDTypes) {
        if (s == d.name) {
            out = d.type;
            return true;
        }
    }
    return false;
}

std::int64_t TensorView::numel() const {
    std::int64_t n = 1;
    for (auto d : shape)
        n *= d; // validated on open: cannot overflow
    return n;
}

// ------------------------------------------------------------------------------------ SafetensorsFile

SafetensorsFile::~SafetensorsFile() {
    if (map_) ::munmap(map_, size_);
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const fs::path& path) {
    // Owned from the start so that the destructor unmaps if validation throws.
    std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
    f->path_ = path;

    // O_NONBLOCK: a FIFO planted under a weights name must fail the regular-file check, not hang.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) fail(path, "cannot open: " + errno_text());
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const std::string err = errno_text();
        ::close(fd);
        fail(path, "cannot stat: " + err);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        fail(path, "not a regular file");
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size == 0) {
        ::close(fd);
        fail(path, "file is empty (no 8-byte header length)");
    }
    if (size < 8) {
        ::close(fd);
        fail(path, "file is only " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
    }
    void* m = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    const std::string map_err = m == MAP_FAILED ? errno_text() : std::string();
    ::close(fd); // the mapping keeps the file alive
    if (m == MAP_FAILED) fail(path, "cannot mmap: " + map_err);
    f->map_ = m;
    f->size_ = size;

    const auto* bytes = static_cast<const unsigned char*>(m);
    std::uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i)
        header_len = (header_len << 8) | bytes[i];
    if (header_len > kMaxHeaderBytes) {
        fail(path, "header length " + std::to_string(header_len) + " is absurd (more than 100 MB)");
    }
    if (header_len > size - 8) {
        fail(path, "header length " + std::to_string(header_len) + " runs past the end of the file (only " +
                       std::to_string(size - 8) + " bytes follow)");
    }

    const char* htext = reinterpret_cast<const char*>(bytes + 8);
    const std::uint64_t data_size = size - 8 - header_len;
    const std::byte* data = reinterpret_cast<const std::byte*>(bytes) + 8 + header_len;

    struct Span {
        std::uint64_t begin, end;
        const std::string* name;
    };
    std::vector<Span> spans;

    // Each entry of the header object is checked and turned into a TensorView as soon as it is parsed,
    // so memory holds the views, not a JSON tree of the whole header.
    const auto add_entry = [&](const std::string& name, json&& entry) {
        if (name == "__metadata__") {
            if (!entry.is_object()) fail(path, "'__metadata__' is not an object of strings");
            for (const auto& [k, v] : entry.items()) {
                if (!v.is_string()) {
                    fail(path,
                         "'__metadata__' value of '" + k + "' is not a string (it is " + json_kind(v) + ")");
                }
                f->metadata_[k] = v.get<std::string>();
            }
            return;
        }
        if (!entry.is_object()) fail(path, name, "entry is not a JSON object");

        TensorView t;
        t.name = name;
        t.file = path;

        const auto dt = entry.find("dtype");
        if (dt == entry.end()) fail(path, name, "missing 'dtype'");
        if (!dt->is_string()) fail(path, name, "'dtype' is not a string");
        if (!parse_dtype(dt->get<std::string>(), t.dtype)) {
            fail(path, name, "unknown dtype '" + dt->get<std::string>() + "'");
        }

        const auto sh = entry.find("shape");
        if (sh == entry.end() || !sh->is_array()) fail(path, name, "missing 'shape' array");
        std::uint64_t numel = 1;
        bool overflow = false;
        for (std::size_t i = 0; i < sh->size(); ++i) {
            std::uint64_t d = 0;
            if (!as_uint((*sh)[i], d)) {
                fail(path, name, "shape[" + std::to_string(i) + "] is not a non-negative integer");
            }
            if (d > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                overflow = true;
                d = 0;
            }
            t.shape.push_back(static_cast<std::int64_t>(d));
            if (__builtin_mul_overflow(numel, d, &numel)) overflow = true;
        }
        std::uint64_t nbytes = 0;
        if (overflow || numel > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
            __builtin_mul_overflow(numel, static_cast<std::uint64_t>(dtype_size(t.dtype)), &nbytes)) {
            fail(path, name, "shape " + json_preview(*sh) + " is too large (element count overflows)");
        }

        const auto off = entry.find("data_offsets");
        std::uint64_t begin = 0, end = 0;
        if (off == entry.end() || !off->is_array() || off->size() != 2 || !as_uint((*off)[0], begin) ||
            !as_uint((*off)[1], end)) {
            fail(path, name, "'data_offsets' must be [begin, end] with non-negative integers");
        }
        if (begin > end) {
            fail(path, name,
                 "data_offsets begin " + std::to_string(begin) + " is after end " + std::to_string(end));
        }
        if (end > data_size) {
            fail(path, name,
                 "data_offsets end " + std::to_string(end) + " is past the end of the data buffer (" +
                     std::to_string(data_size) + " bytes)");
        }
        if (end - begin != nbytes) {
            fail(path, name,
                 std::string(dtype_name(t.dtype)) + " of shape " + shape_str(t.shape) + " needs " +
                     std::to_string(nbytes) + " bytes but data_offsets span " + std::to_string(end - begin));
        }
        t.data = data + begin;
        t.nbytes = static_cast<std::size_t>(nbytes);
        auto [it, inserted] = f->tensors_.emplace(name, std::move(t));
        spans.push_back({begin, end, &it->first});
    };
    // Linear in the header, nesting limited; the first repeated key stops it (nlohmann would keep the last).
    const ParsedJson parsed = parse_json_members(std::string_view(htext, header_len), add_entry);
    if (!parsed.error.empty()) fail(path, "header is not valid JSON: " + parsed.error);
    const json& header = parsed.value;
    if (!header.is_object())
        fail(path, std::string("header is not a JSON object (it is ") + json_kind(header) + ")");
    if (!parsed.duplicate_key.empty()) {
        if (parsed.duplicate_depth == 1)
            fail(path, parsed.duplicate_key, "appears more than once in the header");
        fail(path, "header has a duplicate key '" + parsed.duplicate_key + "'");
    }

    // Overlap check: sort by start, compare each non-empty span with the furthest end seen so far.
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
        return a.begin != b.begin ? a.begin < b.begin : *a.name < *b.name;
    });
    const Span* furthest = nullptr;
    for (const auto& s : spans) {
        if (s.begin == s.end) continue; // an empty tensor occupies no bytes
        if (furthest && s.begin < furthest->end) {
            fail(path, *s.name,
                 "bytes [" + std::to_string(s.begin) + ", " + std::to_string(s.end) + ") overlap tensor '" +
                     *furthest->name + "' at [" + std::to_string(furthest->begin) + ", " +
                     std::to_string(furthest->end) + ")");
        }
        if (!furthest || s.end > furthest->end) furthest = &s;
    }
    return f;
}

std::vector<std::string> SafetensorsFile::names() const {
    std::vector<std::string> out;
    out.reserve(tensors_.size());
    for (const auto& kv : tensors_)
        out.push_back(kv.first);
    return out;
}

const TensorView& SafetensorsFile::get(const std::string& name) const {
    const auto it = tensors_.find(name);
    if (it == tensors_.end()) fail(path_, name, "not in this file");
    return it->second;
}

void SafetensorsFile::release(const TensorView& t) const {
    release(t.data, t.nbytes);
}

bool SafetensorsFile::release(const void* data, std::size_t nbytes) const {
    if (!map_ || !data || nbytes == 0) return false;
    const auto base = reinterpret_cast<std::uintptr_t>(map_);
    const auto first = reinterpret_cast<std::uintptr_t>(data);
    if (first < base || first + nbytes > base + size_) return false; // not in this file's mapping
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    // Only pages lying wholly inside the range: neighbours may still be in use.
    const std::uintptr_t lo = (first + page - 1) / page * page;
    const std::uintptr_t hi = (first + nbytes) / page * page;
    if (lo < hi) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
    return true;
}

// ----------------------------------------------------------------------------------------- Checkpoint

Checkpoint Checkpoint::open(const fs::path& dir) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) fail(dir, "checkpoint directory does not exist");
    if (!fs::is_directory(dir, ec)) fail(dir, "not a directory");

    Checkpoint c;
    c.dir_ = dir;
    const fs::path single = dir / kSingleFile;
    const fs::path index = dir / kIndexFile;

    if (fs::exists(single, ec)) {
        c.files_.push_back(SafetensorsFile::open(single));
        for (const auto& n : c.files_[0]->names())
            c.where_[n] = 0;
        return c;
    }
    if (!fs::exists(index, ec)) fail(dir, "neither model.safetensors nor model.safetensors.index.json found");

    std::string text;
    try {
        text = read_regular_file(index, kMaxIndexBytes);
    } catch (const ReadError& e) {
        if (e.kind() == ReadError::Kind::TooLarge) fail(index, std::string("index ") + e.what());
        fail(index, e.what());
    }
    const ParsedJson parsed = parse_json_limited(text);
    if (!parsed.error.empty()) fail(index, "not valid JSON: " + parsed.error);
    const json& root = parsed.value;
    if (!root.is_object()) fail(index, "not a JSON object");
    const auto wm = root.find("weight_map");
    if (wm == root.end() || !wm->is_object()) fail(index, "missing 'weight_map' object");
    if (!parsed.duplicate_key.empty() && parsed.duplicate_depth == 2) {
        fail(index, parsed.duplicate_key, "listed more than once in weight_map (in two shards?)");
    }
    if (wm->empty()) fail(index, "weight_map lists no tensors");

    // Shards in name order so that files() is deterministic.
    std::map<std::string, std::vector<std::string>> by_shard;
    for (const auto& [tensor, shard] : wm->items()) {
        if (!shard.is_string()) fail(index, tensor, "shard name is not a string");
        const auto& s = shard.get_ref<const std::string&>();
        const fs::path sp(s);
        if (s.empty() || s == "." || s == ".." || sp.has_parent_path() || sp.is_absolute()) {
            fail(index, tensor, "shard '" + s + "' is not a file name inside the checkpoint directory");
        }
        by_shard[s].push_back(tensor);
    }
    std::map<std::string, std::string> shard_of; // tensor -> shard file, as found in the files
    for (const auto& [shard, listed] : by_shard) {
        const fs::path sp = dir / shard;
        if (!fs::exists(sp, ec)) fail(index, listed.front(), "shard file '" + shard + "' does not exist");
        auto file = SafetensorsFile::open(sp);
        for (const auto& t : listed) {
            if (!file->contains(t))
                fail(sp, t, "listed in " + std::string(kIndexFile) + " but absent from this shard");
        }
        const std::size_t idx = c.files_.size();
        for (const auto& t : file->names()) {
            const auto [it, inserted] = shard_of.emplace(t, shard);
            if (!inserted) {
                fail(dir, t, "present in two shards, '" + it->second + "' and '" + shard + "'");
            }
            c.where_[t] = idx;
        }
        c.files_.push_back(std::move(file));
    }
    return c;
}

std::vector<std::string> Checkpoint::names() const {
    std::vector<std::string> out;
    out.reserve(where_.size());
    for (const auto& kv : where_)
        out.push_back(kv.first);
    return out;
}

const TensorView& Checkpoint::get(const std::string& name) const {
    return file_of(name).get(name);
}

const SafetensorsFile& Checkpoint::file_of(const std::string& name) const {
    const auto it = where_.find(name);
    if (it == where_.end()) fail(dir_, name, "not in this checkpoint");
    return *files_[it->second];
}

std::uint64_t Checkpoint::total_bytes() const {
    std::uint64_t n = 0;
    for (const auto& f : files_)
        n += f->file_size();
    return n;
}

void Checkpoint::release(const void* data, std::size_t nbytes) const {
    for (const auto& f : files_)
        if (f->release(data, nbytes)) return;
}

} // namespace obsprop::io
