// The analysis subcommands of the CLI, run as a user runs them, checked against explicit loops over
// the raw checkpoint tensors and the naive reference.
#include "io/tokenizer.h"
#include "test_models.h"
#include "test_paths.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QtTest>

#include "cli_run.h"

#include <cmath>
#include <map>
#include <set>

using test_models::make_tiny;
using test_models::TinyModel;
using Vec = std::vector<double>;

namespace {

using cli_run::cli;
using cli_run::Run;

const QString kSubj = QStringLiteral("subj=#10 - #20");
const QString kObj = QStringLiteral("obj=0.5*#7 + 0.5*#99 - #3");

// For GPT-2 (Conv1D [in, out] tensors, tied W_U = wte), double precision: v = W_Uᵀ n, W_O^hᵀ v (d_head) and
// y = W_V^hᵀ W_O^hᵀ v, the head's feature.
Vec unembed(const TinyModel& t, const std::vector<std::pair<int, double>>& n) {
    const int d = t.spec.d_model;
    const auto& wte = t.tensor("wte.weight");
    Vec v(d, 0.0);
    for (auto [id, w] : n)
        for (int i = 0; i < d; ++i)
            v[i] += w * wte.values[static_cast<std::size_t>(id * d + i)];
    return v;
}

Vec throughOutput(const TinyModel& t, int l, int h, const Vec& v) {
    const int d = t.spec.d_model, dh = t.spec.d_head();
    const auto& proj = t.tensor("h." + std::to_string(l) + ".attn.c_proj.weight"); // [d(in), d(out)]
    Vec z(dh, 0.0);
    for (int e = 0; e < dh; ++e)
        for (int j = 0; j < d; ++j)
            z[e] += proj.values[static_cast<std::size_t>((h * dh + e) * d + j)] * v[j];
    return z;
}

Vec headFeature(const TinyModel& t, int l, int h, const Vec& v) {
    const int d = t.spec.d_model, dh = t.spec.d_head();
    const auto& attn = t.tensor("h." + std::to_string(l) + ".attn.c_attn.weight"); // [d, 3d]
    const Vec z = throughOutput(t, l, h, v);
    Vec y(d, 0.0);
    for (int i = 0; i < d; ++i)
        for (int e = 0; e < dh; ++e)
            y[i] += attn.values[static_cast<std::size_t>(i * 3 * d + 2 * d + h * dh + e)] * z[e];
    return y;
}

Vec feature(const TinyModel& t, int l, int h, const std::vector<std::pair<int, double>>& n) {
    return headFeature(t, l, h, unembed(t, n));
}

double dot(const Vec& a, const Vec& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        s += a[i] * b[i];
    return s;
}

} // namespace

class TestCliAnalysis : public QObject {
    Q_OBJECT
    TinyModel t_ = make_tiny(obsprop::tools::Family::GPT2, 23, 512);
    QString dir_;

  private Q_SLOTS:
    void initTestCase() { dir_ = t_.dir->filePath(QStringLiteral("model")); }

