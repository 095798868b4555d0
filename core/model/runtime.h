// Process-wide LibTorch settings. LibTorch starts with one intra-op thread here; size it to the
// machine (or to what the GUI's worker pool leaves free) once at start-up.
#pragma once

namespace obsprop::model {

// n <= 0 means "all cores"; the environment variable OBSPROP_THREADS, when set, wins. The n threads go to the
// matrix products (OpenBLAS's pool, when LibTorch uses OpenBLAS; LibTorch's own operations then run on the
// calling thread, see runtime.cpp) or else to LibTorch's intra-op pool. Returns n.
// Also calls keep_freed_memory().
int configure_threads(int n = 0);
// Keeps freed memory in the process for the next analysis pass instead of returning it to the system (glibc:
// blocks up to 32 MiB from the heap, up to 1 GiB of its free top kept; runtime.cpp says why). Once per
// process; nothing on other C libraries. OBSPROP_KEEP_MEMORY=0 in the environment leaves glibc's defaults.
void keep_freed_memory();
// The threads configured (LibTorch's intra-op count before configure_threads has run).
int current_threads();

// Bytes of CPU tensor memory LibTorch has allocated (live now and the most at any time), counted by an
// allocator that wraps LibTorch's own once install_tensor_memory_counter() has run (the explorer does at
// start-up). Memory-mapped weights are not allocations and are not counted. `installed` is false before.
struct TensorMemory {
    bool installed = false;
    long long live = 0, peak = 0;
};
void install_tensor_memory_counter();
TensorMemory tensor_memory();

} // namespace obsprop::model
