#include "model/widening.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "io/safetensors.h"
#include "model/memory_budget.h"
#include "model/runtime.h"

namespace obsprop::model {

using torch::Tensor;

std::uint64_t parse_byte_size(const std::string& text) {
    auto bad = [&]() -> std::invalid_argument {
        return std::invalid_argument("'" + text +
                                     "' is not a memory size (examples: 4G, 1.5GiB, 512M, 800MB, 123456)");
    };
    std::size_t i = 0;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
        ++i;
    const std::size_t num_begin = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
        ++i;
    if (i == num_begin) throw bad();
    double value = 0;
    try {
        std::size_t used = 0;
        value = std::stod(text.substr(num_begin, i - num_begin), &used);
        if (used != i - num_begin) throw bad();
    } catch (const std::logic_error&) {
        throw bad();
    }
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
        ++i;
    std::string unit;
    for (; i < text.size(); ++i)
        unit += static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
    double scale = 1;
    if (unit.empty() || unit == "B")
        scale = 1;
    else if (unit == "K" || unit == "KB" || unit == "KIB")
        scale = 1024.0;
    else if (unit == "M" || unit == "MB" || unit == "MIB")
        scale = 1024.0 * 1024;
    else if (unit == "G" || unit == "GB" || unit == "GIB")
        scale = 1024.0 * 1024 * 1024;
    else if (unit == "T" || unit == "TB" || unit == "TIB")
        scale = 1024.0 * 1024 * 1024 * 1024;
    else
        throw bad();
    const double bytes = value * scale;
    if (!std::isfinite(bytes) || bytes < 1 || bytes > 1e18) throw bad();
    return static_cast<std::uint64_t>(bytes);
}

std::string format_bytes(std::uint64_t bytes) {
    const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        ++u;
    }
    char buf[32];
    if (u == 0)
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    else
        std::snprintf(buf, sizeof buf, "%.*f %s", v < 10 ? 2 : (v < 100 ? 1 : 0), v, units[u]);
    return buf;
}

namespace {

std::atomic<std::uint64_t> g_budget{0};
std::atomic<bool> g_keep{true};

std::uint64_t available_memory() {
    std::ifstream in("/proc/meminfo");
    std::string key;
    std::uint64_t kb = 0;
    std::string unit;
    while (in >> key >> kb >> unit)
        if (key == "MemAvailable:") return kb * 1024;
    return 4ull << 30; // no /proc/meminfo: assume a small machine's 4 GiB
}

} // namespace

std::uint64_t memory_budget() {
    if (const auto set = g_budget.load()) return set;
    return default_memory_budget();
}

std::uint64_t default_memory_budget() {
    if (const char* env = std::getenv("OBSPROP_MEMORY_BUDGET"); env && *env) {
        try {
            return parse_byte_size(env);
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(std::string("OBSPROP_MEMORY_BUDGET: ") + e.what());
        }
    }
    return available_memory() / 4;
}

void set_memory_budget(std::uint64_t bytes) {
    g_budget.store(bytes);
}

void set_keep_widened(bool keep) {
    g_keep.store(keep);
}

bool keep_widened() {
    return g_keep.load();
}

void WidenCache::check_fits(const Tensor& stored, const std::string& what) const {
    const auto need = static_cast<std::uint64_t>(stored.numel()) * sizeof(float);
    if (need > budget_)
        throw std::runtime_error(what + " needs " + format_bytes(need) +
                                 " as float32, more than the memory budget of " + format_bytes(budget_) +
                                 " (raise it with OBSPROP_MEMORY_BUDGET or in Preferences)");
}

namespace {

// BF16 → float32 is the 16 bits moved to the top of a float: a loop the compiler vectorises, on one thread
// (LibTorch's conversion would start its OpenMP team, which then spins against the BLAS threads of the
// matrix products that follow).
void widen_bf16_range(const std::uint16_t* src, float* dst, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i)
        dst[i] = std::bit_cast<float>(static_cast<std::uint32_t>(src[i]) << 16);
}

