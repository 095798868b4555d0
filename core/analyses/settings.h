// The settings every analysis depends on, resolved in one place (resolve_settings): the project's own
// settings, then explicit overrides (command-line flags, the explorer's controls). The CLI, `obsprop
// export`, the explorer and its Export All all resolve them here, so they compute with the same inputs.
//
// The rules (the README repeats them for users):
//   LayerNorm mode  settings.ln_mode of the project ("approx" unless set); --ln / the LayerNorm box override.
//   ρ and exact     each observable's own LayerNorm dataset supplies ρ (means over its prompts of ‖resid‖ at
//   linearisation   the name slot per layer, and of the final residual at the last token) and, for the exact
//   points          treatment, the linearisation points (its first prompt's residuals). The LayerNorm dataset
//                   of an observable is, first match wins: an override for that observable (--ln-dataset
//                   OBS=D), an override for all (--ln-dataset D), the observable's "dataset" in the project,
//                   the project's first dataset. A fixed settings.rho (or --rho) replaces the estimates of
//                   the approximate treatment.
//   dataset         the prompts of data analyses (attribution, coupling fits, path search, steering, values):
//                   --dataset / the view's Dataset box, else the project's first dataset.
//   attribution     settings.attribution ("patching"); --method / the method box override.
//   svd_top_k       settings.svd_top_k (5); --top-k overrides.
//   position        where steering vectors are added: each vector's own position (a steering preset's
//                   "position"); --position overrides; "name" (the name slot), "last", a token index or
//                   "all" (every token).
//   attribution     the token whose next-token prediction attribution explains: settings.attribution_position
//   position        ("last" unless set); --position of obsprop attribute / the Heads view's "at token" box
//                   override; "name", "last" or a token index (not "all").
// Anything unknown (a mode, a method, a dataset or observable name) is an error naming it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "project/project.h"

namespace obsprop::analyses {

struct AnalysisSettings {
    std::string ln_mode = "approx";                 // none | approx | exact
    std::optional<double> rho;                      // fixed ρ for the approximate treatment
    std::map<std::string, std::string> ln_datasets; // observable name -> its LayerNorm dataset
    std::string dataset;                            // data analyses' prompts
    std::string attribution = "patching";           // patching | gradient | total
    std::string attribution_position = "last";      // the token whose prediction attribution explains
    int svd_top_k = 5;
    std::optional<std::string> position; // steering position for every vector (else each its own)
    int beam_width = 8;                  // path search: paths kept per length
    int max_length = 3;                  // path search: nodes per path
    bool mlp_nodes = false;              // path search: MLPs are nodes beside the heads
    bool embed_nodes = false;            // path search: the embeddings are a (first) node
    bool token_nodes = false;            // path search: heads at one source token are nodes too
    int top_paths = 100;                 // path ranking: two-head paths listed

    // The LayerNorm dataset of `observable` (throws std::invalid_argument for an unknown observable).
    const std::string& ln_dataset(const std::string& observable) const;
    bool operator==(const AnalysisSettings&) const = default;
};

// What a surface may set explicitly; everything left empty comes from the project.
struct SettingsOverrides {
    std::optional<std::string> ln_mode;
    std::optional<double> rho;
    std::optional<std::string> ln_dataset;                     // for every observable
    std::map<std::string, std::string> observable_ln_datasets; // per observable
    std::optional<std::string> dataset;
    std::optional<std::string> attribution;
    std::optional<std::string> attribution_position;
    std::optional<int> svd_top_k;
    std::optional<std::string> position;
    std::optional<int> beam_width, max_length, top_paths;
    std::optional<bool> mlp_nodes, embed_nodes, token_nodes;
};

// The project's settings with `o` applied, checked against the project's observables and datasets.
// Throws std::invalid_argument naming the bad value.
AnalysisSettings resolve_settings(const project::Project& p, const SettingsOverrides& o = {});
// `base` with `o` applied (the same checks).
AnalysisSettings apply_overrides(const project::Project& p, AnalysisSettings base,
                                 const SettingsOverrides& o);

// Parses "D" (every observable) or "OBS=D" (one) into `o`.
void parse_ln_dataset_option(const std::string& text, SettingsOverrides& o);

} // namespace obsprop::analyses
