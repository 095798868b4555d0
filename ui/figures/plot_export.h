// Writes a QCustomPlot as drawn on screen to PNG, SVG or PDF (chosen by the file's suffix), at a given
// size in pixels (0 = the widget's) and, for PNG, a pixel-density scale. All views export through this.
#pragma once

#include <QString>

class QCustomPlot;

namespace obsprop::ui {

bool exportPlot(QCustomPlot* plot, const QString& file, int width, int height, double scale,
                const QString& title);

} // namespace obsprop::ui
