#include "figures/heatmap_figure.h"

#include <QFontMetricsF>
#include <algorithm>
#include <cmath>

#include "figures/qcp.h"

namespace obsprop::ui::figures {

namespace {

QCPColorGradient sequentialGradient() {
    return QCPColorGradient(QCPColorGradient::gpThermal);
}

// Blue for negative, white at zero, red for positive: zero must read as "nothing".
QCPColorGradient divergingGradient() {
    QCPColorGradient g;
    g.clearColorStops();
    g.setColorStopAt(0.0, QColor(33, 102, 172));
    g.setColorStopAt(0.25, QColor(103, 169, 207));
    g.setColorStopAt(0.5, QColor(247, 247, 247));
    g.setColorStopAt(0.75, QColor(239, 138, 98));
    g.setColorStopAt(1.0, QColor(178, 24, 43));
    return g;
}

// A tick and a label at every head (or layer) when the axis has room for all of their labels, else at every
// step-th, with the smallest step whose labels do not collide. The room is measured on the axis as laid out,
// so a wider window (or a zoom) labels more.
class IndexTicker : public QCPAxisTicker {
  public:
    explicit IndexTicker(QCPAxis* axis) : axis_(axis) {}

  protected:
    double getTickStep(const QCPRange& range) override {
        const bool horizontal = axis_->orientation() == Qt::Horizontal;
        const double length = horizontal ? axis_->axisRect()->width() : axis_->axisRect()->height();
        if (length <= 0 || range.size() <= 0) return 1.0;
        const QFontMetricsF fm(axis_->tickLabelFont());
        const int widest =
            static_cast<int>(std::ceil(std::max(std::abs(range.lower), std::abs(range.upper))));
        const double room = horizontal ? fm.horizontalAdvance(QString::number(widest)) + 0.6 * fm.height()
                                       : 1.1 * fm.height();
        return std::max(1.0, std::ceil(room / (length / range.size())));
    }
    int getSubTickCount(double) override { return 0; }

  private:
    QCPAxis* axis_;
};

} // namespace

HeatmapFigure HeatmapFigure::build(QCustomPlot* plot) {
    HeatmapFigure f;
    f.plot = plot;
    f.map = new QCPColorMap(plot->xAxis, plot->yAxis);
    f.map->setInterpolate(false);
    f.map->setTightBoundary(false); // cells centred on integer (head, layer) coordinates
    f.scale = new QCPColorScale(plot);
    plot->plotLayout()->addElement(0, 1, f.scale);
    f.scale->setType(QCPAxis::atRight);
    f.map->setColorScale(f.scale);
    auto* group = new QCPMarginGroup(plot);
    plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    f.scale->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    plot->xAxis->setLabel(QStringLiteral("head"));
    plot->yAxis->setLabel(QStringLiteral("layer"));
    plot->yAxis->setRangeReversed(true);
    for (auto* ax : {plot->xAxis, plot->yAxis}) {
        ax->grid()->setVisible(false);
        ax->setTicker(QSharedPointer<QCPAxisTicker>(new IndexTicker(ax)));
    }
    plot->plotLayout()->insertRow(0);
    f.title = new QCPTextElement(plot, QString(), QFont(plot->font().family(), 11, QFont::Bold));
    plot->plotLayout()->addElement(0, 0, f.title);
    return f;
}

void HeatmapFigure::draw(const HeadMatrix& m) const {
    title->setText(m.title);
    auto* data = map->data();
    data->setSize(std::max(1, m.heads), std::max(1, m.layers));
    data->setRange(QCPRange(0, std::max(0, m.heads - 1)), QCPRange(0, std::max(0, m.layers - 1)));
    if (m.empty()) data->fill(0);
    double lo = 0, hi = 0, absmax = 0;
    bool first = true;
    for (int l = 0; l < m.layers; ++l)
        for (int h = 0; h < m.heads; ++h) {
            const double v = m.at(l, h);
            data->setCell(h, l, v);
            if (!std::isfinite(v)) continue;
            lo = first ? v : std::min(lo, v);
            hi = first ? v : std::max(hi, v);
            absmax = std::max(absmax, std::abs(v));
            first = false;
        }
    if (m.diverging) {
        map->setGradient(divergingGradient());
        map->setDataRange(QCPRange(-std::max(absmax, 1e-12), std::max(absmax, 1e-12)));
    } else {
        map->setGradient(sequentialGradient());
        map->setDataRange(QCPRange(lo, hi > lo ? hi : lo + 1e-12));
    }
    scale->axis()->setLabel(m.quantity);
    plot->xAxis->setRange(-0.5, m.heads - 0.5);
    plot->yAxis->setRange(-0.5, m.layers - 0.5);
    plot->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace obsprop::ui::figures
