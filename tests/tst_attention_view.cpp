// The Attention view, driven as a user drives it on a Session over a tiny generated GPT-2: it shows exactly
// the core's attention report for the chosen head, observable, dataset and prompt (every pattern cell, every
// bar, the table, the total, the hover text), follows the selected head and the prompt selected in the
// Prompts view, drops its numbers when the recipe changes, and says what is missing instead of drawing an
// empty grid. Set OBSPROP_VIEW_SHOTS to a folder to save screenshots of it there.
#include "test_models.h" // LibTorch first: Qt's macros must not be defined when it is parsed

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QHeaderView>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <map>

#include "analyses/run.h"
#include "analyses/tables.h"
#include "analyses/workspace.h"
#include "figures/qcp.h"
#include "models/attention_table_model.h"
#include "session/head_selection.h"
#include "session/session.h"
#include "session_fixture.h"
#include "view_helpers.h"
#include "views/attention_view.h"
#include "views/prompts_view.h"

using namespace obsprop::ui;
using test_models::make_tiny;
using test_models::TinyModel;
using namespace view_helpers;

namespace {

constexpr int kTimeout = 60000;

// The pixel centre of a pattern cell or a bar.
QPoint cellPixel(const obsprop::ui::figures::AttentionFigure& f, int query, int key) {
    return {int(f.patternRect->axis(QCPAxis::atBottom)->coordToPixel(key)),
            int(f.patternRect->axis(QCPAxis::atLeft)->coordToPixel(query))};
}
QPoint barPixel(const obsprop::ui::figures::AttentionFigure& f, int key) {
    return {int(f.barsRect->axis(QCPAxis::atBottom)->coordToPixel(key)), f.barsRect->center().y()};
}

} // namespace

class TestAttentionView : public QObject {
    Q_OBJECT
    TinyModel t_ = make_tiny(obsprop::tools::Family::GPT2, 43, 512);
    Session* s_ = nullptr;

    bool open(Session& s) {
        return session_fixture::open(s, t_.dir->filePath(QStringLiteral("model")), kTimeout);
    }

    // The core's report for the same recipe and choices, computed here without the Session.
    obsprop::analyses::AttentionReport report(HeadRef head, const std::string& observable,
                                              const std::string& dataset, int prompt) {
        auto ws = std::make_shared<obsprop::Workspace>(
            obsprop::Workspace::open_model(t_.dir->filePath(QStringLiteral("model")).toStdString()));
        ws->add_observable("subj", "#10 - #20");
        ws->add_observable("obj", "0.5*#7 + 0.5*#99 - #3");
        obsprop::analyses::SettingsOverrides o;
        o.dataset = dataset;
        const obsprop::analyses::Analysis a(std::shared_ptr<const obsprop::Workspace>(ws), o);
        return obsprop::analyses::attention_report(a, head, observable, prompt);
    }

