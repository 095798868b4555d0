// The analyses: one function per report (reports.h), each computed from an Analysis context with its
// resolved settings. Every surface calls these and only presents what they return. Long calls report
// progress and stop (throwing obsprop::Cancelled) when the callback returns false.
#pragma once

#include <string>
#include <vector>

#include "analyses/analysis.h"
#include "analyses/corpus_options.h"
#include "analyses/reports.h"
#include "obsprop/progress.h"

namespace obsprop::analyses {

// Norms for every observable; the pair (a, b) defaults to the first two observables.
FeaturesReport features_report(const Analysis& a, const std::string& pair_a = {},
                               const std::string& pair_b = {}, const Progress& progress = {});
// Over settings().dataset's pairs with settings().attribution.
AttributionReport attribution_report(const Analysis& a, const Progress& progress = {});
// With fits over settings().dataset when `fits`.
CouplingReport coupling_report(const Analysis& a, const std::string& obs_a, const std::string& obs_b,
                               bool fits, const Progress& progress = {});
// Combines a features report computed for the pair (a, b) with an attribution report that holds both.
// Throws std::invalid_argument when they do not fit together.
CouplingHeadsReport coupling_heads(const FeaturesReport& f, const AttributionReport& at);
CouplingHeadsReport coupling_heads(const CouplingReport& c, const AttributionReport& at);
// Token scores of one head over settings().dataset.
CouplingScatterReport coupling_scatter_report(const Analysis& a, HeadId head, const std::string& obs_a,
                                              const std::string& obs_b, const Progress& progress = {});
// settings().svd_top_k entries per head.
SvdReport svd_report(const Analysis& a, const std::string& observable, const Progress& progress = {});
HeadDetailReport head_detail_report(const Analysis& a, HeadId head, const Progress& progress = {});
// Every two-head virtual head by feature norm; settings().top_paths listed.
PathsReport path_ranking_report(const Analysis& a, const std::string& observable,
                                const Progress& progress = {});
// Beam search by path patching over settings().dataset's pairs (beam_width, max_length).
PathsReport path_search_report(const Analysis& a, const std::string& observable,
                               const Progress& progress = {});
PathDetailReport path_detail_report(const Analysis& a, const std::vector<HeadId>& path,
                                    const std::string& observable, const Progress& progress = {});
// Over settings().dataset; settings().position (when set) replaces each vector's position.
SteeringReport steering_report(const Analysis& a, const std::vector<SteeringVector>& vectors,
                               const Progress& progress = {});
// The debiasing sweep over settings().dataset (settings().position as steering takes it). Throws
// std::invalid_argument for an unknown observable, raise == lower, no multiplier, a non-finite or absurd
// multiplier (|α| > 1e6), candidates < 1, or a layer the model does not have.
DebiasReport debias_report(const Analysis& a, const DebiasOptions& options, const Progress& progress = {});
DatasetReport dataset_report(const Analysis& a, const Progress& progress = {});
// Prompt `prompt` of the settings' dataset; `observable` empty: the first.
AttentionReport attention_report(const Analysis& a, HeadId head, const std::string& observable, int prompt,
                                 const Progress& progress = {});
// The feature of a head or of a path of heads and MLPs (earliest first) for `observable` (empty: the first)
// scored over a corpus file (docs/corpus.md). Throws obsprop::CorpusError for the file,
// std::invalid_argument for bad options, a path the model does not have (or the embeddings, which have no
// feature) or a LayerNorm dataset without both classes.
CorpusReport corpus_report(const Analysis& a, const std::vector<HeadId>& path, const std::string& observable,
                           const std::string& corpus_file, const CorpusOptions& options,
                           const Progress& progress = {});
// The tokens of a document per window under `options` for this model (corpus_report's windows). Throws
// std::invalid_argument when the prefix or the windows do not fit the model's context: a usage error.
int corpus_window(const Analysis& a, const CorpusOptions& options);

// The first observable's name, or `wanted` checked to exist. Throws std::invalid_argument.
std::string observable_or_first(const Analysis& a, const std::string& wanted);

} // namespace obsprop::analyses
