// Tokenised prompts ready for a forward pass, and the per-prompt values of observables.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "model/transformer.h"
#include "obsprop/progress.h"

namespace obsprop {

// Prompts as token ids, with the token position that interventions and scores use for each
// (usually the name slot).
struct PromptBatch {
    std::vector<std::vector<int>> ids;
    std::vector<int> positions; // one per prompt, in [0, len)

    std::size_t size() const { return ids.size(); }
    model::Batch batch() const { return model::Batch::from(ids); }
    PromptBatch subset(const std::vector<int>& which) const;
    // Throws std::invalid_argument when empty, positions missing or out of range; with `every_token`, a
    // position of -1 (project::kEveryToken: every token of the prompt) is accepted too.
    void check(bool every_token = false) const;
};

// Each prompt cut after its token `read[i]`. In a causal model every activation at or before that token is
// unchanged by what follows it, so an analysis of the cut prompts' last positions is the analysis of the
// predictions at `read`. Positions are kept, clamped to the cut. Throws std::invalid_argument when `read`
// does not give one token inside each prompt.
PromptBatch cut_after(const PromptBatch& b, const std::vector<int>& read);

// The pairs (indices) whose clean and corrupted prompts have equally many tokens: the only ones an analysis
// that patches every position can use (a name may split into more tokens than its counterpart). Throws
// std::invalid_argument, naming `analysis` ("path patching"), when the lists differ in length, are empty,
// or no pair aligns.
std::vector<int> aligned_pairs(const PromptBatch& clean, const PromptBatch& corrupt,
                               const std::string& analysis);

// Observables as the rows of one matrix: N [K, vocab] (float32), with their names.
struct ObservableMatrix {
    std::vector<std::string> names;
    torch::Tensor n; // [K, vocab]
    int size() const { return static_cast<int>(names.size()); }
    int row(const std::string& name) const; // the row of the observable `name`; throws std::invalid_argument
};

// How many prompts to run in one forward pass: at most `most`, and few enough that one layer of the pass is
// about 2.5e9 multiply-adds (tens of milliseconds), so progress and cancellation between layers stay prompt
// on large models. At least 1.
int prompts_per_pass(const io::ModelConfig& c, const PromptBatch& prompts, int most = 32);

// Makes a forward pass with `o` report to `progress` before each of its layers (fraction begin + (end −
// begin)·layer/L, stage `stage`), so a long pass of a large model is cancelled between layers (Cancelled is
// thrown out of the forward) and its progress moves while it runs.
void report_each_layer(model::RunOptions& o, const model::Transformer& m, const Progress& progress,
                       double begin, double end, std::string stage);

// The covectors the observables put on ln_f's output, v_k = W_Uᵀ n_k: [K, d] float64. Reads only the
// unembedding rows of tokens some observable uses (W_U is the largest matrix of a model).
torch::Tensor unembedding_covectors(const model::Transformer& m, const ObservableMatrix& obs);

// n_k · z [N, K] (float64) from final residuals [N, d] (blocks.{L-1}.hook_resid_post at the last positions):
// ln_f, then the covectors W_Uᵀ n_k and n_k·b_U. The same numbers as n·(logits) without the [N, vocab]
// unembedding; keeps the autograd graph when `final` requires grad.
torch::Tensor observable_scores(const model::Transformer& m, const torch::Tensor& final,
                                const ObservableMatrix& obs);
// n_k · z without the constant n_k·b_U for final residuals r [..., d] → [..., K] (float64): ln_f, the
// unembedding rows the observables n [K, vocab] use, and Gemma 2's final soft-cap on those logits (when the
// model has one). The rows are read once, when the readout is made, so scoring many residuals (path
// patching, attribution) costs only ln_f and a small product each time.
class Readout {
  public:
    Readout(const model::Transformer& m, const torch::Tensor& n);
    torch::Tensor operator()(const torch::Tensor& r) const;

  private:
    const model::Transformer* m_;
    torch::Tensor rows_;    // no cap: the covectors W_Uᵀ n_k [K, d]; capped: the used W_U rows [U, d]
    torch::Tensor weights_; // capped: n over the used tokens [K, U]
    double cap_ = 0;
};
// Readout(m, obs.n)(r).
torch::Tensor unembed_scores(const model::Transformer& m, const torch::Tensor& r,
                             const ObservableMatrix& obs);

// n_k · z at each prompt's last position: [prompts, K] (float64). Runs in chunks of at most `chunk` prompts
// (fewer on large models, per prompts_per_pass).
torch::Tensor observable_values(const model::Transformer& m, const PromptBatch& prompts,
                                const ObservableMatrix& obs, const Progress& progress = {}, int chunk = 32);

// Residual norms the LayerNorm approximations need (DESIGN §3.2, §3.4), means over the prompts:
//   final_rho   ‖r‖ of the final residual (ln_f input) at the last position
//   ln1_rho[l]  ‖x‖ of blocks.{l}.hook_resid_pre at each prompt's `positions` token
//   ln2_rho[l]  ‖x‖ of the ln_2 input (resid_mid; resid_pre in parallel-residual models) at that token
//   post_*_rho  ‖A‖ of the sublayer output A entering Gemma 2/3's post-norms, at the last position
struct ResidualNorms {
    double final_rho = 0;
    std::vector<double> ln1_rho, ln2_rho;
    torch::Tensor final_residuals;   // [prompts, d] the final residual at the last position
    torch::Tensor resid_at_position; // [prompts, L, d] resid_pre at `positions`
    // The ln_2 input (resid_mid; resid_pre in parallel-residual models) [prompts, L, d] at `positions` and at
    // the last position: where MLP path nodes are linearised (PathNodeInput::ln2_inputs).
    torch::Tensor ln2_at_position, ln2_last;
    // Gemma 2/3: the attention and MLP outputs before their post-norms at the last position [prompts, L, d],
    // and the means of their norms per layer (empty for other models).
    torch::Tensor post_attn_last, post_mlp_last;
    std::vector<double> post_attn_rho, post_mlp_rho;
};
ResidualNorms residual_norms(const model::Transformer& m, const PromptBatch& prompts,
                             const Progress& progress = {});

} // namespace obsprop
