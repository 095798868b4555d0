#include "obsprop/path_patching.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

namespace obsprop {

using torch::Tensor;

std::string PatchedPath::label() const {
    std::string s;
    for (const auto& n : path)
        s += (s.empty() ? "" : " -> ") + n.label();
    return s;
}

namespace {

// Largest |effect| first; a NaN effect (from NaN weights) sorts last instead of breaking the ordering.
bool by_effect(const PatchedPath& a, const PatchedPath& b) {
    const double x = std::isnan(a.mean) ? -1.0 : std::abs(a.mean);
    const double y = std::isnan(b.mean) ? -1.0 : std::abs(b.mean);
    return x > y;
}

} // namespace

std::vector<PatchedPath> PathSearch::ranked() const {
    std::vector<PatchedPath> all;
    for (const auto& b : beams)
        all.insert(all.end(), b.begin(), b.end());
    std::stable_sort(all.begin(), all.end(), by_effect);
    return all;
}

namespace {

// What one prompt pair contributes, in float64, cut to the pair's length T.
struct PairData {
    Tensor resid_pre;  // [L, T, d] clean blocks.{l}.hook_resid_pre
    Tensor pattern;    // [L, H, T, T] clean attention patterns
    Tensor dz;         // [L, T, H, dh] z(corrupted) − z(clean), float32
    Tensor final_last; // [d] clean final residual at the last position
    Tensor attn_pre;   // Gemma 2/3: [L, T, d] clean attention output before the post-attention norm
    Tensor ln2_in;     // MLP nodes: [L, T, d] clean input of each MLP's norm (resid_mid; resid_pre parallel)
    Tensor dmlp;       // MLP nodes: [L, T, d] mlp_out(corrupted) − mlp_out(clean), float64
    Tensor dembed;     // embedding nodes: [T, d] blocks.0.hook_resid_pre (corrupted) − (clean), float64
    Tensor values;     // token nodes: [2, L, T, K, dh] the values of the clean (0) and corrupted (1) runs
    Tensor pattern_k;  // token nodes: [L, H, T, T] corrupted attention patterns
    int slot = -1;     // the clean prompt's slot token (PromptBatch::positions; -1: none)
    double base = 0;   // clean score (n·z without the constant n·b_U)
    std::int64_t length() const { return resid_pre.size(1); }
};

// What the pairs must provide beyond heads: MLP nodes (each MLP's input and output change), the embeddings
// (their change between the two prompts), heads at one source token (both runs' values, the corrupted
// patterns).
struct Needs {
    bool mlp = false, embed = false, tokens = false;
};

class PathPatcher {
  public:
    PathPatcher(const model::Transformer& m, const ObservableMatrix& obs, int which, Needs needs)
        : m_(m), c_(m.config()), readout_(m, row_of(obs, which)), needs_(needs) {}

    static Tensor row_of(const ObservableMatrix& obs, int which) {
        if (which < 0 || which >= obs.size())
            throw std::invalid_argument("no observable row " + std::to_string(which));
        return obs.n.narrow(0, which, 1);
    }

