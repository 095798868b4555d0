// The coupling figure: every head's coupling coefficient C(a→b) against its attribution ratio b/a (with the
// line y = x) and, optionally beside it, one head's token scores s₁ = y_a·x, s₂ = y_b·x with the
// least-squares line, the predicted line s₂ = C·s₁ and the Theorem-2 band the core sampled. Built into any
// QCustomPlot and drawn from result values alone.
#pragma once

#include <QString>
#include <vector>

#include "results/results.h"

class QCustomPlot;
class QCPAxisRect;
class QCPGraph;

namespace obsprop::ui::figures {

struct CouplingFigure {
    QCustomPlot* plot = nullptr;
    QCPAxisRect* headsRect = nullptr;
    QCPAxisRect* tokensRect = nullptr; // null without the token panel
    QCPGraph *identity = nullptr, *heads = nullptr;
    QCPGraph *tokens = nullptr, *fit = nullptr, *predicted = nullptr, *bandLow = nullptr, *bandHigh = nullptr;

    static CouplingFigure build(QCustomPlot* plot, bool withTokens, const QString& footnote);
    void drawHeads(const std::vector<CouplingHeadPoint>& points, const QString& a, const QString& b) const;
    // The token panel; null clears it.
    void drawTokens(const CouplingScatter* s) const;
};

} // namespace obsprop::ui::figures
