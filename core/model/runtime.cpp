#include "model/runtime.h"

#include <malloc.h>

#include <cstdlib>
#include <string_view>
#include <thread>

#include <ATen/Parallel.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <algorithm>
#include <atomic>

// Debian's LibTorch does its matrix products in OpenBLAS, whose own thread pool is sized to the machine and
// not by at::set_num_threads; its idle workers spin (sched_yield) and take the cores from the GUI thread and
// the job running beside it. Resolved at run time: absent when another BLAS is in use.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace obsprop::model {

namespace {
std::atomic<int> g_threads{0};
} // namespace

// glibc hands blocks of 128 KiB and more (its threshold then moves with the sizes freed) straight back to the
// system and trims the heap's free top beyond 128 KiB, so every analysis pass, which allocates and frees
// tensors of megabytes, pays page faults for fresh zeroed pages. On the development machines (2-core VMs)
// those cost more than the arithmetic: the path search over 20 GPT-2-small pairs took 10.3 s with glibc's
// defaults and 2.7 s with memory kept (`bench_engine paths`, medians), attribution 1.10 s and 0.83 s.
// Blocks up to 32 MiB now come from the heap and up to 1 GiB of free heap is kept for the next pass.
void keep_freed_memory() {
#ifdef __GLIBC__
    static const bool done = [] {
        if (const char* env = std::getenv("OBSPROP_KEEP_MEMORY"); env && std::string_view(env) == "0")
            return false; // glibc's defaults, e.g. to compare
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
        return true;
    }();
    (void)done;
#endif
}

// LibTorch runs its own operations on an OpenMP team and, in Debian's build, its matrix products on
// OpenBLAS's pool. Two pools of n threads on n cores fight: after every parallel region the OpenMP workers
// spin while the BLAS workers need the cores, and the products stall (attribution by patching on the
// GPT-2-small shape, 20 pairs: 1.6–2.3 s with both pools at 2 threads, 0.74–0.90 s with the OpenMP team at 1;
// `bench_engine attribution`). So with OpenBLAS present it gets the n threads and LibTorch's own operations,
// which are cheap beside the products, run on the calling thread.
int configure_threads(int n) {
    keep_freed_memory();
    if (const char* env = std::getenv("OBSPROP_THREADS"); env && std::atoi(env) > 0) n = std::atoi(env);
    if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (openblas_set_num_threads) {
        openblas_set_num_threads(n);
        at::set_num_threads(1);
    } else {
        at::set_num_threads(n);
    }
    g_threads = n;
    return n;
}

int current_threads() {
    return g_threads.load() > 0 ? g_threads.load() : at::get_num_threads();
}

namespace {

std::atomic<long long> g_live{0}, g_peak{0};
std::atomic<bool> g_installed{false};

// Every block carries its size in a 64-byte header (64 keeps LibTorch's alignment), so a plain function of
// the data pointer can release it: raw_allocate / raw_deleter keep working.
constexpr std::size_t kHeader = 64;

void counted_free(void* data) {
    if (!data) return;
    char* block = static_cast<char*>(data) - kHeader;
    g_live -= static_cast<long long>(*reinterpret_cast<std::size_t*>(block));
    c10::free_cpu(block);
}

class CountingAllocator final : public c10::Allocator {
  public:
    c10::DataPtr allocate(size_t n) const override {
        char* block = static_cast<char*>(c10::alloc_cpu(n + kHeader));
        *reinterpret_cast<std::size_t*>(block) = n;
        const long long live = g_live += static_cast<long long>(n);
        long long peak = g_peak.load();
        while (live > peak && !g_peak.compare_exchange_weak(peak, live)) {
        }
        void* data = block + kHeader;
        return {data, data, &counted_free, c10::Device(c10::DeviceType::CPU)};
    }
    c10::DeleterFnPtr raw_deleter() const override { return &counted_free; }
};

} // namespace

void install_tensor_memory_counter() {
    static CountingAllocator allocator;
    if (g_installed.exchange(true)) return;
    c10::SetCPUAllocator(&allocator, /*priority=*/1);
}

TensorMemory tensor_memory() {
    return {g_installed.load(), g_live.load(), g_peak.load()};
}

} // namespace obsprop::model
