// Background jobs for the GUI: each job runs on the thread pool and belongs to a channel
// ("features", "steer", ...). Starting a job cancels the one running in its channel (latest wins);
// a result from a cancelled or superseded job is dropped. Results come back on the GUI thread through
// a queued call and are only delivered while the receiver is alive (QPointer). Progress is throttled.
#pragma once

#include <QElapsedTimer>
#include <QHash>
#include <QMetaObject>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QThreadPool>

#include <atomic>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace obsprop::ui {

// What the core's long calls take: return false to cancel.
using ProgressFn = std::function<bool(double fraction, std::string_view stage)>;

struct JobRecord {
    QString channel;
    double seconds = 0;
    bool ok = false;
    bool cancelled = false;
};

class JobTracker : public QObject {
    Q_OBJECT
  public:
    explicit JobTracker(QObject* parent = nullptr);
    ~JobTracker() override;

    // Runs work(progress) on the pool; then done(result) or failed(message) on the GUI thread.
    template <typename R>
    void start(const QString& channel, std::function<R(const ProgressFn&)> work, QObject* receiver,
               std::function<void(R)> done, std::function<void(const QString&)> failed = {});

    void cancel(const QString& channel);
    void cancelAll();
    bool isBusy() const { return running_ > 0; }
    int running() const { return running_; }
    const std::vector<JobRecord>& history() const { return history_; } // most recent last, at most 50
    // Waits for every job to finish (for shutdown and tests; never called during normal use).
    void waitForDone();

  Q_SIGNALS:
    void started(const QString& channel);
    void progress(const QString& channel, double fraction, const QString& stage);
    void finished(const QString& channel, bool ok);

  private:
    struct Slot {
        quint64 generation = 0;
        std::shared_ptr<std::atomic<bool>> cancel;
    };
    // Book-keeping on the GUI thread.
    std::pair<quint64, std::shared_ptr<std::atomic<bool>>> begin(const QString& channel);
    bool isCurrent(const QString& channel, quint64 generation) const;
    void end(const QString& channel, double seconds, bool ok, bool cancelled);
    ProgressFn makeProgress(const QString& channel, std::shared_ptr<std::atomic<bool>> cancel);

    QThreadPool pool_;
    QHash<QString, Slot> slots_;
    int running_ = 0;
    std::vector<JobRecord> history_;
};

template <typename R>
void JobTracker::start(const QString& channel, std::function<R(const ProgressFn&)> work, QObject* receiver,
                       std::function<void(R)> done, std::function<void(const QString&)> failed) {
    auto [gen, cancel] = begin(channel);
    QPointer<JobTracker> self(this);
    QPointer<QObject> target(receiver);
    ProgressFn prog = makeProgress(channel, cancel);
    pool_.start([self, target, channel, gen, cancel, prog, work = std::move(work), done = std::move(done),
                 failed = std::move(failed)] {
        QElapsedTimer t;
        t.start();
        std::shared_ptr<R> result;
        QString error;
        try {
            result = std::make_shared<R>(work(prog));
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        } catch (...) {
            error = QStringLiteral("unknown failure");
        }
        const double secs = t.nsecsElapsed() / 1e9;
        if (!self) return; // the tracker waits for its jobs before it goes, so this is belt and braces
        QMetaObject::invokeMethod(
            self.data(),
            [self, target, channel, gen, cancel, result, error, secs, done, failed] {
                if (!self) return;
                const bool cancelled = cancel->load();
                const bool current = self->isCurrent(channel, gen);
                self->end(channel, secs, result != nullptr, cancelled || !current);
                if (cancelled || !current || !target) return;
                if (result)
                    done(std::move(*result));
                else if (failed)
                    failed(error);
            },
            Qt::QueuedConnection);
    });
}

} // namespace obsprop::ui
