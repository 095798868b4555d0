// The plots under the mouse, as a user meets them: hover values on cells, points and bars; wheel zoom, drag
// pan and Reset Zoom (double-click, context menu) back to exactly the ranges drawn; the context menu's Copy
// Value and the page's actions; the coupling scatter's |attribution a| threshold and symmetric-log axis; a
// head label at every head when there is room; a selection mark visible on dark and light cells; the
// application's palette (a dark theme) on every plot, while exported figures stay black on white.
#include "test_models.h" // LibTorch first: Qt's macros must not be defined when it is parsed

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QDoubleSpinBox>
#include <QMenu>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QToolTip>
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "figures/coupling_figure.h"
#include "figures/plot_style.h"
#include "figures/qcp.h"
#include "results/csv.h"
#include "session/session.h"
#include "session_fixture.h"
#include "view_helpers.h"
#include "views/attention_view.h"
#include "views/coupling_view.h"
#include "views/heatmap_widget.h"
#include "views/plot_interaction.h"
#include "views/steering_panel.h"
#include "views/svd_view.h"

using namespace obsprop::ui;
using test_models::make_tiny;
using test_models::TinyModel;

namespace {

constexpr int kTimeout = 60000;

HeadMatrix matrix(int layers, int heads, bool diverging = false) {
    HeadMatrix m;
    m.title = QStringLiteral("test");
    m.quantity = QStringLiteral("norm");
    m.layers = layers;
    m.heads = heads;
    m.diverging = diverging;
    for (int i = 0; i < layers * heads; ++i)
        m.values.push_back(diverging ? i - 0.5 * layers * heads : 0.25 * i);
    return m;
}

// Fusion's dark palette, as a dark desktop theme sets it.
QPalette darkPalette() {
    QPalette p;
    p.setColor(QPalette::Window, QColor(53, 53, 53));
    p.setColor(QPalette::WindowText, Qt::white);
    p.setColor(QPalette::Base, QColor(35, 35, 35));
    p.setColor(QPalette::AlternateBase, QColor(53, 53, 53));
    p.setColor(QPalette::ToolTipBase, QColor(25, 25, 25));
    p.setColor(QPalette::ToolTipText, Qt::white);
    p.setColor(QPalette::Text, Qt::white);
    p.setColor(QPalette::Button, QColor(53, 53, 53));
    p.setColor(QPalette::ButtonText, Qt::white);
    p.setColor(QPalette::Highlight, QColor(42, 130, 218));
    p.setColor(QPalette::HighlightedText, Qt::black);
    return p;
}

void send(QWidget* w, QEvent::Type type, QPoint pos, Qt::MouseButton button, Qt::MouseButtons buttons) {
    QMouseEvent e(type, QPointF(pos), QPointF(w->mapToGlobal(pos)), button, buttons, Qt::NoModifier);
    QApplication::sendEvent(w, &e);
}

void wheel(QWidget* w, QPoint pos, int notches) {
    QWheelEvent e(QPointF(pos), QPointF(w->mapToGlobal(pos)), QPoint(), QPoint(0, 120 * notches),
                  Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(w, &e);
}

void drag(QWidget* w, QPoint from, QPoint to) {
    send(w, QEvent::MouseButtonPress, from, Qt::LeftButton, Qt::LeftButton);
    for (int i = 1; i <= 4; ++i)
        send(w, QEvent::MouseMove, from + (to - from) * i / 4, Qt::NoButton, Qt::LeftButton);
    send(w, QEvent::MouseButtonRelease, to, Qt::LeftButton, Qt::NoButton);
}

void doubleClick(QWidget* w, QPoint pos) {
    send(w, QEvent::MouseButtonPress, pos, Qt::LeftButton, Qt::LeftButton);
    send(w, QEvent::MouseButtonRelease, pos, Qt::LeftButton, Qt::NoButton);
    send(w, QEvent::MouseButtonDblClick, pos, Qt::LeftButton, Qt::LeftButton);
    send(w, QEvent::MouseButtonRelease, pos, Qt::LeftButton, Qt::NoButton);
}

// The tooltip shown after the pointer comes to a pixel of the plot from its corner (the previous tooltip
// gone first: Qt hides a tooltip after a short delay).
QString hover(QCustomPlot* plot, QPoint pos) {
    QTest::mouseMove(plot, QPoint(0, 0));
    QToolTip::hideText();
    if (!QTest::qWaitFor([] { return !QToolTip::isVisible(); }, 3000)) return QStringLiteral("(stuck)");
    QTest::mouseMove(plot, pos);
    QTest::qWait(10);
    return QToolTip::isVisible() ? QToolTip::text() : QString();
}

using Ranges = QList<QCPRange>;
Ranges ranges(QCPAxisRect* r) {
    return {r->axis(QCPAxis::atBottom)->range(), r->axis(QCPAxis::atLeft)->range()};
}

QAction* action(QMenu* m, const QString& text) {
    for (QAction* a : m->actions())
        if (a->text() == text) return a;
    return nullptr;
}

QStringList actionTexts(QMenu* m) {
    QStringList out;
    for (QAction* a : m->actions())
        out << (a->isSeparator() ? QStringLiteral("|") : a->text());
    return out;
}

// Zooms with the wheel, pans with a drag and resets with a double-click and with the menu's Reset Zoom: each
// reset gives back exactly the ranges drawn.
void zoomPanReset(QCustomPlot* plot, QCPAxisRect* rect) {
    plot->replot();
    const Ranges drawn = ranges(rect);
    const QPoint centre = rect->rect().center();
    wheel(plot, centre, 2);
    const Ranges zoomed = ranges(rect);
    QVERIFY(zoomed[0].size() < 0.9 * drawn[0].size());
    QVERIFY(zoomed[1].size() < 0.9 * drawn[1].size());
    plot->replot();
    drag(plot, centre, centre + QPoint(40, 25));
    const Ranges panned = ranges(rect);
    QVERIFY(std::abs(panned[0].center() - zoomed[0].center()) > 1e-6 * zoomed[0].size());
    QVERIFY(std::abs(panned[1].center() - zoomed[1].center()) > 1e-6 * zoomed[1].size());
    QCOMPARE(panned[0].size(), zoomed[0].size());
    doubleClick(plot, centre);
    QCOMPARE(ranges(rect), drawn);
    wheel(plot, centre, -3);
    QVERIFY(ranges(rect)[0].size() > 1.1 * drawn[0].size());
    std::unique_ptr<QMenu> menu(PlotInteraction::of(plot)->contextMenu(centre, nullptr));
    QAction* reset = action(menu.get(), QStringLiteral("Reset Zoom"));
    QVERIFY(reset && reset->isEnabled());
    reset->trigger();
    QCOMPARE(ranges(rect), drawn);
}

// The plot's furniture is in the palette's colours.
void followsPalette(QCustomPlot* plot, const QPalette& pal, const char* where) {
    const QColor ink = pal.color(QPalette::Text), background = pal.color(QPalette::Base);
    QVERIFY2(QColor(plot->toPixmap(200, 150).toImage().pixel(1, 1)) == background, where);
    for (QCPAxisRect* r : plot->axisRects())
        for (QCPAxis* ax : r->axes()) {
            QVERIFY2(ax->tickLabelColor() == ink, where);
            QVERIFY2(ax->labelColor() == ink, where);
            QVERIFY2(ax->basePen().color() == ink, where);
        }
    for (QCPLayoutElement* e : plot->plotLayout()->elements(true)) {
        if (auto* t = qobject_cast<QCPTextElement*>(e)) QVERIFY2(t->textColor() == ink, where);
        if (auto* s = qobject_cast<QCPColorScale*>(e)) QVERIFY2(s->axis()->tickLabelColor() == ink, where);
    }
    if (plot->legend) QVERIFY2(plot->legend->textColor() == ink, where);
}

} // namespace

class TestPlots : public QObject {
    Q_OBJECT
    TinyModel t_ = make_tiny(obsprop::tools::Family::GPT2, 41, 512);
    Session* s_ = nullptr;

