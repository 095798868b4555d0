// Progress reporting and cancellation for long observable-propagation calls.
//
// Every long call takes a `const Progress&` (a std::function that may be empty). It is called with the
// fraction done in [0, 1] and a short stage name; returning false asks the call to stop, which it does by
// throwing obsprop::Cancelled at its next check. Calls check often enough to stop within ~100 ms.
#pragma once

#include <functional>
#include <stdexcept>
#include <string_view>

namespace obsprop {

using Progress = std::function<bool(double fraction, std::string_view stage)>;

// Thrown when a progress callback returns false.
class Cancelled : public std::runtime_error {
  public:
    Cancelled() : std::runtime_error("computation cancelled") {}
};

// Reports `fraction` (clamped to [0, 1]) to `progress` and throws Cancelled if it returns false.
// An empty callback never cancels.
inline void report(const Progress& progress, double fraction, std::string_view stage) {
    if (!progress) return;
    if (fraction < 0) fraction = 0;
    if (fraction > 1) fraction = 1;
    if (!progress(fraction, stage)) throw Cancelled();
}

// Maps the progress of a sub-task onto [begin, end] of the caller's range.
inline Progress sub_progress(const Progress& progress, double begin, double end) {
    if (!progress) return {};
    return [progress, begin, end](double f, std::string_view stage) {
        return progress(begin + (end - begin) * f, stage);
    };
}

} // namespace obsprop
