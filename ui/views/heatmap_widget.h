// Layer × head heatmap of a HeadMatrix (QCustomPlot colour map): colour scale with legend, a
// diverging map centred at zero for signed quantities, hover tooltip with the exact value and head
// name, click to select a head (outlined black and white, visible on any colour), wheel zoom and drag pan
// with Reset Zoom, and export to PNG / SVG / PDF.
#pragma once

#include <QWidget>

#include "figures/heatmap_figure.h"
#include "results/head_matrix.h"

class QCustomPlot;
class QCPColorMap;
class QCPColorScale;
class QCPItemRect;
class QMouseEvent;

namespace obsprop::ui {

class HeatmapWidget : public QWidget {
    Q_OBJECT
  public:
    explicit HeatmapWidget(QWidget* parent = nullptr);

    void setMatrix(const HeadMatrix& m);
    const HeadMatrix& matrix() const { return matrix_; }
    void setSelectedHead(int layer, int head); // -1, -1 clears

    // Writes the plot as it is drawn; the format follows the suffix (.png, .svg, .pdf).
    // width/height 0 = current size; scale multiplies the pixel density of PNGs.
    bool exportTo(const QString& file, int width = 0, int height = 0, double scale = 1.0) const;

    // The hover text at a widget position: the head and its value; empty off the cells.
    QString toolTipAt(const QPoint& widgetPos) const;
    // The cell under a widget position, or (-1, -1). For tests and the tooltip.
    QPair<int, int> headAt(const QPoint& widgetPos) const;
    QCustomPlot* plot() const { return plot_; }

  Q_SIGNALS:
    void headClicked(int layer, int head);

  protected:
    void resizeEvent(QResizeEvent* e) override;

  private:
    void fitTitle();
    void onMousePress(QMouseEvent* e);

    QCustomPlot* plot_ = nullptr;
    figures::HeatmapFigure figure_;
    QCPItemRect* marker_ = nullptr;      // the selected cell: a black outline …
    QCPItemRect* markerInner_ = nullptr; // … with a white one inside it
    HeadMatrix matrix_;
};

} // namespace obsprop::ui
