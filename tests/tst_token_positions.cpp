// Steering at any token: "name", "last" or a token index (k from the start, -k from the end). The positions
// the command line steers at are checked against each prompt's tokens as `obsprop dataset` lists them; -1 and
// "last" are the same run; a position outside a prompt is refused by name; the explorer's steering panel
// adds vectors at the token typed and predicts what the command line predicts.
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
#include "views/steering_panel.h"

using namespace obsprop::ui;

namespace {

constexpr int kTimeout = 120000;
const QString kDemo = QStringLiteral(OBSPROP_SOURCE_DIR "/resources/projects/demo.obsprop");

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
        for (const QString k : {QStringLiteral("name"), QStringLiteral("last"), QStringLiteral("-1"),
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
