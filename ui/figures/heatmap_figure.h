// The layer × head heatmap as a figure: built into any QCustomPlot (a widget on screen or an offscreen plot
// for export) and drawn from a HeadMatrix alone. Colour scale beside it; a diverging map centred at zero for
// signed quantities; layer 0 at the top, as the model reads.
#pragma once

#include "results/head_matrix.h"

class QCustomPlot;
class QCPColorMap;
class QCPColorScale;
class QCPTextElement;

namespace obsprop::ui::figures {

struct HeatmapFigure {
    QCustomPlot* plot = nullptr;
    QCPColorMap* map = nullptr;
    QCPColorScale* scale = nullptr;
    QCPTextElement* title = nullptr;

    static HeatmapFigure build(QCustomPlot* plot);
    void draw(const HeadMatrix& m) const;
};

} // namespace obsprop::ui::figures
