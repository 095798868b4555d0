#include "figures/coupling_figure.h"

#include <algorithm>
#include <cmath>

#include "figures/qcp.h"

namespace obsprop::ui::figures {

namespace {

const QColor kBlue(31, 119, 180), kOrange(230, 110, 0), kGreen(30, 140, 30);

QCPGraph* scatterGraph(QCPAxisRect* r, const QColor& c, double size) {
    auto* g = r->parentPlot()->addGraph(r->axis(QCPAxis::atBottom), r->axis(QCPAxis::atLeft));
    g->setLineStyle(QCPGraph::lsNone);
    g->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssDisc, c, QColor(c.red(), c.green(), c.blue(), 90), size));
    return g;
}

QCPGraph* lineGraph(QCPAxisRect* r, const QPen& pen, const QString& name) {
    auto* g = r->parentPlot()->addGraph(r->axis(QCPAxis::atBottom), r->axis(QCPAxis::atLeft));
    g->setPen(pen);
    g->setName(name);
    return g;
}

QVector<double> vec(const std::vector<double>& v) {
    return QVector<double>(v.begin(), v.end());
}

// Ticks of the symmetric-log ratio axis at 0, ±1, ±10, ±100, … (and ±2, ±5 between them when a decade is
// tall enough), labelled with the ratios themselves.
class SymlogTicker : public QCPAxisTicker {
  protected:
    double getTickStep(const QCPRange&) override { return 1.0; }
    int getSubTickCount(double) override { return 0; }
    QString getTickLabel(double tick, const QLocale&, QChar, int) override {
        return QString::number(symlogInverse(tick), 'g', 3);
    }
    QVector<double> createTickVector(double, const QCPRange& range) override {
        const double top = std::max(std::abs(range.lower), std::abs(range.upper));
        const bool fine = range.size() < 4; // few decades: 2 and 5 between them too
        const std::vector<double> steps = fine ? std::vector<double>{1, 2, 5} : std::vector<double>{1};
        QVector<double> ticks{0.0};
        for (double decade = 1; symlog(decade) <= top * 1.5 && decade < 1e300; decade *= 10)
            for (double m : steps)
                for (double sign : {-1.0, 1.0})
                    ticks << symlog(sign * m * decade);
        std::sort(ticks.begin(), ticks.end());
        return ticks;
    }
};

} // namespace

double attributionThreshold(const std::vector<CouplingHeadPoint>& points, double share) {
    double largest = 0;
    for (const auto& p : points)
        largest = std::max(largest, std::abs(p.attributionA));
    return share * largest;
}

std::vector<CouplingHeadPoint> shownHeads(const std::vector<CouplingHeadPoint>& points, double share) {
    const double threshold = attributionThreshold(points, share);
    std::vector<CouplingHeadPoint> out;
    for (const auto& p : points)
        if (share <= 0 || std::abs(p.attributionA) >= threshold) out.push_back(p);
    return out;
}

double symlog(double y) {
    return std::copysign(std::log10(1.0 + std::abs(y)), y);
}

double symlogInverse(double t) {
    return std::copysign(std::pow(10.0, std::abs(t)) - 1.0, t);
}

CouplingFigure CouplingFigure::build(QCustomPlot* plot, bool withTokens, const QString& footnote) {
    CouplingFigure f;
    f.plot = plot;
    f.headsRect = plot->axisRect();
    const QFont titleFont(plot->font().family(), 10, QFont::Bold);
    if (withTokens) {
        f.tokensRect = new QCPAxisRect(plot);
        plot->plotLayout()->addElement(0, 1, f.tokensRect);
    }
    plot->plotLayout()->insertRow(0);
    plot->plotLayout()->addElement(
        0, 0, new QCPTextElement(plot, QStringLiteral("Heads: coupling vs attribution ratio"), titleFont));
    f.headsRect->axis(QCPAxis::atLeft)->setLabel(QStringLiteral("attribution b / attribution a"));
    f.identity = lineGraph(f.headsRect, QPen(Qt::gray, 1.2, Qt::DashLine), QStringLiteral("y = x"));
    f.heads = scatterGraph(f.headsRect, kBlue, 7);
    if (withTokens) {
        plot->plotLayout()->addElement(
            0, 1, new QCPTextElement(plot, QStringLiteral("Token scores of the selected head"), titleFont));
        f.tokensRect->axis(QCPAxis::atBottom)->setLabel(QStringLiteral("s₁ = y_a·x"));
        f.tokensRect->axis(QCPAxis::atLeft)->setLabel(QStringLiteral("s₂ = y_b·x"));
        const QPen grey(QColor(150, 150, 150), 1);
        f.bandLow = lineGraph(f.tokensRect, grey, QStringLiteral("Theorem-2 band"));
        f.bandHigh = lineGraph(f.tokensRect, grey, QStringLiteral("Theorem-2 band"));
        f.bandHigh->setBrush(QColor(150, 150, 150, 40));
        f.bandHigh->setChannelFillGraph(f.bandLow);
        f.tokens = scatterGraph(f.tokensRect, kBlue, 4);
        f.tokens->setName(QStringLiteral("tokens"));
        f.fit = lineGraph(f.tokensRect, QPen(kOrange, 2), QStringLiteral("least-squares fit"));
        f.predicted =
            lineGraph(f.tokensRect, QPen(kGreen, 2, Qt::DashLine), QStringLiteral("predicted s₂ = C·s₁"));
    }
    // Legends and the footnote in a row below the panels, so they never hide a point.
    f.headsRect->insetLayout()->take(plot->legend);
    f.footnoteText = footnote;
    f.footnote = new QCPTextElement(plot, footnote, QFont(plot->font().family(), 8));
    plot->plotLayout()->addElement(2, 0, f.footnote);
    if (withTokens) plot->plotLayout()->addElement(2, 1, plot->legend);
    plot->plotLayout()->setRowStretchFactor(2, 0.001);
    plot->legend->setFillOrder(QCPLegend::foColumnsFirst);
    plot->legend->setBorderPen(Qt::NoPen);
    plot->legend->setFont(QFont(plot->font().family(), 8));
    plot->legend->setVisible(withTokens);
    for (auto* g : {f.heads, f.identity, f.bandLow})
        if (g) g->removeFromLegend();
    return f;
}