    // Runs both halves of the pairs and keeps what the path scores need.
    std::vector<PairData> collect(const PromptBatch& clean, const PromptBatch& corrupt,
                                  const Progress& progress) const {
        const std::vector<int> aligned = aligned_pairs(clean, corrupt, "path patching");
        if (aligned.size() < clean.size())
            return collect(clean.subset(aligned), corrupt.subset(aligned), progress);
        const int L = c_.n_layers;
        const std::int64_t H = c_.n_heads, dh = c_.d_head, d = c_.d_model;
        std::set<std::string> clean_names, corrupt_names;
        for (int l = 0; l < L; ++l) {
            clean_names.insert(model::hook_name(l, "hook_resid_pre"));
            clean_names.insert(model::hook_name(l, "attn.hook_pattern"));
            clean_names.insert(model::hook_name(l, "attn.hook_z"));
            corrupt_names.insert(model::hook_name(l, "attn.hook_z"));
            if (needs_.tokens) {
                clean_names.insert(model::hook_name(l, "attn.hook_v"));
                corrupt_names.insert(model::hook_name(l, "attn.hook_v"));
                corrupt_names.insert(model::hook_name(l, "attn.hook_pattern"));
            }
            if (needs_.mlp) {
                clean_names.insert(model::hook_name(l, ln2_hook()));
                clean_names.insert(model::hook_name(l, "hook_mlp_out"));
                corrupt_names.insert(model::hook_name(l, "hook_mlp_out"));
            }
        }
        if (needs_.embed) corrupt_names.insert(model::hook_name(0, "hook_resid_pre"));
        std::vector<PairData> out(clean.size());
        const std::size_t chunk = static_cast<std::size_t>(prompts_per_pass(c_, clean, 16));
        for (std::size_t a = 0; a < clean.size(); a += chunk) {
            report(progress, static_cast<double>(a) / static_cast<double>(clean.size()),
                   "path patching: runs");
            std::vector<int> which;
            for (std::size_t i = a; i < std::min(clean.size(), a + chunk); ++i)
                which.push_back(static_cast<int>(i));
            auto cb = clean.subset(which), kb = corrupt.subset(which);
            model::ActivationCache cc, kc;
            model::RunOptions co, ko; // no logits: only residuals, patterns and z are needed
            co.cache = clean_names, ko.cache = corrupt_names;
            co.final_residual_only = ko.final_residual_only = true;
            co.last_logits_only = ko.last_logits_only = true;
            const double n = static_cast<double>(clean.size()), mid = (a + 0.5 * which.size()) / n;
            report_each_layer(co, m_, progress, a / n, mid, "path patching: runs");
            report_each_layer(ko, m_, progress, mid, (a + which.size()) / n, "path patching: runs");
            Tensor finals = m_.forward(cb.batch(), co, &cc); // [n, d] at the last positions
            m_.forward(kb.batch(), ko, &kc);
            for (std::size_t j = 0; j < which.size(); ++j) {
                const auto T = static_cast<std::int64_t>(cb.ids[j].size());
                const auto row = static_cast<std::int64_t>(j);
                PairData& p = out[a + j];
                p.resid_pre = torch::empty({L, T, d}, torch::kDouble);
                p.pattern = torch::empty({L, H, T, T}, torch::kDouble);
                p.dz = torch::empty({L, T, H, dh});
                if (c_.post_norms) p.attn_pre = torch::empty({L, T, d}, torch::kDouble);
                p.slot = cb.positions.empty() ? -1 : cb.positions[j];
                if (needs_.tokens) {
                    p.values = torch::empty({2, L, T, c_.n_kv_heads, dh}, torch::kDouble);
                    p.pattern_k = torch::empty({L, H, T, T}, torch::kDouble);
                }
                if (needs_.mlp) {
                    p.ln2_in = torch::empty({L, T, d}, torch::kDouble);
                    p.dmlp = torch::empty({L, T, d}, torch::kDouble);
                }
                for (int l = 0; l < L; ++l) {
                    if (c_.post_norms) {
                        const model::LayerWeights lw = m_.layer(l, model::kOutput);
                        const Tensor z = cc.at(model::hook_name(l, "attn.hook_z"))[row].narrow(0, 0, T);
                        p.attn_pre[l].copy_(at::linear(z.reshape({T, H * dh}), lw.W_O, lw.b_O));
                    }
                    p.resid_pre[l].copy_(cc.at(model::hook_name(l, "hook_resid_pre"))[row].narrow(0, 0, T));
                    p.pattern[l].copy_(
                        cc.at(model::hook_name(l, "attn.hook_pattern"))[row].narrow(1, 0, T).narrow(2, 0, T));
                    p.dz[l].copy_(kc.at(model::hook_name(l, "attn.hook_z"))[row].narrow(0, 0, T) -
                                  cc.at(model::hook_name(l, "attn.hook_z"))[row].narrow(0, 0, T));
                    if (needs_.tokens) {
                        const std::string v = model::hook_name(l, "attn.hook_v");
                        p.values[0][l].copy_(cc.at(v)[row].narrow(0, 0, T));
                        p.values[1][l].copy_(kc.at(v)[row].narrow(0, 0, T));
                        p.pattern_k[l].copy_(
                            kc.at(model::hook_name(l, "attn.hook_pattern"))[row].narrow(1, 0, T).narrow(2, 0,
                                                                                                        T));
                    }
                    if (needs_.mlp) {
                        const std::string out = model::hook_name(l, "hook_mlp_out");
                        p.ln2_in[l].copy_(cc.at(model::hook_name(l, ln2_hook()))[row].narrow(0, 0, T));
                        p.dmlp[l].copy_(kc.at(out)[row].narrow(0, 0, T).to(torch::kDouble) -
                                        cc.at(out)[row].narrow(0, 0, T).to(torch::kDouble));
                    }
                }
                if (needs_.embed) {
                    const std::string e = model::hook_name(0, "hook_resid_pre");
                    p.dembed = kc.at(e)[row].narrow(0, 0, T).to(torch::kDouble) - p.resid_pre[0];
                }
                p.final_last = finals[row].to(torch::kDouble);
                p.base = score(p.final_last.unsqueeze(0))[0].item<double>();
            }
        }
        return out;
    }

