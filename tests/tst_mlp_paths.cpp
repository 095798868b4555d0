// MLP nodes in paths, end to end on the demo project:
//   - `obsprop paths --compare` with MLP nodes against an independent choice of the linearisation prompts
//     (the MLP inputs read from a forward pass's hooks, an explicit loop over v·MLP(u)) and against the
//     feature computed from those two inputs given explicitly;
//   - the explorer's Paths view (a typed path) against the command line, for each LayerNorm treatment;
//   - a steering vector through an MLP, added in the explorer, saved in the project and run by the command
//     line, with the same prediction on both surfaces.
#include "test_paths.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>

#include "analyses/analysis.h"
#include "analyses/workspace.h"
#include "cli_run.h"
#include "model/hooks.h"
#include "model/transformer.h"
#include "obsprop/features.h"
#include "obsprop/mlp.h"
#include "session/session.h"
#include "session_fixture.h"
#include "views/paths_view.h"

using namespace obsprop;
using namespace obsprop::ui;
using torch::Tensor;

namespace {

constexpr int kTimeout = 120000;
const QString kDemo = test_paths::source("/resources/projects/demo.obsprop");

QJsonObject cliJson(const QStringList& args) {
    const cli_run::Run r = cli_run::cli(args, kTimeout);
    if (r.code != 0) qWarning() << args << r.err;
    return r.json();
}

bool close(double a, double b, double tol = 1e-6) {
    return std::abs(a - b) <= tol * (1 + std::abs(a) + std::abs(b));
}

} // namespace

class TestMlpPaths : public QObject {
    Q_OBJECT
    std::shared_ptr<const Workspace> ws_;

  private Q_SLOTS:
    void initTestCase() {
        ws_ = std::make_shared<const Workspace>(Workspace::open_project(kDemo.toStdString()));
    }

    void cliChoosesTheExtremePrompts_data() {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("token");
        QTest::newRow("head then MLP: the last token") << "1.4 -> mlp1"
                                                       << "last";
        QTest::newRow("MLP then head: the name slot") << "mlp0 -> 1.4"
                                                      << "name";
        QTest::newRow("MLP alone") << "mlp1"
                                   << "last";
    }
    void cliChoosesTheExtremePrompts() {
        QFETCH(QString, path);
        QFETCH(QString, token);
        const QJsonObject out =
            cliJson({QStringLiteral("paths"), QStringLiteral("--project"), kDemo, QStringLiteral("--ln"),
                     QStringLiteral("none"), QStringLiteral("--compare"), path, QStringLiteral("--json")});
        const QJsonObject subj = out[QStringLiteral("observables")].toArray().at(0).toObject();
        QCOMPARE(subj[QStringLiteral("name")].toString(), QStringLiteral("subj"));
        const QJsonObject point = subj[QStringLiteral("mlp")].toArray().at(0).toObject();
        QCOMPARE(point[QStringLiteral("token")].toString(), token);

        // The same choice made independently: the MLP input u = ln_2(x)·γ + β of every prompt of subj's
        // LayerNorm dataset, read from the hooks of one forward pass, scored by v·MLP(u).
        const auto& m = ws_->model();
        const analyses::Analysis a(ws_);
        const PromptBatch prompts = ws_->prompt_batch(a.settings().ln_dataset("subj"), "name");
        const auto nodes = parse_path(path.toStdString());
        const int layer = nodes[path.startsWith(QLatin1String("mlp")) ? 0 : 1].layer;
        const std::string hook = model::hook_name(layer, "ln2.hook_normalized");
        model::ActivationCache cache;
        model::RunOptions o;
        o.cache = {hook};
        m.forward(prompts.batch(), o, &cache);
        const auto& w = m.weights().layers[static_cast<std::size_t>(layer)];
        const Observable& obs = ws_->observable("subj");
        Tensor v = unembed_covector(m, obs); // ln_f ignored (--ln none)
        if (token == QLatin1String("name"))  // pulled back through the head that follows the MLP
            v = pull_back_path(m, v, {PathNode::attn(1, 4)}).feature;
        std::vector<Tensor> u;
        int ip = 0, im = 0;
        std::vector<double> f;
        for (std::size_t p = 0; p < prompts.size(); ++p) {
            const std::int64_t t = token == QLatin1String("last")
                                       ? static_cast<std::int64_t>(prompts.ids[p].size()) - 1
                                       : prompts.positions[p];
            u.push_back(cache.at(hook)[static_cast<std::int64_t>(p)][t].to(torch::kDouble) *
                            w.ln2_w.to(torch::kDouble) +
                        w.ln2_b.to(torch::kDouble));
            f.push_back(mlp_functional(m, layer, u.back(), v));
            if (f.back() > f[ip]) ip = static_cast<int>(p);
            if (f.back() < f[im]) im = static_cast<int>(p);
        }
        QCOMPARE(point[QStringLiteral("prompt_plus")].toInt(), ip);
        QCOMPARE(point[QStringLiteral("prompt_minus")].toInt(), im);
        QVERIFY(close(point[QStringLiteral("value_plus")].toDouble(), f[ip], 1e-4));
        QVERIFY(close(point[QStringLiteral("value_minus")].toDouble(), f[im], 1e-4));
        // The feature from those two inputs, given explicitly.
        std::vector<PathNodeInput> in(nodes.size());
        for (std::size_t k = 0; k < nodes.size(); ++k)
            if (nodes[k].is_mlp()) in[k].u_plus = u[ip], in[k].u_minus = u[im];
        FeatureOptions fo;
        fo.drop_earliest_rho = true;
        const double norm = compute_path_feature(m, obs, nodes, fo, in).norm;
        QVERIFY2(
            close(subj[QStringLiteral("norm")].toDouble(), norm, 1e-4),
            qPrintable(QStringLiteral("%1 vs %2").arg(subj[QStringLiteral("norm")].toDouble()).arg(norm)));
    }

