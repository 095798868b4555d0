// Explorer benchmark, through the same Session the window uses (offscreen, no display needed):
//   steering   latency from a multiplier change to the exact result (requestExactSteering → steeringReady),
//              over a sweep of multipliers, with the head's feature vector on a dataset;
//   stalls     the longest main-thread stall (StallWatchdog) while a full analysis runs in the background:
//              features, attribution, head detail, virtual-head ranking and prompt values.
// Usage: bench_gui MODEL_DIR OBS_A OBS_B HEAD(L.H) [DATASET] [REPEATS]
// Prints one JSON object.
#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "model/runtime.h"
#include "session/session.h"
#include "views/stall_watchdog.h"

using namespace obsprop::ui;

namespace {

// Runs the event loop until `done` or the timeout; returns false on timeout.
bool spin(const std::function<bool()>& done, int timeoutMs = 600000) {
    QElapsedTimer t;
    t.start();
    while (!done()) {
        if (t.elapsed() > timeoutMs) return false;
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 5);
    }
    return true;
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

} // namespace

int main(int argc, char** argv) {
    qputenv("QT_QPA_PLATFORM", "offscreen");
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0); // as the explorer does
    QApplication app(argc, argv);
    if (argc < 5) {
        std::cerr << "usage: bench_gui MODEL_DIR OBS_A OBS_B L.H [DATASET] [REPEATS]\n";
        return 2;
    }
    const QString dir = QString::fromLocal8Bit(argv[1]);
    const QStringList lh = QString::fromLocal8Bit(argv[4]).split(QLatin1Char('.'));
    const HeadRef head{lh.value(0).toInt(), lh.value(1).toInt()};
    const QString dataset = argc > 5 ? QString::fromLocal8Bit(argv[5]) : QStringLiteral("subject");
    const int repeats = argc > 6 ? std::atoi(argv[6]) : 20;
    obsprop::model::configure_threads(std::max(1, QThread::idealThreadCount() - 1)); // as the explorer does

    Session s;
    bool opened = false;
    QString error;
    QObject::connect(&s, &Session::workspaceOpened, [&] { opened = true; });
    QObject::connect(&s, &Session::openFailed, [&](const QString& e) { error = e; });
    QObject::connect(&s, &Session::jobFailed,
                     [&](const QString& c, const QString& e) { error = c + QStringLiteral(": ") + e; });
    s.openModel(dir);
    if (!spin([&] { return opened || !error.isEmpty(); }) || !error.isEmpty()) {
        std::cerr << "bench_gui: " << error.toStdString() << '\n';
        return 1;
    }
    for (const char* a : {argv[2], argv[3]}) {
        const QString e = s.addObservable(QString(), QString::fromLocal8Bit(a));
        if (!e.isEmpty()) {
            std::cerr << "bench_gui: " << e.toStdString() << '\n';
            return 1;
        }
    }
    nlohmann::json out = {
        {"model", dir.toStdString()}, {"head", argv[4]}, {"dataset", dataset.toStdString()}};

    // Full analysis in the background while the watchdog measures the event loop.
    StallWatchdog dog(nullptr, 5, 100);
    QElapsedTimer total;
    total.start();
    const QString who = QStringLiteral("bench");
    s.computeFeatures(who);
    s.computeAttribution(who, dataset, QStringLiteral("patching"));
    s.computeHeadDetail(who, head);
    s.computePaths(who, s.observables().first().first, 50);
    s.computePrompts(who, dataset);
    QTimer::singleShot(50, [] {});
    spin([&] { return s.jobs().running() == 0; });
    out["analysis_s"] = total.elapsed() / 1000.0;
    out["analysis_max_main_thread_delay_ms"] = dog.maxGapMs();
    out["analysis_stalls_over_100ms"] = dog.stalls().size();

    // Steering: prepare once, then time each exact update.
    SteeringVectorSpec v;
    v.name = QStringLiteral("head %1").arg(argv[4]);
    v.observable = s.observables().first().first;
    v.path = {head};
    v.normalize = true;
    bool prepared = false;
    SteeringResults last;
    QObject::connect(&s, &Session::steeringPrepared, [&] { prepared = true; });
    QObject::connect(&s, &Session::steeringReady, [&](const SteeringResults& r) {
        if (r.exact) last = r;
    });
    s.setSteeringDataset(dataset);
    const quint64 id = s.addSteeringVector(v);
    spin([&] { return prepared; });
    spin([&] { return s.jobs().running() == 0; });
    std::vector<double> latency, predictUs;
    dog.reset();
    for (int i = 0; i < repeats; ++i) {
        const double alpha = -300.0 + 600.0 * i / std::max(1, repeats - 1);
        s.setSteeringAlpha(id, alpha);
        QElapsedTimer t;
        t.start();
        auto pred = s.predictSteering();
        predictUs.push_back(t.nsecsElapsed() / 1000.0);
        last = {};
        s.requestExactSteering();
        spin([&] {
            return last.exact && std::abs(last.predicted.empty() ? 0 : 1) > 0 && s.jobs().running() == 0;
        });
        latency.push_back(t.nsecsElapsed() / 1e6);
        (void)pred;
    }
    out["steering_updates"] = repeats;
    out["steering_exact_median_ms"] = percentile(latency, 0.5);
    out["steering_exact_max_ms"] = percentile(latency, 1.0);
    out["steering_prediction_median_us"] = percentile(predictUs, 0.5);
    out["steering_max_main_thread_delay_ms"] = dog.maxGapMs();
    std::cout << out.dump() << std::endl;
    return 0;
}
