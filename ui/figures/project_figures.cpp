#include "figures/project_figures.h"

#include <QApplication>
#include <QDir>
#include <QRegularExpression>
#include <memory>
#include <stdexcept>

#include "analyses/run.h"
#include "figures/bar_figures.h"
#include "figures/coupling_figure.h"
#include "figures/heatmap_figure.h"
#include "figures/plot_export.h"
#include "figures/qcp.h"
#include "results/session_convert.h"

namespace obsprop::ui::figures {

namespace {

constexpr int kWidth = 900, kHeight = 700;
constexpr double kScale = 2.0;

std::string safe(const QString& s) {
    QString t = s;
    t.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9_.-]+")), QStringLiteral("_"));
    return t.toStdString();
}

// Draws with `fill` into a fresh offscreen plot and writes the three formats.
template <typename Fill>
FigureTask task(const std::string& dir, std::string stem, const QString& title, Fill fill) {
    return {stem, [dir, stem, title, fill] {
                auto plot = std::make_unique<QCustomPlot>();
                plot->resize(kWidth, kHeight);
                fill(plot.get());
                plot->replot();
                bool ok = true;
                for (const char* ext : {"png", "svg", "pdf"})
                    ok = exportPlot(plot.get(), QString::fromStdString(dir + "/" + stem + "." + ext), kWidth,
                                    kHeight, kScale, title) &&
                         ok;
                return ok;
            }};
}

FigureTask heatmap(const std::string& dir, const std::string& stem, const HeadMatrix& m) {
    return task(dir, stem, m.title, [m](QCustomPlot* p) { HeatmapFigure::build(p).draw(m); });
}

} // namespace

std::vector<FigureTask> project_figure_tasks(const analyses::ProjectReports& r, const std::string& dir) {
    std::vector<FigureTask> out;
    for (const auto& f : r.features) {
        const FeatureResults fr = convert::features(f, 0);
        for (int k = 0; k < fr.observables.size(); ++k)
            out.push_back(heatmap(dir, "heatmap_norm_" + safe(fr.observables[k]), fr.norms[size_t(k)]));
        if (!fr.cosine.empty()) {
            const std::string ab = safe(fr.pairA) + "_" + safe(fr.pairB),
                              ba = safe(fr.pairB) + "_" + safe(fr.pairA);
            out.push_back(heatmap(dir, "heatmap_cosine_" + ab, fr.cosine));
            out.push_back(heatmap(dir, "heatmap_coupling_" + ab, fr.couplingAB));
            out.push_back(heatmap(dir, "heatmap_coupling_" + ba, fr.couplingBA));
        }
    }
    for (const auto& a : r.attribution) {
        const AttributionResults ar = convert::attribution(a, 0);
        for (int k = 0; k < ar.observables.size(); ++k)
            out.push_back(heatmap(dir,
                                  "heatmap_attribution_" + safe(ar.dataset) + "_" + safe(ar.observables[k]),
                                  ar.maps[size_t(k)]));
    }
    for (const auto& c : r.couplings)
        for (const auto& a : r.attribution) {
            if (a.dataset != c.dataset) continue;
            const auto heads = convert::couplingHeads(analyses::coupling_heads(c, a));
            const QString qa = convert::qs(c.a), qb = convert::qs(c.b);
            out.push_back(task(dir,
                               "coupling_" + safe(qa) + "_" + safe(qb) + "_" + safe(convert::qs(a.dataset)),
                               QStringLiteral("Coupling %1→%2").arg(qa, qb), [heads, qa, qb](QCustomPlot* p) {
                                   // The Coupling view's default threshold on |attribution a|, stated in the
                                   // footnote.
                                   CouplingFigure::build(p, false, QStringLiteral("dashed: y = x"))
                                       .drawHeads(heads, qa, qb, {kDefaultMinAttributionShare, false});
                               }));
        }
    for (const auto& s : r.steering) {
        const SteeringResults sr = convert::steering(s, {});
        out.push_back(task(dir, "steering", QStringLiteral("Steering"),
                           [sr](QCustomPlot* p) { SteeringFigure::build(p).draw(sr, sr, false); }));
    }
    return out;
}

std::vector<std::string> write_project_figures(const analyses::ProjectReports& r, const std::string& dir) {
    std::unique_ptr<QApplication> app;
    if (!QCoreApplication::instance()) {
        if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
        static int argc = 1;
        static char name[] = "obsprop";
        static char* argv[] = {name, nullptr};
        app = std::make_unique<QApplication>(argc, argv);
    }
    QDir().mkpath(QString::fromStdString(dir));
    std::vector<std::string> files;
    for (const auto& t : project_figure_tasks(r, dir)) {
        if (!t.draw()) throw std::runtime_error(dir + "/" + t.stem + ": the figure could not be written");
        for (const char* ext : {".png", ".svg", ".pdf"})
            files.push_back(dir + "/" + t.stem + ext);
    }
    return files;
}

} // namespace obsprop::ui::figures