    void explorerMatchesCli() {
        Session s;
        QVERIFY(session_fixture::openProject(s, kDemo));
        PathsView view(&s);
        const QString path = QStringLiteral("0.3 -> mlp0 -> 1.4");
        for (const char* ln : {"none", "approx", "exact"}) {
            s.setLnMode(QString::fromLatin1(ln));
            QSignalSpy detail(&s, &Session::pathDetailReady);
            view.pathEdit()->setText(path);
            view.compareTypedPath();
            QVERIFY(detail.wait(kTimeout));
            const PathDetail d = qvariant_cast<PathDetail>(detail.last().at(0));
            const QJsonObject cli = cliJson({QStringLiteral("paths"), QStringLiteral("--project"), kDemo,
                                             QStringLiteral("--ln"), QString::fromLatin1(ln),
                                             QStringLiteral("--compare"), path, QStringLiteral("--json")});
            const QJsonArray obs = cli[QStringLiteral("observables")].toArray();
            QCOMPARE(obs.size(), d.observables.size());
            for (int k = 0; k < obs.size(); ++k) {
                const QJsonObject o = obs[k].toObject();
                QCOMPARE(o[QStringLiteral("name")].toString(), d.observables[k]);
                QVERIFY(close(o[QStringLiteral("norm")].toDouble(), d.norms[std::size_t(k)], 1e-12));
                QVERIFY(close(o[QStringLiteral("cosine")].toDouble(), d.cosines[std::size_t(k)], 1e-12));
            }
            const QJsonObject p = obs[0].toObject()[QStringLiteral("mlp")].toArray().at(0).toObject();
            const QString where = QStringLiteral("mlp0 at name: prompts %1+ %2-")
                                      .arg(p[QStringLiteral("prompt_plus")].toInt())
                                      .arg(p[QStringLiteral("prompt_minus")].toInt());
            QVERIFY2(d.mlpPoints.startsWith(where), qPrintable(d.mlpPoints + QStringLiteral(" / ") + where));
            QVERIFY(view.detailLabel()->text().contains(where));
            QVERIFY(view.command().contains(QStringLiteral("--compare")));
        }
        // A malformed path is reported, not computed.
        view.pathEdit()->setText(QStringLiteral("0.3 -> mlpx"));
        view.compareTypedPath();
        QVERIFY2(view.detailLabel()->text().contains(QStringLiteral("0.3 -> mlpx")),
                 qPrintable(view.detailLabel()->text()));
    }

