// Streaming statistics for corpus-scale validation (docs/corpus.md): each token's numbers are added once and
// dropped, so memory stays bounded whatever the corpus's size. Plain C++ (no LibTorch).
//   Moments            count, mean, population standard deviation, min, max (Welford's updates)
//   CoMoments          (x, y) pairs: means, variances and the co-moment, giving Pearson's r, r², the
//                      least-squares slope and intercept (the sufficient statistics Σx, Σy, Σx², Σy², Σxy in
//                      the numerically stable centred form)
//   StreamingHistogram a fixed number of equal bins whose range adapts without ever re-reading a value: the
//                      first `warmup` values are buffered and set the range [min, max]; a later value outside
//                      it doubles the bin width (pairs of bins merge, the range grows to the left or right),
//                      so every count stays exact for the final bins
//   TopK               the k largest scores seen (ties: the earlier first) with a payload each
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace obsprop {

struct Moments {
    std::uint64_t n = 0;
    double mean = 0, m2 = 0;
    double min = std::numeric_limits<double>::infinity(), max = -std::numeric_limits<double>::infinity();

    void add(double x);
    double sd() const; // population: √(Σ(x − mean)²/n); NaN with no values
};

struct CoMoments {
    std::uint64_t n = 0;
    double mean_x = 0, mean_y = 0, m2x = 0, m2y = 0, cxy = 0;

    void add(double x, double y);
    double r() const;         // Pearson's correlation; NaN when either is constant or n < 2
    double r2() const;        // r²
    double slope() const;     // least squares y ≈ slope·x + intercept; NaN when x is constant
    double intercept() const; // NaN when x is constant
};

class StreamingHistogram {
  public:
    // `bins` even and >= 2; `warmup` >= 1. Throws std::invalid_argument.
    explicit StreamingHistogram(int bins = 64, std::size_t warmup = 4096);
    // Throws std::invalid_argument for a value that is not finite.
    void add(double x);

    struct Result {
        double lo = 0, width = 0;          // bin i is [lo + i·width, lo + (i+1)·width)
        std::vector<std::uint64_t> counts; // the first and last bins hold something; empty with no values
    };
    Result result() const;

  private:
    void start(double lo, double hi); // the range from the buffered values
    void place(double x);
    int bins_;
    std::size_t warmup_;
    std::vector<double> buffer_; // before the range is set
    bool started_ = false;
    double lo_ = 0, width_ = 0;
    std::vector<std::uint64_t> counts_;
};

template <class T> class TopK {
  public:
    explicit TopK(std::size_t k) : k_(k) {}
    // Whether a score would enter (so a caller builds the payload only then). `order` breaks ties: smaller
    // first (e.g. the token's index in the corpus).
    bool wants(double score, std::uint64_t order) const {
        if (k_ == 0) return false;
        if (heap_.size() < k_) return true;
        return better({score, order, {}}, heap_.front());
    }
    void push(double score, std::uint64_t order, T payload) {
        if (!wants(score, order)) return;
        Item it{score, order, std::move(payload)};
        if (heap_.size() == k_) {
            std::pop_heap(heap_.begin(), heap_.end(), better);
            heap_.back() = std::move(it);
        } else {
            heap_.push_back(std::move(it));
        }
        std::push_heap(heap_.begin(), heap_.end(), better);
    }
    struct Item {
        double score;
        std::uint64_t order;
        T payload;
    };
    // Best first.
    std::vector<Item> sorted() const {
        std::vector<Item> out = heap_;
        std::sort(out.begin(), out.end(), better);
        return out;
    }

  private:
    // a ranks before b. As the heap's comparator the front is the worst kept item.
    static bool better(const Item& a, const Item& b) {
        return a.score != b.score ? a.score > b.score : a.order < b.order;
    }
    std::size_t k_;
    std::vector<Item> heap_;
};

} // namespace obsprop