    // Everything the view shows is the report's: the results, every cell of the pattern (the masked ones
    // empty), every bar, the table in the CLI's CSV columns, the total and the hover texts.
    void showsExactly(AttentionView& view, const obsprop::analyses::AttentionReport& want) {
        QVERIFY(view.results().has_value());
        const AttentionResults& r = *view.results();
        QCOMPARE(r.head, want.head);
        QCOMPARE(r.observable.toStdString(), want.observable);
        QCOMPARE(r.dataset.toStdString(), want.dataset);
        QCOMPARE(r.lnMode.toStdString(), want.ln_mode);
        QCOMPARE(r.prompt, want.prompt);
        QCOMPARE(r.query, want.query);
        const int T = int(want.tokens.size());
        QCOMPARE(r.tokens.size(), T);
        QCOMPARE(r.pattern, want.pattern);
        QCOMPARE(r.contribution, want.contribution);
        QCOMPARE(r.total, want.total);

        const auto& f = view.figure();
        QCOMPARE(f.map->data()->keySize(), T);
        QCOMPARE(f.map->data()->valueSize(), T);
        for (int q = 0; q < T; ++q)
            for (int k = 0; k < T; ++k) {
                const double cell = f.map->data()->cell(k, q), p = want.pattern[size_t(q)][size_t(k)];
                if (k > q) {
                    QVERIFY2(std::isnan(cell), "a masked cell is drawn");
                    QCOMPARE(p, 0.0);
                } else {
                    QCOMPARE(cell, p);
                }
            }
        std::map<int, double> bars;
        for (QCPBars* b : {f.raising, f.lowering})
            for (int i = 0; i < b->data()->size(); ++i)
                QVERIFY(bars.emplace(int(b->data()->at(i)->key), b->data()->at(i)->value).second);
        QCOMPARE(int(bars.size()), T);
        for (int k = 0; k < T; ++k)
            QCOMPARE(bars.at(k), want.contribution[size_t(k)]);

        const auto table = obsprop::analyses::to_table(want);
        const QStringList lines = csvLines(view.tableCsv());
        QCOMPARE(lines.size(), int(table.rows.size()) + 1);
        QStringList header;
        for (const auto& c : table.columns)
            header << QString::fromStdString(c);
        QCOMPARE(lines[0], header.join(QLatin1Char(',')));
        for (int i = 0; i < int(table.rows.size()); ++i) {
            const QStringList c = cells(lines[i + 1]);
            const auto& row = table.rows[size_t(i)];
            QCOMPARE(c[0].toInt(), row[0].get<int>());
            QCOMPARE(c[1].toStdString(), row[1].get<std::string>());
            QCOMPARE(c[2].toDouble(), row[2].get<double>());
            QCOMPARE(c[3].toDouble(), row[3].get<double>());
        }
        QVERIFY2(view.totalText().contains(QString::number(want.total, 'g', 6)),
                 qPrintable(view.totalText()));

        view.plot()->replot();
        const int q = want.query, k = q / 2;
        const QString hover = view.toolTipAt(cellPixel(f, q, k));
        QVERIFY2(
            hover.contains(QStringLiteral("attention %1").arg(want.pattern[size_t(q)][size_t(k)], 0, 'g', 6)),
            qPrintable(hover));
        QVERIFY2(hover.contains(QStringLiteral("query %1").arg(q)) &&
                     hover.contains(QStringLiteral("key %1").arg(k)),
                 qPrintable(hover));
        QVERIFY(view.toolTipAt(cellPixel(f, 0, 1)).contains(QStringLiteral("cannot see")));
        const QString bar = view.toolTipAt(barPixel(f, k));
        QVERIFY2(bar.contains(QString::number(want.contribution[size_t(k)], 'g', 6)), qPrintable(bar));
    }

  private Q_SLOTS:
    void init() {
        s_ = new Session;
        QVERIFY(session_fixture::openWithPair(*s_, t_.dir->filePath(QStringLiteral("model")), kTimeout));
    }
    void cleanup() {
        delete s_;
        s_ = nullptr;
    }

    // No model, no observable, no head: a sentence saying what to do, never an empty grid.
    void saysWhatIsMissing() {
        Session s;
        AttentionView view(&s);
        view.resize(900, 600);
        QVERIFY2(view.placeholderText().contains(QStringLiteral("Open a model")),
                 qPrintable(view.placeholderText()));
        QVERIFY(!view.plot()->isVisible());
        QVERIFY(open(s));
        QVERIFY2(view.placeholderText().contains(QStringLiteral("Add an observable")),
                 qPrintable(view.placeholderText()));
        QCOMPARE(view.datasetBox()->currentText(), s.defaultDataset());
        QCOMPARE(view.promptBox()->count(), s.promptTexts(s.defaultDataset()).size());
        QCOMPARE(s.addObservable(QStringLiteral("subj"), QStringLiteral("#10 - #20")), QString());
        QVERIFY2(view.placeholderText().contains(QStringLiteral("Select a head")),
                 qPrintable(view.placeholderText()));
        QCOMPARE(view.observableBox()->currentText(), QStringLiteral("subj"));
        QVERIFY(view.command().isEmpty());
        screenshot(&view, "attention-empty");
        view.setSelectedHead({1, 0});
        QVERIFY(view.placeholderText().contains(QStringLiteral("Computing")));
        QTRY_VERIFY_WITH_TIMEOUT(view.results().has_value(), kTimeout);
        QVERIFY(view.placeholderText().isEmpty());
    }

