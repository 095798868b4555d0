// Memory-mapped, validated reader for Hugging Face safetensors checkpoints.
//
// Byte layout of one .safetensors file:
//   [0, 8)          N: little-endian uint64, length of the JSON header
//   [8, 8+N)        JSON header, UTF-8: { "<tensor name>": {"dtype": "F32", "shape": [..],
//                   "data_offsets": [begin, end]}, ..., optional "__metadata__": {str: str} }
//   [8+N, size)     the data buffer; offsets are relative to its start, end exclusive.
// Every length and offset is checked against what the file really holds; dtype x shape must equal
// the byte span; spans must not overlap. Errors name the file and the tensor.
//
// A checkpoint is either one file (model.safetensors) or several shards listed by
// model.safetensors.index.json ({"weight_map": {"<tensor>": "<shard file>"}}).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace obsprop::io {

// Element types a checkpoint may hold. Only F32, F16 and BF16 are loadable as weights; the others
// are recognised so that buffers stored in real checkpoints (e.g. BOOL or U8 masks) give a clear
// message if anything asks for them.
enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

std::size_t dtype_size(DType t);
const char* dtype_name(DType t); // "F32", ...
bool parse_dtype(const std::string& s, DType& out);

// Any problem with a checkpoint file: the message names the file and, where relevant, the tensor.
class FormatError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A read-only view of one tensor's bytes inside a mapped file. Valid while the owning
// SafetensorsFile (or Checkpoint) is alive.
struct TensorView {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    const std::byte* data = nullptr;
    std::size_t nbytes = 0;
    std::filesystem::path file;

    std::int64_t numel() const;
};

// One mapped .safetensors file.
class SafetensorsFile {
  public:
    // Maps and validates the whole header. Throws FormatError.
    static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::size_t file_size() const { return size_; }
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    std::vector<std::string> names() const; // sorted
    bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
    const TensorView& get(const std::string& name) const; // throws FormatError if absent

    // Tell the kernel the pages of this tensor are no longer needed (after converting a copy).
    void release(const TensorView& t) const;
    // The same for any byte range inside this file's mapping; false (and nothing done) for a range outside
    // it. The whole pages inside the range are handed back (madvise MADV_DONTNEED): the process's resident
    // size drops, and a later read faults them in again from the file.
    bool release(const void* data, std::size_t nbytes) const;

  private:
    SafetensorsFile() = default;
    std::filesystem::path path_;
    void* map_ = nullptr;
    std::size_t size_ = 0;
    std::map<std::string, TensorView> tensors_;
    std::map<std::string, std::string> metadata_;
};

// All the tensors of a checkpoint directory (single file or sharded).
class Checkpoint {
  public:
    // dir must contain model.safetensors or model.safetensors.index.json. Throws FormatError.
    static Checkpoint open(const std::filesystem::path& dir);

    std::vector<std::string> names() const; // sorted, across shards
    bool contains(const std::string& name) const { return where_.count(name) != 0; }
    const TensorView& get(const std::string& name) const; // throws FormatError naming the tensor
    const SafetensorsFile& file_of(const std::string& name) const;
    const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }
    std::uint64_t total_bytes() const; // sum of the file sizes
    // Hands back the mapped pages of [data, data + nbytes) if the range lies in one of the files (see
    // SafetensorsFile::release); anything else is left alone.
    void release(const void* data, std::size_t nbytes) const;

  private:
    std::vector<std::shared_ptr<SafetensorsFile>> files_;
    std::map<std::string, std::size_t> where_; // tensor -> index into files_
    std::filesystem::path dir_;
};

} // namespace obsprop::io
