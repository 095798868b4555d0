// The reports: one immutable result type per analysis, made by one core function each (run.h) and
// presented as they are by every surface: the CLI's tables and JSON, `obsprop export`, the explorer's views,
// Export All and the figures. Plain C++ (no LibTorch, no Qt). Every report names the settings it was
// computed with, so a surface can say what it shows and how to reproduce it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analyses/grid.h"

namespace obsprop::analyses {

// An observable as parsed: its terms (token id, weight) and the LayerNorm dataset its features used.
struct ObservableInfo {
    std::string name, expr;
    std::vector<int> token_ids;
    std::vector<std::string> pieces; // the raw vocabulary string of each token, e.g. "▁she" or "Ġshe"
    std::vector<double> weights;
    std::vector<std::string> warnings;
    std::string ln_dataset;
};

// What the LayerNorm treatment used for one observable: the mode, and ρ of ln_f (approximate: the mean final
// residual norm over its dataset, or the fixed ρ).
struct LnUsed {
    std::string mode;     // none | approx | exact
    std::string dataset;  // empty for none
    double final_rho = 0; // approx only
};

// Data-free feature norms of every head, per observable (norm-comparison rule), and for a pair (a, b) the
// cosine and the coupling coefficients both ways.
struct FeaturesReport {
    std::string ln_mode;
    std::vector<ObservableInfo> observables;
    std::vector<LnUsed> ln;      // per observable
    std::vector<HeadGrid> norms; // per observable
    std::string a, b;            // the compared pair; empty with fewer than two observables
    HeadGrid cosine, coupling_ab, coupling_ba;
    double unembed_cosine = 0; // the pair's cos(W_Uᵀn_a, W_Uᵀn_b) (NaN when either is zero); 0 without a pair
};

// Attribution of each observable to heads, averaged over the dataset's prompt pairs. The total effect also
// attributes to every layer's MLP; it uses only the pairs whose prompts align (pairs of pairs_given).
struct AttributionReport {
    std::string method; // patching | gradient | total
    std::string dataset;
    std::string position = "last"; // the token whose prediction is attributed: last, name or a token index
    int pairs = 0;                 // pairs averaged over
    int pairs_given = 0;           // pairs in the dataset
    std::vector<std::string> observables;
    std::vector<HeadGrid> mean;           // per observable
    std::vector<std::vector<double>> mlp; // total only: per observable, per layer; empty otherwise
};

// Coupling of two observables per head (Theorem 2's quantities) and, with a dataset, the least-squares fit of
// s_b = y_b·x on s_a = y_a·x over its tokens.
struct CouplingReport {
    std::string ln_mode, a, b;
    std::string dataset; // empty: no fits
    HeadGrid cosine, coupling_ab, coupling_ba, norm_a, norm_b, residual_ab, residual_ba;
    HeadGrid fit_slope, fit_intercept, fit_r2; // empty without a dataset
};

// Every head's coupling coefficient C(a→b) beside its ratio of attributions b/a (Theorem 2 predicts the
// ratio from C); heads whose ratio is not finite are left out.
struct CouplingHeadsReport {
    std::string a, b, method, dataset;
    struct Point {
        HeadId head;
        double coupling = 0, attribution_a = 0, attribution_b = 0, ratio = 0;
    };
    std::vector<Point> points;
};

// One head's token scores over a dataset with the fitted and predicted lines and the Theorem-2 band: for
// s₁ = k, s₂ ∈ k·C ± √(r² − k²/‖y_a‖²)·‖y_b − C·y_a‖ with r the mean token norm.
struct CouplingScatterReport {
    std::string ln_mode, a, b, dataset;
    HeadId head;
    std::vector<double> s1, s2;                      // per token
    double slope = 0, intercept = 0, r2 = 0;         // least squares s₂ ≈ slope·s₁ + intercept
    double predicted = 0;                            // C(a→b)
    double norm_a = 0, residual_norm = 0;            // ‖y_a‖, ‖y_b − C y_a‖
    double mean_token_norm = 0;                      // r
    std::vector<double> band_k, band_low, band_high; // the band sampled over the tokens' s₁ range
    double half_width_at_zero = 0;                   // r·‖y_b − C y_a‖
};

// SVD alignment for every head: the top_k right singular vectors by |cos(y, v_i)|.
struct SvdReport {
    std::string ln_mode, observable;
    int top_k = 0;
    struct Entry {
        HeadId head;
        int rank = 0, index = 0;
        double sigma = 0, cosine = 0, in_span = 0;
    };
    std::vector<Entry> entries; // heads in order, top_k each
};

// One head in detail: its OV singular values, every observable's feature against every right singular
// vector, and the LayerNorm check (cos between the exact-LN and approximate-LN feature at the mean residual
// of the observable's LayerNorm dataset).
struct HeadDetailReport {
    HeadId head;
    std::vector<double> sigma; // descending
    std::vector<std::string> observables;
    std::vector<std::vector<double>> cosine; // [observable][i], signed
    // The LayerNorm check per observable at every prompt of its LayerNorm dataset (name slot): the mean and
    // the smallest cos(exact-LN feature, approximate-LN feature) over those tokens.
    std::vector<double> ln_check;              // [observable] mean
    std::vector<double> ln_check_min;          // [observable]
    std::vector<int> ln_check_tokens;          // [observable]
    std::vector<std::string> ln_check_dataset; // [observable]
    double expected_ln_cosine = 0;             // obsprop::expected_ln_cosine: the mean for random directions
};

// A path of heads with its numbers: a ranked two-head virtual head (value = ‖y‖) or a path found by the
// beam search (value = mean patching drop of n·z, with its spread and the data-free norm beside it).
struct PathEntry {
    std::vector<HeadId> nodes; // earliest first
    double value = 0;
    double sd = 0;
    int pairs = 0;
    double feature_norm = 0;
};

struct PathsReport {
    std::string ln_mode, observable;
    bool patching = false; // false: data-free ranking by feature norm; true: beam search by path patching
    std::string dataset;   // patching only
    int beam_width = 0, max_length = 0;
    bool mlp_nodes = false;   // patching only: MLPs were candidates
    bool embed_nodes = false; // patching only: the embeddings were candidates
    bool token_nodes = false; // patching only: heads at one source token were candidates
    int pairs = 0, pairs_given = 0;
    std::uint64_t scored = 0;
    std::vector<PathEntry> paths; // best first
};

// Where an MLP node of a path was linearised (DESIGN §3.5): between two prompts of the observable's
// LayerNorm dataset at the node's token, at u* = (1−t*)u₋ + t*u₊ of the MLP's inputs.
struct MlpPoint {
    HeadId node;                                        // mlpL
    std::string token;                                  // "name" (a head follows the node) or "last"
    int prompt_plus = -1, prompt_minus = -1;            // rows of the dataset's prompts
    double value_plus = 0, value_minus = 0, t_star = 0; // v·MLP(u₊), v·MLP(u₋)
};

// One path's feature vector for every observable: norms (norm-comparison rule) and cosines with the chosen
// observable's.
struct PathDetailReport {
    std::string ln_mode, observable;
    std::vector<HeadId> nodes;
    std::vector<std::string> observables;
    std::vector<double> norms, cosines;
    std::vector<std::vector<MlpPoint>> mlp_points; // per observable: one per MLP node, in path order
};

// Why a steering multiplier α is refused ("is not a finite number", "is absurd (|α| must be at most 1e6)"),
// or empty when it is accepted: the one rule the command line, a project's steering presets and every view
// apply.
std::string multiplier_problem(double alpha);

// A steering vector: the feature of a head or path for an observable, added at blocks.{layer}.hook_resid_pre.
struct SteeringVector {
    std::string observable;
    std::vector<HeadId> path;
    int layer = -1;                // -1: the path's first layer
    std::string position = "name"; // name | last | all | a token index
    bool normalize = true;
    double alpha = 0;
    std::string label() const; // "head 1.4 (subj)", "path 0.1 -> 1.4 (subj)"
};

// Steering with several vectors at once over a dataset: per observable the mean value before, the exact mean
// change and the linear prediction; per prompt the values before and after.
struct SteeringReport {
    std::string ln_mode, dataset;
    std::vector<SteeringVector> vectors; // as applied (positions resolved, layers filled in)
    std::vector<double> vector_norms;    // ‖α-free vector‖ as added (1 when normalised)
    std::vector<std::string> observables;
    std::vector<double> mean_before, mean_change, predicted; // [observable]
    bool exact = true;                                       // false: only `predicted` is filled
    std::vector<std::string> prompts;
    std::vector<std::vector<int>> positions;        // [vector][prompt] token steered; -1: every token
    std::vector<std::vector<double>> before, after; // [prompt][observable]
};

// The debiasing sweep (docs/debias.md): steering vectors that raise one observable while lowering another.
// Every head is ranked by its data-free coupling coefficient C(raise→lower), most negative first; the first
// `candidates` heads are swept: the feature of `feature_of` at each head, added at the head's layer (or
// `layer`) for every multiplier α, each run exactly as steering_report runs it over settings().dataset.
struct DebiasOptions {
    std::string raise, lower;
    std::string feature_of;                    // empty: raise
    int candidates = 8;                        // heads swept, most negative coupling first
    std::optional<std::vector<double>> alphas; // not given: default_debias_alphas(normalize)
    bool normalize = false;                    // unit vectors
    int layer = -1;                            // -1: each head's own layer
};

// The multipliers swept when none are given: -20, -5, -1, 1, 5, 20 for unit vectors (α is then the length
// added to the residual stream); -50, -20, -5, 5, 20, 50 for the raw feature vectors.
std::vector<double> default_debias_alphas(bool normalize);

struct DebiasReport {
    std::string ln_mode, dataset, raise, lower, feature_of;
    std::string position; // where the vectors were added (name, last or an index)
    bool normalize = false;
    int layer = -1; // as asked: -1 each head's own
    int candidates = 0;
    std::vector<double> alphas;
    double mean_raise = 0, mean_lower = 0; // unsteered means over the dataset
    HeadGrid coupling;                     // C(raise→lower) of every head: the ranking
    struct Row {
        int rank = 0; // 1: the most negative coupling
        HeadId head;
        double coupling = 0;
        int layer = 0;          // blocks.{layer}.hook_resid_pre
        double vector_norm = 0; // ‖vector‖ as added, before α (1 when normalised)
        double alpha = 0;
        double change_raise = 0, change_lower = 0;       // exact mean changes
        double predicted_raise = 0, predicted_lower = 0; // linear predictions
        bool separates = false;                          // change_raise > 0 and change_lower < 0
        double score = 0;                                // change_raise − change_lower
    };
    std::vector<Row> rows; // candidates by rank, each with every α in the order given
};

// A dataset's prompts with their tokens, name slots and every observable's value n·z at the last token.
// One head's attention on one prompt, and what each source token sends to an observable through the head at
// the last position: contribution_s = p_{q,s} · (y·ln_1(x_s)) with y the head's feature at its input (the
// observable through W_O^h and W_V^h, the final norm treated per the settings). Their sum is the head's
// direct-path part of the observable at the query, up to the value bias's constant and the final norm's
// linearisation.
struct AttentionReport {
    HeadId head;
    std::string dataset, observable, ln_mode;
    int prompt = 0;
    int query = 0;                            // the position read: the prompt's last token
    std::vector<std::string> tokens;          // the prompt's tokens as text
    std::vector<std::vector<double>> pattern; // [query][key], the head's attention
    std::vector<double> contribution;         // [key] at the query
    double total = 0;
};

// A pair dataset's rows: template_index is the pair, gender "clean" or "corrupt", name the prompt's
// differing span and name_position its slot (project/dataset.h).
struct DatasetReport {
    std::string dataset;
    bool pairs = false; // a pair dataset
    std::vector<std::string> observables;
    struct Row {
        int index = 0, template_index = 0, name_position = 0;
        std::string name, gender, text, label;
        std::vector<std::string> tokens;
        std::vector<double> values; // [observable]
    };
    std::vector<Row> rows;
};

// Corpus-scale validation of the feature of one head, or of a path of heads and MLPs, for one observable
// (docs/corpus.md): every token of a corpus scored by s = y·x at the feature's hook — the input of the first
// node: blocks.{l}.hook_resid_pre for a head, as the coupling scatter scores tokens; the ln_2 input for a
// leading MLP (hook_resid_mid, or hook_resid_pre in a parallel-residual model) — beside the observable's
// value n·logits at the token, streamed. The two baselines are trained on the observable's LayerNorm dataset
// at the same hook, at the token the first node reads there (the name slot; the last token for an MLP that
// no head follows) (female = 1, male = 0; a pair dataset's clean prompts = 1): the mean difference μ₁ − μ₀
// and an L2-regularised logistic probe.
struct CorpusReport {
    std::vector<HeadId> path; // one head, or a path (earliest first)
    std::string hook;         // where the tokens are scored
    std::string observable, ln_mode, ln_dataset;
    std::string corpus, format, prefix; // the file, "text" | "jsonl", the text before every window
    int max_tokens = 0, context = 0;    // tokens of a document per window, context shown per side
    std::uint64_t documents = 0, windows = 0, tokens = 0;
    double value_mean = 0, value_sd = 0; // the observable's value over the tokens
    // The feature's scores: bin i = [hist_lo + i·hist_width, hist_lo + (i+1)·hist_width).
    double hist_lo = 0, hist_width = 0;
    std::vector<std::uint64_t> hist_counts;
    // feature, mean_difference, probe: the vector and how its corpus score predicts the observable.
    struct Vector {
        std::string name;
        double norm = 0;
        double cos_feature = 0;  // cos(this, the feature)
        double mean = 0, sd = 0; // of its score over the corpus
        double min = 0, max = 0;
        double r = 0, r2 = 0;            // Pearson's r and r² of (score, value) over the corpus
        double slope = 0, intercept = 0; // value ≈ slope·score + intercept
        std::vector<double> values;      // the vector itself [d_model]
    };
    std::vector<Vector> vectors;
    double cos_mean_difference_probe = 0;
    int train_positive = 0, train_negative = 0; // the baselines' prompts
    double probe_lambda = 0;                    // λ as given (rows scaled to unit mean squared norm)
    double probe_accuracy = 0;                  // on its training prompts
    int probe_iterations = 0;
    struct Example {
        int rank = 0;
        std::uint64_t document = 0, line = 0, position = 0;
        double score = 0, value = 0;
        std::vector<std::string> tokens;
        std::vector<double> scores;
        int focus = 0;
    };
    std::vector<Example> examples; // by the feature's score, highest first
};

} // namespace obsprop::analyses
