// The coupling figure: every head's coupling coefficient C(a→b) against its attribution ratio b/a (with the
// line y = x) and, optionally beside it, one head's token scores s₁ = y_a·x, s₂ = y_b·x with the
// least-squares line, the predicted line s₂ = C·s₁ and the Theorem-2 band the core sampled. Built into any
// QCustomPlot and drawn from result values alone.
//
// A head whose attribution of a is near zero has a huge ratio b/a (400 on the demo) and squashes every other
// point into a line, so the heads panel leaves out the heads with |attribution a| below a threshold, as the
// study did (0.1), and says so in its footnote; the ratio axis can also be drawn symmetric-logarithmic.
#pragma once

#include <QString>
#include <vector>

#include "results/results.h"

class QCustomPlot;
class QCPAxisRect;
class QCPGraph;
class QCPTextElement;

namespace obsprop::ui::figures {

// Heads whose |attribution a| is below this share of the largest |attribution a| are left out: their ratio
// b / a is mostly the near-zero denominator (a head at 0.002 beside one at 2.7 gives ratios in the hundreds).
// A share, not an absolute value, so the rule suits every model's scale; the study plotted the heads with
// |attribution| ≥ 0.1 on GPT-Neo-1.3B, which a user reproducing it sets as 0.1 / the largest. The Coupling
// view starts with it and every exported coupling figure uses it.
inline constexpr double kDefaultMinAttributionShare = 0.01;

// share × the largest |attribution a| (0 without points).
double attributionThreshold(const std::vector<CouplingHeadPoint>& points, double share);
// The heads the heads panel draws: those with |attribution a| ≥ attributionThreshold(points, share) (every
// head at share 0).
std::vector<CouplingHeadPoint> shownHeads(const std::vector<CouplingHeadPoint>& points, double share);

// The symmetric-logarithmic ratio axis: sign(y)·log10(1 + |y|), close to linear within ±1, logarithmic
// beyond.
double symlog(double y);
double symlogInverse(double t);

struct CouplingHeadsOptions {
    double minShare = kDefaultMinAttributionShare; // of the largest |attribution a|
    bool symlogRatio = false;
};

struct CouplingFigure {
    QCustomPlot* plot = nullptr;
    QCPAxisRect* headsRect = nullptr;
    QCPAxisRect* tokensRect = nullptr; // null without the token panel
    QCPGraph *identity = nullptr, *heads = nullptr;
    QCPGraph *tokens = nullptr, *fit = nullptr, *predicted = nullptr, *bandLow = nullptr, *bandHigh = nullptr;
    QCPTextElement* footnote = nullptr;
    QString footnoteText;                 // what the footnote says before the threshold's note
    CouplingHeadsOptions options;         // as last drawn
    std::vector<CouplingHeadPoint> shown; // the heads drawn, in the order of the points given

    static CouplingFigure build(QCustomPlot* plot, bool withTokens, const QString& footnote);
    // Draws the heads that pass options.minShare; the footnote states the threshold and how many
    // heads it leaves out.
    void drawHeads(const std::vector<CouplingHeadPoint>& points, const QString& a, const QString& b,
                   const CouplingHeadsOptions& options = {});
    // The heads panel's vertical coordinate of a ratio (symmetric-log or not, as drawn).
    double ratioCoord(double ratio) const;
    // The token panel; null clears it.
    void drawTokens(const CouplingScatter* s) const;
};

} // namespace obsprop::ui::figures
