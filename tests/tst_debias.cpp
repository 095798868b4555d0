// The debiasing sweep (analyses::debias_report) against independent computations: the ranking against
// coupling coefficients formed here from head features written out as loops over the raw checkpoint tensors
// (GPT-2, LayerNorm ignored), and the swept changes against the naive reference model with α·y added to the
// residual stream by hand (layer 0: the position-table row of the steered token; layer L > 0: what layer
// L−1's MLP adds at that token), in double precision. Then every bad input.
#include "test_models.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "analyses/run.h"
#include "analyses/workspace.h"

using namespace obsprop;
using namespace obsprop::analyses;
using test_models::make_tiny;
using test_models::TinyModel;
using Vec = std::vector<double>;
using Terms = std::vector<std::pair<int, double>>;

namespace {

const Terms kSubj{{10, 1.0}, {20, -1.0}};
const Terms kObj{{7, 0.5}, {99, 0.5}, {3, -1.0}};

// y = W_V^hᵀ W_O^hᵀ W_Uᵀ n for GPT-2's Conv1D tensors and tied W_U = wte.
Vec feature(const TinyModel& t, int l, int h, const Terms& n) {
    const int d = t.spec.d_model, dh = t.spec.d_head();
    const auto& wte = t.tensor("wte.weight");
    Vec v(static_cast<std::size_t>(d), 0.0);
    for (auto [id, w] : n)
        for (int i = 0; i < d; ++i)
            v[i] += w * wte.values[static_cast<std::size_t>(id * d + i)];
    const auto& proj = t.tensor("h." + std::to_string(l) + ".attn.c_proj.weight"); // [H*dh, d]
    Vec z(static_cast<std::size_t>(dh), 0.0);
    for (int e = 0; e < dh; ++e)
        for (int j = 0; j < d; ++j)
            z[e] += proj.values[static_cast<std::size_t>((h * dh + e) * d + j)] * v[j];
    const auto& attn = t.tensor("h." + std::to_string(l) + ".attn.c_attn.weight"); // [d, 3d]
    Vec y(static_cast<std::size_t>(d), 0.0);
    for (int i = 0; i < d; ++i)
        for (int e = 0; e < dh; ++e)
            y[i] += attn.values[static_cast<std::size_t>(i * 3 * d + 2 * d + h * dh + e)] * z[e];
    return y;
}

double dot(const Vec& a, const Vec& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        s += a[i] * b[i];
    return s;
}

double value(const std::vector<double>& logits, const Terms& n) {
    double s = 0;
    for (auto [id, w] : n)
        s += w * logits[static_cast<std::size_t>(id)];
    return s;
}

// The naive model's last-token logits with α·y added to blocks.{layer}.hook_resid_pre at `pos`.
std::vector<double> steered_logits(const TinyModel& t, const std::vector<int>& ids, int layer, int pos,
                                   const Vec& y, double alpha) {
    const int d = t.spec.d_model;
    auto w = t.naive();
    if (layer == 0) {
        auto& wpe = w.at("wpe.weight");
        for (int i = 0; i < d; ++i)
            wpe.values[static_cast<std::size_t>(pos * d + i)] += static_cast<float>(alpha * y[i]);
        return naive::run(t.gen.config, w, ids).logits.back();
    }
    const auto plain = naive::run(t.gen.config, w, ids);
    naive::Overrides ov;
    auto mlp = plain.mlp_out[static_cast<std::size_t>(layer - 1)];
    for (int i = 0; i < d; ++i)
        mlp[static_cast<std::size_t>(pos)][i] += alpha * y[i];
    ov.mlp_out[layer - 1] = mlp;
    return naive::run(t.gen.config, w, ids, ov).logits.back();
}

bool close(double got, double want, double tol) {
    return std::abs(got - want) <= tol * (1 + std::abs(want));
}

} // namespace

class TestDebias : public QObject {
    Q_OBJECT
    TinyModel t_ = make_tiny(tools::Family::GPT2, 23, 512);
    std::shared_ptr<const Workspace> ws_;

    Analysis analysis() const {
        SettingsOverrides o;
        o.ln_mode = "none";
        o.dataset = "subject";
        return Analysis(ws_, o);
    }