  private Q_SLOTS:
    void initTestCase() {
        s_ = new Session;
        QVERIFY(session_fixture::openWithPair(*s_, t_.dir->filePath(QStringLiteral("model"))));
    }
    void cleanupTestCase() { delete s_; }

    void heatmapHoverZoomAndReset() {
        HeatmapWidget w;
        w.resize(600, 420);
        w.setMatrix(matrix(3, 4));
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        w.plot()->replot();
        const QPoint cell(int(w.plot()->xAxis->coordToPixel(1)), int(w.plot()->yAxis->coordToPixel(2)));
        QCOMPARE(hover(w.plot(), cell),
                 QStringLiteral("head %1\nnorm = %2").arg(headName(2, 1)).arg(0.25 * 9, 0, 'g', 6));
        QCOMPARE(hover(w.plot(), QPoint(2, 2)), QString()); // off the cells: no tooltip
        zoomPanReset(w.plot(), w.plot()->axisRect());
        // A new matrix: Reset Zoom goes back to its ranges.
        w.setMatrix(matrix(5, 7));
        w.plot()->replot();
        wheel(w.plot(), w.plot()->axisRect()->rect().center(), 2);
        PlotInteraction::of(w.plot())->resetZoom();
        QCOMPARE(w.plot()->xAxis->range(), QCPRange(-0.5, 6.5));
        QCOMPARE(w.plot()->yAxis->range(), QCPRange(-0.5, 4.5));
    }

