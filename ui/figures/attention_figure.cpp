#include "figures/attention_figure.h"

#include <algorithm>
#include <cmath>

#include "figures/qcp.h"
#include "results/token_text.h"

namespace obsprop::ui::figures {

namespace {

const QColor kRaise(178, 24, 43), kLower(33, 102, 172); // the diverging heatmap's ends

// Attention from none (white) to all (dark blue): a row sums to one, so the scale is fixed at [0, 1].
QCPColorGradient patternGradient() {
    QCPColorGradient g;
    g.clearColorStops();
    g.setColorStopAt(0.0, QColor(255, 255, 255));
    g.setColorStopAt(0.3, QColor(158, 202, 225));
    g.setColorStopAt(0.7, QColor(49, 130, 189));
    g.setColorStopAt(1.0, QColor(8, 48, 107));
    g.setNanHandling(QCPColorGradient::nhTransparent); // the masked cells show the hatched background
    return g;
}

// A tick and a label ("␣she 3") at every token position, or at every step-th when the axis is too short for
// all of them to be legible: the tick count is what fits the axis's length in label heights (fitLabels).
class TokenTicker : public QCPAxisTicker {
  public:
    QStringList labels;

  protected:
    double getTickStep(const QCPRange& range) override {
        return std::max(1.0, std::ceil(range.size() / std::max(1, tickCount())));
    }
    int getSubTickCount(double) override { return 0; }
    QString getTickLabel(double tick, const QLocale&, QChar, int) override {
        const auto i = static_cast<int>(std::lround(tick));
        return i >= 0 && i < labels.size() ? labels[i] : QString();
    }
    QVector<double> createTickVector(double step, const QCPRange& range) override {
        QVector<double> ticks;
        const auto s = static_cast<int>(step);
        for (int i = 0; i < labels.size(); i += s)
            if (i >= range.lower && i <= range.upper) ticks << i;
        return ticks;
    }
};

TokenTicker* tokenTicker(QCPAxis* ax) {
    return static_cast<TokenTicker*>(ax->ticker().data());
}

// Sets each token axis's tick count to what fits its current length; replots again when one changed (the
// lengths are known only once the layout is done).
void fitLabels(QCustomPlot* plot, std::initializer_list<QCPAxis*> axes) {
    bool changed = false;
    for (QCPAxis* ax : axes) {
        const double pitch = 1.15 * QFontMetricsF(ax->tickLabelFont()).height();
        const double length =
            ax->orientation() == Qt::Horizontal ? ax->axisRect()->width() : ax->axisRect()->height();
        const int count = std::max(1, static_cast<int>(length / pitch));
        if (count != ax->ticker()->tickCount()) ax->ticker()->setTickCount(count), changed = true;
    }
    if (changed) plot->replot(QCustomPlot::rpQueuedReplot);
}

void tokenAxis(QCPAxis* ax) {
    ax->grid()->setVisible(false);
    QFont f = ax->tickLabelFont();
    f.setPointSizeF(8);
    ax->setTickLabelFont(f);
    ax->setSubTicks(false);
}

} // namespace

AttentionFigure AttentionFigure::build(QCustomPlot* plot) {
    AttentionFigure f;
    f.plot = plot;
    auto* layout = plot->plotLayout();
    f.patternRect = plot->axisRect();
    f.barsRect = new QCPAxisRect(plot);
    layout->addElement(1, 0, f.barsRect);
    f.scale = new QCPColorScale(plot);
    layout->addElement(0, 1, f.scale);
    f.scale->setType(QCPAxis::atRight);
    f.scale->axis()->setLabel(QStringLiteral("attention"));
    f.scale->setDataRange(QCPRange(0, 1));
    f.scale->setGradient(patternGradient());
    // The bars' columns line up under the pattern's; the colour scale spans the pattern's height.
    auto* columns = new QCPMarginGroup(plot);
    f.patternRect->setMarginGroup(QCP::msLeft | QCP::msRight, columns);
    f.barsRect->setMarginGroup(QCP::msLeft | QCP::msRight, columns);
    auto* rows = new QCPMarginGroup(plot);
    f.patternRect->setMarginGroup(QCP::msTop | QCP::msBottom, rows);
    f.scale->setMarginGroup(QCP::msTop | QCP::msBottom, rows);

    // The pattern: keys along x, queries down y; masked cells are transparent over a hatched background.
    QCPAxis* key = f.patternRect->axis(QCPAxis::atBottom);
    QCPAxis* query = f.patternRect->axis(QCPAxis::atLeft);
    f.map = new QCPColorMap(key, query);
    f.map->setInterpolate(false);
    f.map->setTightBoundary(false); // cells centred on integer token positions
    f.map->setColorScale(f.scale);
    f.map->setGradient(patternGradient());
    f.map->setDataRange(QCPRange(0, 1));
    f.patternRect->setBackground(QBrush(QColor(170, 170, 170), Qt::BDiagPattern));
    tokenAxis(key);
    tokenAxis(query);
    QSharedPointer<TokenTicker> keyTicks(new TokenTicker), queryTicks(new TokenTicker);
    key->setTicker(keyTicks);
    query->setTicker(queryTicks);
    key->setTickLabelRotation(-90);
    key->setLabel(QStringLiteral("key (source) token"));
    query->setLabel(QStringLiteral("query (destination) token"));
    query->setRangeReversed(true);
    f.queryRow = new QCPItemRect(plot);
    f.queryRow->setClipAxisRect(f.patternRect);
    f.queryRow->topLeft->setAxes(key, query);
    f.queryRow->bottomRight->setAxes(key, query);
    f.queryRow->setPen(QPen(QColor(20, 20, 20), 2.0));
    f.queryRow->setBrush(Qt::NoBrush);
    f.queryRow->setVisible(false);

    // The contributions, one bar under each key column.
    QCPAxis* barKey = f.barsRect->axis(QCPAxis::atBottom);
    QCPAxis* value = f.barsRect->axis(QCPAxis::atLeft);
    for (QCPBars** b : {&f.raising, &f.lowering}) {
        *b = new QCPBars(barKey, value);
        (*b)->setWidth(0.8);
        (*b)->setPen(Qt::NoPen);
    }
    f.raising->setName(QStringLiteral("raises the observable"));
    f.raising->setBrush(kRaise);
    f.lowering->setName(QStringLiteral("lowers the observable"));
    f.lowering->setBrush(kLower);
    barKey->setTicker(keyTicks);
    barKey->grid()->setVisible(false);
    barKey->setTickLabels(false); // the pattern's key labels above name these columns
    barKey->setSubTicks(false);
    value->grid()->setZeroLinePen(QPen(QColor(60, 60, 60), 1.0));
    f.total = new QCPItemText(plot);
    f.total->setClipAxisRect(f.barsRect);
    f.total->position->setType(QCPItemPosition::ptAxisRectRatio);
    f.total->position->setAxisRect(f.barsRect);
    f.total->position->setCoords(0.99, 0.03);
    f.total->setPositionAlignment(Qt::AlignRight | Qt::AlignTop);
    f.total->setBrush(QColor(255, 255, 255, 220));
    f.total->setPadding(QMargins(4, 2, 4, 2));

    layout->insertRow(0);
    f.title = new QCPTextElement(plot, QString(), QFont(plot->font().family(), 11, QFont::Bold));
    layout->addElement(0, 0, f.title);
    layout->setRowStretchFactor(1, 3);
    layout->setRowStretchFactor(2, 1.6);
    QObject::connect(plot, &QCustomPlot::afterLayout, plot, [plot, key, query] {
        fitLabels(plot, {key, query});
    });
    return f;
}

void AttentionFigure::clear() const {
    map->data()->clear();
    for (QCPAxis* ax : {patternRect->axis(QCPAxis::atBottom), patternRect->axis(QCPAxis::atLeft)})
        tokenTicker(ax)->labels.clear();
    raising->data()->clear();
    lowering->data()->clear();
    queryRow->setVisible(false);
    total->setText(QString());
    title->setText(QString());
    plot->replot(QCustomPlot::rpQueuedReplot);
}

void AttentionFigure::draw(const AttentionResults& r) const {
    const int T = static_cast<int>(r.tokens.size());
    title->setText(QStringLiteral("Head %1 on %2 prompt %3 — %4 (LayerNorm %5)")
                       .arg(headName(r.head.layer, r.head.head), r.dataset)
                       .arg(r.prompt)
                       .arg(r.observable, r.lnMode));
    auto* data = map->data();
    data->setSize(std::max(1, T), std::max(1, T));
    data->setRange(QCPRange(0, std::max(0, T - 1)), QCPRange(0, std::max(0, T - 1)));
    for (int q = 0; q < T; ++q)
        for (int k = 0; k < T; ++k)
            data->setCell(
                k, q, k > q ? qQNaN() : r.pattern[static_cast<std::size_t>(q)][static_cast<std::size_t>(k)]);
    QStringList labels;
    for (int i = 0; i < T; ++i)
        labels << QStringLiteral("%1 %2").arg(visibleToken(r.tokens[i])).arg(i);
    for (QCPAxis* ax : {patternRect->axis(QCPAxis::atBottom), patternRect->axis(QCPAxis::atLeft)}) {
        tokenTicker(ax)->labels = labels;
        ax->setRange(-0.5, T - 0.5);
    }
    queryRow->topLeft->setCoords(-0.5, r.query - 0.5);
    queryRow->bottomRight->setCoords(T - 0.5, r.query + 0.5);
    queryRow->setVisible(T > 0);

    QVector<double> upKeys, upValues, downKeys, downValues;
    double lo = 0, hi = 0;
    for (int k = 0; k < static_cast<int>(r.contribution.size()); ++k) {
        const double v = r.contribution[static_cast<std::size_t>(k)];
        (v >= 0 ? upKeys : downKeys) << k;
        (v >= 0 ? upValues : downValues) << v;
        lo = std::min(lo, v), hi = std::max(hi, v);
    }
    raising->setData(upKeys, upValues, true);
    lowering->setData(downKeys, downValues, true);
    barsRect->axis(QCPAxis::atBottom)->setRange(-0.5, T - 0.5);
    const double pad = 0.12 * std::max(hi - lo, 1e-12);
    barsRect->axis(QCPAxis::atLeft)->setRange(lo - (lo < 0 ? pad : 0), hi + pad * 2.5);
    barsRect->axis(QCPAxis::atLeft)->setLabel(QStringLiteral("to %1 at the last token").arg(r.observable));
    total->setText(QStringLiteral("total %1").arg(r.total, 0, 'g', 6));
    plot->replot(QCustomPlot::rpQueuedReplot);
}

std::pair<int, int> AttentionFigure::cellAt(const QPointF& pixel, int tokens) const {
    if (!patternRect->rect().contains(pixel.toPoint())) return {-1, -1};
    const int k =
        static_cast<int>(std::lround(patternRect->axis(QCPAxis::atBottom)->pixelToCoord(pixel.x())));
    const int q = static_cast<int>(std::lround(patternRect->axis(QCPAxis::atLeft)->pixelToCoord(pixel.y())));
    if (q < 0 || k < 0 || q >= tokens || k >= tokens) return {-1, -1};
    return {q, k};
}

int AttentionFigure::keyAt(const QPointF& pixel, int tokens) const {
    if (!barsRect->rect().contains(pixel.toPoint())) return -1;
    const int k = static_cast<int>(std::lround(barsRect->axis(QCPAxis::atBottom)->pixelToCoord(pixel.x())));
    return k >= 0 && k < tokens ? k : -1;
}

} // namespace obsprop::ui::figures
