// The analysis views, driven as a user drives them (clicks, keys, combo choices) on a Session over a
// tiny generated GPT-2: what each view shows must be exactly the Session's numbers, its item models
// must pass QAbstractItemModelTester, and its figures must export. Set OBSPROP_VIEW_SHOTS to a folder
// to save a screenshot of every view there.
#include "test_models.h" // LibTorch first: Qt's macros must not be defined when it is parsed

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QDialog>
#include <QDoubleSpinBox>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QStackedWidget>
#include <QTableView>
#include <QtTest>
#include <cmath>

#include "analyses/run.h"
#include "analyses/tables.h"
#include "analyses/workspace.h"
#include "figures/qcp.h"
#include "obsprop/prompts.h"
#include "session/session.h"
#include "session_fixture.h"
#include "view_helpers.h"
#include "views/coupling_view.h"
#include "views/heads_view.h"
#include "views/heatmap_widget.h"
#include "views/paths_view.h"
#include "views/prompts_view.h"
#include "views/steering_panel.h"
#include "views/svd_view.h"

using namespace obsprop::ui;
using test_models::make_tiny;
using test_models::TinyModel;
using namespace view_helpers;

namespace {

constexpr int kTimeout = 60000;

QCPGraph* graphNamed(QCustomPlot* p, const QString& name) {
    for (int i = 0; i < p->graphCount(); ++i)
        if (p->graph(i)->name() == name) return p->graph(i);
    return nullptr;
}

bool placeholderShown(QWidget* view) {
    auto* stack = view->findChild<QStackedWidget*>();
    return stack && qobject_cast<QLabel*>(stack->currentWidget());
}

// The view's empty-state hint (a QLabel named "emptyHint") is what it shows, with this text in it.
bool hintShown(QWidget* view, const QString& saying = {}) {
    auto* hint = view->findChild<QLabel*>(QStringLiteral("emptyHint"));
    return hint && hint->isVisibleTo(view) && hint->text().contains(saying);
}

} // namespace

class TestViews : public QObject {
    Q_OBJECT
    TinyModel t_ = make_tiny(obsprop::tools::Family::GPT2, 41, 512);
    Session* s_ = nullptr;

  private Q_SLOTS:
    // Every test gets a fresh session on the tiny model with two observables.
    void init() {
        s_ = new Session;
        QVERIFY(session_fixture::openWithPair(*s_, t_.dir->filePath(QStringLiteral("model"))));
    }
    void cleanup() {
        delete s_;
        s_ = nullptr;
    }

    // Token scores reuse the snapshot's features and activations across clicks, and an edit starts afresh:
    // redefining subj as its negation negates s₁ exactly and leaves s₂ alone.
    void couplingScatterCacheFollowsEdits() {
        QSignalSpy ready(s_, &Session::couplingReady);
        auto scatter = [&](HeadRef h) {
            s_->computeCouplingScatter(QStringLiteral("test"), h, QStringLiteral("subj"),
                                       QStringLiteral("obj"), QStringLiteral("subject"));
            return ready.wait(kTimeout) ? qvariant_cast<CouplingScatter>(ready.last().at(0))
                                        : CouplingScatter{};
        };
        const CouplingScatter a = scatter({1, 2}), other = scatter({0, 3}), again = scatter({1, 2});
        QVERIFY(!a.s1.empty());
        QCOMPARE(again.s1, a.s1);
        QCOMPARE(again.s2, a.s2);
        QVERIFY(other.s1 != a.s1);
        QCOMPARE(s_->addObservable(QStringLiteral("subj"), QStringLiteral("#20 - #10")), QString());
        const CouplingScatter neg = scatter({1, 2});
        QCOMPARE(neg.s1.size(), a.s1.size());
        for (std::size_t i = 0; i < a.s1.size(); ++i) {
            QVERIFY(std::abs(neg.s1[i] + a.s1[i]) <= 1e-6 * (1 + std::abs(a.s1[i])));
            QVERIFY(std::abs(neg.s2[i] - a.s2[i]) <= 1e-6 * (1 + std::abs(a.s2[i])));
        }
        QVERIFY(std::abs(neg.slope + a.slope) < 1e-6 * (1 + std::abs(a.slope)));
    }