    // Output changes δ₁ = o(corrupted) − o(clean) of every head of layers [0, layers), at every position
    // ([layers·H, T, d]) or at the last one only ([layers·H, d]); float64.
    Tensor head_deltas(const PairData& p, int layers, bool last_only) const {
        const std::int64_t H = c_.n_heads, dh = c_.d_head, d = c_.d_model;
        const std::int64_t T = p.dz.size(1);
        std::vector<Tensor> parts;
        for (int l = 0; l < layers; ++l) {
            Tensor dz = last_only ? p.dz[l].narrow(0, T - 1, 1) : p.dz[l]; // [T', H, dh]
            Tensor WO = m_.layer(l, model::kOutput).W_O.view({d, H, dh});
            parts.push_back(post_diff(p, l, at::einsum("the,dhe->htd", {dz, WO}).to(torch::kDouble),
                                      last_only)); // [H, T', d]
        }
        Tensor out = at::cat(parts, 0).to(torch::kDouble);
        return last_only ? out.select(1, 0) : out;
    }

    // δ₁ of a path's first node at every position [T, d], float64: a head's output change, an MLP's, or
    // the embeddings'.
    Tensor first_delta(const PairData& p, const PathNode& n) const {
        if (n.is_embed()) return p.dembed;
        if (n.is_mlp()) return p.dmlp[n.layer];
        return head_delta(p, n);
    }

    // δ₁ of one head (at every source token, or at its own) at every position [T, d], float64.
    Tensor head_delta(const PairData& p, const PathNode& n) const {
        if (n.at_token()) return token_deltas(p, n.layer, n.head, {source_of(p, n)}, false).select(0, 0);
        const std::int64_t H = c_.n_heads, dh = c_.d_head, d = c_.d_model;
        Tensor WOh = m_.layer(n.layer, model::kOutput).W_O.view({d, H, dh}).select(1, n.head);
        return post_diff(p, n.layer, at::matmul(p.dz[n.layer].select(1, n.head), WOh.t()).to(torch::kDouble),
                         false);
    }

    // What heads of layer l read from single source positions changes between the runs, as it reaches the
    // residual stream: (A_k[q,s]·v_k[s] − A_c[q,s]·v_c[s])·W_O^h for head `head` (every head when -1) and
    // each position s of `sources`, at every query q or the last only. [heads·S, T', d] (rows head-major),
    // float64.
    Tensor token_deltas(const PairData& p, int l, int head, const std::vector<std::int64_t>& sources,
                        bool last_only) const {
        const std::int64_t H = c_.n_heads, K = c_.n_kv_heads, dh = c_.d_head, d = c_.d_model;
        const std::int64_t T = p.length();
        const Tensor idx = torch::tensor(sources, torch::kLong);
        auto read = [&](const Tensor& values, const Tensor& pattern) { // [heads, S, T', dh]
            Tensor v = values.index_select(0, idx);                    // [S, K, dh]
            if (K != H) v = v.repeat_interleave(H / K, 1);             // [S, H, dh]
            Tensor A = pattern.index_select(2, idx);                   // [H, T, S]
            if (last_only) A = A.narrow(1, T - 1, 1);
            if (head >= 0) v = v.narrow(1, head, 1), A = A.narrow(0, head, 1);
            return at::einsum("hqs,she->hsqe", {A, v});
        };
        const Tensor dz = read(p.values[1][l], p.pattern_k[l]) - read(p.values[0][l], p.pattern[l]);
        Tensor WO = m_.layer(l, model::kOutput).W_O.view({d, H, dh}).to(torch::kDouble);
        if (head >= 0) WO = WO.narrow(1, head, 1);
        const Tensor out = at::einsum("hsqe,dhe->hsqd", {dz, WO});
        return post_diff(p, l, out.reshape({-1, out.size(2), d}), last_only);
    }

