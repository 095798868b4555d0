#include "views/stall_watchdog.h"

namespace obsprop::ui {

StallWatchdog::StallWatchdog(QObject* parent, int intervalMs, double thresholdMs)
    : QObject(parent), interval_(intervalMs), threshold_(thresholdMs) {
    timer_.setTimerType(Qt::PreciseTimer);
    timer_.setInterval(intervalMs);
    connect(&timer_, &QTimer::timeout, this, &StallWatchdog::tick);
    clock_.start();
    last_ = clock_.elapsed();
    timer_.start();
}

void StallWatchdog::reset() {
    stalls_.clear();
    maxGap_ = 0;
    last_ = clock_.elapsed();
}

void StallWatchdog::tick() {
    const qint64 now = clock_.elapsed();
    const double extra = static_cast<double>(now - last_ - interval_);
    last_ = now;
    if (extra > maxGap_) maxGap_ = extra;
    if (extra > threshold_) {
        stalls_.push_back({now, extra});
        if (stalls_.size() > 200) stalls_.erase(stalls_.begin());
        Q_EMIT stalled(extra);
    }
}

} // namespace obsprop::ui