    void placeholdersBeforeAnythingIsComputed() {
        Session closed;
        CouplingView c(&closed);
        SvdView v(&closed);
        PathsView p(&closed);
        SteeringPanel st(&closed);
        PromptsView pr(&closed);
        for (QWidget* w : std::initializer_list<QWidget*>{&c, &v, &p, &st, &pr})
            QVERIFY(placeholderShown(w));
        QVERIFY(!p.rankButton()->isEnabled());
        QVERIFY(!st.addButton()->isEnabled());
        st.resize(700, 500);
        screenshot(&st, "steering-empty");
        c.resize(900, 400);
        screenshot(&c, "coupling-empty");
        bool emptyListSaid = false;
        for (auto* l : st.findChildren<QLabel*>())
            emptyListSaid |= l->text().startsWith(QStringLiteral("No steering vectors"));
        QVERIFY(emptyListSaid);
        QCOMPARE(st.predictedBars()->data()->size(), 0);
        // Opening the model fills the choices in.
        QSignalSpy opened(&closed, &Session::workspaceOpened);
        closed.openModel(t_.dir->filePath(QStringLiteral("model")));
        QVERIFY(opened.wait(kTimeout));
        QCOMPARE(pr.datasetBox()->count(), closed.datasetNames().size());
        QCOMPARE(st.datasetBox()->count(), closed.datasetNames().size());
    }

    // With no model, then with no observable, every view says what to do in place of its plot; once there
    // is an observable (and what else the view needs: a head, a Rank), the hint gives way to the results.
    void emptyStatesSayWhatIsMissing() {
        Session bare;
        HeadsView heads(&bare);
        CouplingView coupling(&bare);
        SvdView svd(&bare);
        PathsView paths(&bare);
        SteeringPanel steering(&bare);
        PromptsView prompts(&bare);
        const std::initializer_list<QWidget*> all{&heads, &coupling, &svd, &paths, &steering, &prompts};
        for (QWidget* w : all)
            QVERIFY2(hintShown(w, QStringLiteral("Open a model folder or a project")),
                     w->metaObject()->className());
        // No black grid with a meaningless scale: the heatmaps are not even on screen.
        QVERIFY(!heads.heatmap(0)->isVisibleTo(&heads));

        QSignalSpy opened(&bare, &Session::workspaceOpened);
        bare.openModel(t_.dir->filePath(QStringLiteral("model")));
        QVERIFY(opened.wait(kTimeout));
        QVERIFY(hintShown(&heads, QStringLiteral("Add an observable in the Project panel to see")));
        QVERIFY(hintShown(&coupling, QStringLiteral("Add two observables in the Project panel")));
        QVERIFY(hintShown(&paths, QStringLiteral("Add an observable in the Project panel")));
        QVERIFY(hintShown(&steering, QStringLiteral("Add an observable in the Project panel")));
        QVERIFY(hintShown(&svd, QStringLiteral("Select a head")));
        QTRY_VERIFY_WITH_TIMEOUT(!hintShown(&prompts), kTimeout); // prompts need no observable
        heads.resize(900, 500);
        screenshot(&heads, "heads-empty");

        QCOMPARE(bare.addObservable(QStringLiteral("subj"), QStringLiteral("#10 - #20")), QString());
        QVERIFY(hintShown(&coupling, QStringLiteral("Add a second observable")));
        QTRY_VERIFY_WITH_TIMEOUT(!hintShown(&heads), kTimeout);
        QVERIFY(heads.heatmap(0)->isVisibleTo(&heads));
        QVERIFY(hintShown(&steering, QStringLiteral("Select a head")));
        QVERIFY(hintShown(&paths, QStringLiteral("press Rank")));
        paths.rankButton()->click();
        QTRY_VERIFY_WITH_TIMEOUT(!hintShown(&paths), kTimeout);
        svd.setSelectedHead({1, 2});
        QTRY_VERIFY_WITH_TIMEOUT(!hintShown(&svd), kTimeout);
        QCOMPARE(bare.addObservable(QStringLiteral("obj"), QStringLiteral("#7 - #3")), QString());
        QTRY_VERIFY_WITH_TIMEOUT(!hintShown(&coupling), kTimeout);

        // Removing the observables brings the hints back at once.
        bare.removeObservable(QStringLiteral("subj"));
        bare.removeObservable(QStringLiteral("obj"));
        QVERIFY(hintShown(&heads, QStringLiteral("Add an observable")));
        QVERIFY(hintShown(&coupling, QStringLiteral("Add two observables")));
        QTRY_VERIFY_WITH_TIMEOUT(bare.jobs().running() == 0, kTimeout);
    }

