#include "heatmap_widget.h"

#include <QFileInfo>
#include <QSvgGenerator>
#include <QToolTip>
#include <QVBoxLayout>
#include <cmath>

#include "plot_export.h"
#include "qcp.h"

namespace obsprop::ui {

namespace {

QCPColorGradient sequentialGradient() {
    QCPColorGradient g(QCPColorGradient::gpThermal);
    return g;
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

} // namespace

HeatmapWidget::HeatmapWidget(QWidget* parent) : QWidget(parent) {
    auto* lay = new QVBoxLayout(this);
    lay->setContentsMargins(0, 0, 0, 0);
    plot_ = new QCustomPlot(this);
    lay->addWidget(plot_);
    plot_->setMouseTracking(true);
    plot_->setMinimumSize(240, 200);

    map_ = new QCPColorMap(plot_->xAxis, plot_->yAxis);
    map_->setInterpolate(false);
    map_->setTightBoundary(false); // cells centred on integer (head, layer) coordinates
    scale_ = new QCPColorScale(plot_);
    plot_->plotLayout()->addElement(0, 1, scale_);
    scale_->setType(QCPAxis::atRight);
    map_->setColorScale(scale_);
    auto* group = new QCPMarginGroup(plot_);
    plot_->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    scale_->setMarginGroup(QCP::msBottom | QCP::msTop, group);

    plot_->xAxis->setLabel(tr("head"));
    plot_->yAxis->setLabel(tr("layer"));
    plot_->yAxis->setRangeReversed(true); // layer 0 at the top, as the model reads
    for (auto* ax : {plot_->xAxis, plot_->yAxis}) {
        ax->grid()->setVisible(false);
        ax->ticker()->setTickStepStrategy(QCPAxisTicker::tssReadability);
        QSharedPointer<QCPAxisTickerFixed> t(new QCPAxisTickerFixed);
        t->setTickStep(1.0);
        t->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
        ax->setTicker(t);
    }

    marker_ = new QCPItemRect(plot_);
    marker_->setPen(QPen(palette().color(QPalette::WindowText), 2.0));
    marker_->setBrush(Qt::NoBrush);
    marker_->setVisible(false);

    plot_->plotLayout()->insertRow(0);
    plot_->plotLayout()->addElement(
        0, 0, new QCPTextElement(plot_, QString(), QFont(font().family(), 11, QFont::Bold)));

    connect(plot_, &QCustomPlot::mouseMove, this, &HeatmapWidget::onMouseMove);
    connect(plot_, &QCustomPlot::mousePress, this, &HeatmapWidget::onMousePress);
}

void HeatmapWidget::setMatrix(const HeadMatrix& m) {
    matrix_ = m;
    if (auto* title = qobject_cast<QCPTextElement*>(plot_->plotLayout()->element(0, 0)))
        title->setText(m.title);
    auto* data = map_->data();
    data->setSize(std::max(1, m.heads), std::max(1, m.layers));
    data->setRange(QCPRange(0, std::max(0, m.heads - 1)), QCPRange(0, std::max(0, m.layers - 1)));
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
        map_->setGradient(divergingGradient());
        map_->setDataRange(QCPRange(-std::max(absmax, 1e-12), std::max(absmax, 1e-12)));
    } else {
        map_->setGradient(sequentialGradient());
        map_->setDataRange(QCPRange(lo, hi > lo ? hi : lo + 1e-12));
    }
    scale_->axis()->setLabel(m.quantity);
    plot_->xAxis->setRange(-0.5, m.heads - 0.5);
    plot_->yAxis->setRange(-0.5, m.layers - 0.5);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void HeatmapWidget::setSelectedHead(int layer, int head) {
    const bool on = layer >= 0 && head >= 0 && layer < matrix_.layers && head < matrix_.heads;
    marker_->setVisible(on);
    if (on) {
        marker_->topLeft->setCoords(head - 0.5, layer - 0.5);
        marker_->bottomRight->setCoords(head + 0.5, layer + 0.5);
    }
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

QPair<int, int> HeatmapWidget::headAt(const QPoint& pos) const {
    if (matrix_.empty()) return {-1, -1};
    const QPoint p = plot_->mapFrom(this, pos);
    if (!plot_->axisRect()->rect().contains(p)) return {-1, -1};
    const int h = static_cast<int>(std::lround(plot_->xAxis->pixelToCoord(p.x())));
    const int l = static_cast<int>(std::lround(plot_->yAxis->pixelToCoord(p.y())));
    if (l < 0 || h < 0 || l >= matrix_.layers || h >= matrix_.heads) return {-1, -1};
    return {l, h};
}

void HeatmapWidget::onMouseMove(QMouseEvent* e) {
    const auto [l, h] = headAt(plot_->mapTo(this, e->pos()));
    if (l < 0) {
        QToolTip::hideText();
        return;
    }
    QToolTip::showText(e->globalPosition().toPoint(),
                       QStringLiteral("head %1\n%2 = %3")
                           .arg(headName(l, h), matrix_.quantity)
                           .arg(matrix_.at(l, h), 0, 'g', 6),
                       plot_);
}

void HeatmapWidget::onMousePress(QMouseEvent* e) {
    const auto [l, h] = headAt(plot_->mapTo(this, e->pos()));
    if (l < 0) return;
    setSelectedHead(l, h);
    Q_EMIT headClicked(l, h);
}

bool HeatmapWidget::exportTo(const QString& file, int width, int height, double scale) const {
    return exportPlot(plot_, file, width, height, scale, matrix_.title);
}

} // namespace obsprop::ui
