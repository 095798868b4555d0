#include "obsprop/corpus_stats.h"

#include <stdexcept>
#include <string>

namespace obsprop {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

void Moments::add(double x) {
    ++n;
    const double d = x - mean;
    mean += d / static_cast<double>(n);
    m2 += d * (x - mean);
    min = std::min(min, x);
    max = std::max(max, x);
}

double Moments::sd() const {
    return n == 0 ? kNaN : std::sqrt(std::max(0.0, m2 / static_cast<double>(n)));
}

void CoMoments::add(double x, double y) {
    ++n;
    const double k = static_cast<double>(n);
    const double dx = x - mean_x, dy = y - mean_y;
    mean_x += dx / k;
    mean_y += dy / k;
    m2x += dx * (x - mean_x);
    m2y += dy * (y - mean_y);
    cxy += dx * (y - mean_y);
}

double CoMoments::r() const {
    if (n < 2 || !(m2x > 0) || !(m2y > 0)) return kNaN;
    return std::clamp(cxy / std::sqrt(m2x * m2y), -1.0, 1.0);
}

double CoMoments::r2() const {
    const double c = r();
    return c * c;
}

double CoMoments::slope() const {
    return n >= 2 && m2x > 0 ? cxy / m2x : kNaN;
}

double CoMoments::intercept() const {
    return mean_y - slope() * mean_x;
}

StreamingHistogram::StreamingHistogram(int bins, std::size_t warmup) : bins_(bins), warmup_(warmup) {
    if (bins < 2 || bins % 2 != 0)
        throw std::invalid_argument("a histogram needs an even number of bins, at least 2 (not " +
                                    std::to_string(bins) + ")");
    if (warmup < 1) throw std::invalid_argument("a histogram's warm-up needs at least one value");
}

void StreamingHistogram::add(double x) {
    if (!std::isfinite(x)) throw std::invalid_argument("a histogram value is not finite");
    if (started_) return place(x);
    buffer_.push_back(x);
    if (buffer_.size() < warmup_) return;
    const auto [mn, mx] = std::minmax_element(buffer_.begin(), buffer_.end());
    start(*mn, *mx);
    for (double v : buffer_)
        place(v);
    buffer_.clear();
    buffer_.shrink_to_fit();
}

void StreamingHistogram::start(double lo, double hi) {
    started_ = true;
    lo_ = lo;
    // The range [lo, hi] with hi inside the last bin; a single value gets a small range of its own.
    const double span = hi - lo;
    width_ = span > 0 ? span / (bins_ - 1) : std::max(std::abs(lo), 1.0) * 1e-6;
    counts_.assign(static_cast<std::size_t>(bins_), 0);
}

void StreamingHistogram::place(double x) {
    const auto B = static_cast<std::size_t>(bins_);
    while (x < lo_) { // grow to the left: old bins (2j, 2j+1) become bin B/2 + j
        std::vector<std::uint64_t> c(B, 0);
        for (std::size_t i = 0; i < B; ++i)
            c[B / 2 + i / 2] += counts_[i];
        counts_ = std::move(c);
        lo_ -= static_cast<double>(bins_) * width_;
        width_ *= 2;
    }
    while (x >= lo_ + static_cast<double>(bins_) * width_) { // grow to the right: (2j, 2j+1) become j
        std::vector<std::uint64_t> c(B, 0);
        for (std::size_t i = 0; i < B; ++i)
            c[i / 2] += counts_[i];
        counts_ = std::move(c);
        width_ *= 2;
    }
    auto i = static_cast<std::int64_t>(std::floor((x - lo_) / width_));
    i = std::clamp<std::int64_t>(i, 0, bins_ - 1);
    ++counts_[static_cast<std::size_t>(i)];
}

StreamingHistogram::Result StreamingHistogram::result() const {
    if (!started_) {
        if (buffer_.empty()) return {};
        StreamingHistogram h = *this;
        const auto [mn, mx] = std::minmax_element(h.buffer_.begin(), h.buffer_.end());
        h.start(*mn, *mx);
        for (double v : h.buffer_)
            h.place(v);
        h.buffer_.clear();
        return h.result();
    }
    Result r;
    std::size_t first = 0, last = counts_.size();
    while (first < last && counts_[first] == 0)
        ++first;
    while (last > first && counts_[last - 1] == 0)
        --last;
    r.width = width_;
    r.lo = lo_ + static_cast<double>(first) * width_;
    r.counts.assign(counts_.begin() + static_cast<std::ptrdiff_t>(first),
                    counts_.begin() + static_cast<std::ptrdiff_t>(last));
    return r;
}

} // namespace obsprop
