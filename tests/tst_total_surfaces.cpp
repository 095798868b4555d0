// The total-effect attribution on every surface of the demo project: `obsprop attribute --method total`, the
// Heads view's method box (heatmap and table, MLP rows included), its Copy as Command, and `obsprop export`
// beside the explorer's Export All of a project whose setting is the total effect. One core report: the
// numbers must be the same everywhere.
#include "test_paths.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

#include <QComboBox>
#include <cmath>

#include "session/session.h"
#include "views/heads_view.h"
#include "views/main_window.h"

using namespace obsprop::ui;

namespace {

constexpr int kTimeout = 180000;
const QString kDemo = test_paths::source("/resources/projects/demo.obsprop");

QByteArray run(const QString& program, const QStringList& args) {
    QProcess p;
    p.start(program, args);
    if (!p.waitForFinished(kTimeout) || p.exitCode() != 0) {
        qWarning("%s %s: %s", qPrintable(program), qPrintable(args.join(QLatin1Char(' '))),
                 p.readAllStandardError().constData());
        return {};
    }
    return p.readAllStandardOutput();
}

QByteArray cli(const QStringList& args) {
    return run(test_paths::binary("/app/obsprop"), args);
}

QJsonArray readArray(const QString& file) {
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(f.readAll()).array();
}

bool close(double a, double b) {
    return std::abs(a - b) <= 1e-6 * std::max({1.0, std::abs(a), std::abs(b)});
}

// Two attribution tables agree row for row (layer, head or "mlp", every observable's column).
void compareTables(const QJsonArray& a, const QJsonArray& b) {
    QCOMPARE(a.size(), b.size());
    for (qsizetype i = 0; i < a.size(); ++i) {
        const auto x = a[i].toObject(), y = b[i].toObject();
        QCOMPARE(x.keys(), y.keys());
        for (const auto& k : x.keys()) {
            if (x[k].isDouble())
                QVERIFY2(close(x[k].toDouble(), y[k].toDouble()),
                         qPrintable(QStringLiteral("row %1 %2: %3 vs %4")
                                        .arg(i)
                                        .arg(k)
                                        .arg(x[k].toDouble())
                                        .arg(y[k].toDouble())));
            else
                QCOMPARE(x[k], y[k]);
        }
    }
}

} // namespace

