// Steering and attribution at any token: "name", "last", a token index (k from the start, -k from the end)
// and, for steering, "all". The positions the command line steers at are checked against each prompt's
// tokens as `obsprop dataset` lists them; -1 and "last" are the same run; a position outside a prompt is
// refused by name; the explorer's steering panel adds vectors at the token typed and predicts what the
// command line predicts. Attribution at a token is the same on the command line, in the Heads view (through
// the Prompts view's Attribute at This Token) and in `obsprop export` of a project that sets it. (The
// numbers themselves are checked against the naive reference in tst_any_token.)
#include "test_paths.h"

#include <QComboBox>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSignalSpy>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "cli_run.h"
#include "session/session.h"
#include "session_fixture.h"
#include "views/heads_view.h"
#include "views/main_window.h"
#include "views/prompts_view.h"
#include "views/steering_panel.h"

#include <QDir>
#include <QFile>
#include <QListWidget>
#include <QPushButton>
#include <QTableView>
#include <QTemporaryDir>

using namespace obsprop::ui;

namespace {

constexpr int kTimeout = 120000;
const QString kDemo = test_paths::source("/resources/projects/demo.obsprop");

using cli_run::cli;
using cli_run::Run;

QJsonObject steer(const QString& position) {
    const Run r =
        cli({QStringLiteral("steer"), QStringLiteral("--project"), kDemo, QStringLiteral("--vector"),
             QStringLiteral("obs=subj;path=1.4;alpha=5;position=") + position, QStringLiteral("--json")});
    if (r.code != 0) qWarning() << r.err;
    return QJsonDocument::fromJson(r.out).object();
}

bool close(double a, double b) {
    return std::abs(a - b) <= 1e-9 * (1 + std::abs(a) + std::abs(b));
}

// `obsprop attribute` on the demo's subject pairs: (layer, head) -> attribution of subj.
std::map<std::pair<int, int>, double> attribute(const QStringList& extra) {
    const Run r =
        cli(QStringList{QStringLiteral("attribute"), QStringLiteral("--project"), kDemo,
                        QStringLiteral("--dataset"), QStringLiteral("subject"), QStringLiteral("--json")} +
            extra);
    if (r.code != 0) qWarning() << r.err;
    std::map<std::pair<int, int>, double> out;
    for (const auto& v : QJsonDocument::fromJson(r.out).array()) {
        const QJsonObject o = v.toObject();
        out[{o[QStringLiteral("layer")].toInt(), o[QStringLiteral("head")].toInt()}] =
            o[QStringLiteral("attribution_subj")].toDouble();
    }
    return out;
}

} // namespace

