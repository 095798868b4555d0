// Every surface shows the same numbers for the same project: `obsprop export`, the explorer's Export All, the
// CLI's single commands and the Session's results, for the demo project and a generated model of each family,
// under each LayerNorm treatment. A number computed twice, or a setting resolved in two places, fails here.
#include "test_models.h"
#include "test_paths.h"

#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

#include "session/session.h"
#include "views/attention_view.h"
#include "views/main_window.h"
#include "views/svd_view.h"

using namespace obsprop::ui;

namespace {

constexpr int kTimeout = 180000;

QByteArray cli(const QStringList& args) {
    QProcess p;
    p.start(test_paths::binary("/app/obsprop"), args);
    if (!p.waitForFinished(kTimeout) || p.exitCode() != 0) {
        qWarning("obsprop %s: %s", qPrintable(args.join(QLatin1Char(' '))),
                 p.readAllStandardError().constData());
        return {};
    }
    return p.readAllStandardOutput();
}

// Runs a command line as the explorer copies it ("obsprop ..."), through the shell that would read it.
QByteArray shell(QString command) {
    command.replace(0, 7, test_paths::binary("/app/obsprop"));
    QProcess p;
    p.start(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), command});
    if (!p.waitForFinished(kTimeout) || p.exitCode() != 0) {
        qWarning("%s: %s", qPrintable(command), p.readAllStandardError().constData());
        return {};
    }
    return p.readAllStandardOutput();
}

bool close(double a, double b) {
    return std::abs(a - b) <= 1e-6 * std::max({1.0, std::abs(a), std::abs(b)});
}

// Two JSON values equal up to 1e-6 relative in every number.
bool same(const QJsonValue& a, const QJsonValue& b, QString& where) {
    if (a.isDouble() && b.isDouble())
        return close(a.toDouble(), b.toDouble()) ||
               (where += QStringLiteral(" %1 vs %2").arg(a.toDouble()).arg(b.toDouble()), false);
    if (a.type() != b.type()) return where += QStringLiteral(" (types differ)"), false;
    if (a.isArray()) {
        const auto x = a.toArray(), y = b.toArray();
        if (x.size() != y.size())
            return where += QStringLiteral(" (lengths %1, %2)").arg(x.size()).arg(y.size()), false;
        for (qsizetype i = 0; i < x.size(); ++i) {
            QString w = where + QStringLiteral("[%1]").arg(i);
            if (!same(x[i], y[i], w)) return where = w, false;
        }
        return true;
    }
    if (a.isObject()) {
        const auto x = a.toObject(), y = b.toObject();
        if (x.keys() != y.keys()) return where += QStringLiteral(" (keys differ)"), false;
        for (const auto& k : x.keys()) {
            QString w = where + QLatin1Char('.') + k;
            if (!same(x[k], y[k], w)) return where = w, false;
        }
        return true;
    }
    return a == b || (where += QStringLiteral(" (values differ)"), false);
}

QJsonValue readJson(const QString& file) {
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly)) return {};
    const auto d = QJsonDocument::fromJson(f.readAll());
    return d.isArray() ? QJsonValue(d.array()) : QJsonValue(d.object());
}

// The tables of two export folders are the same, table by table.
void compareExports(const QString& a, const QString& b) {
    const QStringList ta = QDir(a).entryList({QStringLiteral("*.json")}),
                      tb = QDir(b).entryList({QStringLiteral("*.json")});
    QCOMPARE(ta, tb);
    QVERIFY(ta.size() > 5);
    // The same files, figures included.
    QCOMPARE(QDir(a).entryList(QDir::Files), QDir(b).entryList(QDir::Files));
    QVERIFY(QDir(a).entryList({QStringLiteral("*.png")}).size() >= 3);
    for (const QString& t : ta) {
        if (t == QLatin1String("manifest.json")) continue;
        QString where = t;
        QVERIFY2(same(readJson(a + QLatin1Char('/') + t), readJson(b + QLatin1Char('/') + t), where),
                 qPrintable(where));
    }
    // The manifests agree on the settings they were computed with.
    QString where = QStringLiteral("manifest settings");
    QVERIFY2(same(readJson(a + QStringLiteral("/manifest.json")).toObject()[QStringLiteral("settings")],
                  readJson(b + QStringLiteral("/manifest.json")).toObject()[QStringLiteral("settings")],
                  where),
             qPrintable(where));
}

