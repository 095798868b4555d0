// Options shared by the analysis subcommands: where the recipe comes from (--model with --observable, or
// --project) and the explicit setting overrides (--ln, --rho, --ln-dataset, --dataset, --position). What is
// not given comes from the project (analyses/settings.h has the rules).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "analyses/analysis.h"
#include "analyses/reports.h"
#include "analyses/tables.h"

namespace obsprop {
class Workspace;
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
    // resolves the settings with these overrides plus `more`. A bad --observable (syntax, or a name given
    // twice), --dataset, --ln-dataset or setting is a UsageError.
    analyses::Analysis open(const analyses::SettingsOverrides& more = {}) const;
    analyses::SettingsOverrides overrides() const;
};

// Prints a table as --json (array of row objects), --csv, or aligned text.
void print_table(const analyses::Table& t, const AnalysisOptions& o);

// References given on the command line, checked strictly; every failure is a UsageError naming the option.
// One head "L.H": two non-negative integers, nothing else ("-1.0", "1.4 ->", "1.4x" are refused).
analyses::HeadId parse_head_arg(const std::string& option, const std::string& text);
// A path of heads, "1.2 -> 3.4" (separators "->", ">" or ","; no MLP nodes).
std::vector<analyses::HeadId> parse_path_arg(const std::string& option, const std::string& text);
// The heads exist in the workspace's model, in order (a path: strictly increasing layers).
void check_heads_arg(const Workspace& w, const std::string& option, const std::string& text,
                     const std::vector<analyses::HeadId>& heads);
// A layer index of the workspace's model.
void check_layer_arg(const Workspace& w, const std::string& option, int layer);
// The name of an observable of the workspace (empty: the first observable's).
std::string observable_arg(const Workspace& w, const std::string& option, const std::string& name);

// A multiplier: a finite number with |x| <= max (CLI11 check; "--alpha: ..." on failure).
CLI::Validator finite_number(double max);

} // namespace obsprop::cli