    void featuresContract() {
        auto r = cli({QStringLiteral("features"), QStringLiteral("--model"), dir_,
                      QStringLiteral("--observable"), kSubj, QStringLiteral("--observable"), kObj,
                      QStringLiteral("--ln"), QStringLiteral("none"), QStringLiteral("--json")});
        QVERIFY2(r.code == 0, r.err.constData());
        auto j = r.json();
        auto obs = j[QStringLiteral("observables")].toArray();
        QCOMPARE(obs.size(), 2);
        QCOMPARE(obs[0].toObject()[QStringLiteral("token_ids")].toArray(), (QJsonArray{10, 20}));
        QCOMPARE(obs[1].toObject()[QStringLiteral("token_ids")].toArray(), (QJsonArray{3, 7, 99}));
        auto heads = j[QStringLiteral("heads")].toArray();
        QCOMPARE(heads.size(), t_.spec.n_layers * t_.spec.n_heads);
        const std::vector<std::pair<int, double>> n1{{10, 1.0}, {20, -1.0}},
            n2{{7, 0.5}, {99, 0.5}, {3, -1.0}};
        for (const auto& hv : heads) {
            auto h = hv.toObject();
            const int l = h[QStringLiteral("layer")].toInt(), hh = h[QStringLiteral("head")].toInt();
            Vec y1 = feature(t_, l, hh, n1), y2 = feature(t_, l, hh, n2);
            const double a = std::sqrt(dot(y1, y1)), b = std::sqrt(dot(y2, y2));
            auto norms = h[QStringLiteral("norm")].toArray();
            QVERIFY(std::abs(norms[0].toDouble() - a) < 1e-5 * (1 + a));
            QVERIFY(std::abs(norms[1].toDouble() - b) < 1e-5 * (1 + b));
            QVERIFY(std::abs(h[QStringLiteral("cosine")].toDouble() - dot(y1, y2) / (a * b)) < 1e-5);
            QVERIFY(std::abs(h[QStringLiteral("coupling")].toDouble() - dot(y1, y2) / (a * a)) < 1e-5);
        }
    }

    // Steering with head 0.h's feature at blocks.0.hook_resid_pre, at each prompt's name token, equals the
    // naive model with α·y added to the position-table row of that token.
    void steerMatchesReference() {
        auto r =
            cli({QStringLiteral("steer"), QStringLiteral("--model"), dir_, QStringLiteral("--observable"),
                 kSubj, QStringLiteral("--head"), QStringLiteral("0.2"), QStringLiteral("--alpha"),
                 QStringLiteral("3.5"), QStringLiteral("--dataset"), QStringLiteral("subject"),
                 QStringLiteral("--ln"), QStringLiteral("none"), QStringLiteral("--json")});
        QVERIFY2(r.code == 0, r.err.constData());
        auto j = r.json();
        QCOMPARE(j[QStringLiteral("vectors")].toArray()[0].toObject()[QStringLiteral("hook")].toString(),
                 QStringLiteral("blocks.0.hook_resid_pre"));
        const Vec y = feature(t_, 0, 2, {{10, 1.0}, {20, -1.0}});
        auto prompts = j[QStringLiteral("prompts")].toArray();
        QCOMPARE(prompts.size(), 60);
        auto tok = obsprop::io::Tokenizer::from_directory(dir_.toStdString());
        double mean_change = 0;
        for (int p = 0; p < prompts.size(); p += 7) {
            auto po = prompts[p].toObject();
            const auto ids = tok.encode(po[QStringLiteral("text")].toString().toStdString());
            const int pos = po[QStringLiteral("positions")].toArray()[0].toInt();
            auto w = t_.naive();
            auto& wpe = w.at("wpe.weight");
            for (int i = 0; i < t_.spec.d_model; ++i)
                wpe.values[static_cast<std::size_t>(pos * t_.spec.d_model + i)] +=
                    static_cast<float>(3.5 * y[i]);
            auto steered = obsprop::naive::run(t_.gen.config, w, ids).logits.back();
            auto plain = t_.run_naive(ids).logits.back();
            const double after = steered[10] - steered[20], before = plain[10] - plain[20];
            QVERIFY(std::abs(po[QStringLiteral("after")].toArray()[0].toDouble() - after) <
                    1e-4 * (1 + std::abs(after)));
            QVERIFY(std::abs(po[QStringLiteral("before")].toArray()[0].toDouble() - before) <
                    1e-4 * (1 + std::abs(before)));
        }
        for (const auto& pv : prompts) {
            auto po = pv.toObject();
            mean_change += (po[QStringLiteral("after")].toArray()[0].toDouble() -
                            po[QStringLiteral("before")].toArray()[0].toDouble()) /
                           60;
        }
        QVERIFY(std::abs(j[QStringLiteral("observables")]
                             .toArray()[0]
                             .toObject()[QStringLiteral("mean_change")]
                             .toDouble() -
                         mean_change) < 1e-9 + 1e-9 * std::abs(mean_change));
    }