    // The position of node n's source token in pair p. Throws std::invalid_argument when the pair's prompt
    // has no such token.
    std::int64_t source_of(const PairData& p, const PathNode& n) const {
        const int s = source_token::resolve(n.token, static_cast<int>(p.length()), p.slot);
        if (s >= 0) return s;
        if (n.token == source_token::kSlotToken)
            throw std::invalid_argument("path node " + n.label() +
                                        ": the dataset's prompts have no slot token to read at");
        throw std::invalid_argument("path node " + n.label() + ": a prompt pair of " +
                                    std::to_string(p.length()) + " tokens has no token " +
                                    std::to_string(n.token));
    }

    // A change δ [..., T', d] of layer l's attention output as it reaches the residual stream: through Gemma
    // 2/3's post-attention norm at the clean output, N(A + δ) − N(A) (δ itself for other models). T' = T, or
    // 1 for the last position only.
    Tensor post_diff(const PairData& p, int l, const Tensor& delta, bool last_only) const {
        if (!c_.post_norms) return delta;
        const std::int64_t T = p.attn_pre.size(1);
        const Tensor A = last_only ? p.attn_pre[l].narrow(0, T - 1, 1) : p.attn_pre[l];
        const Tensor g = m_.weights().layers[static_cast<std::size_t>(l)].post_attn_w.to(torch::kDouble);
        return model::apply_norm(c_, A + delta, g, g) - model::apply_norm(c_, A, g, g);
    }

    // n·z (without n·b_U) of final residuals r [C, d] at the last position -> [C].
    Tensor score(const Tensor& r) const { return readout_(r).select(-1, 0); }

    // The change of layer l's MLP output, as it reaches the residual stream, when δ [C, T', d] is added to
    // its clean input x (rows `from`.. of p.ln2_in[l]): F(x + δ) − F(x), F = (post-norm ∘) MLP ∘ ln_2.
    // Written as differences so that the two wide products run in float32 on changes, not on values (no
    // cancellation): Δu = ln_2(x + δ) − ln_2(x) in float64; Δa = W_in Δu (and W_gate Δu) in float32; the
    // activation's change act(a + Δa) − act(a) in float64 at the clean pre-activations a (computed in
    // float32: they only place the change); W_out times that change in float32 (the biases cancel).
    Tensor mlp_change(const PairData& p, int l, const Tensor& delta, std::int64_t from) const {
        const model::LayerWeights w = m_.layer(l, model::kMlp);
        auto D = [](const Tensor& t) { return t.to(torch::kDouble); };
        auto F32 = [](const Tensor& t) { return t.to(torch::kFloat); };
        const Tensor x = p.ln2_in[l].narrow(0, from, delta.size(1)); // [T', d]
        const Tensor g = D(w.ln2_w), b = w.ln2_b.defined() ? D(w.ln2_b) : Tensor();
        const Tensor u = model::apply_norm(c_, x, g, b); // [T', d]
        const Tensor du =
            F32(model::apply_norm(c_, x.unsqueeze(0) + delta, g, b) - u.unsqueeze(0)); // [C, T', d]
        auto pre = [&](const Tensor& W, const Tensor& bias) { // clean pre-activation and its change
            // The clean point only places the activation's change: float32 suffices for it too.
            const Tensor a =
                D(at::linear(F32(u), F32(W), bias.defined() ? F32(bias) : Tensor())).unsqueeze(0);
            return std::pair{a, D(at::matmul(du, F32(W).t()))};
        };
        const auto [up, dup] = pre(w.W_in, w.b_in);
        Tensor h0, h1;
        if (c_.gated_mlp) {
            const auto [gate, dgate] = pre(w.W_gate, w.b_gate);
            h0 = model::activate(c_.activation, gate) * up;
            h1 = model::activate(c_.activation, gate + dgate) * (up + dup);
        } else {
            h0 = model::activate(c_.activation, up);
            h1 = model::activate(c_.activation, up + dup);
        }
        const Tensor change = D(at::matmul(F32(h1 - h0), F32(w.W_out).t())); // [C, T', d]
        if (!c_.post_norms) return change;
        const Tensor out = D(at::linear(F32(h0), F32(w.W_out), w.b_out.defined() ? F32(w.b_out) : Tensor()));
        const Tensor pw = D(w.post_mlp_w);
        return model::apply_norm(c_, out + change, pw, pw) - model::apply_norm(c_, out, pw, pw);
    }

