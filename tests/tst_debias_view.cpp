// The debiasing sweep on every surface of the demo project: `obsprop debias --json` and `--csv`, the Debias
// tab driven as a user drives it (its table, its scatter plot, Use as Steering Vector), and the tab's Copy as
// Command run back through the command line. One core report: the numbers must be the same everywhere.
#include "test_paths.h"

#include <QCheckBox>
#include <QComboBox>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableView>
#include <QtTest>

#include <cmath>

#include "cli_run.h"
#include "figures/qcp.h"
#include "models/debias_table_model.h"
#include "session/session.h"
#include "views/debias_view.h"
#include "views/main_window.h"
#include "views/steering_panel.h"

using namespace obsprop::ui;
using cli_run::cli;

namespace {

constexpr int kTimeout = 300000;
const QString kDemo = test_paths::source("/resources/projects/demo.obsprop");

bool close(double a, double b) {
    return std::abs(a - b) <= 1e-6 * std::max({1.0, std::abs(a), std::abs(b)});
}

const QStringList kSweep{QStringLiteral("--raise"),         QStringLiteral("gram"),
                         QStringLiteral("--lower"),         QStringLiteral("bias"),
                         QStringLiteral("--candidates"),    QStringLiteral("3"),
                         QStringLiteral("--alpha=-5,5,20"), QStringLiteral("--normalize"),
                         QStringLiteral("--dataset"),       QStringLiteral("occupation")};

// The JSON rows of `obsprop debias` equal the view's rows (in rank, then α order).
void compareRows(const QJsonArray& rows, const DebiasTableModel& m) {
    QCOMPARE(rows.size(), qsizetype(m.rowCount()));
    for (int i = 0; i < m.rowCount(); ++i) {
        const auto r = rows[i].toObject();
        const auto& x = m.row(i);
        QCOMPARE(r[QStringLiteral("rank")].toInt(), x.rank);
        QCOMPARE(r[QStringLiteral("layer")].toInt(), x.head.layer);
        QCOMPARE(r[QStringLiteral("head")].toInt(), x.head.head);
        QCOMPARE(r[QStringLiteral("steer_layer")].toInt(), x.layer);
        QCOMPARE(r[QStringLiteral("separates")].toBool(), x.separates);
        const std::pair<const char*, double> numbers[] = {{"coupling", x.coupling},
                                                          {"alpha", x.alpha},
                                                          {"vector_norm", x.vector_norm},
                                                          {"change_raise", x.change_raise},
                                                          {"change_lower", x.change_lower},
                                                          {"predicted_raise", x.predicted_raise},
                                                          {"predicted_lower", x.predicted_lower},
                                                          {"score", x.score}};
        for (const auto& [key, v] : numbers)
            QVERIFY2(close(r[QLatin1String(key)].toDouble(), v),
                     qPrintable(QStringLiteral("row %1 %2: %3 vs %4")
                                    .arg(i)
                                    .arg(QLatin1String(key))
                                    .arg(r[QLatin1String(key)].toDouble())
                                    .arg(v)));
    }
}

} // namespace

class TestDebiasView : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void everySurfaceAgrees() {
        // 1. The command line, as JSON and as CSV.
        const auto j = cli(QStringList{QStringLiteral("debias"), QStringLiteral("--project"), kDemo} +
                               kSweep + QStringList{QStringLiteral("--json")},
                           kTimeout);
        QVERIFY2(j.code == 0, j.err.constData());
        const QJsonObject want = j.json();
        QCOMPARE(want[QStringLiteral("raise")].toString(), QStringLiteral("gram"));
        QCOMPARE(want[QStringLiteral("lower")].toString(), QStringLiteral("bias"));
        QCOMPARE(want[QStringLiteral("feature_of")].toString(), QStringLiteral("gram"));
        QCOMPARE(want[QStringLiteral("dataset")].toString(), QStringLiteral("occupation"));
        QCOMPARE(want[QStringLiteral("candidates")].toInt(), 3);
        const QJsonArray rows = want[QStringLiteral("rows")].toArray();
        QCOMPARE(rows.size(), 9);
        for (qsizetype i = 1; i < rows.size(); ++i) // most negative coupling first
            QVERIFY(rows[i - 1].toObject()[QStringLiteral("coupling")].toDouble() <=
                    rows[i].toObject()[QStringLiteral("coupling")].toDouble());
        const auto c = cli(QStringList{QStringLiteral("debias"), QStringLiteral("--project"), kDemo} +
                               kSweep + QStringList{QStringLiteral("--csv")},
                           kTimeout);
        QVERIFY2(c.code == 0, c.err.constData());
        const QStringList lines = QString::fromUtf8(c.out).trimmed().split(QLatin1Char('\n'));
        QCOMPARE(lines.size(), 10);
        QCOMPARE(lines[0],
                 QStringLiteral("rank,layer,head,coupling,steer_layer,vector_norm,alpha,change_raise,"
                                "change_lower,predicted_raise,predicted_lower,separates,score"));
        for (int i = 1; i < lines.size(); ++i) {
            const QStringList f = lines[i].split(QLatin1Char(','));
            const auto r = rows[i - 1].toObject();
            QVERIFY(close(f[7].toDouble(), r[QStringLiteral("change_raise")].toDouble()));
            QVERIFY(close(f[8].toDouble(), r[QStringLiteral("change_lower")].toDouble()));
        }