    // `attention`: the head's pattern is the naive reference's, and each token's contribution is p_qs ·
    // y·ln_1(x_s), with ln_1 written out here from the raw tensors and y = W_Vᵀ W_Oᵀ v for v = W_Uᵀ n (final
    // LayerNorm ignored) or v = (√d/ρ) γ_f ⊙ W_Uᵀ n (approximated with a fixed ρ). Their total is what the
    // head's output at the last token, from the naive reference's own z, sends to v, less its value bias.
    void attentionMatchesReference() {
        const int l = 1, h = 3, prompt = 5;
        const double rho = 3.5;
        auto attention = [&](const QStringList& ln) {
            auto r = cli(QStringList{QStringLiteral("attention"), QStringLiteral("--model"), dir_,
                                     QStringLiteral("--observable"), kSubj, QStringLiteral("--head"),
                                     QStringLiteral("1.3"), QStringLiteral("--prompt"),
                                     QString::number(prompt), QStringLiteral("--dataset"),
                                     QStringLiteral("subject"), QStringLiteral("--json")} +
                         ln);
            if (r.code != 0) qWarning("%s", r.err.constData());
            return r.json();
        };
        const auto none = attention({QStringLiteral("--ln"), QStringLiteral("none")});
        const auto approx = attention({QStringLiteral("--ln"), QStringLiteral("approx"),
                                       QStringLiteral("--rho"), QString::number(rho)});
        QVERIFY(!none.isEmpty() && !approx.isEmpty());
        auto d = cli({QStringLiteral("dataset"), QStringLiteral("--model"), dir_, QStringLiteral("--dataset"),
                      QStringLiteral("subject"), QStringLiteral("--json")});
        QVERIFY2(d.code == 0, d.err.constData());
        const QString text = d.array()[prompt].toObject()[QStringLiteral("text")].toString();
        QVERIFY(!text.isEmpty());
        auto tok = obsprop::io::Tokenizer::from_directory(dir_.toStdString());
        const auto ids = tok.encode(text.toStdString());
        const auto ref = t_.run_naive(ids);
        const auto T = ids.size();
        const int dm = t_.spec.d_model, dh = t_.spec.d_head();
        const Vec vU = unembed(t_, {{10, 1.0}, {20, -1.0}});
        Vec vApprox(dm);
        const auto& gf = t_.tensor("ln_f.weight");
        for (int i = 0; i < dm; ++i)
            vApprox[i] = std::sqrt(double(dm)) / rho * gf.values[static_cast<std::size_t>(i)] * vU[i];
        const auto& g = t_.tensor("h.1.ln_1.weight");
        const auto& b = t_.tensor("h.1.ln_1.bias");
        const auto& bias = t_.tensor("h.1.attn.c_attn.bias"); // [3d]: b_V of head h at 2d + h·d_head
        for (const auto& [j, v] : {std::pair{none, vU}, std::pair{approx, vApprox}}) {
            QCOMPARE(j[QStringLiteral("tokens")].toArray().size(), static_cast<qsizetype>(T));
            QCOMPARE(j[QStringLiteral("query")].toInt(), static_cast<int>(T) - 1);
            const auto pattern = j[QStringLiteral("pattern")].toArray();
            for (std::size_t q = 0; q < T; ++q)
                for (std::size_t k = 0; k < T; ++k)
                    QVERIFY(std::abs(pattern[static_cast<qsizetype>(q)]
                                         .toArray()[static_cast<qsizetype>(k)]
                                         .toDouble() -
                                     ref.pattern[l][h][q][k]) < 1e-5);
            const Vec y = headFeature(t_, l, h, v);
            const auto contribution = j[QStringLiteral("contribution")].toArray();
            double total = 0;
            for (std::size_t s = 0; s < T; ++s) {
                const Vec& x = ref.resid_pre[l][s];
                double mean = 0, var = 0;
                for (double e : x)
                    mean += e / dm;
                for (double e : x)
                    var += (e - mean) * (e - mean) / dm;
                double dotp = 0;
                for (int i = 0; i < dm; ++i)
                    dotp += y[static_cast<std::size_t>(i)] *
                            ((x[static_cast<std::size_t>(i)] - mean) / std::sqrt(var + 1e-5) *
                                 g.values[static_cast<std::size_t>(i)] +
                             b.values[static_cast<std::size_t>(i)]);
                const double want = ref.pattern[l][h][T - 1][s] * dotp;
                total += want;
                QVERIFY2(std::abs(contribution[static_cast<qsizetype>(s)].toDouble() - want) <
                             1e-5 * (1 + std::abs(want)),
                         qPrintable(QStringLiteral("token %1: %2 vs %3")
                                        .arg(s)
                                        .arg(contribution[static_cast<qsizetype>(s)].toDouble())
                                        .arg(want)));
            }
            const double got = j[QStringLiteral("total")].toDouble();
            QVERIFY(std::abs(got - total) < 1e-5 * (1 + std::abs(total)));
            // The head's output at the last token is W_O^h z: v·W_O^h z = (W_O^hᵀ v)·z, of which the value
            // bias sends (W_O^hᵀ v)·b_V^h whatever the attention.
            const Vec w = throughOutput(t_, l, h, v);
            double through = 0, fromBias = 0;
            for (int e = 0; e < dh; ++e) {
                through += w[static_cast<std::size_t>(e)] * ref.z[l][T - 1][h][static_cast<std::size_t>(e)];
                fromBias += w[static_cast<std::size_t>(e)] *
                            bias.values[static_cast<std::size_t>(2 * dm + h * dh + e)];
            }
            QVERIFY2(
                std::abs(got - (through - fromBias)) < 1e-5 * (1 + std::abs(through)),
                qPrintable(
                    QStringLiteral("total %1, head output less bias %2").arg(got).arg(through - fromBias)));
        }
        // A prompt the dataset does not have is named.
        auto bad = cli({QStringLiteral("attention"), QStringLiteral("--model"), dir_,
                        QStringLiteral("--observable"), kSubj, QStringLiteral("--head"),
                        QStringLiteral("1.3"), QStringLiteral("--prompt"), QStringLiteral("999")});
        QVERIFY(bad.code != 0);
        QVERIFY2(bad.err.contains("prompt 999: the dataset 'subject' has 60 prompts"), bad.err.constData());
    }