    // Carries output changes δ [C, T, d] through the nodes of `suffix` (earliest first) and returns the
    // last node's change at the last position [C, d] (δ's own last row when `suffix` is empty).
    Tensor carry(const PairData& p, Tensor delta, const std::vector<PathNode>& suffix) const {
        const std::int64_t T = delta.size(1), d = c_.d_model, H = c_.n_heads, dh = c_.d_head;
        for (std::size_t i = 0; i < suffix.size(); ++i) {
            const auto& node = suffix[i];
            // With no head after this node, nothing moves between positions any more: only the last one
            // reaches the logits.
            const bool last = std::none_of(suffix.begin() + static_cast<std::ptrdiff_t>(i) + 1, suffix.end(),
                                           [](const PathNode& n) { return !n.is_mlp(); });
            if (node.is_mlp()) { // position by position
                if (last && delta.size(1) > 1) delta = delta.narrow(1, delta.size(1) - 1, 1);
                delta = mlp_change(p, node.layer, delta, T - delta.size(1));
                continue;
            }
            const model::LayerWeights lw = m_.layer(node.layer, model::kValue | model::kOutput);
            Tensor g = lw.ln1_w.to(torch::kDouble), b = lw.ln1_b.to(torch::kDouble);
            Tensor x = p.resid_pre[node.layer]; // [T, d]
            Tensor dln = model::apply_norm(c_, x.unsqueeze(0) + delta, g, b) -
                         model::apply_norm(c_, x, g, b).unsqueeze(0);                            // [C, T, d]
            Tensor dv = at::matmul(dln, lw.Wv[c_.kv_head_of(node.head)].to(torch::kDouble).t()); // [C, T, dh]
            Tensor A = p.pattern[node.layer][node.head];                                         // [T, T]
            if (node.at_token()) { // only the source token's value reaches the head
                Tensor only = torch::zeros({T}, torch::kDouble);
                only[source_of(p, node)] = 1.0;
                A = A * only;
            }
            if (last) A = A.narrow(0, T - 1, 1); // only the last query
            Tensor dz = at::matmul(A, dv);       // [C, T or 1, dh]
            Tensor WOh = lw.W_O.view({d, H, dh}).select(1, node.head).to(torch::kDouble); // [d, dh]
            delta = post_diff(p, node.layer, at::matmul(dz, WOh.t()), last);
        }
        return delta.select(1, delta.size(1) - 1);
    }

    // Scores of output changes carried to the logits: base − score(r + δ_last), δ_last [C, d].
    Tensor drop(const PairData& p, const Tensor& delta_last) const {
        return p.base - score(p.final_last.unsqueeze(0) + delta_last);
    }

  private:
    // Where an MLP reads the residual stream: after its layer's attention, or beside it (parallel).
    const char* ln2_hook() const { return c_.parallel_residual ? "hook_resid_pre" : "hook_resid_mid"; }

    const model::Transformer& m_;
    const io::ModelConfig& c_;
    Readout readout_; // the one observable scored
    Needs needs_;
};

void check_path(const io::ModelConfig& c, const std::vector<PathNode>& path) {
    if (path.empty()) throw std::invalid_argument("an empty path has nothing to patch");
    validate_path(c, path, true);
}

bool has_mlp(const std::vector<PathNode>& path) {
    return std::any_of(path.begin(), path.end(), [](const PathNode& n) { return n.is_mlp(); });
}

bool has_token(const std::vector<PathNode>& path) {
    return std::any_of(path.begin(), path.end(), [](const PathNode& n) { return n.at_token(); });
}

bool any_path(const std::vector<std::vector<PathNode>>& paths, bool (*has)(const std::vector<PathNode>&)) {
    return std::any_of(paths.begin(), paths.end(), has);
}

// Mean and standard deviation over pairs of per-pair scores [C, P] -> PatchedPaths.
void summarise(const Tensor& per_pair, std::vector<PatchedPath>& out) {
    Tensor mean = per_pair.mean(1);
    Tensor sd = per_pair.size(1) > 1 ? per_pair.std(1) : torch::zeros_like(mean);
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i].mean = mean[static_cast<std::int64_t>(i)].item<double>();
        out[i].sd = sd[static_cast<std::int64_t>(i)].item<double>();
        out[i].pairs = static_cast<int>(per_pair.size(1));
    }
}