    // Every head and layer has its label when the axis has room; else every step-th with the smallest step
    // whose labels do not overlap.
    void heatmapLabelsEveryHeadThatFits() {
        HeatmapWidget w;
        w.setMatrix(matrix(12, 32));
        w.resize(1400, 700);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVector<double> all(32), layers(12);
        std::iota(all.begin(), all.end(), 0.0);
        std::iota(layers.begin(), layers.end(), 0.0);
        // Drawn once the window has its size (a slow build may get there after a few event-loop turns).
        QTRY_VERIFY_WITH_TIMEOUT((w.plot()->replot(), w.plot()->xAxis->tickVector() == all), 5000);
        QCOMPARE(w.plot()->yAxis->tickVector(), layers);
        QCOMPARE(w.plot()->xAxis->tickVectorLabels().last(), QStringLiteral("31"));

        w.resize(330, 700);
        QTRY_VERIFY_WITH_TIMEOUT((w.plot()->replot(), w.plot()->xAxis->tickVector().size() < 32), 5000);
        const QVector<double> ticks = w.plot()->xAxis->tickVector();
        QVERIFY(ticks.size() >= 2 && ticks.size() < 32);
        const double step = ticks[1] - ticks[0];
        QCOMPARE(step, std::round(step));
        const double perHead = w.plot()->axisRect()->width() / w.plot()->xAxis->range().size();
        const double label =
            QFontMetricsF(w.plot()->xAxis->tickLabelFont()).horizontalAdvance(QStringLiteral("31"));
        QVERIFY2(step * perHead > label, "labels overlap");
        QVERIFY2((step - 1) * perHead < label * 2, "a smaller step would have fitted");
        for (int i = 1; i < ticks.size(); ++i)
            QCOMPARE(ticks[i] - ticks[i - 1], step);
    }

    // The selection box shows as black and white on the darkest and on the lightest cell alike.
    void selectionMarkVisibleOnAnyColour() {
        HeatmapWidget w;
        w.resize(600, 420);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        HeadMatrix white = matrix(3, 4, true); // diverging: blue … near-white at zero … red
        white.values[5] = 0;                   // L1H1 white
        const HeadMatrix black = matrix(3, 4); // sequential: L0H0, the smallest, black
        for (const auto& [m, layer, head] : {std::tuple{white, 1, 1}, std::tuple{black, 0, 0},
                                             std::tuple{black, 2, 3}, std::tuple{white, 0, 2}}) {
            w.setMatrix(m);
            w.setSelectedHead(layer, head);
            w.plot()->replot();
            const QImage img = w.plot()->toPixmap().toImage();
            const int x0 = int(std::lround(w.plot()->xAxis->coordToPixel(head - 0.5))),
                      y = int(std::lround(w.plot()->yAxis->coordToPixel(layer)));
            int darkest = 255, lightest = 0;
            for (int x = x0 - 4; x <= x0 + 4; ++x) {
                const int v = QColor(img.pixel(x, y)).value();
                darkest = std::min(darkest, v), lightest = std::max(lightest, v);
            }
            QVERIFY2(
                darkest < 40 && lightest > 230,
                qPrintable(
                    QStringLiteral("%1: %2 … %3").arg(headName(layer, head)).arg(darkest).arg(lightest)));
        }
    }

