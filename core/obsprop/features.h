// Feature vectors by observable propagation (DESIGN §3.2–3.5), data-free except for the residuals and MLP
// inputs that the exact LayerNorm and MLP treatments are evaluated at.
//
// Conventions: column vectors, the maths of DESIGN §3. For head h of layer l, W_V^h = Wv[h] (d_head×d) and
// W_O^h = W_O.view(d, H, dh)[:, h, :] (d×d_head); W_OV^h = W_O^h W_V^h is never formed: a covector v is
// pulled back as W_V^hᵀ(W_O^hᵀ v), for all heads of a layer in one batched product.
//
// Where the vectors live. A head's (or a path's) feature is a covector on blocks.{l}.hook_resid_pre of its
// (earliest) layer l: score an activation x there by y·x. Attention always reads ln_1 of the block input,
// in sequential and parallel-residual (GPT-NeoX) models alike, and a head's output is added to the residual
// stream that every later layer's resid_pre contains, so a path h₁ → h₂ (layer l₁ < l₂) composes the same way
// in both kinds of model: y = J₁ᵀ W_OV^{h₁ᵀ} J₂ᵀ W_OV^{h₂ᵀ} v. The kinds differ only for MLP nodes: an MLP
// reads ln_2 of resid_mid (after its own layer's attention) in a sequential model but ln_2 of resid_pre in a
// parallel one, so head(l) → mlp(l) is a valid path only in a sequential model, and a path starting with an
// MLP node lives at resid_mid (sequential) or resid_pre (parallel) of that layer.
//
// Biases (b_V, b_O, b_in, b_out, β, b_U) add constants only and never enter a feature vector.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <torch/types.h>

#include "obsprop/layernorm.h"
#include "obsprop/mlp.h"
#include "obsprop/observable.h"
#include "obsprop/progress.h"
#include "obsprop/source_token.h"

namespace obsprop::model {
class Transformer;
}
namespace obsprop::io {
struct ModelConfig;
}

namespace obsprop {

struct FeatureOptions {
    // ln_f, between the final residual and the unembedding (§3.2). A final logit soft-cap (Gemma 2) is
    // linearised at the logits of final_residual when final_ln is Approximate or Exact, and ignored with
    // None.
    LnMode final_ln = LnMode::None;
    double final_rho = 0;         // Approximate: estimate of ‖r‖ at the last position; <= 0 means √d
    torch::Tensor final_residual; // Exact: r₀ [d], the final residual (ln_f input) of one prompt's last token
    double boundary_tol = 1e-7;   // Exact: stop projecting when |g| <= tol·(1 + |g(r₀)|)
    int boundary_max_iter = 200;

    // LayerNorms in front of attention heads (ln_1) and MLP nodes (ln_2) (§3.4).
    LnMode block_ln = LnMode::None;
    std::vector<double> rho_ln1; // Approximate: ln_1 input norm per layer (n_layers entries) or empty
    std::vector<double> rho_ln2; // Approximate: ln_2 input norm per layer, or empty
    double default_rho = 0;      // where no per-layer ρ is given; <= 0 means √d (i.e. √d/ρ = 1)
    torch::Tensor residuals;     // Exact: [n_layers, d] ln_1 input (resid_pre) per layer at the token read
    torch::Tensor residuals_ln2; // Exact, MLP nodes: [n_layers, d] ln_2 input per layer

    // Gemma 2/3's norms of a sublayer's output before it joins the residual stream (post_attention_layernorm,
    // post_feedforward_layernorm), treated per block_ln: a covector y on the residual stream is pulled back
    // to the sublayer's output A (Σ_h W_O^h z^h + b_O, or the MLP's output).
    //   Approximate: (√d/ρ) γ ⊙ y with ρ = ‖A‖ (per layer; empty or <= 0: default_rho, else √d)
    //   Exact: the RMSNorm Jacobian at A (rows of post_attn_points / post_mlp_points, [n_layers, d])
    // The points are taken where the observable reads, the last token (see docs/rmsnorm-decoders.md).
    std::vector<double> rho_post_attn, rho_post_mlp;
    torch::Tensor post_attn_points, post_mlp_points;

