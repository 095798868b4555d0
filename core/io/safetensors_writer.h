// Writing safetensors files, and the float <-> f16 / bf16 conversions shared with the model loader.
//
// Files are written the way Hugging Face's `safetensors` library writes them: 8-byte little-endian
// header length, a JSON header padded with spaces so the data buffer starts at a multiple of 8, then
// the tensors back to back in the order given. Output is deterministic (same input, same bytes) and
// atomic (written to "<path>.tmp", renamed over <path> only when complete).
#pragma once

#include "io/atomic_file.h" // write_file_atomic, used with the writer for config and index files

#include "io/safetensors.h"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace obsprop::io {

// A tensor held in host memory as float32, row-major.
struct HostTensor {
    std::vector<std::int64_t> shape;
    std::vector<float> values;
};

// Writes one safetensors file with every tensor stored as `storage` (F32, F16 or BF16; values are
// rounded to nearest, ties to even; any other dtype throws std::invalid_argument). A tensor whose
// values.size() differs from its shape's element count, a repeated name, or the name "__metadata__"
// throw std::invalid_argument. I/O failures throw std::runtime_error and leave no file behind.
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, HostTensor>>& tensors, DType storage,
                       const std::map<std::string, std::string>& metadata = {});

// Rounds v to the nearest value `storage` can hold and back (identity for F32). Lets callers know
// the exact values a file will contain. Throws std::invalid_argument for dtypes other than
// F32/F16/BF16.
float round_to_storage(float v, DType storage);

// IEEE binary16 and bfloat16 conversions. Round to nearest even; overflow gives +-inf; subnormals,
// infinities, signed zeros and NaN (kept quiet, sign preserved) are handled in both directions.
float f16_to_f32(std::uint16_t h);
float bf16_to_f32(std::uint16_t b);
std::uint16_t f32_to_f16(float f);
std::uint16_t f32_to_bf16(float f);

// One entry of a file written by SafetensorsWriter. `dtype` may be F32, F16, BF16 (values rounded),
// U8 (values must be integers in [0, 255]) or BOOL (non-zero -> 1).
struct TensorLayout {
    std::string name;
    std::vector<std::int64_t> shape;
    DType dtype = DType::F32;
};

// Streaming writer for files too large to hold in memory: the header is written from the layout up
// front, then the values of all tensors are appended in layout order, in chunks of any size.
//
//   SafetensorsWriter w(path, layout, {{"format", "pt"}});
//   w.append(chunk.data(), chunk.size());  // ... until every tensor is complete
//   w.finish();                             // checks the count, closes, renames <path>.tmp -> <path>
//
// If the writer is destroyed without finish() (e.g. an exception), the temporary file is removed.
class SafetensorsWriter {
  public:
    SafetensorsWriter(const std::filesystem::path& path, std::vector<TensorLayout> layout,
                      const std::map<std::string, std::string>& metadata = {});
    ~SafetensorsWriter();
    SafetensorsWriter(const SafetensorsWriter&) = delete;
    SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

    void append(const float* values, std::size_t n);
    void finish();

    // Bytes of the finished file (header length field + header + data).
    std::uint64_t file_size() const { return 8 + header_bytes_ + data_bytes_; }
    // Sum of the tensors' byte sizes (what an index.json calls total_size).
    std::uint64_t data_bytes() const { return data_bytes_; }

  private:
    void write_bytes(const void* p, std::size_t n);
    void abandon() noexcept;

    std::filesystem::path path_, tmp_;
    std::vector<TensorLayout> layout_;
    std::vector<std::uint64_t> numel_;
    std::FILE* out_ = nullptr;
    std::uint64_t header_bytes_ = 0, data_bytes_ = 0;
    std::size_t current_ = 0;        // tensor being filled
    std::uint64_t filled_ = 0;       // values of the current tensor written so far
    std::vector<unsigned char> buf_; // conversion buffer
    bool finished_ = false;
};

// Element count of a layout entry; throws std::invalid_argument on a negative dimension or overflow.
std::uint64_t writable_numel(const TensorLayout& t);

} // namespace obsprop::io
