// The explorer's table models on their own: each under QAbstractItemModelTester while it is filled, reset and
// cleared, and each cell (Qt::UserRole, the sort key the views' proxies use) equal to the result value it
// shows, for hand-made results whose numbers are written out here.
#include <QAbstractItemModelTester>
#include <QtTest>

#include "models/head_table_model.h"
#include "models/path_table_model.h"
#include "models/prompt_table_model.h"
#include "models/steering_table_model.h"
#include "models/svd_table_model.h"

using namespace obsprop::ui;

namespace {

HeadMatrix grid(int layers, int heads, double base) {
    HeadMatrix m;
    m.title = QStringLiteral("m");
    m.quantity = QStringLiteral("q");
    m.layers = layers, m.heads = heads;
    for (int i = 0; i < layers * heads; ++i)
        m.values.push_back(base + i * 0.5);
    return m;
}

double cell(const QAbstractItemModel& m, int row, int col) {
    return m.data(m.index(row, col), Qt::UserRole).toDouble();
}

} // namespace

class TestItemModels : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void heads() {
        HeadTableModel m;
        QAbstractItemModelTester t(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
        const HeadMatrix a = grid(2, 3, 1.0), b = grid(2, 3, -4.0);
        m.set(&a, &b);
        QCOMPARE(m.rowCount(), 6);
        QCOMPARE(m.columnCount(), 3);
        QCOMPARE(m.data(m.index(4, 0), Qt::DisplayRole).toString(),
                 QStringLiteral("1.1")); // row 4 = layer 1, head 1
        QCOMPARE(cell(m, 4, 1), 3.0);    // 1.0 + 4 * 0.5
        QCOMPARE(cell(m, 4, 2), -2.0);   // -4.0 + 4 * 0.5
        QCOMPARE(m.rowOf({1, 2}), 5);
        m.set(nullptr, nullptr);
        QCOMPARE(m.rowCount(), 0);
    }

    // A quantity with MLP values (total-effect attribution): a row per layer's MLP after the heads, empty in
    // the column of a quantity without them.
    void headsWithMlps() {
        HeadTableModel m;
        QAbstractItemModelTester t(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
        const HeadMatrix a = grid(2, 3, 1.0);
        HeadMatrix b = grid(2, 3, -4.0);
        b.mlp = {7.5, -8.25};
        m.set(&a, &b);
        QCOMPARE(m.rowCount(), 8);
        QCOMPARE(m.data(m.index(7, 0), Qt::DisplayRole).toString(), QStringLiteral("mlp1"));
        QVERIFY(m.headAt(7).is_mlp());
        QCOMPARE(m.headAt(7).layer, 1);
        QCOMPARE(m.rowOf(HeadRef::mlp(0)), 6);
        QCOMPARE(cell(m, 6, 2), 7.5);
        QCOMPARE(cell(m, 7, 2), -8.25);
        QVERIFY(!m.data(m.index(7, 1), Qt::DisplayRole).isValid()); // the norm has no MLP value
        QCOMPARE(b.toCsv().split(QLatin1Char('\n')).at(7), QStringLiteral("0,mlp,7.5"));
    }

    void svd() {
        SvdTableModel m;
        QAbstractItemModelTester t(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
        SvdResults r;
        r.head = {0, 1};
        r.sigma = {3.0, 2.0, 0.5};
        r.observables = {QStringLiteral("a"), QStringLiteral("b")};
        r.absCosine = {{0.9, 0.1, 0.0}, {0.2, 0.7, 0.3}};
        m.setResults(r);
        QCOMPARE(m.rowCount(), 3);
        QCOMPARE(m.columnCount(), 4);
        QCOMPARE(cell(m, 1, 1), 2.0);
        QCOMPARE(cell(m, 2, 3), 0.3);
        QCOMPARE(m.headerData(2, Qt::Horizontal, Qt::DisplayRole).toString(), QStringLiteral("|cos| a"));
        m.clear();
        QCOMPARE(m.rowCount(), 0);
    }

    void paths() {
        PathTableModel m;
        QAbstractItemModelTester t(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
        PathResults r;
        r.patching = true;
        r.rows = {{QStringLiteral("1.4"), {{1, 4}}, 2.5, 0.25, 7.0},
                  {QStringLiteral("0.1 → 1.4"), {{0, 1}, {1, 4}}, -0.5, 0.125, 1.5}};
        m.setResults(r);
        QCOMPARE(m.rowCount(), 2);
        QCOMPARE(cell(m, 1, PathTableModel::Length), 2.0);
        QCOMPARE(cell(m, 1, PathTableModel::Value), -0.5);
        QCOMPARE(cell(m, 1, PathTableModel::Sd), 0.125);
        QCOMPARE(cell(m, 0, PathTableModel::FeatureNorm), 7.0);
        QCOMPARE(m.headerData(PathTableModel::Value, Qt::Horizontal, Qt::DisplayRole).toString(),
                 QStringLiteral("patching Δ"));
        r.patching = false;
        m.setResults(r);
        QCOMPARE(m.headerData(PathTableModel::Value, Qt::Horizontal, Qt::DisplayRole).toString(),
                 QStringLiteral("‖y‖"));
        m.clear();
        QCOMPARE(m.rowCount(), 0);
    }

    void prompts() {
        PromptTableModel m;
        QAbstractItemModelTester t(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
        PromptResults r;
        r.observables = {QStringLiteral("subj")};
        r.rows = {{QStringLiteral("d"),
                   QStringLiteral("So, Amy really"),
                   QStringLiteral("Amy"),
                   QStringLiteral("female"),
                   2,
                   {QStringLiteral("So"), QStringLiteral(","), QStringLiteral(" Amy")},
                   {1.25}}};
        m.setResults(r);
        QCOMPARE(m.rowCount(), 1);
        QCOMPARE(m.columnCount(), PromptTableModel::FixedColumns + 1);
        QCOMPARE(m.data(m.index(0, PromptTableModel::Tokens), Qt::DisplayRole).toString(),
                 QStringLiteral("So|,| Amy"));
        QCOMPARE(m.data(m.index(0, PromptTableModel::NamePosition), Qt::UserRole).toInt(), 2);
        QCOMPARE(cell(m, 0, PromptTableModel::FixedColumns), 1.25);
        m.setResults({});
        QCOMPARE(m.rowCount(), 0);
    }

    void steering() {
        SteeringTableModel m;
        QAbstractItemModelTester t(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
        SteeringResults r;
        r.observables = {QStringLiteral("subj"), QStringLiteral("obj")};
        r.prompts = {QStringLiteral("p0"), QStringLiteral("p1")};
        r.before = {{1.0, 2.0}, {3.0, 4.0}};
        r.after = {{1.5, 1.0}, {3.25, 5.0}};
        m.setResults(r);
        QCOMPARE(m.rowCount(), 2);
        QCOMPARE(m.columnCount(), 7);
        QCOMPARE(m.headerData(5, Qt::Horizontal, Qt::DisplayRole).toString(), QStringLiteral("obj after"));
        QCOMPARE(cell(m, 1, 3), 0.25); // subj change: 3.25 − 3.0
        QCOMPARE(cell(m, 0, 6), -1.0); // obj change: 1.0 − 2.0
        QCOMPARE(m.data(m.index(1, 0), Qt::DisplayRole).toString(), QStringLiteral("p1"));
        m.setResults({});
        QCOMPARE(m.rowCount(), 0);
    }
};

QTEST_MAIN(TestItemModels)
#include "tst_item_models.moc"
