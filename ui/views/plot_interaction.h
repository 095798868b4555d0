// What every plot of the explorer does under the mouse, in one place: the value of the point, bar or cell
// under the pointer as a tooltip; wheel zoom and drag pan where the view allows them, with Reset Zoom
// (double-click, or the context menu) back to the ranges the figure drew; a context menu with Copy Value,
// Reset Zoom and then the actions of the tab page the plot is on (Copy as Command, Export Figure…); and the
// application's palette (a dark theme) on the plot's axes, texts and background, kept up to date.
#pragma once

#include <QHash>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>
#include <functional>
#include <optional>

class QCustomPlot;
class QCPAxis;
class QCPAxisRect;
class QCPBars;
class QMenu;
class QWidget;

namespace obsprop::ui {

// What the pointer is over: the tooltip's text, and what Copy Value puts on the clipboard.
struct PlotValue {
    QString toolTip;
    QString value;
};
// The value under a pixel of the plot, if there is one there.
using PlotValueAt = std::function<std::optional<PlotValue>(const QPoint& plotPixel)>;

// The bar under a pixel of the plot and the index of its data point; (null, -1) off every bar.
std::pair<QCPBars*, int> barAt(QCustomPlot* plot, const QPoint& plotPixel);

class PlotInteraction : public QObject {
    Q_OBJECT
  public:
    // Attaches to `plot` (which owns it) and gives it the plot's palette now and after every change.
    explicit PlotInteraction(QCustomPlot* plot, PlotValueAt valueAt);

    // The interaction attached to a plot, or null.
    static PlotInteraction* of(const QCustomPlot* plot);

    // These panels zoom with the wheel and pan with a drag, both ways.
    void setZoomable(const QList<QCPAxisRect*>& rects);
    // Reset Zoom goes back to the panel's ranges as they are now: call it after drawing (null = every
    // zoomable panel).
    void rememberRanges(QCPAxisRect* rect = nullptr);
    void resetZoom();
    bool isZoomable() const { return !rects_.isEmpty(); }

    std::optional<PlotValue> valueAt(const QPoint& plotPixel) const;
    // The context menu for a pixel of the plot, parented to `parent` (shown by a right-click; tests read it).
    QMenu* contextMenu(const QPoint& plotPixel, QWidget* parent) const;

  protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

  private:
    void showToolTip(const QPoint& plotPixel, const QPoint& globalPos) const;
    void applyPalette();

    QCustomPlot* plot_;
    PlotValueAt valueAt_;
    QList<QPointer<QCPAxisRect>> rects_;
    QHash<QCPAxis*, std::pair<double, double>> ranges_;
};

} // namespace obsprop::ui