    // Every (head, α) row of `r` for candidate `rank` against the naive model over the whole dataset.
    void checkRowsAgainstReference(const DebiasReport& r, int rank, const Terms& steer_with, bool normalize) {
        const Workspace& w = *ws_;
        const PromptBatch ps = w.prompt_batch("subject", "name");
        for (const auto& row : r.rows) {
            if (row.rank != rank) continue;
            Vec y = feature(t_, row.head.layer, row.head.head, steer_with);
            const double norm = std::sqrt(dot(y, y));
            if (normalize)
                for (double& v : y)
                    v /= norm;
            QVERIFY(close(row.vector_norm, normalize ? 1.0 : norm, 1e-5));
            double before_up = 0, before_down = 0, up = 0, down = 0;
            for (std::size_t p = 0; p < ps.size(); ++p) {
                const auto plain = t_.run_naive(ps.ids[p]).logits.back();
                const auto after = steered_logits(t_, ps.ids[p], row.layer, ps.positions[p], y, row.alpha);
                before_up += value(plain, kSubj), before_down += value(plain, kObj);
                up += value(after, kSubj) - value(plain, kSubj);
                down += value(after, kObj) - value(plain, kObj);
            }
            const double n = static_cast<double>(ps.size());
            QVERIFY2(close(row.change_raise, up / n, 1e-4),
                     qPrintable(QStringLiteral("%1 vs %2").arg(row.change_raise).arg(up / n)));
            QVERIFY2(close(row.change_lower, down / n, 1e-4),
                     qPrintable(QStringLiteral("%1 vs %2").arg(row.change_lower).arg(down / n)));
            QVERIFY(close(r.mean_raise, before_up / n, 1e-4));
            QVERIFY(close(r.mean_lower, before_down / n, 1e-4));
            QCOMPARE(row.separates, up / n > 0 && down / n < 0);
            QVERIFY(close(row.score, row.change_raise - row.change_lower, 1e-12));
            QVERIFY(std::isfinite(row.predicted_raise) && std::isfinite(row.predicted_lower));
        }
    }

  private Q_SLOTS:
    void initTestCase() {
        auto w = std::make_shared<Workspace>(
            Workspace::open_model(t_.dir->filePath(QStringLiteral("model")).toStdString()));
        w->add_observable("subj", "#10 - #20");
        w->add_observable("obj", "0.5*#7 + 0.5*#99 - #3");
        ws_ = w;
    }

