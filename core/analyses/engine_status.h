// What the engine is doing, for the explorer's debug overlay and start-up: LibTorch's thread count and the
// CPU tensor memory it holds. A thin face over model/runtime.h so the explorer reads it from the analysis
// layer like everything else. No LibTorch in this header.
#pragma once

namespace obsprop {
class Workspace;
}

namespace obsprop::analyses {

struct EngineStatus {
    int threads = 0;             // LibTorch intra-op threads
    bool memory_counted = false; // the tensor memory counter is installed
    long long live_bytes = 0, peak_bytes = 0;
};

// The float32 copies of a model's BF16/F16 weights (model/widening.h): the budget they live in, what they
// occupy, and how often a computation found one ready.
struct WeightMemory {
    bool widened = false; // the checkpoint stores something narrower than float32
    unsigned long long budget = 0, cached_bytes = 0, converted_bytes = 0;
    long long hits = 0, misses = 0;
};
WeightMemory weight_memory(const Workspace& w);

// The memory budget for the float32 copies of models opened from now on (0: back to the default), and the
// budget a model opened now gets: the value set, else OBSPROP_MEMORY_BUDGET, else a quarter of the memory
// available (model/widening.h resolves it). weight_memory_budget throws std::invalid_argument for a malformed
// OBSPROP_MEMORY_BUDGET.
void set_weight_memory_budget(unsigned long long bytes);
unsigned long long weight_memory_budget();
// The budget with no value set (OBSPROP_MEMORY_BUDGET, else a quarter of the memory available now); throws
// like weight_memory_budget.
unsigned long long default_weight_memory_budget();

// The LibTorch version the program was built with, e.g. "1.13.0".
const char* torch_version();

EngineStatus engine_status();
// At start-up: count tensor memory (for the overlay) and size LibTorch's threads (n <= 0: every core).
void configure_engine(int threads, bool count_memory);

} // namespace obsprop::analyses
