// The analyses as tables: what the CLI prints with --csv, what "Export all" writes, and what the GUI's
// tables show. One function per analysis, all on a Workspace, so every surface gives the same numbers.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "obsprop/workspace.h"

namespace obsprop {

struct Table {
    std::string name;                               // file stem, e.g. "features"
    std::vector<std::string> columns;
    std::vector<std::vector<nlohmann::json>> rows;  // numbers, strings or null

    std::string to_csv() const;        // header line, then rows; numbers at full precision, null empty
    nlohmann::json to_json() const;    // [{column: value, ...}, ...]
};

struct TableOptions {
    std::string ln_mode = "none";  // none | approx | exact
    std::string dataset;           // for ρ estimates, attribution, coupling fits, values
    int top_k = 5;                 // SVD alignment entries per head
    std::size_t top_paths = 100;   // virtual heads listed
    std::string attribution = "patching";  // patching | gradient
    int beam_width = 8;            // path search: paths kept per length
    int max_length = 3;            // path search: heads per path
};

// layer, head, norm_<obs> for every observable, and for the first two: cosine, coupling_ab, coupling_ba.
Table features_table(const Workspace& w, const TableOptions& o, const Progress& progress = {});
// layer, head, attribution_<obs> per observable (averaged over the dataset's pairs).
Table attribution_table(const Workspace& w, const TableOptions& o, const Progress& progress = {});
// For two observables a, b: layer, head, cosine, coupling_ab, coupling_ba, and with a dataset the fit of
// s_b on s_a over its tokens: slope, intercept, r2.
Table coupling_table(const Workspace& w, const std::string& a, const std::string& b, const TableOptions& o,
                     const Progress& progress = {});
// layer, head, rank, index, sigma, cosine (top_k rows per head), and in_span.
Table svd_table(const Workspace& w, const std::string& observable, const TableOptions& o, const Progress& progress = {});
// rank, path ("l1.h1 -> l2.h2"), layer1, head1, layer2, head2, norm.
Table paths_table(const Workspace& w, const std::string& observable, const TableOptions& o, const Progress& progress = {});
// Beam search by path patching over the dataset's pairs (path_patching.h): rank, path, length, layer1, head1,
// score (mean drop of n·z), sd and pairs (the pairs whose prompts align), and feature_norm, the path's data-free feature norm (ln_mode,
// norm-comparison rule) to set beside it. Every kept path of every length, by |score|.
Table path_search_table(const Workspace& w, const std::string& observable, const TableOptions& o,
                        const Progress& progress = {});
// index, template, name, gender, text, name_position, then one value column per observable (n·z).
Table dataset_table(const Workspace& w, const std::string& dataset, const Progress& progress = {});

}  // namespace obsprop
