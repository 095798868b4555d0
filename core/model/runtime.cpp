#include "model/runtime.h"

#include <cstdlib>
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

int configure_threads(int n) {
    if (const char* env = std::getenv("OBSPROP_THREADS"); env && std::atoi(env) > 0) n = std::atoi(env);
    if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(n);
    if (openblas_set_num_threads) openblas_set_num_threads(n);
    return at::get_num_threads();
}

int current_threads() {
    return at::get_num_threads();
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