void keep_best(std::vector<PatchedPath>& v, int width) {
    std::stable_sort(v.begin(), v.end(), by_effect);
    if (static_cast<int>(v.size()) > width) v.resize(static_cast<std::size_t>(width));
}

} // namespace

std::vector<PatchedPath> score_paths(const model::Transformer& m, const PromptBatch& clean,
                                     const PromptBatch& corrupt, const ObservableMatrix& obs, int which,
                                     const std::vector<std::vector<PathNode>>& paths,
                                     const Progress& progress) {
    for (const auto& p : paths)
        check_path(m.config(), p);
    torch::NoGradGuard ng;
    PathPatcher pp(m, obs, which,
                   {any_path(paths, has_mlp),
                    any_path(paths, [](const std::vector<PathNode>& p) { return p.front().is_embed(); }),
                    any_path(paths, has_token)});
    auto pairs = pp.collect(clean, corrupt, sub_progress(progress, 0, 0.5));
    for (const auto& pd : pairs) // every source token exists in every pair, before any is scored
        for (const auto& path : paths)
            for (const auto& n : path)
                if (n.at_token()) pp.source_of(pd, n);
    const auto P = static_cast<std::int64_t>(pairs.size()), C = static_cast<std::int64_t>(paths.size());
    Tensor per_pair = torch::empty({C, P}, torch::kDouble);
    for (std::int64_t q = 0; q < P; ++q) {
        report(progress, 0.5 + 0.5 * static_cast<double>(q) / static_cast<double>(P),
               "path patching: scores");
        const auto& pd = pairs[static_cast<std::size_t>(q)];
        for (std::int64_t i = 0; i < C; ++i) {
            const auto& path = paths[static_cast<std::size_t>(i)];
            Tensor d1 = pp.first_delta(pd, path[0]).unsqueeze(0); // [1, T, d]
            std::vector<PathNode> rest(path.begin() + 1, path.end());
            per_pair[i][q] = pp.drop(pd, pp.carry(pd, d1, rest))[0];
        }
    }
    std::vector<PatchedPath> out(static_cast<std::size_t>(C));
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i].path = paths[i];
    summarise(per_pair, out);
    report(progress, 1.0, "path patching: scores");
    return out;
}

namespace {

// The source tokens the beam tries (token nodes): the slot, the last token and every index below the shortest
// pair's length, each only where the positions it names, pair by pair, are not those of an earlier one.
std::vector<int> source_tokens(const std::vector<PairData>& pairs) {
    std::int64_t shortest = std::numeric_limits<std::int64_t>::max();
    for (const auto& p : pairs)
        shortest = std::min(shortest, p.length());
    std::vector<int> candidates{source_token::kSlotToken, -1};
    for (int k = 0; k < shortest; ++k)
        candidates.push_back(k);
    std::vector<int> out;
    std::set<std::vector<int>> seen;
    for (int t : candidates) {
        std::vector<int> at;
        for (const auto& p : pairs)
            at.push_back(source_token::resolve(t, static_cast<int>(p.length()), p.slot));
        if (std::find(at.begin(), at.end(), -1) != at.end() || !seen.insert(at).second) continue;
        out.push_back(t);
    }
    return out;
}

// The candidates of one beam level, in the rows of the stacked first deltas: every head of layers
// [0, head_layers) (head-major), the same heads at each source token (head-major, then token), every MLP,
// the embeddings.
struct Rows {
    int H = 0, L = 0, head_layers = 0;
    std::vector<int> tokens;
    bool mlp = false, embed = false;
    std::int64_t head(int l, int h) const { return static_cast<std::int64_t>(l) * H + h; }
    std::int64_t token(int l, int h, std::size_t t) const {
        return static_cast<std::int64_t>(head_layers) * H +
               head(l, h) * static_cast<std::int64_t>(tokens.size()) + static_cast<std::int64_t>(t);
    }
    std::int64_t mlp_row(int l) const {
        return static_cast<std::int64_t>(head_layers) * H * static_cast<std::int64_t>(1 + tokens.size()) + l;
    }
    std::int64_t embed_row() const { return mlp_row(mlp ? L : 0); }

