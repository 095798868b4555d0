#include "model/widening.h"

#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "io/safetensors.h"

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

void WidenCache::check_fits(const Tensor& stored, const std::string& what) const {
    const auto need = static_cast<std::uint64_t>(stored.numel()) * sizeof(float);
    if (need > budget_)
        throw std::runtime_error(what + " needs " + format_bytes(need) +
                                 " as float32, more than the memory budget of " + format_bytes(budget_) +
                                 " (raise it with OBSPROP_MEMORY_BUDGET or in Preferences)");
}

Tensor WidenCache::convert(const Tensor& stored, const std::string& what) {
    if (stored.scalar_type() == torch::kFloat) return stored;
    check_fits(stored, what);
    Tensor out = stored.to(torch::kFloat);
    // A whole stored tensor (not a slice of a fused one) will not be read again soon: hand its pages back.
    const auto& storage = stored.storage();
    if (ckpt_ && static_cast<std::size_t>(stored.numel()) * stored.element_size() == storage.nbytes())
        ckpt_->release(storage.data(), storage.nbytes());
    std::lock_guard lock(mutex_);
    stats_.converted_bytes += static_cast<std::uint64_t>(out.numel()) * sizeof(float);
    return out;
}

Tensor WidenCache::get(int layer, int index, const Tensor& stored, const std::string& what) {
    if (stored.scalar_type() == torch::kFloat || !stored.defined()) return stored;
    const auto key = std::make_pair(layer, index);
    {
        std::lock_guard lock(mutex_);
        if (auto it = copies_.find(key); it != copies_.end()) {
            ++stats_.hits;
            return it->second;
        }
        ++stats_.misses;
    }
    Tensor out = convert(stored, what);
    const auto bytes = static_cast<std::uint64_t>(out.numel()) * sizeof(float);
    std::lock_guard lock(mutex_);
    if (copies_.count(key) == 0 && stats_.cached_bytes + bytes <= budget_) {
        copies_.emplace(key, out);
        stats_.cached_bytes += bytes;
    }
    return out;
}

WideningStats WidenCache::stats() const {
    std::lock_guard lock(mutex_);
    WideningStats s = stats_;
    s.budget = budget_;
    return s;
}

} // namespace obsprop::model