        // 2. The explorer: the Debias tab, driven through its controls.
        MainWindow w;
        w.setProperty("quietErrors", true);
        QSignalSpy opened(&w, &MainWindow::modelOpened);
        w.openPath(kDemo);
        QVERIFY(opened.wait(kTimeout));
        DebiasView* v = w.debiasView();
        QVERIFY(v);
        w.tabs()->setCurrentWidget(v);
        QCOMPARE(v->raiseBox()->currentText(), QStringLiteral("gram"));
        QCOMPARE(v->lowerBox()->currentText(), QStringLiteral("bias"));
        QCOMPARE(v->datasetBox()->currentText(), QStringLiteral("occupation")); // gram's own prompts
        QVERIFY(v->runButton()->isEnabled());
        v->candidatesBox()->setValue(3);
        v->normalizeBox()->setChecked(true);

        // A bad multiplier is refused with a message and nothing runs.
        v->alphaEdit()->setText(QStringLiteral("-5, five"));
        v->runButton()->click();
        QVERIFY2(v->statusLabel()->text().contains(QLatin1String("five")),
                 qPrintable(v->statusLabel()->text()));
        QVERIFY(!v->results());

        v->alphaEdit()->setText(QStringLiteral("-5, 5 20"));
        v->positionBox()->setEditText(QStringLiteral("middle"));
        v->runButton()->click();
        QVERIFY2(v->statusLabel()->text().contains(QLatin1String("not a token position")),
                 qPrintable(v->statusLabel()->text()));
        QVERIFY(!v->results());
        v->positionBox()->setEditText(QStringLiteral("name"));
        v->runButton()->click();
        QTRY_VERIFY_WITH_TIMEOUT(v->results().has_value(), kTimeout);
        QCOMPARE(v->model()->rowCount(), 9);
        QCOMPARE(v->table()->model()->rowCount(), 9);
        compareRows(rows, *v->model());
        QCOMPARE(v->results()->report.position, std::string("name"));
        QVERIFY(close(v->results()->report.mean_raise,
                      want[QStringLiteral("mean_before")].toObject()[QStringLiteral("raise")].toDouble()));
        QVERIFY(close(v->results()->report.mean_lower,
                      want[QStringLiteral("mean_before")].toObject()[QStringLiteral("lower")].toDouble()));
        // The plot holds one point per row, the separating ones in their own series.
        int separating = 0;
        for (const auto& r : rows)
            separating += r.toObject()[QStringLiteral("separates")].toBool() ? 1 : 0;
        QCOMPARE(v->plot()->graph(0)->dataCount() + v->plot()->graph(1)->dataCount(), 9);
        QCOMPARE(v->plot()->graph(1)->dataCount(), separating);
        // The filter box narrows the table.
        v->proxy()->setFilterFixedString(QStringLiteral("yes"));
        QCOMPARE(v->proxy()->rowCount(), separating);
        v->proxy()->setFilterFixedString(QString());

        // 3. Copy as Command prints the same rows.
        const QString command = v->command();
        QVERIFY2(command.contains(QLatin1String("--raise gram")) &&
                     command.contains(QLatin1String("--normalize")),
                 qPrintable(command));
        QString line = command + QStringLiteral(" --json");
        line.replace(0, 7, test_paths::binary("/app/obsprop"));
        QProcess p;
        p.start(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), line});
        QVERIFY(p.waitForFinished(kTimeout));
        QCOMPARE(p.exitCode(), 0);
        compareRows(
            QJsonDocument::fromJson(p.readAllStandardOutput()).object()[QStringLiteral("rows")].toArray(),
            *v->model());

        // 4. Use as Steering Vector: the row's head, feature, α and position go to the Steering tab.
        const std::size_t before = w.session()->steeringVectors().size();
        const auto first = v->model()->row(0);
        v->useAsSteeringVector(0);
        QCOMPARE(w.session()->steeringVectors().size(), before + 1);
        const auto& added = w.session()->steeringVectors().back();
        QVERIFY(added.path.size() == 1 && added.path[0] == first.head);
        QCOMPARE(added.alpha, first.alpha);
        QCOMPARE(added.observable, QStringLiteral("gram"));
        QVERIFY(added.normalize);
        QCOMPARE(w.tabs()->currentWidget(), static_cast<QWidget*>(w.steeringPanel()));
    }
};

QTEST_MAIN(TestDebiasView)
#include "tst_debias_view.moc"
