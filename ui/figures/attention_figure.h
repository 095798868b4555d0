// One head's attention on one prompt as a figure, built into any QCustomPlot and drawn from AttentionResults
// alone. Top: the token × token pattern, one row per query (destination) token with the first at the top,
// one column per key (source) token; the keys the causal mask hides are left empty (hatched), and the last
// token's row, where the contributions are read, is outlined. Below it, column under column: what each
// source token sends through the head to the observable at the last token (red raises the observable, blue
// lowers it), with their total.
#pragma once

#include <QPointF>
#include <utility>

#include "results/results.h"

class QCustomPlot;
class QCPAxisRect;
class QCPBars;
class QCPColorMap;
class QCPColorScale;
class QCPItemRect;
class QCPItemText;
class QCPTextElement;

namespace obsprop::ui::figures {

struct AttentionFigure {
    QCustomPlot* plot = nullptr;
    QCPAxisRect* patternRect = nullptr; // the pattern's axes: keys along x, queries along y
    QCPAxisRect* barsRect = nullptr;    // the contributions' axes: keys along x
    QCPColorMap* map = nullptr;
    QCPColorScale* scale = nullptr;
    QCPBars* raising = nullptr;  // the contributions ≥ 0, at their key positions
    QCPBars* lowering = nullptr; // the contributions < 0
    QCPItemRect* queryRow = nullptr;
    QCPItemText* total = nullptr;
    QCPTextElement* title = nullptr;

    static AttentionFigure build(QCustomPlot* plot);
    void draw(const AttentionResults& r) const;
    void clear() const;

    // The (query, key) cell or the key of the bar under a pixel of the plot; -1 where there is none.
    std::pair<int, int> cellAt(const QPointF& pixel, int tokens) const;
    int keyAt(const QPointF& pixel, int tokens) const;
};

} // namespace obsprop::ui::figures