    // `paths --beam` on the demo project (its names are single tokens, so every pair aligns): the one-head
    // rows are the `attribute` numbers, their feature_norm the `features` norm, a two-head row extends a kept
    // one-head path, and everything is ranked by |score|.
    void beamPathSearch() {
        const QString demo = test_paths::source("/resources/projects/demo.obsprop");
        const QStringList common{QStringLiteral("--project"), demo, QStringLiteral("--dataset"),
                                 QStringLiteral("subject"), QStringLiteral("--json")};
        auto r =
            cli(QStringList{QStringLiteral("paths"), QStringLiteral("--beam"), QStringLiteral("--beam-width"),
                            QStringLiteral("3"), QStringLiteral("--max-length"), QStringLiteral("2"),
                            QStringLiteral("--ln"), QStringLiteral("none")} +
                common);
        QVERIFY2(r.code == 0, r.err.constData());
        auto a = cli(QStringList{QStringLiteral("attribute")} + common);
        QVERIFY2(a.code == 0, a.err.constData());
        auto f = cli({QStringLiteral("features"), QStringLiteral("--ln"), QStringLiteral("none"),
                      QStringLiteral("--project"), demo, QStringLiteral("--json")});
        QVERIFY2(f.code == 0, f.err.constData());
        std::map<std::pair<int, int>, double> attribution, norm;
        for (const auto& v : a.array()) {
            auto o = v.toObject();
            attribution[{o[QStringLiteral("layer")].toInt(), o[QStringLiteral("head")].toInt()}] =
                o[QStringLiteral("attribution_subj")].toDouble();
        }
        for (const auto& v : f.json()[QStringLiteral("heads")].toArray()) {
            auto o = v.toObject();
            norm[{o[QStringLiteral("layer")].toInt(), o[QStringLiteral("head")].toInt()}] =
                o[QStringLiteral("norm")].toArray()[0].toDouble();
        }
        auto rows = r.array();
        QCOMPARE(rows.size(), 6);
        std::set<QString> singles;
        double previous = 1e300;
        for (const auto& v : rows) {
            auto o = v.toObject();
            const double score = o[QStringLiteral("score")].toDouble();
            QVERIFY(std::abs(score) <= previous);
            previous = std::abs(score);
            QCOMPARE(o[QStringLiteral("pairs")].toInt(), 30);
            const int l = o[QStringLiteral("layer1")].toInt(), h = o[QStringLiteral("head1")].toInt();
            const QString path = o[QStringLiteral("path")].toString();
            QCOMPARE(path.section(QStringLiteral(" -> "), 0, 0), QStringLiteral("%1.%2").arg(l).arg(h));
            if (o[QStringLiteral("length")].toInt() == 1) {
                singles.insert(path);
                QVERIFY(std::abs(score - attribution.at({l, h})) < 1e-9 + 1e-6 * std::abs(score));
                QVERIFY(std::abs(o[QStringLiteral("feature_norm")].toDouble() - norm.at({l, h})) <
                        1e-6 * norm.at({l, h}));
            } else {
                QCOMPARE(o[QStringLiteral("length")].toInt(), 2);
            }
        }
        QCOMPARE(singles.size(), std::size_t{3});
        for (const auto& v : rows) {
            const QString path = v.toObject()[QStringLiteral("path")].toString();
            if (path.contains(QStringLiteral(" -> ")))
                QVERIFY2(singles.count(path.section(QStringLiteral(" -> "), 1)), qPrintable(path));
        }
    }