    // The beam search with MLPs, the embeddings and/or heads at a source token as nodes: the Paths view
    // (boxes ticked), its Copy as Command and `obsprop paths --beam --mlp --embed --tokens`.
    void beamSearchWithMoreNodesAgrees_data() {
        QTest::addColumn<bool>("mlp");
        QTest::addColumn<bool>("embed");
        QTest::addColumn<bool>("tokens");
        QTest::newRow("MLPs") << true << false << false;
        QTest::newRow("embeddings") << false << true << false;
        QTest::newRow("both") << true << true << false;
        QTest::newRow("source tokens") << false << false << true;
        QTest::newRow("every kind") << true << true << true;
    }
    void beamSearchWithMoreNodesAgrees() {
        QFETCH(bool, mlp);
        QFETCH(bool, embed);
        QFETCH(bool, tokens);
        Session s;
        QVERIFY(session_fixture::openProject(s, kDemo));
        PathsView view(&s);
        view.setMethod(PathsView::Method::PathPatching);
        view.datasetBox()->setCurrentIndex(view.datasetBox()->findText(QStringLiteral("subject")));
        view.beamWidthBox()->setValue(4);
        view.maxLengthBox()->setValue(3);
        view.mlpBox()->setChecked(mlp);
        view.embedBox()->setChecked(embed);
        view.tokenBox()->setChecked(tokens);
        QSignalSpy ready(&s, &Session::pathsReady);
        view.rank();
        QVERIFY(ready.wait(kTimeout));
        const PathResults r = qvariant_cast<PathResults>(ready.last().at(0));
        QVERIFY(r.patching && r.mlpNodes == mlp && r.embedNodes == embed && r.tokenNodes == tokens);
        QCOMPARE(view.command().contains(QStringLiteral(" --mlp")), mlp);
        QCOMPARE(view.command().contains(QStringLiteral(" --embed")), embed);
        QCOMPARE(view.command().contains(QStringLiteral(" --tokens")), tokens);
        QStringList args{QStringLiteral("paths"),
                         QStringLiteral("--project"),
                         kDemo,
                         QStringLiteral("--beam"),
                         QStringLiteral("--dataset"),
                         QStringLiteral("subject"),
                         QStringLiteral("--beam-width"),
                         QStringLiteral("4"),
                         QStringLiteral("--max-length"),
                         QStringLiteral("3"),
                         QStringLiteral("--json")};
        if (mlp) args << QStringLiteral("--mlp");
        if (embed) args << QStringLiteral("--embed");
        if (tokens) args << QStringLiteral("--tokens");
        const cli_run::Run search = cli_run::cli(args, kTimeout);
        QCOMPARE(search.code, 0);
        const QJsonArray rows = search.array();
        QCOMPARE(rows.size(), qsizetype(r.rows.size()));
        int withMlp = 0, withEmbed = 0, withToken = 0;
        for (qsizetype i = 0; i < rows.size(); ++i) {
            const QJsonObject o = rows[i].toObject();
            const PathRow& row = r.rows[std::size_t(i)];
            QCOMPARE(QString::fromStdString(analyses::path_label(row.nodes)),
                     o[QStringLiteral("path")].toString());
            QVERIFY(close(o[QStringLiteral("score")].toDouble(), row.value, 1e-12));
            QVERIFY(close(o[QStringLiteral("feature_norm")].toDouble(), row.featureNorm, 1e-12));
            withMlp += o[QStringLiteral("path")].toString().contains(QStringLiteral("mlp"));
            withEmbed += o[QStringLiteral("path")].toString().startsWith(QStringLiteral("embed"));
            withToken += o[QStringLiteral("path")].toString().contains(QLatin1Char('@'));
        }
        QCOMPARE(withMlp > 0, mlp); // the nodes asked for took part, and only they
        QCOMPARE(withEmbed > 0, embed);
        QCOMPARE(withToken > 0, tokens);
        if (tokens) { // a head at a source token steers with the head's own feature
            const auto it = std::find_if(r.rows.begin(), r.rows.end(), [](const PathRow& p) {
                return !p.nodes.front().is_embed() &&
                       std::any_of(p.nodes.begin(), p.nodes.end(),
                                   [](const HeadRef& n) { return n.at_token(); });
            });
            QVERIFY(it != r.rows.end());
            QSignalSpy activated(&view, &PathsView::pathActivated);
            Q_EMIT view.table()->doubleClicked(
                view.proxy()->mapFromSource(view.model()->index(int(it - r.rows.begin()), 0)));
            QCOMPARE(activated.count(), 1);
            const auto steered = qvariant_cast<std::vector<HeadRef>>(activated.last().at(0));
            QVERIFY(steered == analyses::whole_path(it->nodes));
            QVERIFY(
                !std::any_of(steered.begin(), steered.end(), [](const HeadRef& n) { return n.at_token(); }));
        }
        if (embed) { // a path from the embeddings has the rest's feature; it cannot steer
            const auto it = std::find_if(r.rows.begin(), r.rows.end(), [](const PathRow& p) {
                return p.nodes.size() > 1 && p.nodes[0].is_embed();
            });
            QVERIFY(it != r.rows.end());
            QSignalSpy activated(&view, &PathsView::pathActivated);
            Q_EMIT view.table()->doubleClicked(
                view.proxy()->mapFromSource(view.model()->index(int(it - r.rows.begin()), 0)));
            QCOMPARE(activated.count(), 0);
            QVERIFY2(
                view.detailLabel()->text().contains(QStringLiteral("only paths of heads and MLPs can steer")),
                qPrintable(view.detailLabel()->text()));
        }
    }