    void contextMenuCopiesValueAndOffersThePageActions() {
        QWidget page;
        page.setContextMenuPolicy(Qt::ActionsContextMenu);
        auto* command = new QAction(QStringLiteral("Copy as Command"), &page);
        page.addAction(command);
        auto* holder = new QWidget(&page); // the plot sits a few widgets down
        auto* w = new HeatmapWidget(holder);
        w->resize(600, 420);
        const HeadMatrix m = matrix(3, 4);
        w->setMatrix(m);
        page.resize(600, 420);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        w->plot()->replot();
        QCOMPARE(w->plot()->contextMenuPolicy(), Qt::CustomContextMenu);
        const QPoint cell(int(w->plot()->xAxis->coordToPixel(3)), int(w->plot()->yAxis->coordToPixel(1)));
        std::unique_ptr<QMenu> menu(PlotInteraction::of(w->plot())->contextMenu(cell, nullptr));
        QCOMPARE(actionTexts(menu.get()),
                 (QStringList{QStringLiteral("Copy Value"), QStringLiteral("Reset Zoom"), QStringLiteral("|"),
                              QStringLiteral("Copy as Command")}));
        QVERIFY(menu->actions().last() == command);
        QAction* copy = action(menu.get(), QStringLiteral("Copy Value"));
        QVERIFY(copy->isEnabled());
        QApplication::clipboard()->clear();
        copy->trigger();
        QCOMPARE(QApplication::clipboard()->text(), csvNumber(m.at(1, 3)));
        QCOMPARE(QApplication::clipboard()->text().toDouble(), 0.25 * 7);
        // Off the cells there is no value to copy.
        std::unique_ptr<QMenu> off(PlotInteraction::of(w->plot())->contextMenu(QPoint(2, 2), nullptr));
        QVERIFY(!action(off.get(), QStringLiteral("Copy Value"))->isEnabled());
    }

    // The coupling figure draws the heads with |attribution a| ≥ the share of the largest and says so.
    void couplingFigureLeavesOutSmallAttributions() {
        using namespace obsprop::ui::figures;
        QCOMPARE(kDefaultMinAttributionShare, 0.01);
        std::vector<CouplingHeadPoint> pts = {{{0, 0}, 0.5, 1.0, 0.6, 0.6},
                                              {{0, 1}, 0.2, 0.002, 0.8, 400.0},
                                              {{1, 0}, -0.3, -0.4, 0.1, -0.25},
                                              {{1, 1}, 0.1, 0.0999, 0.2, 2.002}};
        QCustomPlot plot;
        plot.resize(700, 500);
        auto f = CouplingFigure::build(&plot, false, QStringLiteral("dashed: y = x"));
        f.drawHeads(pts, QStringLiteral("subj"), QStringLiteral("obj"), {0.1, false});
        QCOMPARE(f.heads->data()->size(), 2);
        QCOMPARE(f.heads->data()->at(0)->key, -0.3); // sorted by key
        QCOMPARE(f.heads->data()->at(1)->value, 0.6);
        QCOMPARE(f.footnote->text(), QStringLiteral("dashed: y = x\nheads with |attribution subj| < 10% of "
                                                    "the largest (0.1) left out (2 of 4)"));
        QVERIFY(f.headsRect->axis(QCPAxis::atLeft)->range().upper < 2); // 400 no longer sets the scale
        // Threshold 0: every head, and no note.
        f.drawHeads(pts, QStringLiteral("subj"), QStringLiteral("obj"), {0, false});
        QCOMPARE(f.heads->data()->size(), 4);
        QCOMPARE(f.footnote->text(), QStringLiteral("dashed: y = x"));
        // Symmetric log: the points at sign(r)·log10(1 + |r|), the ticks labelled with ratios.
        f.drawHeads(pts, QStringLiteral("subj"), QStringLiteral("obj"), {0, true});
        QVector<double> expected, drawn;
        for (const auto& p : pts)
            expected << std::copysign(std::log10(1 + std::abs(p.ratio)), p.ratio);
        for (auto it = f.heads->data()->constBegin(); it != f.heads->data()->constEnd(); ++it)
            drawn << it->value;
        std::sort(expected.begin(), expected.end());
        std::sort(drawn.begin(), drawn.end());
        QCOMPARE(drawn, expected);
        plot.replot();
        const QStringList labels = f.headsRect->axis(QCPAxis::atLeft)->tickVectorLabels();
        QVERIFY2(labels.contains(QStringLiteral("100")) && labels.contains(QStringLiteral("0")),
                 qPrintable(labels.join(QLatin1Char(' '))));
    }