    // A project written by `project create` validates, and `export` writes the same features table the
    // `features` command prints.
    void projectAndExport() {
        const QString proj = t_.dir->filePath(QStringLiteral("p.obsprop")),
                      out = t_.dir->filePath(QStringLiteral("export"));
        auto c = cli({QStringLiteral("project"), QStringLiteral("create"), QStringLiteral("--model"), dir_,
                      QStringLiteral("--observable"), kSubj, QStringLiteral("--observable"), kObj,
                      QStringLiteral("--out"), proj});
        QVERIFY2(c.code == 0, c.err.constData());
        auto v = cli({QStringLiteral("project"), QStringLiteral("validate"), proj, QStringLiteral("--json")});
        QVERIFY2(v.code == 0, v.err.constData());
        QVERIFY(v.json()[QStringLiteral("fingerprint_matches")].toBool());
        QCOMPARE(v.json()[QStringLiteral("observables")].toInt(), 2);
        auto e =
            cli({QStringLiteral("export"), QStringLiteral("--project"), proj, QStringLiteral("--out"), out});
        QVERIFY2(e.code == 0, e.err.constData());
        auto f =
            cli({QStringLiteral("features"), QStringLiteral("--project"), proj, QStringLiteral("--csv")});
        QVERIFY2(f.code == 0, f.err.constData());
        QFile csv(out + QStringLiteral("/features.csv"));
        QVERIFY(csv.open(QIODevice::ReadOnly));
        QCOMPARE(csv.readAll(), f.out);
        for (const char* name : {"manifest.json", "attribution_subject.csv", "coupling_subj_obj.csv",
                                 "svd_subj.csv", "paths_obj.json", "dataset_object.csv"})
            QVERIFY2(QFileInfo(out + QLatin1Char('/') + QLatin1String(name)).size() > 0, name);
        // The manifest names the settings of every table, the path search's kinds of node among them.
        QFile manifest(out + QStringLiteral("/manifest.json"));
        QVERIFY(manifest.open(QIODevice::ReadOnly));
        const QJsonObject settings =
            QJsonDocument::fromJson(manifest.readAll()).object()[QStringLiteral("settings")].toObject();
        for (const char* key : {"beam_width", "max_length", "mlp_nodes", "embed_nodes", "token_nodes"})
            QVERIFY2(settings.contains(QLatin1String(key)), key);
        QCOMPARE(settings[QStringLiteral("token_nodes")].toBool(true), false);

        // --figures draws them with the explorer's figure code, offscreen, in process.
        const QString figs = t_.dir->filePath(QStringLiteral("figures"));
        auto g = cli({QStringLiteral("export"), QStringLiteral("--project"), proj, QStringLiteral("--out"),
                      figs, QStringLiteral("--figures")});
        QVERIFY2(g.code == 0, g.err.constData());
        for (const char* name : {"heatmap_norm_subj.png", "heatmap_norm_subj.svg", "heatmap_norm_subj.pdf",
                                 "heatmap_attribution_subject_subj.png", "features.csv"})
            QVERIFY2(QFileInfo(figs + QLatin1Char('/') + QLatin1String(name)).size() > 0, name);
        // Without a project file too (the figures come from the reports, not from an explorer window).
        const QString figs2 = t_.dir->filePath(QStringLiteral("figures2"));
        auto m =
            cli({QStringLiteral("export"), QStringLiteral("--model"), dir_, QStringLiteral("--observable"),
                 kSubj, QStringLiteral("--out"), figs2, QStringLiteral("--figures")});
        QVERIFY2(m.code == 0, m.err.constData());
        QVERIFY(QFileInfo(figs2 + QStringLiteral("/heatmap_norm_subj.pdf")).size() > 0);
    }

