// Stored weights widened to float32 on demand, under a memory budget.
//
// A checkpoint stored in BF16 or F16 stays mapped as stored (model/weights.h); a computation asks the model
// for the float32 tensors it reads (Transformer::layer with the parts it needs, the W_U rows of its
// observables), and each is converted when first asked for. The copies are kept while they fit the memory
// budget, so the next analysis on a small model is as fast as on an F32 checkpoint; what does not fit is
// converted again when needed (a scan over a model larger than the budget keeps the layers it met first and
// converts the rest each time, never thrashing). A single tensor larger than the whole budget is refused with
// a message naming both sizes. After a whole stored tensor is converted its mapped pages are handed back to
// the kernel, so resident memory follows the working set rather than the file.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace obsprop::io {
class Checkpoint;
}

namespace obsprop::model {

// The parts of a layer a computation reads (Transformer::layer).
enum LayerPart : unsigned {
    kQueryKey = 1u, // Wq, Wk (and the fused W_qkv when the checkpoint stores one)
    kValue = 2u,    // Wv
    kOutput = 4u,   // W_O
    kMlp = 8u,      // W_gate, W_in, W_out
    kAllParts = 15u
};

// "4G", "1.5 GiB", "512M", "800MB", "123456" (bytes); K/M/G/T are powers of 1024. Throws
// std::invalid_argument naming the text.
std::uint64_t parse_byte_size(const std::string& text);
// "1.21 GB" (powers of 1000, as file managers show sizes), "512 B".
std::string format_bytes(std::uint64_t bytes);

// The budget for float32 copies of stored weights: the value set with set_memory_budget(), else the
// environment variable OBSPROP_MEMORY_BUDGET, else a quarter of the memory the kernel reports available
// (MemAvailable) when first asked. Throws std::invalid_argument for a malformed OBSPROP_MEMORY_BUDGET.
std::uint64_t memory_budget();
// Sets the budget of models opened from now on (0: back to the default).
void set_memory_budget(std::uint64_t bytes);
// Whether models opened from now on keep their float32 copies for the next computation (default true: the
// explorer and `obsprop batch` analyse one model again and again). A one-shot command turns it off: it
// converts into a few reused buffers instead, never paying for fresh memory it would use once.
void set_keep_widened(bool keep);
bool keep_widened();

struct WideningStats {
    std::uint64_t budget = 0;          // bytes the copies may occupy
    std::uint64_t cached_bytes = 0;    // bytes they occupy now
    std::uint64_t converted_bytes = 0; // float32 bytes converted so far (cached or not)
    long long hits = 0, misses = 0;
};

class WidenCache {
  public:
    // `ckpt` (may be null) holds the mapping whose pages are handed back after a conversion.
    WidenCache(std::uint64_t budget, const io::Checkpoint* ckpt, bool keep = keep_widened())
        : budget_(budget), ckpt_(ckpt), keep_(keep) {}

    // The float32 copy of `stored` (any floating dtype), keyed by (layer, index) — the caller's numbering of
    // a layer's tensors. `what` names it in the error for a tensor larger than the budget.
    torch::Tensor get(int layer, int index, const torch::Tensor& stored, const std::string& what);
    // Converts without keeping the copy (row blocks of W_U, ...) into a reused buffer of pool `slot`; checks
    // the budget like get().
    torch::Tensor convert(const torch::Tensor& stored, const std::string& what, int slot);
    WideningStats stats() const;

  private:
    void check_fits(const torch::Tensor& stored, const std::string& what) const;
    torch::Tensor buffer(int slot, std::int64_t numel);
    void release(const torch::Tensor& stored) const;
    mutable std::mutex mutex_;
    std::uint64_t budget_;
    const io::Checkpoint* ckpt_;
    bool keep_;
    // Flat float32 buffers per slot, reused once nothing outside holds a view of them.
    std::map<int, std::vector<torch::Tensor>> pool_;
    std::map<std::pair<int, int>, torch::Tensor> copies_;
    WideningStats stats_;
};

} // namespace obsprop::model