struct Row {
    QString name, project, ln;
};

// The rows of `agree`: every project under every LayerNorm treatment. Under AddressSanitizer the run is for
// memory safety (the numbers' agreement is the normal build's): every project once, the treatment rotating,
// so each treatment runs twice; OBSPROP_SURFACES_ALL=1 runs all 18 rows there too.
// CTest runs them as 3 entries (tests/CMakeLists.txt) so a parallel run spreads them over the cores: with
// OBSPROP_TEST_PART=k/n this run takes the k-th of n equal runs of rows (one treatment each), empty when that
// is not k/n with 1 <= k <= n <= the number of rows; without it, every row.
std::vector<Row> rows(bool part = true) {
    const QString demo = test_paths::source("/resources/projects/demo.obsprop");
    const char* families[] = {"gpt2", "gpt_neo", "gpt_neox", "llama", "gemma2"};
    const char* treatments[] = {"none", "approx", "exact"};
#if defined(__SANITIZE_ADDRESS__)
    const bool all = qEnvironmentVariableIntValue("OBSPROP_SURFACES_ALL") == 1;
#else
    const bool all = true;
#endif
    std::vector<Row> rows;
    for (std::size_t t = 0; t < std::size(treatments); ++t)
        for (std::size_t p = 0; p <= std::size(families); ++p) // 0: the demo, then tiny:0 …
            if (all || p % std::size(treatments) == t) {
                const QString ln = QString::fromLatin1(treatments[t]);
                const QString name = p == 0 ? QStringLiteral("demo") : QLatin1String(families[p - 1]);
                rows.push_back({QStringLiteral("%1, ln %2").arg(name, ln),
                                p == 0 ? demo : QStringLiteral("tiny:%1").arg(p - 1), ln});
            }
    const QString spec = qEnvironmentVariable("OBSPROP_TEST_PART");
    if (!part || spec.isEmpty()) return rows;
    const QStringList kn = spec.split(QLatin1Char('/'));
    bool okK = false, okN = false;
    const int k = kn.size() == 2 ? kn[0].toInt(&okK) : 0, n = kn.size() == 2 ? kn[1].toInt(&okN) : 0;
    if (!okK || !okN || k < 1 || k > n || std::size_t(n) > rows.size()) return {};
    const std::size_t first = rows.size() * std::size_t(k - 1) / std::size_t(n),
                      last = rows.size() * std::size_t(k) / std::size_t(n);
    return {rows.begin() + std::ptrdiff_t(first), rows.begin() + std::ptrdiff_t(last)};
}

} // namespace

class TestSurfaces : public QObject {
    Q_OBJECT
    std::vector<test_models::TinyModel> models_;
    QTemporaryDir dir_;

  private Q_SLOTS:
    void initTestCase() {
        using obsprop::tools::Family;
        // The three original families, and two decoders: Llama (GQA, llama3 RoPE scaling) and Gemma 2
        // (post-norms, soft-caps, a sliding window).
        for (auto f : {Family::GPT2, Family::GPTNeo, Family::GPTNeoX, Family::Llama, Family::Gemma2})
            models_.push_back(test_models::make_tiny(f, 7, 300, 2));
        QVERIFY2(!rows().empty(),
                 qPrintable(QStringLiteral("OBSPROP_TEST_PART=%1: want k/n, 1 <= k <= n <= %2")
                                .arg(qEnvironmentVariable("OBSPROP_TEST_PART"))
                                .arg(rows(false).size())));
    }

    void agree_data() {
        QTest::addColumn<QString>("project");
        QTest::addColumn<QString>("ln");
        for (const Row& r : rows())
            QTest::newRow(qPrintable(r.name)) << r.project << r.ln;
    }