    // Norm-comparison rule: the earliest LayerNorm that is treated (ln_1/ln_2 of the first node, or ln_f when
    // block LayerNorms are ignored) uses ρ = 1 (approximate: factor √d; exact: 1/s replaced by √d), so
    // norms of heads in different layers are comparable. Off for vectors used to score activations.
    bool drop_earliest_rho = false;
};

// The observable pulled back through the unembedding and ln_f.
struct FinalCovector {
    torch::Tensor v_unembed; // [d] float32, W_Uᵀ n
    torch::Tensor v_final;   // [d] float32, the covector on the final residual (ln_f treated)
    LnMode mode = LnMode::None;
    double rho = 0; // Approximate: the ρ used (1 when dropped by the norm-comparison rule)
    std::optional<BoundaryProjection> boundary; // Exact: the projection of r₀ onto {g = 0}
};

// W_Uᵀ n, from the rows of W_U the observable uses (double accumulation), [d] float32.
torch::Tensor unembed_covector(const model::Transformer& m, const Observable& obs);
// v_final per opts.final_ln (ignores drop_earliest_rho). Throws std::invalid_argument for missing inputs.
FinalCovector final_covector(const model::Transformer& m, const Observable& obs, const FeatureOptions& opts);

// Direct-path features of every head.
struct FeatureSet {
    std::string observable; // the observable's name
    LnMode final_ln = LnMode::None, block_ln = LnMode::None;
    bool dropped_earliest_rho = false;
    FinalCovector final; // v_U, v_final (as used: with ρ_f dropped if ln_f was the earliest LN)
    torch::Tensor
        head_inputs;     // [L, H, d] W_V^hᵀ W_O^hᵀ v_final: the feature at the head's input (ln_1 output)
    torch::Tensor heads; // [L, H, d] the feature at blocks.{l}.hook_resid_pre (ln_1 treated)
    torch::Tensor norms; // [L, H] ‖heads‖
};

FeatureSet compute_head_features(const model::Transformer& m, const Observable& obs,
                                 const FeatureOptions& opts = {}, const Progress& progress = {});
// The same for several observables in one pass over the weights (each layer's W_O and W_V are read once,
// which is what bounds the time on a large model).
std::vector<FeatureSet> compute_head_features(const model::Transformer& m, const std::vector<Observable>& obs,
                                              const FeatureOptions& opts = {}, const Progress& progress = {});

// The batched primitive: W_V^hᵀ(W_O^hᵀ v) for every head h of `layer`; v [..., d] → [..., H, d] (float32).
torch::Tensor head_pullback(const model::Transformer& m, int layer, const torch::Tensor& v);

// Which LayerNorm of a block.
enum class BlockLn { Ln1, Ln2 };
// Which post-norm of a Gemma 2/3 block: after attention or after the MLP.
enum class PostNorm { Attn, Mlp };
// Pulls covectors y [..., d] on the residual stream back through `layer`'s post-norm to the sublayer output,
// per opts.block_ln (y itself for models without post-norms). `point` ([d]) overrides the exact linearisation
// point.
torch::Tensor pull_back_post_norm(const model::Transformer& m, int layer, PostNorm which,
                                  const torch::Tensor& y, const FeatureOptions& opts,
                                  const torch::Tensor& point = {});
// The post-norm's Jacobian applied to changes δ [..., d] of its input at A ([..., d] broadcastable): J(A)δ.
torch::Tensor post_norm_jvp(const model::Transformer& m, int layer, PostNorm which, const torch::Tensor& A,
                            const torch::Tensor& delta);
// Pulls covectors y [..., d] at the output of `layer`'s ln_1/ln_2 back to its input, per opts.block_ln.
// `residual` ([d] or broadcastable) overrides opts.residuals/residuals_ln2 for Exact; `earliest` applies the
// norm-comparison rule when opts.drop_earliest_rho is set.
torch::Tensor pull_back_block_ln(const model::Transformer& m, int layer, BlockLn which,
                                 const torch::Tensor& y, const FeatureOptions& opts, bool earliest,
                                 const torch::Tensor& residual = {});

// pull_back_block_ln(Ln1) for all layers in one batched call: y [L, ..., d], leading dimension = layer.
torch::Tensor pull_back_ln1_all_layers(const model::Transformer& m, const torch::Tensor& y,
                                       const FeatureOptions& opts, bool earliest);

// A node of a path: an attention head, or (head < 0) a layer's MLP.
struct PathNode {
    int layer = 0;
    int head = 0;
    // An attention head restricted to one source token (source_token.h; kEveryToken: none). Path patching
    // only: the head's feature vector is the same at every token.
    int token = source_token::kEveryToken;
    bool is_mlp() const { return head == -1; }
    // The token and position embeddings (blocks.0.hook_resid_pre): a path's first node, in path patching
    // only.
    bool is_embed() const { return head == -2; }
    bool at_token() const { return token != source_token::kEveryToken; }
    static PathNode attn(int layer, int head, int token = source_token::kEveryToken) {
        return {layer, head, token};
    }
    static PathNode mlp(int layer) { return {layer, -1}; }
    static PathNode embed() { return {-1, -2}; }
    PathNode whole() const { return {layer, head}; } // without the source token
    std::string label() const;                       // "13.11", "13.11@name", "mlp13", "embed"
    bool operator==(const PathNode&) const = default;
};

// "13.3 -> 17.14", "13.3>17.14", "13.3, mlp14, 17.14", "embed -> 0.3", "6.6@name -> 9.1@last" (nodes "L.H",
// "mlpL", "L.mlp" or "embed"; a head may carry a source token "@name", "@last" or "@K", K an integer,
// negative from the end; layers and heads are non-negative integers; exactly one separator "->", ">", "," or
// white space between two nodes, none before the first or after the last). Throws std::invalid_argument
// naming the column.
std::vector<PathNode> parse_path(std::string_view text);
// Checks layers, heads and order (earliest first): heads need strictly increasing layers; an MLP may follow
// a head of its own layer only in a sequential-residual model. The embedding (only first) and heads at a
// source token are accepted only where `patching` (path patching: they have no feature vector of their own
// and cannot be steered). Throws std::invalid_argument.
void validate_path(const io::ModelConfig& cfg, const std::vector<PathNode>& path, bool patching = false);
// The path with every source token dropped (the nodes whose feature vectors it composes).
std::vector<PathNode> whole_nodes(std::vector<PathNode> path);
// Whether node a may come directly before node b in a path (validate_path's order rule).
bool precedes(const io::ModelConfig& cfg, const PathNode& a, const PathNode& b);

// What a path node needs beyond the weights.
struct PathNodeInput {
    torch::Tensor residual;        // Exact: the input of the node's LayerNorm [d]; undefined means the row
                                   // `layer` of FeatureOptions::residuals (heads) / residuals_ln2 (MLPs)
    torch::Tensor u_plus, u_minus; // MLP nodes: MLP input (after ln_2) on a positive / negative prompt
    // MLP nodes, instead of u_plus/u_minus: the ln_2 input (hook_resid_mid; hook_resid_pre in a
    // parallel-residual model) at the node's token on P prompts, [P, d]. With v the covector arriving from
    // the nodes downstream, the inputs u = ln_2(x) with the largest and the smallest v·MLP(u) become u₊ and
    // u₋ (a prompt on each side of the MLP's decision boundary when the prompts reach both sides), and the
    // exact ln_2 treatment is taken at x* = (1−t*)x₋ + t*x₊ unless `residual` is given.
    torch::Tensor ln2_inputs;
    torch::Tensor post_point; // Exact, Gemma 2/3: the node's post-norm input [d]; undefined means the row
                              // `layer` of FeatureOptions::post_attn_points / post_mlp_points
};

struct PathFeature {
    std::vector<PathNode> path;
    torch::Tensor feature; // [d] float32, y at `hook`
    double norm = 0;
    std::string hook; // blocks.{l₁}.hook_resid_pre (hook_resid_mid for a leading MLP, sequential)
    FinalCovector final;
    std::vector<MlpLinearisation> mlp; // one per MLP node, in path order
};

// y = J₁ᵀ W_OV^{h₁ᵀ} ⋯ J_kᵀ W_OV^{h_kᵀ} v_final (MLP nodes linearised), path earliest first. `inputs` is
// empty or has one entry per node. Arithmetic in float64.
PathFeature compute_path_feature(const model::Transformer& m, const Observable& obs,
                                 const std::vector<PathNode>& path, const FeatureOptions& opts = {},
                                 const std::vector<PathNodeInput>& inputs = {});
// The same from a covector v [d] on the residual stream after the last node (instead of an observable; ln_f
// is not applied and `final` is left empty).
PathFeature pull_back_path(const model::Transformer& m, const torch::Tensor& v,
                           const std::vector<PathNode>& path, const FeatureOptions& opts = {},
                           const std::vector<PathNodeInput>& inputs = {});

// ρ (Approximate) of ln_1/ln_2 of `layer`, per opts (per-layer value, else default_rho, else √d).
double block_rho(const FeatureOptions& opts, const io::ModelConfig& cfg, int layer, BlockLn which);

} // namespace obsprop