    // Calls add(node, row) for every candidate.
    template <typename F> void each(F add) const {
        for (int l = 0; l < head_layers; ++l)
            for (int h = 0; h < H; ++h)
                add(PathNode::attn(l, h), head(l, h));
        for (int l = 0; l < head_layers; ++l)
            for (int h = 0; h < H; ++h)
                for (std::size_t t = 0; t < tokens.size(); ++t)
                    add(PathNode::attn(l, h, tokens[t]), token(l, h, t));
        if (mlp)
            for (int l = 0; l < L; ++l)
                add(PathNode::mlp(l), mlp_row(l));
        if (embed) add(PathNode::embed(), embed_row());
    }

    // Every candidate's first delta in pair p, at every position [rows, T, d] or the last one [rows, d].
    Tensor deltas(const PathPatcher& pp, const PairData& p, bool last_only) const {
        std::vector<Tensor> parts{pp.head_deltas(p, head_layers, last_only)};
        if (!tokens.empty()) {
            std::vector<std::int64_t> at;
            for (int t : tokens)
                at.push_back(source_token::resolve(t, static_cast<int>(p.length()), p.slot));
            for (int l = 0; l < head_layers; ++l) {
                const Tensor d = pp.token_deltas(p, l, -1, at, last_only); // [H·S, T', d]
                parts.push_back(last_only ? d.select(1, 0) : d);
            }
        }
        const std::int64_t T = p.length();
        if (mlp) parts.push_back(last_only ? p.dmlp.select(1, T - 1) : p.dmlp);
        if (embed) parts.push_back(last_only ? p.dembed.narrow(0, T - 1, 1) : p.dembed.unsqueeze(0));
        return at::cat(parts, 0);
    }
};

} // namespace

