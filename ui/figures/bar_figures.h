// Bar figures, built into any QCustomPlot and drawn from result values alone:
//  - SVD alignment: |cos(y, v_i)| of every observable's feature with a head's top right singular vectors;
//  - steering: per observable the linear prediction beside the exact mean change (grey while it is stale).
#pragma once

#include <optional>

#include "results/results.h"

class QCustomPlot;
class QCPBars;
class QCPBarsGroup;
class QCPTextElement;

namespace obsprop::ui::figures {

struct SvdFigure {
    QCustomPlot* plot = nullptr;
    QCPBarsGroup* group = nullptr;
    QCPTextElement* title = nullptr;

    static SvdFigure build(QCustomPlot* plot);
    void draw(const SvdResults& r, int maxVectors) const;
};

struct SteeringFigure {
    QCustomPlot* plot = nullptr;
    QCPBars* predicted = nullptr;
    QCPBars* exact = nullptr;

    static SteeringFigure build(QCustomPlot* plot);
    // `exact` may be absent (not run yet); `stale` greys it (older multipliers than the prediction).
    void draw(const SteeringResults& prediction, const std::optional<SteeringResults>& exact,
              bool stale) const;
};

} // namespace obsprop::ui::figures