    // A project observable that is several tokens of this model (a string the tokenizer splits): the project
    // still opens; `validate` names it and exits 1, analyses leave it out with a warning, `export` refuses,
    // and the file is left as it was.
    void projectWithAnInvalidObservable() {
        const QString proj = t_.dir->filePath(QStringLiteral("invalid.obsprop"));
        auto c = cli({QStringLiteral("project"), QStringLiteral("create"), QStringLiteral("--model"), dir_,
                      QStringLiteral("--observable"), kSubj, QStringLiteral("--out"), proj});
        QVERIFY2(c.code == 0, c.err.constData());
        const auto tok = obsprop::io::Tokenizer::from_directory(dir_.toStdString());
        const std::string word = " zqxjvkw"; // rare letters: several tokens of the test vocabulary
        const auto ids = tok.encode_continuation(word);
        QVERIFY(ids.size() > 1);
        QFile f(proj);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QJsonObject doc = QJsonDocument::fromJson(f.readAll()).object();
        f.close();
        QJsonArray obs = doc[QStringLiteral("observables")].toArray();
        obs.append(QJsonObject{{QStringLiteral("name"), QStringLiteral("bad")},
                               {QStringLiteral("expr"), QString::fromStdString("\"" + word + "\" - #3")}});
        doc[QStringLiteral("observables")] = obs;
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(QJsonDocument(doc).toJson());
        f.close();
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray before = f.readAll();
        f.close();
        const QString expected =
            QStringLiteral("observable 'bad' does not parse for this model: column 1: \"%1\" is %2 tokens (")
                .arg(QString::fromStdString(word))
                .arg(ids.size());

        auto v = cli({QStringLiteral("project"), QStringLiteral("validate"), proj, QStringLiteral("--json")});
        QCOMPARE(v.code, 1);
        QVERIFY2(QString::fromUtf8(v.err).contains(expected), v.err.constData());
        const QJsonArray invalid = v.json()[QStringLiteral("invalid_observables")].toArray();
        QCOMPARE(invalid.size(), 1);
        QCOMPARE(invalid[0].toObject()[QStringLiteral("name")].toString(), QStringLiteral("bad"));
        QCOMPARE(v.json()[QStringLiteral("observables")].toInt(), 1);

        auto n =
            cli({QStringLiteral("features"), QStringLiteral("--project"), proj, QStringLiteral("--json")});
        QVERIFY2(n.code == 0, n.err.constData());
        QVERIFY2(n.err.contains("obsprop: warning: ") &&
                     n.err.contains("observable 'bad' is left out: column 1"),
                 n.err.constData());
        QVERIFY(!n.out.contains("\"bad\""));
        QVERIFY(n.out.contains("\"subj\""));

        auto e = cli({QStringLiteral("export"), QStringLiteral("--project"), proj, QStringLiteral("--out"),
                      t_.dir->filePath(QStringLiteral("invalid-export"))});
        QCOMPARE(e.code, 1);
        QVERIFY2(e.err.contains("observable 'bad' does not parse for this model"), e.err.constData());
        QVERIFY(!QFileInfo::exists(t_.dir->filePath(QStringLiteral("invalid-export/manifest.json"))));

        // Replacing it on the command line is allowed, and nothing above touched the file.
        auto r =
            cli({QStringLiteral("features"), QStringLiteral("--project"), proj,
                 QStringLiteral("--observable"), QStringLiteral("bad = #5 - #6"), QStringLiteral("--json")});
        QVERIFY2(r.code == 0 && !r.err.contains("left out"), r.err.constData());
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), before);
    }

    // Usage errors (the command line's) exit with 2, runtime errors with 1.
    void errors_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::addColumn<int>("code");
        QTest::newRow("malformed expression")
            << QStringList{QStringLiteral("features"), QStringLiteral("--model"), QStringLiteral("@M"),
                           QStringLiteral("--observable"), QStringLiteral("#10 -")}
            << QStringLiteral("column 6") << 2;
        QTest::newRow("token outside the vocabulary")
            << QStringList{QStringLiteral("features"), QStringLiteral("--model"), QStringLiteral("@M"),
                           QStringLiteral("--observable"), QStringLiteral("#100000")}
            << QStringLiteral("100000") << 2;
        QTest::newRow("both model and project")
            << QStringList{QStringLiteral("features"), QStringLiteral("--model"), QStringLiteral("@M"),
                           QStringLiteral("--project"), QStringLiteral("x.obsprop")}
            << QStringLiteral("exactly one of --model") << 2;
        QTest::newRow("missing project") << QStringList{QStringLiteral("project"), QStringLiteral("validate"),
                                                        QStringLiteral("/nonexistent.obsprop")}
                                         << QStringLiteral("cannot open the project file") << 1;
        QTest::newRow("absurd multiplier") << QStringList{QStringLiteral("steer"),
                                                          QStringLiteral("--model"),
                                                          QStringLiteral("@M"),
                                                          QStringLiteral("--observable"),
                                                          kSubj,
                                                          QStringLiteral("--head"),
                                                          QStringLiteral("0.1"),
                                                          QStringLiteral("--alpha"),
                                                          QStringLiteral("1e12")}
                                           << QStringLiteral("absurd") << 2;
        QTest::newRow("unknown dataset") << QStringList{QStringLiteral("attribute"),
                                                        QStringLiteral("--model"),
                                                        QStringLiteral("@M"),
                                                        QStringLiteral("--observable"),
                                                        kSubj,
                                                        QStringLiteral("--dataset"),
                                                        QStringLiteral("nope")}
                                         << QStringLiteral("no dataset named 'nope'") << 2;
    }
    void errors() {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        QFETCH(int, code);
        args.replaceInStrings(QStringLiteral("@M"), dir_);
        auto r = cli(args);
        QCOMPARE(r.code, code);
        QVERIFY2(r.err.startsWith("obsprop: error: "), r.err.constData());
        QVERIFY2(QString::fromUtf8(r.err).contains(message), r.err.constData());
    }
};

QTEST_GUILESS_MAIN(TestCliAnalysis)
#include "tst_cli_analysis.moc"
