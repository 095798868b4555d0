#include "figures/plot_style.h"

#include "figures/qcp.h"

namespace obsprop::ui::figures {

namespace {

// `t` of the way from the background to the ink.
QColor blend(const QColor& background, const QColor& ink, double t) {
    return QColor::fromRgbF(float(background.redF() * (1 - t) + ink.redF() * t),
                            float(background.greenF() * (1 - t) + ink.greenF() * t),
                            float(background.blueF() * (1 - t) + ink.blueF() * t));
}

QPen recoloured(QPen pen, const QColor& c) {
    if (pen.style() != Qt::NoPen) pen.setColor(c);
    return pen;
}

struct Colours {
    QColor background, ink, grid, subGrid, zeroLine;
};

void styleAxis(QCPAxis* ax, const Colours& c) {
    ax->setBasePen(recoloured(ax->basePen(), c.ink));
    ax->setTickPen(recoloured(ax->tickPen(), c.ink));
    ax->setSubTickPen(recoloured(ax->subTickPen(), c.ink));
    ax->setTickLabelColor(c.ink);
    ax->setLabelColor(c.ink);
    QCPGrid* g = ax->grid();
    g->setPen(recoloured(g->pen(), c.grid));
    g->setSubGridPen(recoloured(g->subGridPen(), c.subGrid));
    g->setZeroLinePen(recoloured(g->zeroLinePen(), c.zeroLine));
}

void styleLegend(QCPLegend* legend, const Colours& c) {
    legend->setBrush(c.background);
    legend->setTextColor(c.ink);
    legend->setBorderPen(recoloured(legend->borderPen(), c.ink));
    legend->setIconBorderPen(recoloured(legend->iconBorderPen(), c.ink));
    for (int i = 0; i < legend->itemCount(); ++i)
        if (auto* item = legend->item(i)) item->setTextColor(c.ink);
}

} // namespace

QPalette exportPalette() {
    QPalette p(Qt::black, Qt::white);
    p.setColor(QPalette::Base, Qt::white);
    p.setColor(QPalette::Text, Qt::black);
    return p;
}

void applyPalette(QCustomPlot* plot, const QPalette& palette) {
    Colours c;
    c.background = palette.color(QPalette::Base);
    c.ink = palette.color(QPalette::Text);
    // On white these are QCustomPlot's own greys (200 and 220); on a dark background as faint.
    c.grid = blend(c.background, c.ink, 0.22);
    c.subGrid = blend(c.background, c.ink, 0.14);
    c.zeroLine = blend(c.background, c.ink, 0.5);
    plot->setBackground(c.background);
    for (QCPAxisRect* r : plot->axisRects())
        for (QCPAxis* ax : r->axes())
            styleAxis(ax, c);
    for (QCPLayoutElement* e : plot->plotLayout()->elements(true)) {
        if (auto* scale = qobject_cast<QCPColorScale*>(e)) styleAxis(scale->axis(), c);
        if (auto* text = qobject_cast<QCPTextElement*>(e)) text->setTextColor(c.ink);
        if (auto* legend = qobject_cast<QCPLegend*>(e)) styleLegend(legend, c);
    }
    if (plot->legend) styleLegend(plot->legend, c);
    for (int i = 0; i < plot->itemCount(); ++i)
        if (auto* text = qobject_cast<QCPItemText*>(plot->item(i))) {
            text->setColor(c.ink);
            if (text->brush().style() != Qt::NoBrush) {
                QColor fill = c.background;
                fill.setAlpha(text->brush().color().alpha());
                text->setBrush(fill);
            }
        }
}

} // namespace obsprop::ui::figures