void CouplingFigure::drawHeads(const std::vector<CouplingHeadPoint>& points, const QString& a,
                               const QString& b, const CouplingHeadsOptions& o) {
    options = o;
    shown = shownHeads(points, o.minShare);
    QVector<double> xs, ys;
    for (const auto& p : shown)
        xs << p.coupling, ys << p.ratio;
    double lo = 0, hi = 1;
    if (!shown.empty()) {
        lo = std::min(*std::min_element(xs.begin(), xs.end()), *std::min_element(ys.begin(), ys.end()));
        hi = std::max(*std::max_element(xs.begin(), xs.end()), *std::max_element(ys.begin(), ys.end()));
    }
    for (double& y : ys)
        y = ratioCoord(y);
    heads->setData(xs, ys);
    // y = x, sampled so that it bends with a symmetric-log ratio axis.
    QVector<double> lineX, lineY;
    const int samples = o.symlogRatio ? 200 : 1;
    for (int i = 0; i <= samples; ++i) {
        const double x = lo + (hi - lo) * i / samples;
        lineX << x, lineY << ratioCoord(x);
    }
    identity->setData(lineX, lineY);
    QCPAxis* yAxis = headsRect->axis(QCPAxis::atLeft);
    const bool symlogTicks = dynamic_cast<SymlogTicker*>(yAxis->ticker().data()) != nullptr;
    if (o.symlogRatio != symlogTicks)
        yAxis->setTicker(o.symlogRatio ? QSharedPointer<QCPAxisTicker>(new SymlogTicker)
                                       : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    if (shown.empty()) {
        headsRect->axis(QCPAxis::atBottom)->setRange(0, 1);
        yAxis->setRange(0, 1);
    } else {
        heads->rescaleAxes();
        headsRect->axis(QCPAxis::atBottom)->scaleRange(1.1);
        yAxis->scaleRange(1.1);
    }
    headsRect->axis(QCPAxis::atBottom)
        ->setLabel(a.isEmpty() ? QStringLiteral("coupling C(a→b)")
                               : QStringLiteral("coupling C(%1→%2)").arg(a, b));
    const QString ratio =
        a.isEmpty() ? QStringLiteral("attribution b / a") : QStringLiteral("attribution %1 / %2").arg(b, a);
    yAxis->setLabel(o.symlogRatio ? ratio + QStringLiteral(" (symmetric log)") : ratio);
    QString note = footnoteText;
    if (o.minShare > 0) {
        const auto hidden = points.size() - shown.size();
        note += QStringLiteral("\nheads with |attribution %1| < %2% of the largest (%3) left out (%4 of %5)")
                    .arg(a.isEmpty() ? QStringLiteral("a") : a)
                    .arg(o.minShare * 100, 0, 'g', 4)
                    .arg(attributionThreshold(points, o.minShare), 0, 'g', 4)
                    .arg(hidden)
                    .arg(points.size());
    }
    footnote->setText(note);
    plot->replot(QCustomPlot::rpQueuedReplot);
}

double CouplingFigure::ratioCoord(double ratio) const {
    return options.symlogRatio ? symlog(ratio) : ratio;
}

void CouplingFigure::drawTokens(const CouplingScatter* s) const {
    if (!tokensRect) return;
    for (auto* g : {tokens, fit, predicted, bandLow, bandHigh})
        g->data()->clear();
    if (s) {
        tokens->setData(vec(s->s1), vec(s->s2));
        if (!s->s1.empty()) {
            const auto [mn, mx] = std::minmax_element(s->s1.begin(), s->s1.end());
            const double x0 = *mn, x1 = *mx;
            fit->setData(QVector<double>{x0, x1},
                         QVector<double>{s->slope * x0 + s->intercept, s->slope * x1 + s->intercept});
            predicted->setData(QVector<double>{x0, x1},
                               QVector<double>{s->predicted * x0, s->predicted * x1});
            bandLow->setData(vec(s->bandK), vec(s->bandLow));
            bandHigh->setData(vec(s->bandK), vec(s->bandHigh));
        }
        tokens->rescaleAxes();
        fit->rescaleValueAxis(true);
        predicted->rescaleValueAxis(true);
        tokensRect->axis(QCPAxis::atBottom)->scaleRange(1.08);
        tokensRect->axis(QCPAxis::atLeft)->scaleRange(1.08);
    }
    plot->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace obsprop::ui::figures
