#include "figures/bar_figures.h"

#include <algorithm>

#include "figures/qcp.h"

namespace obsprop::ui::figures {

namespace {

QColor seriesColour(int i) {
    static const QColor colours[] = {{31, 119, 180}, {230, 110, 0},  {30, 140, 30},
                                     {200, 30, 40},  {140, 90, 180}, {120, 80, 60}};
    return colours[i % 6];
}

const QColor kPredicted(31, 119, 180), kExact(230, 110, 0), kStale(190, 190, 190);

// The legend in a row of its own below the plot, so it never hides a bar.
void legendBelow(QCustomPlot* plot, int row) {
    plot->axisRect()->insetLayout()->take(plot->legend);
    plot->plotLayout()->addElement(row, 0, plot->legend);
    plot->plotLayout()->setRowStretchFactor(row, 0.001);
    plot->legend->setFillOrder(QCPLegend::foColumnsFirst);
    plot->legend->setBorderPen(Qt::NoPen);
    plot->legend->setVisible(true);
}

} // namespace

SvdFigure SvdFigure::build(QCustomPlot* plot) {
    SvdFigure f;
    f.plot = plot;
    plot->plotLayout()->insertRow(0);
    f.title = new QCPTextElement(plot, QString(), QFont(plot->font().family(), 10, QFont::Bold));
    plot->plotLayout()->addElement(0, 0, f.title);
    plot->xAxis->setLabel(QStringLiteral("right singular vector v_i (by σ, descending)"));
    plot->yAxis->setLabel(QStringLiteral("|cos(y, v_i)|"));
    plot->yAxis->setRange(0, 1.05);
    plot->xAxis->grid()->setVisible(false);
    legendBelow(plot, 2);
    f.group = new QCPBarsGroup(plot);
    f.group->setSpacing(1);
    return f;
}

void SvdFigure::draw(const SvdResults& r, int maxVectors) const {
    plot->clearPlottables();
    const int n = std::min<int>(maxVectors, static_cast<int>(r.sigma.size()));
    const int k = static_cast<int>(r.absCosine.size());
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (int i = 0; i < n; ++i)
        ticker->addTick(i, QString::number(i));
    plot->xAxis->setTicker(ticker);
    for (int o = 0; o < k; ++o) {
        auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
        bars->setName(r.observables.value(o));
        bars->setWidth(0.8 / std::max(1, k));
        bars->setPen(Qt::NoPen);
        bars->setBrush(seriesColour(o));
        bars->setBarsGroup(group);
        QVector<double> keys, values;
        for (int i = 0; i < n && i < static_cast<int>(r.absCosine[size_t(o)].size()); ++i)
            keys << i, values << r.absCosine[size_t(o)][size_t(i)];
        bars->setData(keys, values);
    }
    plot->xAxis->setRange(-0.6, std::max(1, n) - 0.4);
    title->setText(QStringLiteral("Head %1: |cos| with the top %2 singular vectors")
                       .arg(headName(r.head.layer, r.head.head))
                       .arg(n));
    plot->replot(QCustomPlot::rpQueuedReplot);
}

SteeringFigure SteeringFigure::build(QCustomPlot* plot) {
    SteeringFigure f;
    f.plot = plot;
    plot->yAxis->setLabel(QStringLiteral("mean change of n·z"));
    plot->xAxis->grid()->setVisible(false);
    legendBelow(plot, 1);
    auto* group = new QCPBarsGroup(plot);
    f.predicted = new QCPBars(plot->xAxis, plot->yAxis);
    f.exact = new QCPBars(plot->xAxis, plot->yAxis);
    f.predicted->setName(QStringLiteral("linear prediction"));
    f.predicted->setBrush(kPredicted);
    for (auto* b : {f.predicted, f.exact})
        b->setWidth(0.35), b->setPen(Qt::NoPen), b->setBarsGroup(group);
    return f;
}

void SteeringFigure::draw(const SteeringResults& prediction, const std::optional<SteeringResults>& ex,
                          bool stale) const {
    const QStringList obs = !prediction.observables.isEmpty() ? prediction.observables
                            : ex                              ? ex->observables
                                                              : QStringList();
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    QVector<double> keys, pred, done;
    for (int k = 0; k < obs.size(); ++k) {
        ticker->addTick(k, obs[k]);
        keys << k;
        pred << (k < static_cast<int>(prediction.predicted.size()) ? prediction.predicted[size_t(k)] : 0.0);
        const int e = ex ? static_cast<int>(ex->observables.indexOf(obs[k])) : -1;
        done << (e >= 0 && e < static_cast<int>(ex->meanChange.size()) ? ex->meanChange[size_t(e)] : 0.0);
    }
    plot->xAxis->setTicker(ticker);
    predicted->setData(keys, pred);
    exact->setData(ex ? keys : QVector<double>(), ex ? done : QVector<double>());
    exact->setBrush(stale ? kStale : kExact);
    exact->setName(stale ? QStringLiteral("exact mean change (updating…)")
                         : QStringLiteral("exact mean change"));
    plot->xAxis->setRange(-0.6, std::max<int>(1, int(obs.size())) - 0.4);
    bool found = false;
    QCPRange yr = predicted->getValueRange(found);
    if (ex) yr.expand(exact->getValueRange(found));
    yr.expand(0.0);
    // Never magnify rounding noise (e.g. ±1e-8 at α = 0) into bars that look like an effect.
    if (yr.size() < 1e-3) yr = QCPRange(std::min(yr.lower, -0.05), std::max(yr.upper, 0.05));
    plot->yAxis->setRange(yr.lower - 0.08 * yr.size() - 1e-9, yr.upper + 0.2 * yr.size() + 1e-9);
    plot->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace obsprop::ui::figures