class TestTotalSurfaces : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

  private Q_SLOTS:
    void cliExplorerAndCommandAgree() {
        // 1. The command line.
        const QJsonArray want =
            QJsonDocument::fromJson(
                cli({QStringLiteral("attribute"), QStringLiteral("--project"), kDemo,
                     QStringLiteral("--dataset"), QStringLiteral("subject"), QStringLiteral("--method"),
                     QStringLiteral("total"), QStringLiteral("--json")}))
                .array();
        // The demo model: 4 layers of 8 heads, then a row per layer's MLP.
        QCOMPARE(want.size(), qsizetype(4 * 8 + 4));
        for (qsizetype i = 0; i < want.size(); ++i)
            QCOMPARE(want[i].toObject()[QStringLiteral("head")].isString(), i >= 32);
        QCOMPARE(want[32].toObject()[QStringLiteral("head")].toString(), QStringLiteral("mlp"));
        double largest = 0;
        for (const auto& r : want)
            largest =
                std::max(largest, std::abs(r.toObject()[QStringLiteral("attribution_subj")].toDouble()));
        QVERIFY(largest > 0.01);

        // 2. The explorer: the Heads view's method box and its button.
        MainWindow w;
        w.setProperty("quietErrors", true);
        QSignalSpy opened(&w, &MainWindow::modelOpened);
        w.openPath(kDemo);
        QVERIFY(opened.wait(kTimeout));
        Session* s = w.session();
        HeadsView* heads = w.headsView();
        auto* method = heads->findChildren<QComboBox*>().at(1); // the dataset's box, then the method's
        const int total = method->findData(QStringLiteral("total"));
        QVERIFY(total >= 0);
        method->setCurrentIndex(total);
        heads->findChildren<QComboBox*>().at(0)->setCurrentText(QStringLiteral("subject"));
        QSignalSpy ready(s, &Session::attributionReady);
        QPushButton* compute = nullptr;
        for (auto* b : heads->findChildren<QPushButton*>())
            if (b->text() == QStringLiteral("Compute attribution")) compute = b;
        QVERIFY(compute);
        compute->click();
        QTRY_VERIFY_WITH_TIMEOUT(std::any_of(ready.begin(), ready.end(),
                                             [](const QList<QVariant>& x) {
                                                 const auto r = qvariant_cast<AttributionResults>(x.at(0));
                                                 return r.method == QStringLiteral("total") &&
                                                        r.dataset == QStringLiteral("subject");
                                             }),
                                 kTimeout);
        const QString name = QStringLiteral("attribution (total): subj");
        QTRY_VERIFY_WITH_TIMEOUT(heads->quantities().contains(name), kTimeout);
        heads->setQuantity(0, name);
        const HeadMatrix* m = heads->matrix(name);
        QVERIFY(m);
        QCOMPARE(m->mlp.size(), std::size_t{4});
        for (const auto& rv : want) {
            const auto r = rv.toObject();
            const int l = r[QStringLiteral("layer")].toInt();
            const double v = r[QStringLiteral("attribution_subj")].toDouble();
            const double got = r[QStringLiteral("head")].isString()
                                   ? m->mlp[static_cast<std::size_t>(l)]
                                   : m->at(l, r[QStringLiteral("head")].toInt());
            QVERIFY2(close(got, v), qPrintable(QStringLiteral("%1: %2 vs %3").arg(l).arg(got).arg(v)));
        }
        // The table lists the MLPs after the heads, with the same values.
        auto* model = heads->table()->model();
        QCOMPARE(model->rowCount(), 36);
        int mlpRows = 0;
        for (int r = 0; r < model->rowCount(); ++r) {
            const QString label = model->index(r, 0).data().toString();
            if (!label.startsWith(QLatin1String("mlp"))) continue;
            ++mlpRows;
            const int l = label.mid(3).toInt();
            QCOMPARE(model->index(r, 1).data(Qt::UserRole).toDouble(), m->mlp[static_cast<std::size_t>(l)]);
        }
        QCOMPARE(mlpRows, 4);

        // 3. Copy as Command prints the same table.
        const QString command = heads->command();
        QVERIFY2(command.contains(QLatin1String("--method total")), qPrintable(command));
        QString line = command + QStringLiteral(" --json");
        line.replace(0, 7, test_paths::binary("/app/obsprop"));
        compareTables(
            QJsonDocument::fromJson(run(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), line})).array(),
            want);
    }

    // A project whose attribution setting is the total effect: `obsprop export` and the explorer's Export All
    // write the same attribution tables, and they are what `attribute` prints.
    void exportsAgree() {
        QFile in(kDemo);
        QVERIFY(in.open(QIODevice::ReadOnly));
        QJsonObject project = QJsonDocument::fromJson(in.readAll()).object();
        auto model = project[QStringLiteral("model")].toObject();
        model[QStringLiteral("path")] = test_paths::source("/resources/models/demo");
        project[QStringLiteral("model")] = model;
        auto settings = project[QStringLiteral("settings")].toObject();
        settings[QStringLiteral("attribution")] = QStringLiteral("total");
        project[QStringLiteral("settings")] = settings;
        const QString file = dir_.filePath(QStringLiteral("total.obsprop"));
        QFile out(file);
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write(QJsonDocument(project).toJson());
        out.close();

        const QString cliDir = dir_.filePath(QStringLiteral("cli"));
        QVERIFY(!cli({QStringLiteral("export"), QStringLiteral("--project"), file, QStringLiteral("--out"),
                      cliDir})
                     .isEmpty());
        MainWindow w;
        w.setProperty("quietErrors", true);
        QSignalSpy opened(&w, &MainWindow::modelOpened);
        w.openPath(file);
        QVERIFY(opened.wait(kTimeout));
        QSignalSpy exported(w.session(), &Session::exportFinished);
        const QString guiDir = dir_.filePath(QStringLiteral("gui"));
        w.exportAll(guiDir);
        QVERIFY(exported.wait(kTimeout));
        const QStringList tables = QDir(cliDir).entryList({QStringLiteral("attribution_*.json")});
        QVERIFY(tables.size() >= 3);
        QCOMPARE(QDir(guiDir).entryList({QStringLiteral("attribution_*.json")}), tables);
        for (const QString& t : tables) {
            const QJsonArray a = readArray(cliDir + QLatin1Char('/') + t);
            QCOMPARE(a.size(), qsizetype(4 * 8 + 4)); // heads, then the MLPs
            compareTables(a, readArray(guiDir + QLatin1Char('/') + t));
        }
        const QJsonArray printed =
            QJsonDocument::fromJson(
                cli({QStringLiteral("attribute"), QStringLiteral("--project"), file,
                     QStringLiteral("--dataset"), QStringLiteral("subject"), QStringLiteral("--json")}))
                .array();
        compareTables(readArray(cliDir + QStringLiteral("/attribution_subject.json")), printed);
        // The manifest names the method.
        QFile manifest(cliDir + QStringLiteral("/manifest.json"));
        QVERIFY(manifest.open(QIODevice::ReadOnly));
        QCOMPARE(QJsonDocument::fromJson(manifest.readAll())
                     .object()[QStringLiteral("settings")]
                     .toObject()[QStringLiteral("attribution")]
                     .toString(),
                 QStringLiteral("total"));
    }
};

QTEST_MAIN(TestTotalSurfaces)
#include "tst_total_surfaces.moc"