    void showsTheCoreReport() {
        AttentionView view(s_);
        QAbstractItemModelTester tm(view.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester tp(view.proxy(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        view.resize(1100, 700);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.observableBox()->setCurrentText(QStringLiteral("obj"));
        view.datasetBox()->setCurrentText(QStringLiteral("object"));
        view.promptBox()->setCurrentIndex(4);
        view.setSelectedHead({1, 2});
        QTRY_VERIFY_WITH_TIMEOUT(view.results().has_value(), kTimeout);
        showsExactly(view, report({1, 2}, "obj", "object", 4));
        QCOMPARE(view.promptBox()->currentText(),
                 QStringLiteral("4: ") + s_->promptTexts(QStringLiteral("object"))[4]);
        const QString command = view.command();
        for (const char* part : {"obsprop attention ", "--dataset object", "--head 1.2", "--prompt 4",
                                 "--observable-of obj", "--ln approx"})
            QVERIFY2(command.contains(QLatin1String(part)), qPrintable(command));
        screenshot(&view, "attention");

        // Sorting by contribution (a click on its header) reorders the table, not the numbers.
        auto* header = view.table()->horizontalHeader();
        QTest::mouseClick(header->viewport(), Qt::LeftButton, {},
                          QPoint(header->sectionViewportPosition(AttentionTableModel::Contribution) + 5, 5));
        const QStringList sorted = csvLines(view.tableCsv());
        std::vector<double> shown;
        for (int i = 1; i < sorted.size(); ++i)
            shown.push_back(cells(sorted[i])[3].toDouble());
        QVERIFY(std::is_sorted(shown.begin(), shown.end()) || std::is_sorted(shown.rbegin(), shown.rend()));
        std::vector<double> all = view.results()->contribution;
        std::sort(all.begin(), all.end());
        std::sort(shown.begin(), shown.end());
        QCOMPARE(shown, all);

        exportsAllFormats([&](const QString& f) { return view.exportFigure(f, 800, 600, 2.0); });
    }

    // The selected head, a prompt selected in the Prompts view and an edit of the recipe each bring the
    // report that belongs to them; the old numbers are never shown meanwhile.
    void followsHeadPromptAndRecipe() {
        HeadSelection selection;
        selection.setShape(t_.spec.n_layers, t_.spec.n_heads);
        AttentionView view(s_);
        follow(&selection, &view);
        PromptsView prompts(s_);
        connect(&prompts, &PromptsView::promptSelected, &view, &AttentionView::showPrompt);
        prompts.resize(900, 500);
        prompts.show();
        QVERIFY(QTest::qWaitForWindowExposed(&prompts));

        selection.select({0, 3});
        QTRY_VERIFY_WITH_TIMEOUT(view.results().has_value(), kTimeout);
        showsExactly(view, report({0, 3}, "subj", view.dataset().toStdString(), 0));
        selection.step(1); // Ctrl+J
        const HeadRef next = selection.current();
        QVERIFY(next != (HeadRef{0, 3}));
        QCOMPARE(view.selectedHead(), next);
        QVERIFY(!view.results().has_value());
        QTRY_VERIFY_WITH_TIMEOUT(view.results().has_value(), kTimeout);
        QCOMPARE(view.results()->head, next);

        // A row of the Prompts view (another dataset, sorted by a column) chooses dataset and prompt.
        prompts.datasetBox()->setCurrentText(QStringLiteral("occupation"));
        QTRY_VERIFY_WITH_TIMEOUT(prompts.results() && !prompts.results()->rows.empty() &&
                                     prompts.results()->rows.front().dataset == QStringLiteral("occupation"),
                                 kTimeout);
        prompts.table()->sortByColumn(1, Qt::DescendingOrder);
        const QModelIndex cell = prompts.table()->model()->index(2, 0);
        QTest::mouseClick(prompts.table()->viewport(), Qt::LeftButton, {},
                          prompts.table()->visualRect(cell).center());
        const int chosen =
            prompts.results()
                ->rows[size_t(
                    qobject_cast<QSortFilterProxyModel*>(prompts.table()->model())->mapToSource(cell).row())]
                .index;
        QCOMPARE(view.dataset(), QStringLiteral("occupation"));
        QCOMPARE(view.prompt(), chosen);
        QTRY_VERIFY_WITH_TIMEOUT(view.results().has_value(), kTimeout);
        showsExactly(view, report(next, "subj", "occupation", chosen));

        // Redefining the observable drops the shown numbers at once; the new definition's follow.
        QCOMPARE(s_->addObservable(QStringLiteral("subj"), QStringLiteral("#20 - #10")), QString());
        QVERIFY(!view.results().has_value());
        QTRY_VERIFY_WITH_TIMEOUT(view.results().has_value(), kTimeout);
        // The Prompts view's new values (and the current row it sets itself) leave the chosen prompt alone.
        QTRY_VERIFY_WITH_TIMEOUT(prompts.results().has_value(), kTimeout);
        QTest::qWait(50);
        QCOMPARE(view.prompt(), chosen);
        QCOMPARE(view.results()->prompt, chosen);
        const auto before = report(next, "subj", "occupation", chosen);
        for (std::size_t k = 0; k < before.contribution.size(); ++k)
            QVERIFY(std::abs(view.results()->contribution[k] + before.contribution[k]) <=
                    1e-6 * (1 + std::abs(before.contribution[k])));

        // Nothing selected: the hint again.
        selection.clear();
        QVERIFY(view.placeholderText().contains(QStringLiteral("Select a head")));
        QVERIFY(!view.results().has_value());
    }
};

QTEST_MAIN(TestAttentionView)
#include "tst_attention_view.moc"
