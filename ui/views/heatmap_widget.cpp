#include "views/heatmap_widget.h"

#include <QFileInfo>
#include <QFontMetrics>
#include <QSvgGenerator>
#include <QVBoxLayout>
#include <cmath>

#include "figures/heatmap_figure.h"
#include "figures/plot_export.h"
#include "figures/qcp.h"
#include "results/csv.h"
#include "views/plot_interaction.h"

namespace obsprop::ui {

HeatmapWidget::HeatmapWidget(QWidget* parent) : QWidget(parent) {
    auto* lay = new QVBoxLayout(this);
    lay->setContentsMargins(0, 0, 0, 0);
    plot_ = new QCustomPlot(this);
    lay->addWidget(plot_);
    plot_->setMouseTracking(true);
    plot_->setMinimumSize(240, 200);

    figure_ = figures::HeatmapFigure::build(plot_);
    plot_->xAxis->setLabel(tr("head"));
    plot_->yAxis->setLabel(tr("layer"));

    // Black outside, white inside: one of the two stands out on every colour of both maps.
    marker_ = new QCPItemRect(plot_);
    marker_->setPen(QPen(Qt::black, 5.0));
    markerInner_ = new QCPItemRect(plot_);
    markerInner_->setPen(QPen(Qt::white, 2.0));
    for (QCPItemRect* r : {marker_, markerInner_}) {
        r->setBrush(Qt::NoBrush);
        r->setVisible(false);
        r->setClipToAxisRect(true);
    }

    auto* interaction = new PlotInteraction(plot_, [this](const QPoint& pixel) -> std::optional<PlotValue> {
        const QPoint at = plot_->mapTo(this, pixel);
        const auto [l, h] = headAt(at);
        if (l < 0) return std::nullopt;
        return PlotValue{toolTipAt(at), csvNumber(matrix_.at(l, h))};
    });
    interaction->setZoomable({plot_->axisRect()});
    connect(plot_, &QCustomPlot::mousePress, this, &HeatmapWidget::onMousePress);
}

void HeatmapWidget::setMatrix(const HeadMatrix& m) {
    matrix_ = m;
    figure_.draw(m);
    PlotInteraction::of(plot_)->rememberRanges();
    fitTitle();
}

void HeatmapWidget::fitTitle() {
    // A narrow plot (1280-pixel screens) breaks "Attribution (patching) — subj" after the quantity rather
    // than clipping it.
    const QFontMetrics fm(figure_.title->font());
    QString text = matrix_.title;
    // The title spans the map, not its colour scale.
    if (fm.horizontalAdvance(text) > plot_->width() * 3 / 4 - 16)
        text.replace(QStringLiteral(" — "), QStringLiteral("\n"));
    if (text == figure_.title->text()) return;
    figure_.title->setText(text);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void HeatmapWidget::resizeEvent(QResizeEvent* e) {
    QWidget::resizeEvent(e);
    fitTitle();
}

void HeatmapWidget::setSelectedHead(int layer, int head) {
    const bool on = layer >= 0 && head >= 0 && layer < matrix_.layers && head < matrix_.heads;
    for (QCPItemRect* r : {marker_, markerInner_}) {
        r->setVisible(on);
        r->topLeft->setCoords(head - 0.5, layer - 0.5);
        r->bottomRight->setCoords(head + 0.5, layer + 0.5);
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

QString HeatmapWidget::toolTipAt(const QPoint& pos) const {
    const auto [l, h] = headAt(pos);
    if (l < 0) return {};
    return QStringLiteral("head %1\n%2 = %3")
        .arg(headName(l, h), matrix_.quantity)
        .arg(matrix_.at(l, h), 0, 'g', 6);
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