    void couplingScatterShowsSessionNumbers() {
        FeatureResults feats;
        AttributionResults attr;
        connect(s_, &Session::featuresReady, this, [&](const FeatureResults& r) { feats = r; });
        connect(s_, &Session::attributionReady, this, [&](const AttributionResults& r) { attr = r; });
        CouplingView view(s_);
        view.resize(1100, 520);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QCOMPARE(view.observableA(), QStringLiteral("subj"));
        QCOMPARE(view.observableB(), QStringLiteral("obj"));
        QTest::mouseClick(view.computeButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(!view.headPoints().empty(), kTimeout);
        // The same pair's features and attribution, asked of the Session separately.
        s_->computeFeatures(QStringLiteral("test"), QStringLiteral("subj"), QStringLiteral("obj"));
        s_->computeAttribution(QStringLiteral("test"), view.dataset(), QStringLiteral("patching"));
        QTRY_VERIFY_WITH_TIMEOUT(feats.pairA == QStringLiteral("subj") && !attr.maps.empty(), kTimeout);
        const int ia = int(attr.observables.indexOf(QStringLiteral("subj"))),
                  ib = int(attr.observables.indexOf(QStringLiteral("obj")));
        QVERIFY(ia >= 0 && ib >= 0);

        // Every drawn point is (C(a→b), attribution_b / attribution_a) of the Session's results.
        const QStringList lines = csvLines(view.tableCsv());
        QCOMPARE(lines.size(), int(view.headPoints().size()) + 1);
        for (int i = 1; i < lines.size(); ++i) {
            const QStringList c = cells(lines[i]);
            const int l = c[0].toInt(), h = c[1].toInt();
            QCOMPARE(c[2].toDouble(), feats.couplingAB.at(l, h));
            QCOMPARE(c[5].toDouble(), attr.maps[size_t(ib)].at(l, h) / attr.maps[size_t(ia)].at(l, h));
        }

        // Click the point of a head that stands apart from the others (every head drawn: threshold 0).
        view.thresholdBox()->setValue(0);
        QCOMPARE(view.shownPoints().size(), view.headPoints().size());
        view.plot()->replot();
        HeadRef pick;
        for (const auto& p : view.headPoints()) {
            const QPoint at = view.headPosition(p.head);
            bool alone = view.plot()->axisRect()->rect().contains(view.plot()->mapFrom(&view, at));
            for (const auto& q : view.headPoints())
                if (!(q.head == p.head) && (view.headPosition(q.head) - at).manhattanLength() < 30)
                    alone = false;
            if (alone) pick = p.head;
        }
        QVERIFY(pick.valid());
        QSignalSpy selected(&view, &CouplingView::headSelected);
        QSignalSpy scattered(s_, &Session::couplingReady);
        QTest::mouseClick(view.plot(), Qt::LeftButton, {},
                          view.plot()->mapFrom(&view, view.headPosition(pick)));
        QCOMPARE(selected.count(), 1);
        QCOMPARE(qvariant_cast<HeadRef>(selected.first().at(0)), pick);
        QTRY_VERIFY_WITH_TIMEOUT(view.scatter().has_value(), kTimeout);
        const CouplingScatter sc = qvariant_cast<CouplingScatter>(scattered.last().at(0));
        QCOMPARE(sc.head, pick);
        const QStringList tok = csvLines(view.scatterCsv());
        QCOMPARE(tok.size(), int(sc.s1.size()) + 1);
        QCOMPARE(cells(tok[3])[1].toDouble(), sc.s1[2]);
        QCOMPARE(cells(tok[3])[2].toDouble(), sc.s2[2]);
        QVERIFY(view.infoText().contains(QString::number(sc.slope, 'g', 4)));

        // The lines: fit, prediction s₂ = C·s₁ and the Theorem-2 band k·C ± √(r² − k²/‖y_a‖²)·‖y_b − C y_a‖.
        auto* predicted = graphNamed(view.plot(), QStringLiteral("predicted s₂ = C·s₁"));
        QVERIFY(predicted && predicted->data()->size() == 2);
        const auto p0 = predicted->data()->at(0);
        QCOMPARE(p0->value, sc.predicted * p0->key);
        QList<QCPGraph*> band;
        for (int i = 0; i < view.plot()->graphCount(); ++i)
            if (view.plot()->graph(i)->name() == QStringLiteral("Theorem-2 band"))
                band << view.plot()->graph(i);
        QCOMPARE(band.size(), 2);
        QVERIFY(band[0]->data()->size() > 10);
        const auto lo = band[0]->data()->at(5), hi = band[1]->data()->at(5);
        const double k = lo->key, r = sc.meanTokenNorm;
        QVERIFY(std::abs((hi->value - lo->value) / 2 -
                         std::sqrt(r * r - k * k / (sc.normA * sc.normA)) * sc.residualNorm) <
                1e-9 * (1 + std::abs(hi->value)));
        QVERIFY(std::abs((hi->value + lo->value) / 2 - k * sc.predicted) < 1e-9 * (1 + std::abs(hi->value)));
        exportsAllFormats([&](const QString& f) { return view.exportFigure(f, 900, 420, 1.0); });
        screenshot(&view, "coupling");

        // Another dataset recomputes the token scores of the same head.
        scattered.clear();
        view.datasetBox()->setCurrentIndex(1);
        QVERIFY(scattered.wait(kTimeout));
        QCOMPARE(qvariant_cast<CouplingScatter>(scattered.last().at(0)).head, pick);

        // Swapping the pair with the combos recomputes the coupling coefficients for (obj, subj).
        view.observableBoxA()->setCurrentText(QStringLiteral("obj"));
        view.observableBoxB()->setCurrentText(QStringLiteral("subj"));
        QTRY_VERIFY_WITH_TIMEOUT(!view.headPoints().empty(), kTimeout);
        s_->computeFeatures(QStringLiteral("test"), QStringLiteral("obj"), QStringLiteral("subj"));
        // The points use the attribution on the view's dataset (now the second one).
        s_->computeAttribution(QStringLiteral("test"), view.dataset(), QStringLiteral("patching"));
        QTRY_VERIFY_WITH_TIMEOUT(feats.pairA == QStringLiteral("obj") && attr.dataset == view.dataset(),
                                 kTimeout);
        QCOMPARE(feats.pairB, QStringLiteral("subj"));
        const QStringList swapped = csvLines(view.tableCsv());
        for (int i = 1; i < swapped.size(); ++i) {
            const QStringList c = cells(swapped[i]);
            const int l = c[0].toInt(), h = c[1].toInt();
            QCOMPARE(c[2].toDouble(), feats.couplingAB.at(l, h));
            QCOMPARE(c[5].toDouble(), attr.maps[size_t(ia)].at(l, h) / attr.maps[size_t(ib)].at(l, h));
        }
    }

    void svdTableAndBarsShowSessionNumbers() {
        SvdView view(s_);
        QAbstractItemModelTester tm(view.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester tp(view.proxy(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        view.resize(720, 640);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QVERIFY(placeholderShown(&view));
        QSignalSpy ready(s_, &Session::headDetailReady);
        view.setSelectedHead({1, 2});
        QVERIFY(ready.wait(kTimeout));
        const SvdResults r = qvariant_cast<SvdResults>(ready.last().at(0));
        QCOMPARE(r.head, (HeadRef{1, 2}));
        QVERIFY(!placeholderShown(&view));
        QCOMPARE(view.proxy()->rowCount(), int(r.sigma.size()));
        QCOMPARE(view.proxy()->columnCount(), 2 + 2);

        // Sorted by σ, descending; the CSV holds exactly the result's numbers.
        const QStringList lines = csvLines(view.tableCsv());
        QCOMPARE(lines[0], QStringLiteral("index,sigma,abs_cos_subj,abs_cos_obj"));
        double prev = std::numeric_limits<double>::infinity();
        for (int i = 1; i < lines.size(); ++i) {
            const QStringList c = cells(lines[i]);
            const auto idx = size_t(c[0].toInt());
            QCOMPARE(c[1].toDouble(), r.sigma[idx]);
            QVERIFY(r.sigma[idx] <= prev);
            prev = r.sigma[idx];
            QCOMPARE(c[2].toDouble(), r.absCosine[0][idx]);
            QCOMPARE(c[3].toDouble(), r.absCosine[1][idx]);
        }
        // The bars: one series per observable over the top singular vectors.
        QCOMPARE(view.plot()->plottableCount(), 2);
        for (int o = 0; o < 2; ++o) {
            auto* bars = qobject_cast<QCPBars*>(view.plot()->plottable(o));
            QCOMPARE(bars->name(), r.observables[o]);
            QCOMPARE(bars->data()->size(), std::min<int>(SvdView::kBarVectors, int(r.sigma.size())));
            for (int i = 0; i < bars->data()->size(); ++i)
                QCOMPARE(bars->data()->at(i)->value, r.absCosine[size_t(o)][size_t(i)]);
        }
        QVERIFY(view.layerNormText().contains(QString::number(r.expectedLayerNormCosine, 'f', 4)));
        if (!r.layerNormCheck.empty())
            QVERIFY(view.layerNormText().contains(QString::number(r.layerNormCheck[0], 'f', 4)));
        // Sorting by a cosine column (a click on its header) reorders the CSV rows.
        auto* header = view.table()->horizontalHeader();
        QTest::mouseClick(header->viewport(), Qt::LeftButton, {},
                          QPoint(header->sectionViewportPosition(2) + 5, 5));
        const QStringList sorted = csvLines(view.tableCsv());
        const double first = cells(sorted[1])[2].toDouble(), last = cells(sorted.last())[2].toDouble();
        QVERIFY(first != last);
        exportsAllFormats([&](const QString& f) { return view.exportFigure(f, 640, 360, 2.0); });
        screenshot(&view, "svd");

        // The LayerNorm check names the dataset it used: each observable's own (here the first dataset).
        QCOMPARE(r.layerNormDatasets, (QStringList{QStringLiteral("subject"), QStringLiteral("subject")}));
        // It is evaluated at every prompt of that dataset: the mean and the smallest over those tokens.
        const int prompts = static_cast<int>(s_->promptTexts(QStringLiteral("subject")).size());
        QCOMPARE(r.layerNormTokens, (std::vector<int>{prompts, prompts}));
        for (std::size_t k = 0; k < r.layerNormCheck.size(); ++k)
            QVERIFY(r.layerNormCheckMin[k] <= r.layerNormCheck[k] && r.layerNormCheck[k] <= 1);
        QVERIFY2(view.layerNormText().contains(QStringLiteral("over %1 tokens of subject)").arg(prompts)),
                 qPrintable(view.layerNormText()));
    }

    void pathsRankSelectAndActivate() {
        PathsView view(s_);
        QAbstractItemModelTester tm(view.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester tp(view.proxy(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        view.resize(600, 480);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QCOMPARE(view.keep(), 50);
        view.observableBox()->setCurrentIndex(1);
        view.keepBox()->selectAll();
        QTest::keyClicks(view.keepBox(), QStringLiteral("12"));
        QCOMPARE(view.keep(), 12);
        QSignalSpy ready(s_, &Session::pathsReady);
        QTest::mouseClick(view.rankButton(), Qt::LeftButton);
        QVERIFY(ready.wait(kTimeout));
        const PathResults r = qvariant_cast<PathResults>(ready.last().at(0));
        QCOMPARE(r.observable, QStringLiteral("obj"));
        QCOMPARE(int(r.rows.size()), 12);
        QTRY_VERIFY(view.rankButton()->isEnabled());
        QStringList lines = csvLines(view.tableCsv());
        QCOMPARE(lines.size(), 13);
        for (int i = 1; i < lines.size(); ++i) {
            const QStringList c = cells(lines[i]);
            QCOMPARE(c[0].toInt(), i);
            QCOMPARE(c[1], r.rows[size_t(i - 1)].path);
            QCOMPARE(c[2].toDouble(), r.rows[size_t(i - 1)].value);
        }
        // A click on the norm header sorts ascending: the last rank comes first.
        auto* header = view.table()->horizontalHeader();
        QTest::mouseClick(header->viewport(), Qt::LeftButton, {},
                          QPoint(header->sectionViewportPosition(2) + 5, 5));
        lines = csvLines(view.tableCsv());
        QCOMPARE(cells(lines[1])[2].toDouble(), r.rows.back().value);

        // Clicking a row selects its first head; double-clicking offers the path for steering.
        QSignalSpy selected(&view, &PathsView::headSelected);
        QSignalSpy activated(&view, &PathsView::pathActivated);
        QSignalSpy detail(s_, &Session::pathDetailReady);
        const QModelIndex cell = view.table()->model()->index(3, 1);
        const QPoint pos = view.table()->visualRect(cell).center();
        QTest::mouseClick(view.table()->viewport(), Qt::LeftButton, {}, pos);
        QCOMPARE(selected.count(), 1);
        const PathRow& row = r.rows[size_t(cells(lines[4])[0].toInt() - 1)];
        QCOMPARE(qvariant_cast<HeadRef>(selected.last().at(0)), row.nodes[0]);

        // The selected path is compared across observables: its obj norm is the ranked norm (computed by the
        // batched ranking), and the cosines are those of the two vectors.
        QVERIFY(detail.wait(kTimeout));
        const PathDetail d = qvariant_cast<PathDetail>(detail.last().at(0));
        QCOMPARE(d.path, row.path);
        QCOMPARE(d.observables, (QStringList{QStringLiteral("subj"), QStringLiteral("obj")}));
        QVERIFY(std::abs(d.norms[1] - row.value) < 1e-5 * row.value);
        QVERIFY(std::abs(d.cosines[1] - 1) < 1e-12);
        {
            auto ws = obsprop::Workspace::open_model(t_.dir->filePath(QStringLiteral("model")).toStdString());
            const auto& a = ws.add_observable("subj", "#10 - #20");
            // The options the settings rules give: the project's LayerNorm mode (approximate), ρ from the
            // residual norms of the observables' LayerNorm dataset (none named: the first dataset), written
            // out here.
            QCOMPARE(ws.project().settings.ln_mode, std::string("approx"));
            const auto norms =
                obsprop::residual_norms(ws.model(), ws.prompt_batch(ws.datasets().front().recipe.name));
            obsprop::FeatureOptions fo;
            fo.final_ln = fo.block_ln = obsprop::LnMode::Approximate;
            fo.final_rho = norms.final_rho;
            fo.rho_ln1 = norms.ln1_rho;
            fo.rho_ln2 = norms.ln2_rho;
            fo.drop_earliest_rho = true;
            const std::vector<obsprop::PathNode> nodes{
                obsprop::PathNode::attn(row.nodes[0].layer, row.nodes[0].head),
                obsprop::PathNode::attn(row.nodes[1].layer, row.nodes[1].head)};
            const auto ya =
                obsprop::compute_path_feature(ws.model(), a, nodes, fo).feature.to(torch::kDouble);
            const auto& b = ws.add_observable("obj", "0.5*#7 + 0.5*#99 - #3");
            const auto yb =
                obsprop::compute_path_feature(ws.model(), b, nodes, fo).feature.to(torch::kDouble);
            double dot = 0, na = 0, nb = 0;
            for (int i = 0; i < ya.size(0); ++i) {
                const double x = ya[i].item<double>(), y = yb[i].item<double>();
                dot += x * y, na += x * x, nb += y * y;
            }
            QVERIFY(std::abs(d.cosines[0] - dot / std::sqrt(na * nb)) < 1e-6);
            QVERIFY(std::abs(d.norms[0] - std::sqrt(na)) < 1e-6 * std::sqrt(na));
        }
        QTRY_VERIFY(view.detailLabel()->text().contains(row.path));
        QTest::mouseDClick(view.table()->viewport(), Qt::LeftButton, {}, pos);
        QCOMPARE(activated.count(), 1);
        const auto path = qvariant_cast<std::vector<HeadRef>>(activated.last().at(0));
        QCOMPARE(path.size(), size_t(2));
        QCOMPARE(path[0], row.nodes[0]);
        QCOMPARE(path[1], row.nodes[1]);
        QCOMPARE(activated.last().at(1).toString(), QStringLiteral("obj"));
        screenshot(&view, "paths");
    }

    // The beam search from the Paths view gives the table `obsprop paths --beam` prints, and a found path of
    // two heads can be handed to the steering panel.
    void pathsViewBeamSearchMatchesCore() {
        PathsView view(s_);
        QAbstractItemModelTester tm(view.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        view.resize(900, 480);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QVERIFY(!view.datasetBox()->isVisible());
        view.methodBox()->setCurrentIndex(1);
        QVERIFY(view.datasetBox()->isVisible());
        QVERIFY(!view.keepBox()->isVisible());
        QCOMPARE(view.rankButton()->text(), QStringLiteral("Search"));
        view.observableBox()->setCurrentIndex(0);
        view.datasetBox()->setCurrentIndex(view.datasetBox()->findText(QStringLiteral("subject")));
        view.beamWidthBox()->setValue(4);
        view.maxLengthBox()->setValue(3);
        QCOMPARE(view.maxLengthBox()->value(), 2); // the tiny model has two layers
        QSignalSpy ready(s_, &Session::pathsReady);
        QTest::mouseClick(view.rankButton(), Qt::LeftButton);
        QVERIFY(ready.wait(kTimeout));
        const PathResults r = qvariant_cast<PathResults>(ready.last().at(0));
        QVERIFY(r.patching);
        QCOMPARE(r.dataset, QStringLiteral("subject"));

        auto ws = std::make_shared<obsprop::Workspace>(
            obsprop::Workspace::open_model(t_.dir->filePath(QStringLiteral("model")).toStdString()));
        ws->add_observable("subj", "#10 - #20");
        ws->add_observable("obj", "0.5*#7 + 0.5*#99 - #3");
        obsprop::analyses::SettingsOverrides o;
        o.dataset = "subject";
        o.beam_width = 4;
        o.max_length = 2;
        const obsprop::analyses::Analysis an(std::shared_ptr<const obsprop::Workspace>(ws), o);
        const auto t = obsprop::analyses::to_table(
            obsprop::analyses::path_search_report(an, r.observable.toStdString()));
        QCOMPARE(r.rows.size(), t.rows.size());
        const QStringList lines = csvLines(view.tableCsv());
        QCOMPARE(lines[0], QStringLiteral("rank,path,length,score,sd,feature_norm"));
        int three = -1;
        for (std::size_t i = 0; i < t.rows.size(); ++i) {
            const QStringList c = cells(lines[int(i) + 1]);
            QCOMPARE(c[1], QString::fromStdString(t.rows[i][1].get<std::string>())
                               .replace(QStringLiteral("->"), QStringLiteral("→")));
            QCOMPARE(c[3].toDouble(), t.rows[i][5].get<double>());
            QCOMPARE(c[5].toDouble(), t.rows[i][8].get<double>());
            if (c[2].toInt() == 2 && three < 0) three = int(i);
        }
        QVERIFY(three >= 0);
        QVERIFY(!view.table()->isColumnHidden(4));

        QSignalSpy activated(&view, &PathsView::pathActivated);
        const QModelIndex cell = view.table()->model()->index(three, 1);
        view.table()->scrollTo(cell);
        const QPoint at = view.table()->visualRect(cell).center();
        QTest::mouseClick(view.table()->viewport(), Qt::LeftButton, {}, at);
        QTest::mouseDClick(view.table()->viewport(), Qt::LeftButton, {}, at);
        QCOMPARE(activated.count(), 1);
        QCOMPARE(qvariant_cast<std::vector<HeadRef>>(activated.last().at(0)).size(), size_t(2));
        screenshot(&view, "paths_beam");
    }

    void steeringPanelPredictsThenShowsExact() {
        SteeringPanel panel(s_);
        QAbstractItemModelTester tm(panel.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        panel.resize(900, 700);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        QVERIFY(!panel.addButton()->isEnabled());
        panel.setSelectedHead({0, 2});
        QVERIFY(panel.addButton()->isEnabled());
        SteeringResults last;
        int exactCount = 0;
        connect(s_, &Session::steeringReady, this, [&](const SteeringResults& r) {
            last = r;
            exactCount += r.exact ? 1 : 0;
        });
        QTest::mouseClick(panel.addButton(), Qt::LeftButton);
        QCOMPARE(int(panel.vectors().size()), 1);
        QCOMPARE(int(s_->steeringVectors().size()), 1);
        QVERIFY(panel.vectors()[0].normalize);
        QCOMPARE(panel.vectors()[0].path, (std::vector<HeadRef>{{0, 2}}));
        QTRY_VERIFY_WITH_TIMEOUT(panel.exact().has_value() && !panel.exactIsStale(), kTimeout);

        // Dragging (keyboard here) moves the spin box along, redraws the prediction at once and greys the
        // exact bars until the debounced exact run is back.
        QSlider* slider = panel.slider(0);
        slider->setFocus();
        for (int i = 0; i < 4; ++i)
            QTest::keyClick(slider, Qt::Key_PageUp);
        const double alpha = slider->value() * 300.0 / SteeringPanel::kSliderSteps;
        QVERIFY(alpha > 0);
        QCOMPARE(panel.alphaBox(0)->value(), alpha);
        QCOMPARE(s_->steeringVectors()[0].alpha, alpha);
        QVERIFY(panel.exactIsStale());
        QCOMPARE(panel.exactBars()->brush().color(), QColor(190, 190, 190));
        const SteeringResults pred = s_->predictSteering();
        QCOMPARE(panel.predictedBars()->data()->size(), pred.observables.size());
        for (int k = 0; k < pred.observables.size(); ++k)
            QCOMPARE(panel.predictedBars()->data()->at(k)->value, pred.predicted[size_t(k)]);
        screenshot(&panel, "steering-stale");
        QTRY_VERIFY_WITH_TIMEOUT(!panel.exactIsStale(), kTimeout);
        QVERIFY(last.exact);
        QCOMPARE(last.alpha, alpha);
        QVERIFY(panel.exactBars()->brush().color() != QColor(190, 190, 190));
        for (int k = 0; k < last.observables.size(); ++k)
            QCOMPARE(panel.exactBars()->data()->at(k)->value, last.meanChange[size_t(k)]);
        const QStringList bars = csvLines(panel.barsCsv());
        QCOMPARE(bars.size(), last.observables.size() + 1);
        QCOMPARE(cells(bars[1])[0], last.observables[0]);
        QCOMPARE(cells(bars[1])[2].toDouble(), last.meanChange[0]);
        // The per-prompt table: before, after, change of every observable.
        QCOMPARE(panel.model()->rowCount(), last.prompts.size());
        const QStringList table = csvLines(panel.tableCsv());
        QCOMPARE(table.size(), last.prompts.size() + 1);
        QCOMPARE(cells(table[0]).size(), 1 + 3 * last.observables.size());
        const QStringList row = cells(table.last());
        const auto n = row.size();
        QCOMPARE(n, 1 + 3 * last.observables.size());
        QCOMPARE(row[0], last.prompts.last());
        const auto& b = last.before.back();
        const auto& a = last.after.back();
        QCOMPARE(row[n - 3].toDouble(), b[1]);
        QCOMPARE(row[n - 2].toDouble(), a[1]);
        QCOMPARE(row[n - 1].toDouble(), a[1] - b[1]);

        // Typing a multiplier moves the slider; absurd values stop at the range.
        panel.alphaBox(0)->selectAll();
        QTest::keyClicks(panel.alphaBox(0), QStringLiteral("-45.5"));
        QCOMPARE(panel.alphaBox(0)->value(), -45.5);
        QCOMPARE(slider->value(), int(std::lround(-45.5 / 300 * SteeringPanel::kSliderSteps)));
        panel.alphaBox(0)->selectAll();
        QTest::keyClicks(panel.alphaBox(0), QStringLiteral("9999999"));
        QVERIFY(panel.alphaBox(0)->value() <= 300);
        panel.rangeBox(0)->selectAll();
        QTest::keyClicks(panel.rangeBox(0), QStringLiteral("10"));
        QCOMPARE(panel.rangeBox(0)->value(), 10.0);
        QVERIFY(std::abs(panel.alphaBox(0)->value()) <= 10.0);
        QCOMPARE(s_->steeringVectors()[0].alpha, panel.alphaBox(0)->value());
        QTRY_VERIFY_WITH_TIMEOUT(!panel.exactIsStale() && last.alpha == panel.alphaBox(0)->value(), kTimeout);

        // A path from the paths view joins the list; an impossible one fails into the label, not a dialog.
        exactCount = 0;
        panel.addPath({{0, 1}, {1, 3}}, QStringLiteral("obj"));
        QCOMPARE(int(panel.vectors().size()), 2);
        QTRY_VERIFY_WITH_TIMEOUT(exactCount > 0 && !panel.exactIsStale(), kTimeout);
        QVERIFY(last.vectorName.contains(QStringLiteral("path 0.1 → 1.3 (obj)")));
        panel.addPath({{1, 0}, {0, 0}}, QStringLiteral("subj")); // layers must increase
        QTRY_VERIFY_WITH_TIMEOUT(panel.errorLabel()->isVisible(), kTimeout);
        QVERIFY(!panel.errorLabel()->text().isEmpty());
        QVERIFY(!QApplication::activeModalWidget());
        QVERIFY(panel.findChildren<QMessageBox*>().isEmpty());
        QTest::mouseClick(panel.removeButton(2), Qt::LeftButton);
        QCOMPARE(int(panel.vectors().size()), 2);
        QVERIFY(!panel.errorLabel()->isVisible());
        QTRY_VERIFY_WITH_TIMEOUT(panel.exact().has_value() && !panel.exactIsStale(), kTimeout);
        QCOMPARE(int(s_->steeringVectors().size()), 2);
        exportsAllFormats([&](const QString& f) { return panel.exportFigure(f, 640, 360, 1.0); });
        screenshot(&panel, "steering");
    }

    void promptsTableAndDatasetEditor() {
        PromptsView view(s_);
        QAbstractItemModelTester tm(view.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester tp(view.table()->model(),
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
        view.resize(1000, 520);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QSignalSpy ready(s_, &Session::promptsReady);
        QVERIFY(ready.wait(kTimeout)); // the view asked on its own when it was created
        PromptResults r = qvariant_cast<PromptResults>(ready.last().at(0));
        QTRY_VERIFY(view.results().has_value());
        QCOMPARE(view.model()->rowCount(), int(r.rows.size()));
        QCOMPARE(view.model()->columnCount(), 5 + 2);
        const QString csv = view.tableCsv();
        QVERIFY(csv.startsWith(QStringLiteral("text,name,gender,name_position,tokens,subj,obj\n")));
        QVERIFY(csv.contains(r.rows[0].tokens.join(QLatin1Char('|'))));
        const QStringList lines = csvLines(csv);
        for (int i = 1; i < lines.size(); ++i) {
            const QStringList c = cells(lines[i]);
            const PromptRow& p = r.rows[size_t(i - 1)];
            QCOMPARE(c.size(), 7);
            QCOMPARE(c[0], p.text);
            QCOMPARE(c[1], p.name);
            QCOMPARE(c[2], p.gender);
            QCOMPARE(c[3].toInt(), p.namePosition);
            QCOMPARE(c[4], p.tokens.join(QLatin1Char('|')));
            QCOMPARE(c[5].toDouble(), p.values[0]);
            QCOMPARE(c[6].toDouble(), p.values[1]);
        }
        screenshot(&view, "prompts");

        // Another dataset from the combo (keyboard).
        view.datasetBox()->setFocus();
        QTest::keyClick(view.datasetBox(), Qt::Key_Down);
        QVERIFY(ready.wait(kTimeout));
        QCOMPARE(qvariant_cast<PromptResults>(ready.last().at(0)).rows.front().dataset, view.dataset());

        // The editor holds the dataset's text; a bad line keeps it open with the error inline.
        const QString name = view.dataset();
        QTest::mouseClick(view.editButton(), Qt::LeftButton);
        auto* dlg = view.findChild<QDialog*>();
        QVERIFY(dlg && dlg->isVisible());
        auto* edit = dlg->findChild<QPlainTextEdit*>(QStringLiteral("datasetText"));
        QCOMPARE(edit->toPlainText(), s_->datasetText(name));
        edit->setPlainText(QStringLiteral("template: no slot here\nfemale: Jane\nmale: John"));
        auto* ok = dlg->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok);
        QTest::mouseClick(ok, Qt::LeftButton);
        auto* error = dlg->findChild<QLabel*>(QStringLiteral("error"));
        QVERIFY(dlg->isVisible());
        QVERIFY(error->isVisible());
        QVERIFY(error->text().contains(QStringLiteral("[NAME]")));
        screenshot(dlg, "prompts-edit");
        edit->setPlainText(
            QStringLiteral("template: <|endoftext|>Hello [NAME], how\nfemale: Jane, Amy\nmale: John"));
        const int before = int(ready.count());
        QTest::mouseClick(ok, Qt::LeftButton);
        QTRY_VERIFY(!view.findChild<QDialog*>() || !view.findChild<QDialog*>()->isVisible());
        QTRY_VERIFY_WITH_TIMEOUT(ready.count() > before, kTimeout);
        r = qvariant_cast<PromptResults>(ready.last().at(0));
        QCOMPARE(int(r.rows.size()), 3);
        QTRY_COMPARE(view.model()->rowCount(), 3);
        QCOMPARE(view.dataset(), name);
    }
};

QTEST_MAIN(TestViews)
#include "tst_views.moc"