    void agree() {
        QFETCH(QString, project);
        QFETCH(QString, ln);
        if (project.startsWith(QLatin1String("tiny:"))) {
            const auto& m = models_[static_cast<std::size_t>(project.mid(5).toInt())];
            const QString file = dir_.filePath(project.mid(5) + QStringLiteral(".obsprop"));
            if (!QFile::exists(file))
                QVERIFY(!cli({QStringLiteral("project"), QStringLiteral("create"), QStringLiteral("--model"),
                              m.dir->filePath(QStringLiteral("model")), QStringLiteral("--observable"),
                              QStringLiteral("subj=#10 - #20"), QStringLiteral("--observable"),
                              QStringLiteral("obj=0.5*#7 + 0.5*#99 - #3"), QStringLiteral("--ln-dataset"),
                              QStringLiteral("obj=object"), QStringLiteral("--out"), file})
                             .isEmpty());
            project = file;
        }
        const QString mode = QStringLiteral("--ln");
        QTemporaryDir out;
        // 1. The command line: `obsprop export`.
        const QString cliDir = out.filePath(QStringLiteral("cli"));
        QVERIFY(!cli({QStringLiteral("export"), QStringLiteral("--project"), project, mode, ln,
                      QStringLiteral("--out"), cliDir, QStringLiteral("--figures")})
                     .isEmpty());

        // 2. The explorer: open the project, choose the LayerNorm treatment, Export All.
        MainWindow w;
        w.setProperty("quietErrors", true);
        QSignalSpy opened(&w, &MainWindow::modelOpened);
        w.openPath(project);
        QVERIFY(opened.wait(kTimeout));
        Session* s = w.session();
        s->setLnMode(ln);
        QSignalSpy features(s, &Session::featuresReady);
        s->computeFeatures(QStringLiteral("test"));
        QTRY_VERIFY_WITH_TIMEOUT(!features.isEmpty() &&
                                     qvariant_cast<FeatureResults>(features.last().at(0)).generation ==
                                         s->generation(),
                                 kTimeout);
        const QString guiDir = out.filePath(QStringLiteral("gui"));
        QSignalSpy exported(s, &Session::exportFinished);
        w.exportAll(guiDir);
        QVERIFY(exported.wait(kTimeout));
        compareExports(cliDir, guiDir);

        // 3a. The Session's attribution, dataset values and path ranking: the export's tables, cell for cell.
        auto table = [&](const QString& name) {
            return readJson(cliDir + QLatin1Char('/') + name + QStringLiteral(".json")).toArray();
        };
        QSignalSpy attribution(s, &Session::attributionReady);
        s->computeAttribution(QStringLiteral("test"), QStringLiteral("subject"), QStringLiteral("patching"));
        QTRY_VERIFY_WITH_TIMEOUT(std::any_of(attribution.begin(), attribution.end(),
                                             [](const QList<QVariant>& x) {
                                                 return qvariant_cast<AttributionResults>(x.at(0)).dataset ==
                                                        QStringLiteral("subject");
                                             }),
                                 kTimeout);
        AttributionResults ar;
        for (const auto& x : attribution)
            if (qvariant_cast<AttributionResults>(x.at(0)).dataset == QStringLiteral("subject"))
                ar = qvariant_cast<AttributionResults>(x.at(0));
        const auto at = table(QStringLiteral("attribution_subject"));
        QCOMPARE(at.size(), qsizetype(ar.maps[0].values.size()));
        for (const auto& rv : at) {
            const auto r = rv.toObject();
            for (int k = 0; k < ar.observables.size(); ++k)
                QVERIFY(close(r[QStringLiteral("attribution_") + ar.observables[k]].toDouble(),
                              ar.maps[size_t(k)].at(r[QStringLiteral("layer")].toInt(),
                                                    r[QStringLiteral("head")].toInt())));
        }
        QSignalSpy prompts(s, &Session::promptsReady);
        s->computePrompts(QStringLiteral("test"), QStringLiteral("object"));
        QTRY_VERIFY_WITH_TIMEOUT(std::any_of(prompts.begin(), prompts.end(),
                                             [](const QList<QVariant>& x) {
                                                 const auto r = qvariant_cast<PromptResults>(x.at(0));
                                                 return !r.rows.empty() &&
                                                        r.rows.front().dataset == QStringLiteral("object");
                                             }),
                                 kTimeout);
        PromptResults pr;
        for (const auto& x : prompts)
            if (const auto r = qvariant_cast<PromptResults>(x.at(0));
                !r.rows.empty() && r.rows.front().dataset == QStringLiteral("object"))
                pr = r;
        const auto dt = table(QStringLiteral("dataset_object"));
        QCOMPARE(dt.size(), qsizetype(pr.rows.size()));
        for (qsizetype i = 0; i < dt.size(); ++i)
            for (int k = 0; k < pr.observables.size(); ++k)
                QVERIFY(close(dt[i].toObject()[QStringLiteral("value_") + pr.observables[k]].toDouble(),
                              pr.rows[size_t(i)].values[size_t(k)]));
        if (!s->steeringVectors().empty()) { // the project's steering vectors: the explorer's exact run
            QTRY_VERIFY_WITH_TIMEOUT(s->isSteeringPrepared(), kTimeout);
            QSignalSpy steered(s, &Session::steeringReady);
            s->requestExactSteering();
            QTRY_VERIFY_WITH_TIMEOUT(std::any_of(steered.begin(), steered.end(),
                                                 [](const QList<QVariant>& x) {
                                                     return qvariant_cast<SteeringResults>(x.at(0)).exact;
                                                 }),
                                     kTimeout);
            SteeringResults sr;
            for (const auto& x : steered)
                if (qvariant_cast<SteeringResults>(x.at(0)).exact)
                    sr = qvariant_cast<SteeringResults>(x.at(0));
            const auto st = table(QStringLiteral("steering"));
            QCOMPARE(st.size(), sr.observables.size());
            for (qsizetype k = 0; k < st.size(); ++k) {
                QVERIFY(close(st[k].toObject()[QStringLiteral("mean_change")].toDouble(),
                              sr.meanChange[size_t(k)]));
                QVERIFY(
                    close(st[k].toObject()[QStringLiteral("predicted")].toDouble(), sr.predicted[size_t(k)]));
            }
        }
        QSignalSpy paths(s, &Session::pathsReady);
        const QString first = s->observables().first().first;
        s->computePaths(QStringLiteral("test"), first, 100);
        QTRY_VERIFY_WITH_TIMEOUT(std::any_of(paths.begin(), paths.end(),
                                             [&](const QList<QVariant>& x) {
                                                 const auto r = qvariant_cast<PathResults>(x.at(0));
                                                 return !r.patching && r.observable == first;
                                             }),
                                 kTimeout);
        PathResults rk;
        for (const auto& x : paths)
            if (const auto r = qvariant_cast<PathResults>(x.at(0)); !r.patching && r.observable == first)
                rk = r;
        const auto pt = table(QStringLiteral("paths_") + first);
        QCOMPARE(pt.size(), qsizetype(rk.rows.size()));
        for (qsizetype i = 0; i < pt.size(); ++i)
            QVERIFY(close(pt[i].toObject()[QStringLiteral("norm")].toDouble(), rk.rows[size_t(i)].value));

        // 3. The Session's own results against the CLI's single commands (and so against the export).
        const FeatureResults f = qvariant_cast<FeatureResults>(features.last().at(0));
        const auto cf = QJsonDocument::fromJson(cli({QStringLiteral("features"), QStringLiteral("--project"),
                                                     project, mode, ln, QStringLiteral("--json")}))
                            .object();
        const auto heads = cf[QStringLiteral("heads")].toArray();
        QCOMPARE(heads.size(), f.norms[0].layers * f.norms[0].heads);
        for (const auto& hv : heads) {
            const auto h = hv.toObject();
            const int l = h[QStringLiteral("layer")].toInt(), hd = h[QStringLiteral("head")].toInt();
            for (int k = 0; k < f.observables.size(); ++k)
                QVERIFY(
                    close(h[QStringLiteral("norm")].toArray()[k].toDouble(), f.norms[size_t(k)].at(l, hd)));
            QVERIFY(close(h[QStringLiteral("cosine")].toDouble(), f.cosine.at(l, hd)));
        }
        const HeadRef head{1, 1};
        QSignalSpy detail(s, &Session::headDetailReady);
        s->computeHeadDetail(QStringLiteral("test"), head);
        QVERIFY(detail.wait(kTimeout));
        const SvdResults d = qvariant_cast<SvdResults>(detail.last().at(0));
        const auto cd = QJsonDocument::fromJson(
                            cli({QStringLiteral("head"), QStringLiteral("--project"), project, mode, ln,
                                 QStringLiteral("--head"), QStringLiteral("1.1"), QStringLiteral("--json")}))
                            .object();
        // Edit ▸ Copy as Command on the SVD tab gives a command that prints these same numbers.
        w.selectHead(head);
        w.tabs()->setCurrentWidget(w.svdView());
        const QString copied = w.currentCommand();
        QVERIFY2(copied.startsWith(QStringLiteral("obsprop head ")), qPrintable(copied));
        QString copiedWhere = QStringLiteral("copied command");
        QVERIFY2(same(QJsonValue(QJsonDocument::fromJson(shell(copied + QStringLiteral(" --json"))).object()),
                      QJsonValue(cd), copiedWhere),
                 qPrintable(copiedWhere));
        const auto cobs = cd[QStringLiteral("observables")].toArray();
        QCOMPARE(cobs.size(), d.observables.size());
        QVERIFY(close(cd[QStringLiteral("expected_ln_cosine")].toDouble(), d.expectedLayerNormCosine));
        for (int k = 0; k < d.observables.size(); ++k) {
            const auto o = cobs[k].toObject();
            QVERIFY(close(o[QStringLiteral("ln_check")].toDouble(), d.layerNormCheck[size_t(k)]));
            QVERIFY(close(o[QStringLiteral("ln_check_min")].toDouble(), d.layerNormCheckMin[size_t(k)]));
            QCOMPARE(o[QStringLiteral("ln_check_tokens")].toInt(), d.layerNormTokens[size_t(k)]);
            QCOMPARE(o[QStringLiteral("ln_check_dataset")].toString(), d.layerNormDatasets[k]);
            const auto cos = o[QStringLiteral("cosine")].toArray();
            for (qsizetype i = 0; i < cos.size(); ++i)
                QVERIFY(close(std::abs(cos[i].toDouble()), d.absCosine[size_t(k)][size_t(i)]));
        }
        QSignalSpy scatter(s, &Session::couplingReady);
        const QString a = f.observables[0], b = f.observables[1], dataset = QStringLiteral("object");
        s->computeCouplingScatter(QStringLiteral("test"), head, a, b, dataset);
        // The Coupling view asks for the selected head on its own dataset too: take this request's answer.
        CouplingScatter sc;
        QTRY_VERIFY_WITH_TIMEOUT(std::any_of(scatter.begin(), scatter.end(),
                                             [&](const QList<QVariant>& args) {
                                                 sc = qvariant_cast<CouplingScatter>(args.at(0));
                                                 return sc.dataset == dataset && sc.head == head;
                                             }),
                                 kTimeout);
        const auto cs =
            QJsonDocument::fromJson(
                cli({QStringLiteral("couple"), QStringLiteral("--project"), project, mode, ln,
                     QStringLiteral("--pair"), a + QLatin1Char(',') + b, QStringLiteral("--head"),
                     QStringLiteral("1.1"), QStringLiteral("--dataset"), dataset, QStringLiteral("--json")}))
                .object();
        QVERIFY(close(cs[QStringLiteral("slope")].toDouble(), sc.slope));
        QVERIFY(close(cs[QStringLiteral("predicted")].toDouble(), sc.predicted));
        QVERIFY(close(cs[QStringLiteral("half_width_at_zero")].toDouble(), sc.halfWidthAtZero));
        const auto band = cs[QStringLiteral("band")].toObject();
        QCOMPARE(band[QStringLiteral("low")].toArray().size(), qsizetype(sc.bandLow.size()));
        for (std::size_t i = 0; i < sc.bandLow.size(); ++i) {
            QVERIFY(close(band[QStringLiteral("low")].toArray()[qsizetype(i)].toDouble(), sc.bandLow[i]));
            QVERIFY(close(band[QStringLiteral("high")].toArray()[qsizetype(i)].toDouble(), sc.bandHigh[i]));
        }
        QSignalSpy pd(s, &Session::pathDetailReady);
        s->computePathDetail(QStringLiteral("test"), {{0, 1}, {1, 0}}, b);
        QVERIFY(pd.wait(kTimeout));
        const PathDetail p = qvariant_cast<PathDetail>(pd.last().at(0));
        const auto cp =
            QJsonDocument::fromJson(cli({QStringLiteral("paths"), QStringLiteral("--project"), project, mode,
                                         ln, QStringLiteral("--feature-of"), b, QStringLiteral("--compare"),
                                         QStringLiteral("0.1 -> 1.0"), QStringLiteral("--json")}))
                .object()[QStringLiteral("observables")]
                .toArray();
        QCOMPARE(cp.size(), p.observables.size());
        for (int k = 0; k < cp.size(); ++k) {
            QVERIFY(close(cp[k].toObject()[QStringLiteral("norm")].toDouble(), p.norms[size_t(k)]));
            QVERIFY(close(cp[k].toObject()[QStringLiteral("cosine")].toDouble(), p.cosines[size_t(k)]));
        }

        // The Attention tab on the selected head: `obsprop attention` prints its numbers, and so does the
        // command it copies.
        AttentionView* av = w.attentionView();
        w.tabs()->setCurrentWidget(av);
        av->observableBox()->setCurrentText(b);
        av->datasetBox()->setCurrentText(dataset);
        av->promptBox()->setCurrentIndex(2);
        QTRY_VERIFY_WITH_TIMEOUT(av->results() && av->results()->head == head &&
                                     av->results()->observable == b && av->results()->dataset == dataset &&
                                     av->results()->prompt == 2,
                                 kTimeout);
        const AttentionResults& att = *av->results();
        QJsonArray pattern, contribution;
        for (const auto& row : att.pattern) {
            QJsonArray cells;
            for (double v : row)
                cells.append(v);
            pattern.append(cells);
        }
        for (double c : att.contribution)
            contribution.append(c);
        const QJsonObject shown{{QStringLiteral("head"), QStringLiteral("1.1")},
                                {QStringLiteral("dataset"), att.dataset},
                                {QStringLiteral("prompt"), att.prompt},
                                {QStringLiteral("observable"), att.observable},
                                {QStringLiteral("ln"), att.lnMode},
                                {QStringLiteral("query"), att.query},
                                {QStringLiteral("tokens"), QJsonArray::fromStringList(att.tokens)},
                                {QStringLiteral("pattern"), pattern},
                                {QStringLiteral("contribution"), contribution},
                                {QStringLiteral("total"), att.total}};
        const auto ca = QJsonDocument::fromJson(
                            cli({QStringLiteral("attention"), QStringLiteral("--project"), project, mode, ln,
                                 QStringLiteral("--head"), QStringLiteral("1.1"), QStringLiteral("--prompt"),
                                 QStringLiteral("2"), QStringLiteral("--dataset"), dataset,
                                 QStringLiteral("--observable-of"), b, QStringLiteral("--json")}))
                            .object();
        QString attentionWhere = QStringLiteral("attention");
        QVERIFY2(same(QJsonValue(shown), QJsonValue(ca), attentionWhere), qPrintable(attentionWhere));
        const QString copiedAttention = w.currentCommand();
        QVERIFY2(copiedAttention.startsWith(QStringLiteral("obsprop attention ")),
                 qPrintable(copiedAttention));
        attentionWhere = QStringLiteral("copied attention command");
        QVERIFY2(
            same(QJsonValue(
                     QJsonDocument::fromJson(shell(copiedAttention + QStringLiteral(" --json"))).object()),
                 QJsonValue(ca), attentionWhere),
            qPrintable(attentionWhere));
    }
};

QTEST_MAIN(TestSurfaces)
#include "tst_surfaces.moc"