PathSearch beam_search_paths(const model::Transformer& m, const PromptBatch& clean,
                             const PromptBatch& corrupt, const ObservableMatrix& obs, int which,
                             const PathSearchOptions& opts, const Progress& progress) {
    if (opts.beam_width < 1) throw std::invalid_argument("the beam width must be at least 1");
    if (opts.max_length < 1) throw std::invalid_argument("paths need at least one node (max length >= 1)");
    torch::NoGradGuard ng;
    const auto& c = m.config();
    const int L = c.n_layers, H = c.n_heads;
    // A path visits each layer once per kind of node: at most L heads, as many MLPs when they count, and the
    // embeddings first when they count.
    const int K = std::min(opts.max_length, (opts.mlp_nodes ? 2 * L : L) + (opts.embed_nodes ? 1 : 0));
    PathPatcher pp(m, obs, which, {opts.mlp_nodes, opts.embed_nodes, opts.token_nodes});
    auto pairs = pp.collect(clean, corrupt, sub_progress(progress, 0, 0.3));
    const auto P = static_cast<std::int64_t>(pairs.size());

    PathSearch s;
    s.observable = obs.names.at(static_cast<std::size_t>(which));
    s.pairs = static_cast<int>(P);
    s.pairs_given = static_cast<int>(clean.size());
    s.mlp_nodes = opts.mlp_nodes;
    s.embed_nodes = opts.embed_nodes;
    s.token_nodes = opts.token_nodes;
    Rows rows{H,
              L,
              L,
              opts.token_nodes ? source_tokens(pairs) : std::vector<int>{},
              opts.mlp_nodes,
              opts.embed_nodes};
    // Level 1: every head's direct path (at every token and at each source token), every MLP's, the
    // embeddings'.
    {
        std::vector<PatchedPath> level;
        rows.each([&](const PathNode& n, std::int64_t) { level.push_back({{n}, 0, 0}); });
        Tensor per_pair = torch::empty({static_cast<std::int64_t>(level.size()), P}, torch::kDouble);
        for (std::int64_t q = 0; q < P; ++q) {
            report(progress, 0.3, "path patching: single nodes");
            const auto& pd = pairs[static_cast<std::size_t>(q)];
            per_pair.select(1, q).copy_(pp.drop(pd, rows.deltas(pp, pd, true)));
        }
        summarise(per_pair, level);
        s.scored += level.size();
        keep_best(level, opts.beam_width);
        s.beams.push_back(std::move(level));
    }
    // Longer paths: prepend every node that may come before each kept path's first node.
    for (int k = 2; k <= K; ++k) {
        const auto& prev = s.beams.back();
        rows.head_layers = 1; // candidate heads come from the layers before the latest kept first node
        for (const auto& b : prev)
            rows.head_layers = std::max(rows.head_layers, std::min(L, b.path.front().layer + 1));
        std::vector<PatchedPath> level;
        std::vector<std::int64_t> first; // index in `level` of each kept path's first candidate
        std::vector<Tensor> picks;       // each kept path's candidates' rows in the stacked deltas
        for (const auto& b : prev) {
            first.push_back(static_cast<std::int64_t>(level.size()));
            std::vector<std::int64_t> idx;
            rows.each([&](const PathNode& n, std::int64_t row) {
                if (!precedes(c, n, b.path.front())) return;
                PatchedPath e;
                e.path.push_back(n);
                e.path.insert(e.path.end(), b.path.begin(), b.path.end());
                level.push_back(std::move(e));
                idx.push_back(row);
            });
            picks.push_back(torch::tensor(idx, torch::kLong));
        }
        if (level.empty()) break;
        Tensor per_pair = torch::empty({static_cast<std::int64_t>(level.size()), P}, torch::kDouble);
        const double lo = 0.3 + 0.7 * (k - 2) / std::max(1, K - 1),
                     hi = 0.3 + 0.7 * (k - 1) / std::max(1, K - 1);
        for (std::int64_t q = 0; q < P; ++q) {
            const auto& pd = pairs[static_cast<std::size_t>(q)];
            const Tensor all = rows.deltas(pp, pd, false); // [rows, T, d]
            for (std::size_t i = 0; i < prev.size(); ++i) {
                const double f =
                    (static_cast<double>(q) + static_cast<double>(i) / static_cast<double>(prev.size())) /
                    static_cast<double>(P);
                report(progress, lo + (hi - lo) * f, "path patching: beam search");
                const std::int64_t n = picks[i].numel();
                if (n == 0) continue;
                per_pair.narrow(0, first[i], n)
                    .select(1, q)
                    .copy_(pp.drop(pd, pp.carry(pd, all.index_select(0, picks[i]), prev[i].path)));
            }
        }
        summarise(per_pair, level);
        s.scored += level.size();
        keep_best(level, opts.beam_width);
        s.beams.push_back(std::move(level));
    }
    report(progress, 1.0, "path patching: beam search");
    return s;
}

std::vector<double> path_feature_norms(const model::Transformer& m, const Observable& obs,
                                       const std::vector<PatchedPath>& paths, FeatureOptions opts,
                                       const PathInputs& inputs) {
    opts.drop_earliest_rho = true;
    std::vector<double> out;
    for (const auto& p : paths) {
        // The embeddings reach the next node through the residual stream alone: an embedding-first path's
        // covector on them is the rest's feature, and the embeddings' own direct path has v_final. A head at
        // one source token has the head's feature.
        std::vector<PathNode> rest = whole_nodes(p.path);
        if (!rest.empty() && rest.front().is_embed()) rest.erase(rest.begin());
        if (rest.empty()) {
            const FinalCovector f = final_covector(m, obs, opts); // ln_f is the earliest norm: its ρ drops
            const double scale = f.mode == LnMode::Approximate ? f.rho : 1.0;
            out.push_back(scale * f.v_final.to(torch::kDouble).norm().item<double>());
            continue;
        }
        out.push_back(
            compute_path_feature(m, obs, rest, opts, inputs ? inputs(rest) : std::vector<PathNodeInput>{})
                .norm);
    }
    return out;
}

} // namespace obsprop
