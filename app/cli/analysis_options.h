// Options shared by the analysis subcommands: where the recipe comes from (--model with --observable, or
// --project) and the explicit setting overrides (--ln, --rho, --ln-dataset, --dataset, --position). What is
// not given comes from the project (analyses/settings.h has the rules).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "analyses/analysis.h"
#include "analyses/tables.h"

namespace CLI {
class App;
}

namespace obsprop::cli {

struct AnalysisOptions {
    std::string model, project;
    std::vector<std::string> observables; // EXPR or name=EXPR
    std::string dataset;                  // empty: the project's rule
    std::string ln;                       // empty: the project's setting
    double rho = 0;                       // 0: not given
    std::vector<std::string> ln_datasets; // D or OBS=D
    std::string position;                 // empty: each steering vector's own
    bool json = false, csv = false;

    // Adds the recipe options, --ln/--rho/--ln-dataset (with_ln), --dataset (with_dataset), --json and --csv.
    void add_to(CLI::App* cmd, bool with_dataset = true, bool with_ln = true);
    // Opens the workspace (--project wins; --observable adds to, or replaces one of, its observables) and
    // resolves the settings with these overrides plus `more`.
    analyses::Analysis open(const analyses::SettingsOverrides& more = {}) const;
    analyses::SettingsOverrides overrides() const;
};

// Prints a table as --json (array of row objects), --csv, or aligned text.
void print_table(const analyses::Table& t, const AnalysisOptions& o);

} // namespace obsprop::cli