class TestTokenPositions : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void commandLinePositions() {
        // The prompts' tokens and name slots, as `obsprop dataset` lists them.
        const Run d = cli({QStringLiteral("dataset"), QStringLiteral("--project"), kDemo,
                           QStringLiteral("--dataset"), QStringLiteral("subject"), QStringLiteral("--json")});
        QCOMPARE(d.code, 0);
        const QJsonArray rows = QJsonDocument::fromJson(d.out).array();
        QVERIFY(rows.size() > 10);
        std::vector<int> length, slot;
        for (const auto& v : rows) {
            const QJsonObject o = v.toObject();
            // Tokens are joined by '|', which GPT-2's end-of-text token itself contains.
            QString tokens = o[QStringLiteral("tokens")].toString();
            tokens.replace(QStringLiteral("<|endoftext|>"), QStringLiteral("EOT"));
            length.push_back(int(tokens.split(QLatin1Char('|')).size()));
            slot.push_back(o[QStringLiteral("name_position")].toInt());
        }
        QVERIFY(std::adjacent_find(length.begin(), length.end(), std::not_equal_to<>()) != length.end());
        auto expected = [&](const QString& k, std::size_t i) {
            if (k == QLatin1String("name")) return slot[i];
            if (k == QLatin1String("last")) return length[i] - 1;
            const int n = k.toInt();
            return n < 0 ? length[i] + n : n;
        };
        std::map<QString, QJsonObject> runs;
        for (const QString& k : {QStringLiteral("name"), QStringLiteral("last"), QStringLiteral("-1"),
                                 QStringLiteral("0"), QStringLiteral("2"), QStringLiteral("-3")}) {
            const QJsonObject r = steer(k);
            const QJsonArray prompts = r[QStringLiteral("prompts")].toArray();
            QCOMPARE(prompts.size(), rows.size());
            for (qsizetype i = 0; i < prompts.size(); ++i)
                QCOMPARE(prompts[i].toObject()[QStringLiteral("positions")].toArray().at(0).toInt(),
                         expected(k, std::size_t(i)));
            runs[k] = r;
        }
        // -1 is the last token: the same run, number for number.
        const QJsonArray a = runs[QStringLiteral("-1")][QStringLiteral("observables")].toArray(),
                         b = runs[QStringLiteral("last")][QStringLiteral("observables")].toArray();
        QCOMPARE(a.size(), b.size());
        for (qsizetype k = 0; k < a.size(); ++k) {
            QVERIFY(close(a[k].toObject()[QStringLiteral("mean_change")].toDouble(),
                          b[k].toObject()[QStringLiteral("mean_change")].toDouble()));
            QVERIFY(close(a[k].toObject()[QStringLiteral("predicted")].toDouble(),
                          b[k].toObject()[QStringLiteral("predicted")].toDouble()));
        }
        // Different tokens steer differently.
        QVERIFY(!close(runs[QStringLiteral("0")][QStringLiteral("observables")]
                           .toArray()[0]
                           .toObject()[QStringLiteral("mean_change")]
                           .toDouble(),
                       runs[QStringLiteral("name")][QStringLiteral("observables")]
                           .toArray()[0]
                           .toObject()[QStringLiteral("mean_change")]
                           .toDouble()));
        // Outside a prompt, and not a position at all.
        Run bad = cli({QStringLiteral("steer"), QStringLiteral("--project"), kDemo,
                       QStringLiteral("--vector"), QStringLiteral("obs=subj;path=1.4;alpha=5;position=99")});
        QCOMPARE(bad.code, 1);
        QVERIFY2(bad.err.contains("token position 99 is outside a prompt of"), bad.err.constData());
        bad = cli({QStringLiteral("steer"), QStringLiteral("--project"), kDemo, QStringLiteral("--vector"),
                   QStringLiteral("obs=subj;path=1.4;alpha=5;position=middle")});
        QCOMPARE(bad.code, 2);
        QVERIFY2(bad.err.contains("'middle' is not a token position"), bad.err.constData());
        bad = cli({QStringLiteral("steer"), QStringLiteral("--project"), kDemo, QStringLiteral("--head"),
                   QStringLiteral("1.4"), QStringLiteral("--alpha"), QStringLiteral("5"),
                   QStringLiteral("--position"), QStringLiteral("1.5")});
        QCOMPARE(bad.code, 2);
        QVERIFY2(bad.err.contains("'1.5' is not a token position"), bad.err.constData());
        // A negative index as the option's value.
        const Run neg =
            cli({QStringLiteral("steer"), QStringLiteral("--project"), kDemo, QStringLiteral("--head"),
                 QStringLiteral("1.4"), QStringLiteral("--alpha"), QStringLiteral("5"),
                 QStringLiteral("--position"), QStringLiteral("-2"), QStringLiteral("--json")});
        QCOMPARE(neg.code, 0);
    }

    void steeringAtEveryToken() {
        const QJsonObject all = steer(QStringLiteral("all"));
        const QJsonArray prompts = all[QStringLiteral("prompts")].toArray();
        QVERIFY(!prompts.isEmpty());
        for (const auto& p : prompts)
            QCOMPARE(p.toObject()[QStringLiteral("positions")].toArray().at(0).toString(),
                     QStringLiteral("all"));
        QCOMPARE(
            all[QStringLiteral("vectors")].toArray().at(0).toObject()[QStringLiteral("position")].toString(),
            QStringLiteral("all"));
        const double every = all[QStringLiteral("observables")]
                                 .toArray()[0]
                                 .toObject()[QStringLiteral("mean_change")]
                                 .toDouble();
        const double name = steer(QStringLiteral("name"))[QStringLiteral("observables")]
                                .toArray()[0]
                                .toObject()[QStringLiteral("mean_change")]
                                .toDouble();
        QVERIFY2(!close(every, name), qPrintable(QStringLiteral("%1 vs %2").arg(every).arg(name)));
    }

    void attributionAtAToken() {
        const auto last = attribute({});
        QCOMPARE(last.size(), std::size_t(32)); // the demo's 4 layers × 8 heads
        // -1 is the last token.
        const auto minus1 = attribute({QStringLiteral("--position"), QStringLiteral("-1")});
        for (const auto& [h, v] : last)
            QVERIFY(close(minus1.at(h), v));
        // At the name the prediction is another one: the numbers differ.
        const auto name = attribute({QStringLiteral("--position"), QStringLiteral("name")});
        QCOMPARE(name.size(), last.size());
        double diff = 0;
        for (const auto& [h, v] : last)
            diff = std::max(diff, std::abs(name.at(h) - v));
        QVERIFY(diff > 1e-3);
        // Every token at once is for steering; a token outside the prompts is named.
        Run bad = cli({QStringLiteral("attribute"), QStringLiteral("--project"), kDemo,
                       QStringLiteral("--position"), QStringLiteral("all")});
        QCOMPARE(bad.code, 2);
        QVERIFY2(bad.err.contains("'all' is not a token position"), bad.err.constData());
        bad = cli({QStringLiteral("attribute"), QStringLiteral("--project"), kDemo,
                   QStringLiteral("--position"), QStringLiteral("40")});
        QCOMPARE(bad.code, 1);
        QVERIFY2(bad.err.contains("token position 40 is outside a prompt of"), bad.err.constData());

        // The export of a project that attributes at the name writes the same numbers.
        QTemporaryDir tmp;
        QFile in(kDemo);
        QVERIFY(in.open(QIODevice::ReadOnly));
        QJsonObject project = QJsonDocument::fromJson(in.readAll()).object();
        QJsonObject settings = project[QStringLiteral("settings")].toObject();
        settings[QStringLiteral("attribution_position")] = QStringLiteral("name");
        project[QStringLiteral("settings")] = settings;
        // The model folder is relative to the project: keep pointing at the demo's.
        QJsonObject model = project[QStringLiteral("model")].toObject();
        model[QStringLiteral("path")] =
            QDir(tmp.path()).relativeFilePath(test_paths::source("/resources/models/demo"));
        project[QStringLiteral("model")] = model;
        const QString file = tmp.filePath(QStringLiteral("at-name.obsprop"));
        QFile out(file);
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write(QJsonDocument(project).toJson());
        out.close();
        const Run ex = cli({QStringLiteral("export"), QStringLiteral("--project"), file,
                            QStringLiteral("--out"), tmp.filePath(QStringLiteral("x"))});
        QVERIFY2(ex.code == 0, ex.err.constData());
        QFile csv(tmp.filePath(QStringLiteral("x/attribution_subject_at_name.csv")));
        QVERIFY2(csv.open(QIODevice::ReadOnly), qPrintable(csv.fileName()));
        const QStringList lines =
            QString::fromUtf8(csv.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        const QStringList header = lines[0].split(QLatin1Char(','));
        const auto col = header.indexOf(QStringLiteral("attribution_subj"));
        QVERIFY(col > 1);
        int rows = 0;
        for (qsizetype i = 1; i < lines.size(); ++i) {
            const QStringList f = lines[i].split(QLatin1Char(','));
            if (f[1] == QLatin1String("mlp")) continue;
            QVERIFY(close(f[col].toDouble(), name.at({f[0].toInt(), f[1].toInt()})));
            ++rows;
        }
        QCOMPARE(rows, 32);
        // The project's setting is the command line's default too.
        const Run fromProject =
            cli({QStringLiteral("attribute"), QStringLiteral("--project"), file, QStringLiteral("--dataset"),
                 QStringLiteral("subject"), QStringLiteral("--json")});
        QCOMPARE(fromProject.code, 0);
        int same = 0;
        for (const auto& v : QJsonDocument::fromJson(fromProject.out).array()) {
            const QJsonObject o = v.toObject();
            QVERIFY(close(o[QStringLiteral("attribution_subj")].toDouble(),
                          name.at({o[QStringLiteral("layer")].toInt(), o[QStringLiteral("head")].toInt()})));
            ++same;
        }
        QCOMPARE(same, 32);
    }

    // The Prompts view lists the selected prompt's tokens; a picked token steers or attributes there.
    void explorerPicksATokenInThePromptsView() {
        MainWindow w;
        w.show();
        QSignalSpy opened(&w, &MainWindow::modelOpened);
        w.openPath(kDemo);
        QVERIFY(opened.wait(kTimeout));
        PromptsView* pv = w.promptsView();
        pv->datasetBox()->setCurrentText(QStringLiteral("subject"));
        QTRY_VERIFY_WITH_TIMEOUT(pv->results().has_value() && !pv->results()->rows.empty(), kTimeout);
        QVERIFY(!pv->steerHereButton()->isEnabled());
        pv->table()->selectRow(0);
        const auto& row = pv->results()->rows.front();
        QCOMPARE(pv->tokenList()->count(), row.tokens.size());
        // The name slot stands for "name", the last token for "last", another for its index.
        pv->tokenList()->setCurrentRow(row.namePosition);
        QCOMPARE(pv->pickedPosition(), QStringLiteral("name"));
        pv->tokenList()->setCurrentRow(int(row.tokens.size()) - 1);
        QCOMPARE(pv->pickedPosition(), QStringLiteral("last"));
        pv->tokenList()->setCurrentRow(0);
        QCOMPARE(pv->pickedPosition(), QStringLiteral("0"));
        QVERIFY(pv->steerHereButton()->isEnabled());
        QTest::mouseClick(pv->steerHereButton(), Qt::LeftButton);
        QCOMPARE(w.steeringPanel()->positionBox()->currentText(), QStringLiteral("0"));

        // Attribute at the name: the Heads view computes it, and shows what the command line prints.
        pv->tokenList()->setCurrentRow(row.namePosition);
        AttributionResults got;
        connect(w.session(), &Session::attributionReady, this, [&got](const AttributionResults& r) {
            if (r.position == QLatin1String("name")) got = r;
        });
        QTest::mouseClick(pv->attributeHereButton(), Qt::LeftButton);
        QCOMPARE(w.headsView()->positionBox()->currentText(), QStringLiteral("name"));
        QTRY_VERIFY_WITH_TIMEOUT(!got.maps.empty(), kTimeout);
        // Copy as Command of the attribution heatmap names the token.
        QTRY_VERIFY(
            w.headsView()->quantities().contains(QStringLiteral("attribution (%1): subj").arg(got.method)));
        w.headsView()->setQuantity(0, QStringLiteral("attribution (%1): subj").arg(got.method));
        QVERIFY2(w.headsView()->command().contains(QStringLiteral("--position name")),
                 qPrintable(w.headsView()->command()));
        const QString dataset = got.dataset;
        const Run r = cli({QStringLiteral("attribute"), QStringLiteral("--project"), kDemo,
                           QStringLiteral("--dataset"), dataset, QStringLiteral("--method"), got.method,
                           QStringLiteral("--position"), QStringLiteral("name"), QStringLiteral("--json")});
        QCOMPARE(r.code, 0);
        const int k = int(got.observables.indexOf(QStringLiteral("subj")));
        QVERIFY(k >= 0);
        int compared = 0;
        for (const auto& v : QJsonDocument::fromJson(r.out).array()) {
            const QJsonObject o = v.toObject();
            if (!o[QStringLiteral("head")].isDouble()) continue; // MLP rows
            const int l = o[QStringLiteral("layer")].toInt(), h = o[QStringLiteral("head")].toInt();
            QVERIFY(
                close(o[QStringLiteral("attribution_subj")].toDouble(), got.maps[std::size_t(k)].at(l, h)));
            ++compared;
        }
        QCOMPARE(compared, 32);
    }

    void explorerSteersAtTheTypedToken() {
        Session s;
        QVERIFY(session_fixture::openProject(s, kDemo));
        for (const auto& v : std::vector<SteeringVectorSpec>(s.steeringVectors()))
            s.removeSteeringVector(v.id);
        SteeringPanel panel(&s);
        panel.positionBox()->setEditText(QStringLiteral("-2"));
        panel.addPath({{1, 4}}, QStringLiteral("subj"));
        QCOMPARE(s.steeringVectors().size(), std::size_t(1));
        QCOMPARE(s.steeringVectors().front().position, QStringLiteral("-2"));
        s.setSteeringAlpha(s.steeringVectors().front().id, 5.0);
        QTRY_VERIFY_WITH_TIMEOUT(s.isSteeringPrepared(), kTimeout);
        const SteeringResults got = s.predictSteering();
        const QJsonArray want = steer(QStringLiteral("-2"))[QStringLiteral("observables")].toArray();
        QCOMPARE(want.size(), got.observables.size());
        for (qsizetype k = 0; k < want.size(); ++k)
            QVERIFY(close(want[k].toObject()[QStringLiteral("predicted")].toDouble(),
                          got.predicted[std::size_t(k)]));
    }
};

QTEST_MAIN(TestTokenPositions)
#include "tst_token_positions.moc"
