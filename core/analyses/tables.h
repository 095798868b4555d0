// Reports as tables and JSON: what the CLI prints (--csv, --json, aligned text), what `obsprop export` and
// the explorer's Export All write, and what the explorer's tables copy. One table per report; one CSV writer.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyses/reports.h"

namespace obsprop::analyses {

struct Table {
    std::string name; // file stem, e.g. "features"
    std::vector<std::string> columns;
    std::vector<std::vector<nlohmann::json>> rows; // numbers, strings or null

    std::string to_csv() const; // header line, then rows; numbers at full precision (17 digits), null empty
    nlohmann::json to_json() const; // [{column: value, ...}, ...]
};

// The one CSV quoting rule (RFC 4180): a field with a comma, quote or line break is quoted, quotes doubled.
std::string csv_field(const std::string& text);

// features: layer, head, norm_<obs> per observable, and for the compared pair cosine, coupling_ab,
// coupling_ba.
Table to_table(const FeaturesReport& r);
// attribution_<dataset> (attribution_<dataset>_at_<token> when not at the last token): layer, head,
// attribution_<obs> per observable.
Table to_table(const AttributionReport& r);
// coupling_<a>_<b>: layer, head, cosine, coupling_ab, coupling_ba, norm_a, norm_b, residual_ab, residual_ba
// (+ fit_slope, fit_intercept, fit_r2 with a dataset).
Table to_table(const CouplingReport& r);
// coupling_tokens_<l>_<h>_<a>_<b>: token, s1, s2; and its band: k, low, high.
Table to_table(const CouplingScatterReport& r);
Table band_table(const CouplingScatterReport& r);
// svd_<obs>: layer, head, rank, index, sigma, cosine, in_span.
Table to_table(const SvdReport& r);
// head_<l>_<h>: index, sigma, cos_<obs> per observable; head_<l>_<h>_ln_check: observable, dataset, cosine,
// expected.
Table to_table(const HeadDetailReport& r);
Table ln_check_table(const HeadDetailReport& r);
// paths_<obs>: rank, path, layer1, head1, layer2, head2, norm; or (search)
// path_search_<dataset>_<obs>: rank, path, length, layer1, head1, score, sd, pairs, feature_norm.
Table to_table(const PathsReport& r);
// path_<path>: observable, norm, cosine.
Table to_table(const PathDetailReport& r);
// Where a path's MLP nodes were linearised: "mlp1 at last: prompts 20+ 13-, t* 0.42; ..." (the dataset's
// prompt indices, as `obsprop dataset` numbers them).
std::string mlp_points_text(const std::vector<MlpPoint>& points);
// steering: observable, mean_before, mean_change, predicted; steering_prompts: prompt, <obs>_before,
// <obs>_after.
Table to_table(const SteeringReport& r);
Table prompts_table(const SteeringReport& r);
// debias_<raise>_<lower>: rank, layer, head, coupling (C(raise→lower)), steer_layer, vector_norm, alpha,
// change_raise, change_lower, predicted_raise, predicted_lower, separates (1 or 0), score.
Table to_table(const DebiasReport& r);
// dataset_<name>: index, template, name, gender, text, name_position, value_<obs> per observable, tokens; for
// a pair dataset: index, pair, side, span, text, slot, label, value_<obs> per observable, tokens.
Table to_table(const DatasetReport& r);

// attention_<L>_<H>_<dataset>_<prompt>: position, token, attention (from the last token), contribution.
Table to_table(const AttentionReport& r);

// corpus_<L>_<H>_<obs>: the maximum-activating examples: rank, document, line, position, token, score, value,
// before, after (the context's text on either side); corpus_<L>_<H>_<obs>_baselines: vector, norm,
// cos_feature, score_mean, score_sd, score_min, score_max, r, r2, slope, intercept; and
// corpus_<L>_<H>_<obs>_histogram: bin, lo, hi, count. corpus_tables gives all three.
Table to_table(const CorpusReport& r);
Table baselines_table(const CorpusReport& r);
Table histogram_table(const CorpusReport& r);
std::vector<Table> corpus_tables(const CorpusReport& r);

// JSON of the reports that are more than one table (the CLI's --json).
nlohmann::json to_json(const FeaturesReport& r);
nlohmann::json to_json(const CouplingScatterReport& r);
nlohmann::json to_json(const HeadDetailReport& r);
nlohmann::json to_json(const PathDetailReport& r);
nlohmann::json to_json(const SteeringReport& r);
// The sweep's settings, the unsteered means and the table's rows (separates as a boolean).
nlohmann::json to_json(const DebiasReport& r);
nlohmann::json to_json(const AttentionReport& r); // with the whole pattern
nlohmann::json to_json(const CorpusReport& r);    // everything, the vectors and every example's context

} // namespace obsprop::analyses
