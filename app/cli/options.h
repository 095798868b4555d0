// Options shared by the analysis subcommands: where the recipe comes from (--model with --observable, or
// --project) and the explicit setting overrides (--ln, --rho, --ln-dataset, --dataset, --position). What is
// not given comes from the project (analyses/settings.h has the rules; engine/analysis_options.h applies
// them). Registration only, no LibTorch: the front end parses with these too.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "obsprop/steering_limits.h"

namespace obsprop::cli {

struct AnalysisOptions {
    std::string model, project;
    std::vector<std::string> observables; // EXPR or name=EXPR
    std::string dataset;                  // empty: the project's rule
    std::string ln;                       // empty: the project's setting
    double rho = 0;                       // 0: not given
    std::vector<std::string> ln_datasets; // D or OBS=D
    std::string position;                 // empty: each steering vector's own
    std::vector<std::string> pairs;       // NAME=FILE: pair datasets added to the recipe (project create)
    bool json = false, csv = false;

    // Adds the recipe options, --ln/--rho/--ln-dataset (with_ln), --dataset (with_dataset), --json and --csv.
    void add_to(CLI::App* cmd, bool with_dataset = true, bool with_ln = true);
};

// The largest |α| of a steering vector.
inline constexpr double kMaxAlpha = kMaxSteeringMultiplier;

// A multiplier: a finite number with |x| <= max (CLI11 check; "--alpha: ..." on failure).
CLI::Validator finite_number(double max);

} // namespace obsprop::cli
