#include "session/job_tracker.h"

namespace obsprop::ui {

JobTracker::JobTracker(QObject* parent) : QObject(parent) {
    // One worker: LibTorch already uses the cores inside a job; two jobs at once would fight for them.
    pool_.setMaxThreadCount(1);
}

JobTracker::~JobTracker() {
    cancelAll();
    pool_.waitForDone();
}

std::pair<quint64, std::shared_ptr<std::atomic<bool>>> JobTracker::begin(const QString& channel) {
    Slot& s = slots_[channel];
    if (s.cancel) s.cancel->store(true); // latest wins
    s.generation += 1;
    s.cancel = std::make_shared<std::atomic<bool>>(false);
    ++running_;
    Q_EMIT started(channel);
    return {s.generation, s.cancel};
}

bool JobTracker::isCurrent(const QString& channel, quint64 generation) const {
    auto it = slots_.constFind(channel);
    return it != slots_.constEnd() && it->generation == generation;
}

void JobTracker::end(const QString& channel, double seconds, bool ok, bool cancelled) {
    --running_;
    history_.push_back({channel, seconds, ok, cancelled});
    if (history_.size() > 50) history_.erase(history_.begin());
    Q_EMIT finished(channel, ok && !cancelled);
}

ProgressFn JobTracker::makeProgress(const QString& channel, std::shared_ptr<std::atomic<bool>> cancel) {
    QPointer<JobTracker> self(this);
    auto last = std::make_shared<QElapsedTimer>();
    last->start();
    auto lastFraction = std::make_shared<double>(-1.0);
    return [self, channel, cancel, last, lastFraction](double f, std::string_view stage) {
        if (cancel->load()) return false;
        // Throttle: at most every 50 ms, or on a 0.1 % step after at least 10 ms.
        const qint64 ms = last->elapsed();
        if (ms >= 50 || (ms >= 10 && f - *lastFraction >= 0.001) || f >= 1.0) {
            last->restart();
            *lastFraction = f;
            const QString s = QString::fromUtf8(stage.data(), static_cast<qsizetype>(stage.size()));
            if (!self) return !cancel->load();
            QMetaObject::invokeMethod(
                self.data(),
                [self, channel, f, s] {
                    if (self) Q_EMIT self->progress(channel, f, s);
                },
                Qt::QueuedConnection);
        }
        return !cancel->load();
    };
}

void JobTracker::cancel(const QString& channel) {
    auto it = slots_.find(channel);
    if (it != slots_.end() && it->cancel) it->cancel->store(true);
}

void JobTracker::cancelAll() {
    for (auto& s : slots_)
        if (s.cancel) s.cancel->store(true);
}

void JobTracker::waitForDone() {
    pool_.waitForDone();
}

} // namespace obsprop::ui