    // The ranking is every head by C(subj→obj) = y_subj·y_obj / ‖y_subj‖², most negative first, and the
    // first `candidates` are swept with each α in the order given.
    void rankingFollowsCoupling() {
        DebiasOptions o;
        o.raise = "subj", o.lower = "obj", o.candidates = 3, o.alphas = std::vector<double>{2.5, -4};
        const DebiasReport r = debias_report(analysis(), o);
        const int L = t_.spec.n_layers, H = t_.spec.n_heads;
        QCOMPARE(r.coupling.layers, L);
        QCOMPARE(r.coupling.heads, H);
        std::vector<std::pair<double, HeadId>> want;
        for (int l = 0; l < L; ++l)
            for (int h = 0; h < H; ++h) {
                const Vec a = feature(t_, l, h, kSubj), b = feature(t_, l, h, kObj);
                const double c = dot(a, b) / dot(a, a);
                QVERIFY(close(r.coupling.at(l, h), c, 1e-5));
                want.push_back({c, {l, h}});
            }
        std::sort(want.begin(), want.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
        QCOMPARE(r.candidates, 3);
        QCOMPARE(r.rows.size(), std::size_t(6));
        QCOMPARE(r.feature_of, std::string("subj"));
        QCOMPARE(r.position, std::string("name"));
        for (std::size_t i = 0; i < r.rows.size(); ++i) {
            const auto& row = r.rows[i];
            QCOMPARE(row.rank, int(i / 2) + 1);
            QVERIFY(row.head == want[i / 2].second);
            QVERIFY(close(row.coupling, want[i / 2].first, 1e-5));
            QCOMPARE(row.alpha, i % 2 == 0 ? 2.5 : -4.0);
            QCOMPARE(row.layer, row.head.layer);
        }
        QVERIFY(want[0].first < 0); // this model has a negatively coupled head to find
        checkRowsAgainstReference(r, 1, kSubj, false);
        checkRowsAgainstReference(r, 2, kSubj, false);
    }

    // Another observable's feature, unit length, at a fixed layer: what is added is that vector.
    void featureOfNormalizeAndLayer() {
        DebiasOptions o;
        o.raise = "subj", o.lower = "obj", o.feature_of = "obj", o.candidates = 1, o.normalize = true,
        o.layer = 1, o.alphas = std::vector<double>{3};
        const DebiasReport r = debias_report(analysis(), o);
        QCOMPARE(r.rows.size(), std::size_t(1));
        QCOMPARE(r.rows[0].layer, 1);
        QCOMPARE(r.feature_of, std::string("obj"));
        checkRowsAgainstReference(r, 1, kObj, true);
    }

    void defaultsAndCandidateCount() {
        QCOMPARE(default_debias_alphas(false), (std::vector<double>{-50, -20, -5, 5, 20, 50}));
        QCOMPARE(default_debias_alphas(true), (std::vector<double>{-20, -5, -1, 1, 5, 20}));
        DebiasOptions o;
        o.raise = "subj", o.lower = "obj", o.candidates = 100, o.normalize = true;
        const DebiasReport r = debias_report(analysis(), o);
        QCOMPARE(r.candidates, t_.spec.n_layers * t_.spec.n_heads); // no more heads than the model has
        QCOMPARE(r.alphas, default_debias_alphas(true));
        QCOMPARE(r.rows.size(), std::size_t(r.candidates) * 6);
    }

    void cancels() {
        DebiasOptions o;
        o.raise = "subj", o.lower = "obj", o.candidates = 2, o.alphas = std::vector<double>{1};
        int calls = 0;
        const Progress stop = [&](double, std::string_view) { return ++calls < 3; };
        QVERIFY_THROWS_EXCEPTION(Cancelled, debias_report(analysis(), o, stop));
    }

    void rejectsBadInput_data() {
        QTest::addColumn<QString>("raise");
        QTest::addColumn<QString>("lower");
        QTest::addColumn<QString>("featureOf");
        QTest::addColumn<int>("candidates");
        QTest::addColumn<QList<double>>("alphas");
        QTest::addColumn<int>("layer");
        QTest::addColumn<QString>("message");
        const QList<double> ok{1};
        const QString s = QStringLiteral("subj"), b = QStringLiteral("obj");
        QTest::newRow("unknown raise") << "nope" << b << QString() << 2 << ok << -1 << "nope";
        QTest::newRow("unknown lower") << s << "nope" << QString() << 2 << ok << -1 << "nope";
        QTest::newRow("unknown feature") << s << b << "nope" << 2 << ok << -1 << "nope";
        QTest::newRow("same") << s << s << QString() << 2 << ok << -1 << "two different";
        QTest::newRow("no candidates") << s << b << QString() << 0 << ok << -1 << "at least 1";
        QTest::newRow("no alpha") << s << b << QString() << 2 << QList<double>{} << -1 << "at least one";
        QTest::newRow("nan alpha") << s << b << QString() << 2
                                   << QList<double>{1, std::numeric_limits<double>::quiet_NaN()} << -1
                                   << "finite";
        QTest::newRow("inf alpha") << s << b << QString() << 2
                                   << QList<double>{std::numeric_limits<double>::infinity()} << -1
                                   << "finite";
        QTest::newRow("absurd alpha") << s << b << QString() << 2 << QList<double>{-2e6} << -1 << "absurd";
        QTest::newRow("layer") << s << b << QString() << 2 << ok << 2 << "no layer 2";
        QTest::newRow("negative layer") << s << b << QString() << 2 << ok << -3 << "no layer -3";
    }

    void rejectsBadInput() {
        QFETCH(QString, raise);
        QFETCH(QString, lower);
        QFETCH(QString, featureOf);
        QFETCH(int, candidates);
        QFETCH(QList<double>, alphas);
        QFETCH(int, layer);
        QFETCH(QString, message);
        DebiasOptions o;
        o.raise = raise.toStdString(), o.lower = lower.toStdString(), o.feature_of = featureOf.toStdString();
        o.candidates = candidates, o.layer = layer;
        o.alphas = std::vector<double>(alphas.begin(), alphas.end());
        try {
            debias_report(analysis(), o);
            QFAIL("no error");
        } catch (const std::invalid_argument& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(message), e.what());
        }
    }
};

QTEST_APPLESS_MAIN(TestDebias)
#include "tst_debias.moc"