// Large tensors are split over the configured threads (plain threads, joined before returning; the matrix
// products are not running meanwhile, so they take no core from them).
void widen_bf16(const std::uint16_t* src, float* dst, std::int64_t n) {
    constexpr std::int64_t kPerThread = 1 << 20;
    const std::int64_t parts = std::clamp<std::int64_t>(n / kPerThread, 1, std::max(1, current_threads()));
    if (parts == 1) return widen_bf16_range(src, dst, n);
    std::vector<std::thread> helpers;
    const std::int64_t step = (n + parts - 1) / parts;
    for (std::int64_t p = 1; p < parts; ++p) {
        const std::int64_t begin = p * step, count = std::min(step, n - begin);
        if (count > 0) helpers.emplace_back(widen_bf16_range, src + begin, dst + begin, count);
    }
    widen_bf16_range(src, dst, std::min(step, n));
    for (auto& t : helpers)
        t.join();
}

// `stored` converted into `out` (float32, contiguous, same shape).
void widen_into(const Tensor& stored, Tensor& out) {
    if (stored.scalar_type() == torch::kBFloat16 && stored.is_contiguous()) {
        widen_bf16(reinterpret_cast<const std::uint16_t*>(stored.data_ptr()), out.data_ptr<float>(),
                   stored.numel());
    } else if (stored.scalar_type() == torch::kBFloat16 && stored.dim() == 2 && stored.t().is_contiguous()) {
        // A transposed view (GPT-2's Conv1D matrices): widen the stored layout, then view it transposed.
        Tensor flat = out.view({stored.size(1), stored.size(0)});
        widen_bf16(reinterpret_cast<const std::uint16_t*>(stored.data_ptr()), flat.data_ptr<float>(),
                   stored.numel());
        out = flat.t();
    } else {
        out.copy_(stored);
    }
}

} // namespace

void WidenCache::release(const Tensor& stored) const {
    // A whole stored tensor (not a slice of a fused one) will not be read again soon: hand its pages back.
    const auto& storage = stored.storage();
    if (ckpt_ && static_cast<std::size_t>(stored.numel()) * stored.element_size() == storage.nbytes())
        ckpt_->release(storage.data(), storage.nbytes());
}

Tensor WidenCache::buffer(int slot, std::int64_t numel) {
    constexpr std::size_t kPerSlot = 2;
    std::lock_guard lock(mutex_);
    auto& bufs = pool_[slot];
    for (auto& b : bufs)
        if (b.storage().use_count() == 1) { // nobody holds a view of it any more
            if (b.numel() < numel) b = torch::empty({numel}, torch::kFloat);
            return b.narrow(0, 0, numel);
        }
    Tensor b = torch::empty({numel}, torch::kFloat);
    if (bufs.size() < kPerSlot) bufs.push_back(b);
    return b;
}

Tensor WidenCache::convert(const Tensor& stored, const std::string& what, int slot) {
    if (stored.scalar_type() == torch::kFloat) return stored;
    check_fits(stored, what);
    Tensor out = buffer(slot, stored.numel()).view(stored.sizes());
    widen_into(stored, out);
    release(stored);
    std::lock_guard lock(mutex_);
    stats_.converted_bytes += static_cast<std::uint64_t>(out.numel()) * sizeof(float);
    return out;
}

Tensor WidenCache::get(int layer, int index, const Tensor& stored, const std::string& what) {
    if (!stored.defined() || stored.scalar_type() == torch::kFloat) return stored;
    check_fits(stored, what);
    const auto key = std::make_pair(layer, index);
    const auto bytes = static_cast<std::uint64_t>(stored.numel()) * sizeof(float);
    bool keep = false;
    {
        std::lock_guard lock(mutex_);
        const auto it = copies_.find(key);
        if (it != copies_.end() && it->second.defined()) {
            ++stats_.hits;
            return it->second;
        }
        ++stats_.misses;
        // Kept when it fits what is left of the budget (reserved now, so concurrent misses cannot overrun
        // it); a copy another thread is making right now is not waited for.
        keep = keep_ && it == copies_.end() && stats_.cached_bytes + bytes <= budget_;
        if (keep) {
            stats_.cached_bytes += bytes;
            copies_.emplace(key, Tensor());
        }
    }
    if (!keep) return convert(stored, what, index);
    Tensor out = torch::empty(stored.sizes(), torch::kFloat);
    widen_into(stored, out);
    release(stored);
    std::lock_guard lock(mutex_);
    copies_[key] = out;
    stats_.converted_bytes += bytes;
    return out;
}

WideningStats WidenCache::stats() const {
    std::lock_guard lock(mutex_);
    WideningStats s = stats_;
    s.budget = budget_;
    return s;
}

} // namespace obsprop::model
