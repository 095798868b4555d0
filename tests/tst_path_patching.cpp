// Path patching and the beam search over head paths: against explicit loops over the naive reference's
// traces (double precision), against direct-path attribution for single heads, and the beam search
// against exhaustive scoring.
#include "loop_reference.h"
#include "pair_fixtures.h"
#include "test_models.h"

#include <QtTest>

#include <cmath>
#include <set>

#include "obsprop/attribution.h"
#include "obsprop/path_patching.h"

using namespace obsprop;
using test_models::make_tiny;
using test_models::TinyModel;
using torch::Tensor;

namespace {

using Vec = std::vector<double>;
using Mat = std::vector<Vec>;

Vec values(const Tensor& t) {
    Tensor c = t.to(torch::kDouble).contiguous();
    return Vec(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

using loop_reference::layer_norm;

// Layer l's MLP on one residual x (the input of its ln_2), written out with loops over the weights.
Vec loop_mlp(const model::Transformer& m, int l, const Vec& x) {
    const auto& c = m.config();
    const auto& w = m.weights().layers[static_cast<std::size_t>(l)];
    const int d = c.d_model, dm = c.d_mlp;
    const Vec u = layer_norm(x, values(w.ln2_w), values(w.ln2_b), c.ln_eps);
    const Vec Win = values(w.W_in), bin = values(w.b_in), Wout = values(w.W_out), bout = values(w.b_out);
    Vec hidden(static_cast<std::size_t>(dm));
    for (int k = 0; k < dm; ++k) {
        double a = bin[k];
        for (int j = 0; j < d; ++j)
            a += Win[static_cast<std::size_t>(k * d + j)] * u[j];
        hidden[k] = c.activation == io::Activation::GeluErf
                        ? 0.5 * a * (1 + std::erf(a / std::sqrt(2.0)))
                        : 0.5 * a * (1 + std::tanh(std::sqrt(2.0 / M_PI) * (a + 0.044715 * a * a * a)));
    }
    Vec out(static_cast<std::size_t>(d));
    for (int j = 0; j < d; ++j) {
        out[j] = bout[j];
        for (int k = 0; k < dm; ++k)
            out[j] += Wout[static_cast<std::size_t>(j * dm + k)] * hidden[k];
    }
    return out;
}

// A head's values v[p][e] = W_V·ln_1(x_p) + b_V at every position, from a trace's residuals, with loops; the
// trace's own z = A·v is checked against them (the reference reads values it can trust).
Mat loop_values(const model::Transformer& m, const naive::Trace& t, int l, int h) {
    const auto& c = m.config();
    const auto& w = m.weights().layers[static_cast<std::size_t>(l)];
    const int d = c.d_model, dh = c.d_head, kv = h / (c.n_heads / c.n_kv_heads);
    const Vec g = values(w.ln1_w), b = values(w.ln1_b), Wv = values(w.Wv), bv = values(w.bv);
    const std::size_t T = t.resid_pre[static_cast<std::size_t>(l)].size();
    Mat v(T, Vec(static_cast<std::size_t>(dh), 0.0));
    for (std::size_t p = 0; p < T; ++p) {
        const Vec a = layer_norm(t.resid_pre[l][p], g, b, c.ln_eps);
        for (int e = 0; e < dh; ++e) {
            v[p][e] = bv[static_cast<std::size_t>(kv * dh + e)];
            for (int j = 0; j < d; ++j)
                v[p][e] += Wv[static_cast<std::size_t>((kv * dh + e) * d + j)] * a[j];
        }
    }
    for (std::size_t q = 0; q < T; ++q)
        for (int e = 0; e < dh; ++e) {
            double z = 0;
            for (std::size_t p = 0; p <= q; ++p)
                z += t.pattern[l][h][q][p] * v[p][e];
            if (std::abs(z - t.z[l][q][h][e]) > 1e-9 * (1 + std::abs(z)))
                throw std::runtime_error("loop_values: the values do not give the trace's z");
        }
    return v;
}

// The key position a head node reads in a prompt of T tokens whose slot (pair_fixtures::prompts) is token 1;
// every position (-1) for a whole head.
long source_position(const PathNode& n, std::size_t T) {
    if (!n.at_token()) return -1;
    if (n.token == source_token::kSlotToken) return 1;
    return n.token >= 0 ? n.token : static_cast<long>(T) + n.token;
}

// The path's score on one pair, written out with loops: the naive traces give the clean residuals,
// patterns and both runs' z (and, for a head at one source token, both runs' values and the corrupted
// pattern); the weights are read element by element.
double loop_score(const TinyModel& t, const std::vector<int>& clean, const std::vector<int>& corrupt,
                  const std::vector<std::pair<int, double>>& n, const std::vector<PathNode>& path) {
    const auto& m = *t.model;
    const auto& c = m.config();
    const int d = c.d_model, H = c.n_heads, dh = c.d_head;
    auto tc = t.run_naive(clean), tk = t.run_naive(corrupt);
    const std::size_t T = clean.size();
    auto WO = [&](int l) { return values(m.weights().layers[static_cast<std::size_t>(l)].W_O); }; // [d, H*dh]
    auto WV = [&](int l) { return values(m.weights().layers[static_cast<std::size_t>(l)].Wv); }; // [H, dh, d]
    // δ₁ at every position.
    Mat delta(T, Vec(static_cast<std::size_t>(d), 0.0));
    if (path[0].is_embed()) { // the embeddings' change: the two traces' blocks.0.hook_resid_pre
        for (std::size_t p = 0; p < T; ++p)
            for (int j = 0; j < d; ++j)
                delta[p][j] = tk.resid_pre[0][p][j] - tc.resid_pre[0][p][j];
    } else if (path[0].is_mlp()) { // the MLP's output change, from the two traces
        for (std::size_t p = 0; p < T; ++p)
            for (int j = 0; j < d; ++j)
                delta[p][j] = tk.mlp_out[path[0].layer][p][j] - tc.mlp_out[path[0].layer][p][j];
    } else if (path[0].at_token()) { // what the head reads from token s alone changes
        const auto [l, h] = std::pair{path[0].layer, path[0].head};
        const auto s = static_cast<std::size_t>(source_position(path[0], T));
        const Mat vc = loop_values(m, tc, l, h), vk = loop_values(m, tk, l, h);
        Vec W = WO(l);
        for (std::size_t q = s; q < T; ++q)
            for (int j = 0; j < d; ++j)
                for (int e = 0; e < dh; ++e)
                    delta[q][j] += W[static_cast<std::size_t>(j * H * dh + h * dh + e)] *
                                   (tk.pattern[l][h][q][s] * vk[s][e] - tc.pattern[l][h][q][s] * vc[s][e]);
    } else {
        const auto [l, h] = std::pair{path[0].layer, path[0].head};
        Vec W = WO(l);
        for (std::size_t p = 0; p < T; ++p)
            for (int j = 0; j < d; ++j)
                for (int e = 0; e < dh; ++e)
                    delta[p][j] += W[static_cast<std::size_t>(j * H * dh + h * dh + e)] *
                                   (tk.z[l][p][h][e] - tc.z[l][p][h][e]);
    }
    for (std::size_t i = 1; i < path.size(); ++i) {
        if (path[i].is_mlp()) { // F(x + δ) − F(x) at each position, x the clean input of ln_2
            const int l = path[i].layer;
            for (std::size_t p = 0; p < T; ++p) {
                const Vec& x = c.parallel_residual ? tc.resid_pre[l][p] : tc.resid_mid[l][p];
                Vec xp = x;
                for (int j = 0; j < d; ++j)
                    xp[j] += delta[p][j];
                const Vec a = loop_mlp(m, l, xp), b = loop_mlp(m, l, x);
                for (int j = 0; j < d; ++j)
                    delta[p][j] = a[j] - b[j];
            }
            continue;
        }
        const auto [l, h] = std::pair{path[i].layer, path[i].head};
        const auto& lw = m.weights().layers[static_cast<std::size_t>(l)];
        Vec g = values(lw.ln1_w), b = values(lw.ln1_b), Wv = WV(l), Wo = WO(l);
        Mat dv(T, Vec(static_cast<std::size_t>(dh), 0.0));
        for (std::size_t p = 0; p < T; ++p) {
            Vec x = tc.resid_pre[l][p], xp = x;
            for (int j = 0; j < d; ++j)
                xp[j] += delta[p][j];
            Vec a = layer_norm(xp, g, b, c.ln_eps), a0 = layer_norm(x, g, b, c.ln_eps);
            for (int e = 0; e < dh; ++e)
                for (int j = 0; j < d; ++j)
                    dv[p][e] += Wv[static_cast<std::size_t>((h * dh + e) * d + j)] * (a[j] - a0[j]);
        }
        Mat next(T, Vec(static_cast<std::size_t>(d), 0.0));
        const long only = source_position(path[i], T); // a head at one source token reads only its value
        for (std::size_t q = 0; q < T; ++q)
            for (int e = 0; e < dh; ++e) {
                double dz = 0;
                for (std::size_t p = 0; p <= q; ++p)
                    if (only < 0 || static_cast<long>(p) == only) dz += tc.pattern[l][h][q][p] * dv[p][e];
                for (int j = 0; j < d; ++j)
                    next[q][j] += Wo[static_cast<std::size_t>(j * H * dh + h * dh + e)] * dz;
            }
        delta = next;
    }
    Vec gf = values(m.weights().lnf_w), bf = values(m.weights().lnf_b), WU = values(m.weights().W_U);
    auto score = [&](const Vec& r) {
        Vec y = layer_norm(r, gf, bf, c.ln_eps);
        double s = 0;
        for (auto [id, w] : n)
            for (int j = 0; j < d; ++j)
                s += w * WU[static_cast<std::size_t>(id * d + j)] * y[j];
        return s;
    };
    Vec r = tc.resid_final.back(), rp = r;
    for (int j = 0; j < d; ++j)
        rp[j] += delta.back()[j];
    return score(r) - score(rp);
}

using pair_fixtures::matrix;
using pair_fixtures::prompts;

const std::vector<std::pair<int, double>> kTerms = {{10, 1.0}, {20, -1.0}};
const std::vector<std::vector<int>> kClean = {
    {5, 40, 77, 12, 9, 33}, {8, 41, 2, 150, 9}, {5, 60, 70, 80, 90, 100, 110}};
const std::vector<std::vector<int>> kCorrupt = {
    {5, 41, 77, 12, 9, 33}, {8, 43, 2, 151, 9}, {5, 61, 70, 80, 90, 100, 110}};

bool close(double a, double b) {
    return std::abs(a - b) < 1e-4 * (1e-3 + std::abs(b));
}

// Every path of `want` is in `beam` with the same score (the beam kept them all).
void check_beam_level(const std::vector<PatchedPath>& beam, const std::vector<PatchedPath>& want) {
    QCOMPARE(beam.size(), want.size());
    for (const auto& w : want) {
        auto it =
            std::find_if(beam.begin(), beam.end(), [&](const PatchedPath& b) { return b.path == w.path; });
        QVERIFY2(it != beam.end(), qPrintable(QString::fromStdString(w.label())));
        QVERIFY2(close(it->mean, w.mean), qPrintable(QString::fromStdString(w.label())));
        QVERIFY2(close(it->sd, w.sd), qPrintable(QString::fromStdString(w.label())));
    }
}

std::vector<std::vector<PathNode>> all_paths(int L, int H, int length) {
    std::vector<std::vector<PathNode>> out;
    std::function<void(std::vector<PathNode>)> grow = [&](std::vector<PathNode> p) {
        if (static_cast<int>(p.size()) == length) return out.push_back(p);
        const int from = p.empty() ? 0 : p.back().layer + 1;
        for (int l = from; l < L; ++l)
            for (int h = 0; h < H; ++h) {
                auto q = p;
                q.push_back(PathNode::attn(l, h));
                grow(q);
            }
    };
    grow({});
    return out;
}

// Every path of `length` nodes over heads and MLPs, in validate_path's order.
std::vector<std::vector<PathNode>> all_paths_with_mlps(const io::ModelConfig& c, int length) {
    std::vector<PathNode> nodes;
    for (int l = 0; l < c.n_layers; ++l) {
        for (int h = 0; h < c.n_heads; ++h)
            nodes.push_back(PathNode::attn(l, h));
        nodes.push_back(PathNode::mlp(l));
    }
    std::vector<std::vector<PathNode>> out;
    std::function<void(std::vector<PathNode>)> grow = [&](std::vector<PathNode> p) {
        if (static_cast<int>(p.size()) == length) return out.push_back(p);
        for (const auto& n : nodes) {
            const auto& b = p.empty() ? n : p.back();
            // a later node: a higher layer, or this layer's MLP after one of its heads (sequential only)
            if (!p.empty() && !(b.layer < n.layer ||
                                (b.layer == n.layer && !c.parallel_residual && !b.is_mlp() && n.is_mlp())))
                continue;
            auto q = p;
            q.push_back(n);
            grow(q);
        }
    };
    grow({});
    return out;
}

} // namespace

class TestPathPatching : public QObject {
    Q_OBJECT
    TinyModel gpt2_ = make_tiny(tools::Family::GPT2, 23, 300, 3);
    TinyModel neox_ = make_tiny(tools::Family::GPTNeoX, 29, 300, 3);

    void checkAgainstLoops(const TinyModel& t, std::vector<std::vector<PathNode>> paths = {}) {
        auto obs = matrix(300, kTerms);
        if (paths.empty())
            paths = {{PathNode::attn(1, 2)},
                     {PathNode::attn(0, 1), PathNode::attn(2, 3)},
                     {PathNode::attn(0, 3), PathNode::attn(1, 0), PathNode::attn(2, 2)},
                     {PathNode::attn(1, 1), PathNode::attn(2, 0)}};
        auto got = score_paths(*t.model, prompts(kClean), prompts(kCorrupt), obs, 0, paths);
        QCOMPARE(got.size(), paths.size());
        for (std::size_t i = 0; i < paths.size(); ++i) {
            Vec per;
            for (std::size_t p = 0; p < kClean.size(); ++p)
                per.push_back(loop_score(t, kClean[p], kCorrupt[p], kTerms, paths[i]));
            double mean = 0, var = 0;
            for (double v : per)
                mean += v / per.size();
            for (double v : per)
                var += (v - mean) * (v - mean) / (per.size() - 1);
            QVERIFY2(close(got[i].mean, mean), qPrintable(QStringLiteral("%1: %2 vs %3")
                                                              .arg(QString::fromStdString(got[i].label()))
                                                              .arg(got[i].mean)
                                                              .arg(mean)));
            QVERIFY(close(got[i].sd, std::sqrt(var)));
            QVERIFY2(
                std::abs(mean) > 1e-6, // the check is not comparing zeros
                qPrintable(QStringLiteral("%1: %2").arg(QString::fromStdString(got[i].label())).arg(mean)));
        }
    }

  private Q_SLOTS:
    void pathsMatchExplicitLoopsGpt2() { checkAgainstLoops(gpt2_); }
    void pathsMatchExplicitLoopsParallelResidual() { checkAgainstLoops(neox_); }

    // MLP nodes: first, in the middle and last, alone and with heads.
    void mlpPathsMatchExplicitLoops() {
        const std::vector<std::vector<PathNode>> paths = {
            {PathNode::mlp(1)},
            {PathNode::mlp(0), PathNode::attn(1, 2)},
            {PathNode::attn(0, 3), PathNode::mlp(1), PathNode::attn(2, 1)},
            {PathNode::mlp(1), PathNode::mlp(2)}, // (mlp0 -> mlp2 scores 0: both act token by token)
            {PathNode::attn(1, 1), PathNode::mlp(2)}};
        checkAgainstLoops(neox_, paths);
        auto sequential = paths;
        sequential.push_back({PathNode::attn(1, 0), PathNode::mlp(1)}); // a head feeding its own layer's MLP
        sequential.push_back(
            {PathNode::mlp(0), PathNode::attn(1, 3), PathNode::mlp(1), PathNode::attn(2, 2)});
        checkAgainstLoops(gpt2_, sequential);
    }

    // Heads at one source token: first, in the middle and last; the slot, the last token, indices from the
    // start and from the end; beside whole heads, MLPs and the embeddings.
    void tokenPathsMatchExplicitLoops() {
        namespace st = source_token;
        const std::vector<std::vector<PathNode>> paths = {
            {PathNode::attn(1, 2, st::kSlotToken)},
            {PathNode::attn(2, 1, -1)},
            {PathNode::attn(0, 1, -1), PathNode::attn(2, 3)},
            {PathNode::attn(0, 3), PathNode::attn(1, 0, st::kSlotToken), PathNode::attn(2, 2, -1)},
            {PathNode::attn(0, 2, 0), PathNode::mlp(1), PathNode::attn(2, 0, 3)},
            {PathNode::embed(), PathNode::attn(1, 1, 1), PathNode::attn(2, 3, -2)}};
        checkAgainstLoops(gpt2_, paths);
        checkAgainstLoops(neox_, paths);
    }

    // With token nodes, the wide beam scores every head at every distinct source token: the slot (token 1
    // in every pair here, so index 1 is not tried again), the last token, indices 0..4 (the shortest pair
    // has 5 tokens).
    void wideBeamWithTokensIsExhaustive() {
        namespace st = source_token;
        auto obs = matrix(300, kTerms);
        const auto& c = gpt2_.model->config();
        const std::vector<int> tokens = {st::kEveryToken, st::kSlotToken, -1, 0, 2, 3, 4};
        auto with_tokens = [&](const std::vector<std::vector<PathNode>>& paths) {
            std::vector<std::vector<PathNode>> out;
            for (const auto& p : paths) { // every node at every token, or whole
                std::vector<std::vector<PathNode>> grown = {{}};
                for (const auto& n : p) {
                    std::vector<std::vector<PathNode>> next;
                    for (const auto& g : grown)
                        for (int t : tokens) {
                            auto q = g;
                            q.push_back(PathNode::attn(n.layer, n.head, t));
                            next.push_back(q);
                        }
                    grown = next;
                }
                out.insert(out.end(), grown.begin(), grown.end());
            }
            return out;
        };
        PathSearchOptions o;
        o.beam_width = 100000, o.max_length = 2, o.token_nodes = true;
        auto s = beam_search_paths(*gpt2_.model, prompts(kClean), prompts(kCorrupt), obs, 0, o);
        QVERIFY(s.token_nodes);
        QCOMPARE(s.beams.size(), std::size_t{2});
        for (int k = 1; k <= 2; ++k) {
            const auto all = with_tokens(all_paths(c.n_layers, c.n_heads, k));
            auto want = score_paths(*gpt2_.model, prompts(kClean), prompts(kCorrupt), obs, 0, all);
            check_beam_level(s.beams[static_cast<std::size_t>(k - 1)], want);
        }
        QCOMPARE(s.beams[0].size(), std::size_t{12 * 7});
        const PatchedPath named{{PathNode::attn(0, 3, st::kSlotToken), PathNode::attn(2, 1, -1)}};
        QCOMPARE(named.label(), std::string("0.3@name -> 2.1@last"));
    }

    // The embeddings as a first node, before heads and MLPs; alone, their direct path, which is zero
    // unless the last tokens differ.
    void embedPathsMatchExplicitLoops() {
        const std::vector<std::vector<PathNode>> paths = {
            {PathNode::embed(), PathNode::attn(1, 2)},
            {PathNode::embed(), PathNode::attn(0, 1), PathNode::attn(2, 3)},
            {PathNode::embed(), PathNode::mlp(0), PathNode::attn(1, 3)},
            {PathNode::embed(), PathNode::attn(1, 1),
             PathNode::mlp(2)}}; // (embed -> mlp1 alone: 0, as above)
        checkAgainstLoops(gpt2_, paths);
        checkAgainstLoops(neox_, paths);

        auto obs = matrix(300, kTerms);
        const std::vector<PathNode> alone = {PathNode::embed()};
        auto same_last = score_paths(*gpt2_.model, prompts(kClean), prompts(kCorrupt), obs, 0, {alone});
        QCOMPARE(same_last[0].mean, 0.0);
        const std::vector<std::vector<int>> clean = {{5, 40, 77}, {8, 41, 2, 150}},
                                            corrupt = {{5, 40, 78}, {8, 41, 2, 151}};
        for (const TinyModel* t : {&gpt2_, &neox_}) {
            auto got = score_paths(*t->model, prompts(clean), prompts(corrupt), obs, 0, {alone});
            const double want = (loop_score(*t, clean[0], corrupt[0], kTerms, alone) +
                                 loop_score(*t, clean[1], corrupt[1], kTerms, alone)) /
                                2;
            QVERIFY2(close(got[0].mean, want),
                     qPrintable(QStringLiteral("%1 vs %2").arg(got[0].mean).arg(want)));
            QVERIFY(std::abs(want) > 1e-6);
        }
    }

    // With the embeddings (and MLPs) as nodes and a beam as wide as the model, the search scores every path:
    // those of heads (and MLPs), and each of them one node shorter after the embeddings.
    void wideBeamWithEmbeddingsIsExhaustive() {
        auto obs = matrix(300, kTerms);
        for (bool mlp : {false, true}) {
            const TinyModel& t = mlp ? gpt2_ : neox_;
            const auto& c = t.model->config();
            PathSearchOptions o;
            o.beam_width = 100000, o.max_length = 3, o.mlp_nodes = mlp, o.embed_nodes = true;
            auto s = beam_search_paths(*t.model, prompts(kClean), prompts(kCorrupt), obs, 0, o);
            QVERIFY(s.embed_nodes);
            QCOMPARE(s.beams.size(), std::size_t{3});
            for (int k = 1; k <= 3; ++k) {
                auto all = mlp ? all_paths_with_mlps(c, k) : all_paths(c.n_layers, c.n_heads, k);
                const auto shorter = k == 1 ? std::vector<std::vector<PathNode>>{{}}
                                     : mlp  ? all_paths_with_mlps(c, k - 1)
                                            : all_paths(c.n_layers, c.n_heads, k - 1);
                for (auto p : shorter) {
                    p.insert(p.begin(), PathNode::embed());
                    all.push_back(p);
                }
                auto want = score_paths(*t.model, prompts(kClean), prompts(kCorrupt), obs, 0, all);
                const auto& beam = s.beams[static_cast<std::size_t>(k - 1)];
                QCOMPARE(beam.size(), want.size());
                int embedded = 0;
                for (const auto& w : want) {
                    auto it = std::find_if(beam.begin(), beam.end(),
                                           [&](const PatchedPath& b) { return b.path == w.path; });
                    QVERIFY2(it != beam.end(), qPrintable(QString::fromStdString(w.label())));
                    QVERIFY(close(it->mean, w.mean));
                    embedded += w.path.front().is_embed() && std::abs(w.mean) > 1e-6;
                }
                if (k > 1) QVERIFY(embedded > 0); // the embeddings' paths are not all zeros
            }
        }
    }

    // With MLPs as nodes and a beam as wide as the model, the search scores every path of heads and MLPs.
    void wideBeamWithMlpsIsExhaustive() {
        auto obs = matrix(300, kTerms);
        for (const TinyModel* t : {&gpt2_, &neox_}) {
            const auto& c = t->model->config();
            PathSearchOptions o;
            o.beam_width = 100000, o.max_length = 3, o.mlp_nodes = true;
            auto s = beam_search_paths(*t->model, prompts(kClean), prompts(kCorrupt), obs, 0, o);
            QVERIFY(s.mlp_nodes);
            QCOMPARE(s.beams.size(), std::size_t{3});
            for (int k = 1; k <= 3; ++k) {
                const auto all = all_paths_with_mlps(c, k);
                auto want = score_paths(*t->model, prompts(kClean), prompts(kCorrupt), obs, 0, all);
                check_beam_level(s.beams[static_cast<std::size_t>(k - 1)], want);
            }
        }
        // 3 layers of 4 heads and an MLP: 15 single nodes; sequentially a head may also feed its own MLP.
        QCOMPARE(all_paths_with_mlps(neox_.model->config(), 1).size(), std::size_t{15});
        QCOMPARE(all_paths_with_mlps(neox_.model->config(), 2).size(), std::size_t{75});
        QCOMPARE(all_paths_with_mlps(gpt2_.model->config(), 2).size(), std::size_t{75 + 12});
    }

    // A one-head path is direct-path patching.
    void singleHeadsEqualDirectPathPatching() {
        auto obs = matrix(300, kTerms);
        const auto& c = gpt2_.model->config();
        auto singles = all_paths(c.n_layers, c.n_heads, 1);
        auto got = score_paths(*gpt2_.model, prompts(kClean), prompts(kCorrupt), obs, 0, singles);
        auto a = attribute_heads(*gpt2_.model, prompts(kClean), prompts(kCorrupt), obs,
                                 AttributionMethod::Patching);
        for (const auto& g : got)
            QVERIFY(close(g.mean, a.mean[0][g.path[0].layer][g.path[0].head].item<double>()));
        auto s = beam_search_paths(*gpt2_.model, prompts(kClean), prompts(kCorrupt), obs, 0, {1000, 1});
        QCOMPARE(s.beams.size(), std::size_t{1});
        QCOMPARE(s.beams[0].size(), singles.size());
        QCOMPARE(s.scored, singles.size());
        for (const auto& b : s.beams[0])
            QVERIFY(close(b.mean, a.mean[0][b.path[0].layer][b.path[0].head].item<double>()));
    }

    // With a beam as wide as the model, every path of every length is scored and ranked.
    void wideBeamIsExhaustive() {
        auto obs = matrix(300, kTerms);
        const auto& c = neox_.model->config();
        auto s = beam_search_paths(*neox_.model, prompts(kClean), prompts(kCorrupt), obs, 0, {100000, 3});
        QCOMPARE(s.beams.size(), std::size_t{3});
        for (int k = 1; k <= 3; ++k) {
            auto want = score_paths(*neox_.model, prompts(kClean), prompts(kCorrupt), obs, 0,
                                    all_paths(c.n_layers, c.n_heads, k));
            const auto& beam = s.beams[static_cast<std::size_t>(k - 1)];
            for (std::size_t i = 0; i + 1 < beam.size(); ++i)
                QVERIFY(std::abs(beam[i].mean) >= std::abs(beam[i + 1].mean));
            check_beam_level(beam, want);
        }
        QCOMPARE(s.ranked().size(), 12u + 16u * 3u + 64u);
    }

    // A narrow beam keeps the best extensions of the previous beam, and only those.
    void narrowBeamExtendsTheKeptPaths() {
        auto obs = matrix(300, kTerms);
        auto s = beam_search_paths(*gpt2_.model, prompts(kClean), prompts(kCorrupt), obs, 0, {3, 3});
        QCOMPARE(s.beams.size(), std::size_t{3});
        for (std::size_t k = 1; k < s.beams.size(); ++k) {
            std::vector<std::vector<PathNode>> ext;
            for (const auto& b : s.beams[k - 1])
                for (int l = 0; l < b.path.front().layer; ++l)
                    for (int h = 0; h < 4; ++h) {
                        auto p = b.path;
                        p.insert(p.begin(), PathNode::attn(l, h));
                        ext.push_back(p);
                    }
            auto want = score_paths(*gpt2_.model, prompts(kClean), prompts(kCorrupt), obs, 0, ext);
            std::sort(want.begin(), want.end(),
                      [](auto& a, auto& b) { return std::abs(a.mean) > std::abs(b.mean); });
            want.resize(std::min<std::size_t>(3, want.size()));
            QCOMPARE(s.beams[k].size(), want.size());
            for (std::size_t i = 0; i < want.size(); ++i) {
                QVERIFY(s.beams[k][i].path == want[i].path);
                QVERIFY(close(s.beams[k][i].mean, want[i].mean));
            }
        }
    }

    void badInputIsRefused() {
        auto obs = matrix(300, kTerms);
        auto expect = [](auto fn, const char* part) {
            try {
                fn();
                QFAIL("no error");
            } catch (const std::invalid_argument& e) {
                QVERIFY2(std::string(e.what()).find(part) != std::string::npos, e.what());
            }
        };
        expect(
            [&] {
                score_paths(*gpt2_.model, prompts({{1, 2, 3}}), prompts({{1, 2}}), obs, 0,
                            {{PathNode::attn(0, 0)}});
            },
            "3 and 2 tokens");
        // A misaligned pair is left out; the others are still averaged.
        auto clean = kClean, corrupt = kCorrupt;
        corrupt[1].push_back(7);
        auto some = score_paths(*gpt2_.model, prompts(clean), prompts(corrupt), obs, 0,
                                {{PathNode::attn(0, 1), PathNode::attn(2, 0)}});
        QCOMPARE(some[0].pairs, 2);
        const double want = (loop_score(gpt2_, kClean[0], kCorrupt[0], kTerms, some[0].path) +
                             loop_score(gpt2_, kClean[2], kCorrupt[2], kTerms, some[0].path)) /
                            2;
        QVERIFY(close(some[0].mean, want));
        expect(
            [&] {
                score_paths(*gpt2_.model, prompts(kClean), prompts(kCorrupt), obs, 0,
                            {{PathNode::mlp(1), PathNode::attn(1, 0)}});
            },
            "strictly increasing layers");
        expect(
            [&] {
                score_paths(*gpt2_.model, prompts(kClean), prompts(kCorrupt), obs, 0,
                            {{PathNode::attn(1, 0), PathNode::attn(1, 1)}});
            },
            "layer");
        expect(
            [&] {
                score_paths(*gpt2_.model, prompts(kClean), prompts(kCorrupt), obs, 0,
                            {{PathNode::attn(0, 1), PathNode::embed()}});
            },
            "only be a path's first node");
        // A source token some pair does not have (the second pair has 5 tokens), or a slot no prompt has.
        expect(
            [&] {
                score_paths(*gpt2_.model, prompts(kClean), prompts(kCorrupt), obs, 0,
                            {{PathNode::attn(0, 1), PathNode::attn(2, 0, 5)}});
            },
            "path node 2.0@5: a prompt pair of 5 tokens has no token 5");
        expect(
            [&] {
                score_paths(*gpt2_.model, prompts(kClean), prompts(kCorrupt), obs, 0,
                            {{PathNode::attn(0, 1, -6)}});
            },
            "path node 0.1@-6: a prompt pair of 5 tokens has no token -6");
        expect(
            [&] {
                auto c = prompts(kClean), k = prompts(kCorrupt);
                c.positions.assign(c.size(), -1);
                score_paths(*gpt2_.model, c, k, obs, 0, {{PathNode::attn(0, 1, source_token::kSlotToken)}});
            },
            "path node 0.1@name: the dataset's prompts have no slot token");
        expect(
            [&] {
                beam_search_paths(*gpt2_.model, prompts(kClean), prompts(kCorrupt), obs, 0, {0, 2});
            },
            "beam width");
        expect(
            [&] {
                beam_search_paths(*gpt2_.model, prompts(kClean), prompts(kCorrupt), obs, 3, {2, 2});
            },
            "observable");
    }

    void cancels() {
        auto obs = matrix(300, kTerms);
        int calls = 0;
        Progress stop = [&](double, std::string_view) { return ++calls < 3; };
        QVERIFY_THROWS_EXCEPTION(Cancelled, beam_search_paths(*gpt2_.model, prompts(kClean),
                                                              prompts(kCorrupt), obs, 0, {4, 3}, stop));
    }
};

QTEST_APPLESS_MAIN(TestPathPatching)
#include "tst_path_patching.moc"
