// Measures main-thread stalls: a timer on the GUI thread ticks every few milliseconds; whenever the gap
// between two ticks exceeds the interval by more than the threshold (100 ms), the event loop was blocked
// for that long and the stall is logged. Used by the debug overlay and by the GUI benchmark.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>
#include <vector>

namespace obsprop::ui {

struct Stall {
    qint64 atMs = 0; // since the watchdog started
    double durationMs = 0;
};

class StallWatchdog : public QObject {
    Q_OBJECT
  public:
    explicit StallWatchdog(QObject* parent = nullptr, int intervalMs = 10, double thresholdMs = 100);
    const std::vector<Stall>& stalls() const { return stalls_; } // at most the last 200
    double maxGapMs() const { return maxGap_; }                  // largest extra delay seen, stall or not
    void reset();

  Q_SIGNALS:
    void stalled(double durationMs);

  private:
    void tick();
    QTimer timer_;
    QElapsedTimer clock_;
    qint64 last_ = 0;
    int interval_;
    double threshold_;
    double maxGap_ = 0;
    std::vector<Stall> stalls_;
};

} // namespace obsprop::ui
