#include "views/plot_interaction.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QEvent>
#include <QMenu>
#include <QMouseEvent>
#include <QToolTip>

#include "figures/plot_style.h"
#include "figures/qcp.h"
#include "views/page_actions.h"

namespace obsprop::ui {

std::pair<QCPBars*, int> barAt(QCustomPlot* plot, const QPoint& pixel) {
    for (int i = plot->plottableCount() - 1; i >= 0; --i) { // the topmost first
        auto* bars = qobject_cast<QCPBars*>(plot->plottable(i));
        if (!bars || !bars->visible() || !bars->keyAxis()->axisRect()->rect().contains(pixel)) continue;
        QVariant details;
        if (bars->selectTest(pixel, false, &details) < 0) continue;
        const auto hit = details.value<QCPDataSelection>();
        if (!hit.isEmpty()) return {bars, hit.dataRange().begin()};
    }
    return {nullptr, -1};
}

PlotInteraction::PlotInteraction(QCustomPlot* plot, PlotValueAt valueAt)
    : QObject(plot), plot_(plot), valueAt_(std::move(valueAt)) {
    setObjectName(QStringLiteral("plotInteraction"));
    plot_->setMouseTracking(true);
    plot_->setContextMenuPolicy(Qt::CustomContextMenu);
    plot_->installEventFilter(this);
    applyPalette();
    connect(plot_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
        if (e->buttons() == Qt::NoButton) showToolTip(e->pos(), e->globalPosition().toPoint());
    });
    connect(plot_, &QCustomPlot::mouseDoubleClick, this, [this](QMouseEvent* e) {
        if (e->button() == Qt::LeftButton) resetZoom();
    });
    connect(plot_, &QWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
        QMenu* menu = contextMenu(pos, plot_);
        menu->setAttribute(Qt::WA_DeleteOnClose);
        menu->popup(plot_->mapToGlobal(pos));
    });
}

PlotInteraction* PlotInteraction::of(const QCustomPlot* plot) {
    return plot ? plot->findChild<PlotInteraction*>(QStringLiteral("plotInteraction"),
                                                    Qt::FindDirectChildrenOnly)
                : nullptr;
}

void PlotInteraction::setZoomable(const QList<QCPAxisRect*>& rects) {
    rects_.clear();
    for (QCPAxisRect* r : rects) {
        r->setRangeDrag(Qt::Horizontal | Qt::Vertical);
        r->setRangeZoom(Qt::Horizontal | Qt::Vertical);
        rects_ << r;
    }
    plot_->setInteraction(QCP::iRangeDrag, !rects.isEmpty());
    plot_->setInteraction(QCP::iRangeZoom, !rects.isEmpty());
    // Panels not listed, and the colour scales, stay put.
    for (QCPAxisRect* r : plot_->axisRects())
        if (!rects.contains(r)) r->setRangeDrag({}), r->setRangeZoom({});
    for (QCPLayoutElement* e : plot_->plotLayout()->elements(true))
        if (auto* scale = qobject_cast<QCPColorScale*>(e))
            scale->setRangeDrag(false), scale->setRangeZoom(false);
    rememberRanges();
}

void PlotInteraction::rememberRanges(QCPAxisRect* rect) {
    for (const auto& r : rects_)
        if (r && (!rect || r == rect))
            for (QCPAxis* ax : r->axes())
                ranges_[ax] = {ax->range().lower, ax->range().upper};
}

void PlotInteraction::resetZoom() {
    for (const auto& r : rects_)
        if (r)
            for (QCPAxis* ax : r->axes())
                if (const auto it = ranges_.constFind(ax); it != ranges_.constEnd())
                    ax->setRange(it->first, it->second);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

std::optional<PlotValue> PlotInteraction::valueAt(const QPoint& pixel) const {
    return valueAt_ ? valueAt_(pixel) : std::nullopt;
}

void PlotInteraction::showToolTip(const QPoint& pixel, const QPoint& globalPos) const {
    const auto v = valueAt(pixel);
    if (v && !v->toolTip.isEmpty())
        QToolTip::showText(globalPos, v->toolTip, plot_);
    else
        QToolTip::hideText();
}

QMenu* PlotInteraction::contextMenu(const QPoint& pixel, QWidget* parent) const {
    auto* menu = new QMenu(parent);
    const auto v = valueAt(pixel);
    QAction* copy = menu->addAction(tr("Copy Value"));
    copy->setEnabled(v && !v->value.isEmpty());
    if (v) {
        const QString value = v->value;
        connect(copy, &QAction::triggered, menu, [value] { QApplication::clipboard()->setText(value); });
    }
    QAction* reset = menu->addAction(tr("Reset Zoom"));
    reset->setEnabled(isZoomable());
    connect(reset, &QAction::triggered, this, &PlotInteraction::resetZoom);
    // Then what the page the plot is on offers (Copy as Command, Export Figure…).
    addPageActions(menu, plot_);
    return menu;
}

bool PlotInteraction::eventFilter(QObject* watched, QEvent* event) {
    if (watched == plot_ &&
        (event->type() == QEvent::PaletteChange || event->type() == QEvent::ApplicationPaletteChange))
        applyPalette();
    return QObject::eventFilter(watched, event);
}

void PlotInteraction::applyPalette() {
    figures::applyPalette(plot_, plot_->palette());
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace obsprop::ui