    void steeringThroughAnMlpAgrees() {
        Session s;
        QVERIFY(session_fixture::openProject(s, kDemo));
        for (const auto& v : std::vector<SteeringVectorSpec>(s.steeringVectors()))
            s.removeSteeringVector(v.id);
        SteeringVectorSpec spec;
        spec.observable = QStringLiteral("subj");
        spec.path = analyses::parse_path_label("mlp0 -> 1.4");
        spec.normalize = true;
        const quint64 id = s.addSteeringVector(spec);
        QCOMPARE(s.steeringVectors().front().name, QStringLiteral("path mlp0 → 1.4 (subj)"));
        s.setSteeringAlpha(id, 6.0);
        QTRY_VERIFY_WITH_TIMEOUT(s.isSteeringPrepared(), kTimeout);
        const SteeringResults predicted = s.predictSteering();
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("mlp.obsprop"));
        QVERIFY2(s.saveProject(file).isEmpty(), "saved");
        // The command line, given the same vector; and the export of the saved project (its presets).
        const QJsonObject cli =
            cliJson({QStringLiteral("steer"), QStringLiteral("--project"), file, QStringLiteral("--vector"),
                     QStringLiteral("obs=subj;path=mlp0 -> 1.4;alpha=6"), QStringLiteral("--json")});
        const QJsonObject v = cli[QStringLiteral("vectors")].toArray().at(0).toObject();
        QCOMPARE(v[QStringLiteral("path")].toArray().at(0).toArray().at(1).toString(), QStringLiteral("mlp"));
        QCOMPARE(v[QStringLiteral("alpha")].toDouble(), 6.0);
        const QJsonArray obs = cli[QStringLiteral("observables")].toArray();
        QCOMPARE(obs.size(), predicted.observables.size());
        const QString out = dir.filePath(QStringLiteral("export"));
        const cli_run::Run exp = cli_run::cli(
            {QStringLiteral("export"), QStringLiteral("--project"), file, QStringLiteral("--out"), out},
            kTimeout);
        QCOMPARE(exp.code, 0);
        QFile table(out + QStringLiteral("/steering.json"));
        QVERIFY(table.open(QIODevice::ReadOnly));
        const QJsonArray rows = QJsonDocument::fromJson(table.readAll()).array();
        QCOMPARE(rows.size(), predicted.observables.size());
        for (int k = 0; k < obs.size(); ++k) {
            const double want = predicted.predicted[std::size_t(k)];
            QVERIFY(close(obs[k].toObject()[QStringLiteral("predicted")].toDouble(), want, 1e-9));
            QVERIFY(close(rows[k].toObject()[QStringLiteral("predicted")].toDouble(), want, 1e-9));
        }
        QVERIFY(std::any_of(predicted.predicted.begin(), predicted.predicted.end(),
                            [](double x) { return std::abs(x) > 1e-6; })); // it moves something
    }
};

QTEST_MAIN(TestMlpPaths)
#include "tst_mlp_paths.moc"