    void couplingViewFiltersHoversAndZooms() {
        CouplingView view(s_);
        view.resize(1300, 560);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QTest::mouseClick(view.computeButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(!view.headPoints().empty(), kTimeout);
        QCOMPARE(view.thresholdBox()->value(), 100 * figures::kDefaultMinAttributionShare); // percent
        const auto all = view.headPoints(); // a copy: the view rebuilds its points as the threshold moves

        // The heads drawn are exactly those with |attribution a| ≥ the share of the largest, at any share.
        std::vector<double> mags;
        for (const auto& p : all)
            mags.push_back(std::abs(p.attributionA));
        std::sort(mags.begin(), mags.end());
        const double largest = mags.back();
        for (double t : {1.0, 10.0, 0.0, 100 * mags[mags.size() / 2] / largest, 100.0}) {
            view.thresholdBox()->setValue(t);
            t = view.thresholdBox()->value(); // as the spin box rounds it
            std::vector<HeadRef> expected, shown;
            for (const auto& p : all)
                if (t == 0 || !(std::abs(p.attributionA) < t / 100 * largest)) expected.push_back(p.head);
            for (const auto& p : view.shownPoints())
                shown.push_back(p.head);
            QCOMPARE(shown, expected);
            auto* heads = view.plot()->graph(1);
            QCOMPARE(heads->data()->size(), int(expected.size()));
            const auto hidden = all.size() - expected.size();
            QCOMPARE(view.hiddenText(),
                     hidden ? QStringLiteral("%1 of %2 heads hidden").arg(hidden).arg(all.size())
                            : QStringLiteral("all %1 heads shown").arg(all.size()));
        }
        view.thresholdBox()->setValue(0);
        view.plot()->replot();

        // Hover values on a head's point; Copy Value gives its row.
        const CouplingHeadPoint p = view.shownPoints().front();
        const QPoint at = view.plot()->mapFrom(&view, view.headPosition(p.head));
        const QString tip = hover(view.plot(), at);
        QVERIFY2(tip.startsWith(QStringLiteral("head ")), qPrintable(tip));
        // (Points can overlap: the tooltip names the nearest one; check it against that head's numbers.)
        const QString name = tip.section(QLatin1Char('\n'), 0, 0).mid(5);
        const auto hit = std::find_if(all.begin(), all.end(), [&](const auto& q) {
            return headName(q.head.layer, q.head.head) == name;
        });
        QVERIFY(hit != all.end());
        QCOMPARE(tip, QStringLiteral("head %1\nC(subj→obj) = %2\nattribution obj / subj = %3\n"
                                     "attribution subj = %4, obj = %5")
                          .arg(name)
                          .arg(hit->coupling, 0, 'g', 6)
                          .arg(hit->ratio, 0, 'g', 6)
                          .arg(hit->attributionA, 0, 'g', 6)
                          .arg(hit->attributionB, 0, 'g', 6));
        std::unique_ptr<QMenu> menu(PlotInteraction::of(view.plot())->contextMenu(at, nullptr));
        action(menu.get(), QStringLiteral("Copy Value"))->trigger();
        QCOMPARE(QApplication::clipboard()->text().split(QLatin1Char('\t')),
                 (QStringList{name, csvNumber(hit->coupling), csvNumber(hit->attributionA),
                              csvNumber(hit->attributionB), csvNumber(hit->ratio)}));

        // The symmetric-log axis: the points move to sign(r)·log10(1 + |r|) and stay under the pointer.
        QTest::mouseClick(view.symlogBox(), Qt::LeftButton);
        QVERIFY(view.symlogBox()->isChecked());
        view.plot()->replot();
        QVector<double> expected, drawn;
        for (const auto& q : view.shownPoints())
            expected << figures::symlog(q.ratio);
        for (auto it = view.plot()->graph(1)->data()->constBegin();
             it != view.plot()->graph(1)->data()->constEnd(); ++it)
            drawn << it->value;
        std::sort(expected.begin(), expected.end());
        std::sort(drawn.begin(), drawn.end());
        QCOMPARE(drawn, expected);
        QVERIFY(hover(view.plot(), view.plot()->mapFrom(&view, view.headPosition(hit->head)))
                    .startsWith(QStringLiteral("head %1\n").arg(name)));

        zoomPanReset(view.plot(), view.plot()->axisRect(0));

        // The token scores of a selected head: hover values on its points too.
        QSignalSpy scattered(s_, &Session::couplingReady);
        view.setSelectedHead(hit->head);
        QTRY_VERIFY_WITH_TIMEOUT(view.scatter().has_value(), kTimeout);
        view.plot()->replot();
        const CouplingScatter& sc = *view.scatter();
        QCPAxisRect* tokens = view.plot()->axisRect(1);
        // The token farthest from the others, so that it is the nearest to its own pixel.
        const QPoint tp(int(std::lround(tokens->axis(QCPAxis::atBottom)->coordToPixel(sc.s1[0]))),
                        int(std::lround(tokens->axis(QCPAxis::atLeft)->coordToPixel(sc.s2[0]))));
        const QString ttip = hover(view.plot(), tp);
        QVERIFY2(ttip.startsWith(QStringLiteral("token ")) &&
                     ttip.contains(QStringLiteral("s₁ = y_subj·x = ")),
                 qPrintable(ttip));
        const int k = ttip.section(QLatin1Char(' '), 1, 1).toInt();
        QCOMPARE(ttip, QStringLiteral("token %1 of %2\ns₁ = y_subj·x = %3\ns₂ = y_obj·x = %4")
                           .arg(k)
                           .arg(sc.dataset)
                           .arg(sc.s1[size_t(k)], 0, 'g', 6)
                           .arg(sc.s2[size_t(k)], 0, 'g', 6));
        zoomPanReset(view.plot(), tokens);
    }

    void svdAndSteeringBarsHaveHoverValues() {
        SvdView svd(s_);
        svd.resize(800, 700);
        svd.show();
        QVERIFY(QTest::qWaitForWindowExposed(&svd));
        QSignalSpy ready(s_, &Session::headDetailReady);
        svd.setSelectedHead({1, 2});
        QTRY_VERIFY_WITH_TIMEOUT(svd.results().has_value(), kTimeout);
        svd.plot()->replot();
        const SvdResults& r = *svd.results();
        // The tallest bar of the second observable, hovered half-way up.
        auto* bars = qobject_cast<QCPBars*>(svd.plot()->plottable(1));
        int best = 0;
        for (int i = 0; i < bars->data()->size(); ++i)
            if (bars->data()->at(i)->value > bars->data()->at(best)->value) best = i;
        const QPointF top = bars->dataPixelPosition(best);
        const QPoint mid(int(top.x()), int((top.y() + svd.plot()->yAxis->coordToPixel(0)) / 2));
        QCOMPARE(hover(svd.plot(), mid),
                 QStringLiteral("obj\nsingular vector v_%1 (σ = %2)\n|cos(y, v_%1)| = %3")
                     .arg(best)
                     .arg(r.sigma[size_t(best)], 0, 'g', 6)
                     .arg(r.absCosine[1][size_t(best)], 0, 'g', 6));
        zoomPanReset(svd.plot(), svd.plot()->axisRect());
        svd.close();

        SteeringPanel panel(s_);
        panel.resize(900, 700);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        panel.setSelectedHead({0, 2});
        QTest::mouseClick(panel.addButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(panel.exact().has_value() && !panel.exactIsStale(), kTimeout);
        panel.alphaBox(0)->setValue(40);
        QTRY_VERIFY_WITH_TIMEOUT(!panel.exactIsStale() && panel.exact()->alpha == 40, kTimeout);
        panel.plot()->replot();
        const SteeringResults& ex = *panel.exact();
        for (auto [b, isExact] :
             {std::pair{panel.predictedBars(), false}, std::pair{panel.exactBars(), true}}) {
            int k = 0;
            for (int i = 0; i < b->data()->size(); ++i)
                if (std::abs(b->data()->at(i)->value) > std::abs(b->data()->at(k)->value)) k = i;
            const QPointF tip = b->dataPixelPosition(k);
            const QPoint in(int(tip.x()), int((tip.y() + panel.plot()->yAxis->coordToPixel(0)) / 2));
            const QString expected = isExact ? QStringLiteral("%1\nexact mean change: %2")
                                                   .arg(ex.observables[k])
                                                   .arg(ex.meanChange[size_t(k)], 0, 'g', 6)
                                             : QStringLiteral("%1\nlinear prediction: %2")
                                                   .arg(panel.prediction().observables[k])
                                                   .arg(panel.prediction().predicted[size_t(k)], 0, 'g', 6);
            QCOMPARE(hover(panel.plot(), in), expected);
            std::unique_ptr<QMenu> menu(PlotInteraction::of(panel.plot())->contextMenu(in, nullptr));
            action(menu.get(), QStringLiteral("Copy Value"))->trigger();
            QCOMPARE(QApplication::clipboard()->text().toDouble(), b->data()->at(k)->value);
        }
        zoomPanReset(panel.plot(), panel.plot()->axisRect());
        panel.removeVector(0);
    }

    // Every plot takes the application's palette when it changes (a dark theme) and gives it back; a figure
    // written meanwhile is black on white.
    // The attention pattern zooms and pans like every plot, and the contributions' key axis follows it so
    // each bar stays under its column; the reset gives back both.
    void attentionZoomKeepsBarsUnderColumns() {
        AttentionView view(s_);
        view.resize(1100, 700);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.setSelectedHead({1, 2});
        QTRY_VERIFY_WITH_TIMEOUT(view.results().has_value(), kTimeout);
        QCustomPlot* plot = view.plot();
        plot->replot();
        QCPAxisRect* pattern = view.figure().patternRect;
        QCPAxisRect* bars = view.figure().barsRect;
        QVERIFY(pattern && bars);
        const QCPRange keys = pattern->axis(QCPAxis::atBottom)->range();
        QCOMPARE(bars->axis(QCPAxis::atBottom)->range(), keys);
        zoomPanReset(plot, pattern);
        wheel(plot, pattern->rect().center(), 2);
        QVERIFY(pattern->axis(QCPAxis::atBottom)->range().size() < 0.9 * keys.size());
        QCOMPARE(bars->axis(QCPAxis::atBottom)->range(), pattern->axis(QCPAxis::atBottom)->range());
        doubleClick(plot, pattern->rect().center());
        QCOMPARE(bars->axis(QCPAxis::atBottom)->range(), keys);
    }

    void plotsFollowThePaletteAndExportLight() {
        HeatmapWidget heat;
        heat.setMatrix(matrix(3, 4));
        heat.resize(500, 400);
        CouplingView coupling(s_);
        SvdView svd(s_);
        SteeringPanel steering(s_);
        AttentionView attention(s_);
        const QList<QCustomPlot*> plots{heat.plot(), coupling.plot(), svd.plot(), steering.plot(),
                                        attention.plot()};
        const QPalette light = QApplication::palette();
        for (QCustomPlot* p : plots)
            followsPalette(p, p->palette(), "light");
        QVERIFY(light.color(QPalette::Text) != Qt::white);

        const QPalette dark = darkPalette();
        QApplication::setPalette(dark);
        QCoreApplication::processEvents();
        const char* names[] = {"heatmap", "coupling", "svd", "steering", "attention"};
        for (int i = 0; i < plots.size(); ++i)
            followsPalette(plots[i], dark, names[i]);
        QVERIFY(heat.plot()->xAxis->grid()->pen().color() != QColor(200, 200, 200));
        heat.show();
        QVERIFY(QTest::qWaitForWindowExposed(&heat));
        view_helpers::screenshot(&heat, "heatmap-dark");

        // Export Figure under the dark theme: white paper, black ink; the screen stays dark.
        QTemporaryDir tmp;
        const QString png = tmp.filePath(QStringLiteral("h.png"));
        QVERIFY(heat.exportTo(png, 500, 400));
        const QImage img(png);
        QCOMPARE(QColor(img.pixel(2, 2)), QColor(Qt::white));
        int darkInk = 0; // the tick labels and axis lines
        for (int y = 0; y < img.height(); ++y)
            for (int x = 0; x < img.width() / 8; ++x)
                darkInk += QColor(img.pixel(x, y)).value() < 60;
        QVERIFY(darkInk > 20);
        followsPalette(heat.plot(), dark, "heatmap after export");

        QApplication::setPalette(light);
        QCoreApplication::processEvents();
        for (int i = 0; i < plots.size(); ++i)
            followsPalette(plots[i], light, names[i]);
    }
};

QTEST_MAIN(TestPlots)
#include "tst_plots.moc"
