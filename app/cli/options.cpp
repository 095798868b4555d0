#include "options.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

namespace obsprop::cli {

void AnalysisOptions::add_to(CLI::App* cmd, bool with_dataset, bool with_ln) {
    cmd->add_option("--model", model, "Hugging Face model folder");
    cmd->add_option("--project", project, "Project file (.obsprop) instead of --model and --observable");
    cmd->add_option("--observable", observables, "Observable, e.g. 'subj=\" she\" - \" he\"' (repeatable)");
    if (with_dataset)
        cmd->add_option("--dataset", dataset, "Dataset of the data analyses (default: the project's first)");
    if (with_ln) {
        cmd->add_option("--ln", ln, "LayerNorm treatment: none, approx or exact (default: the project's)")
            ->check(CLI::IsMember({"none", "approx", "exact"}));
        cmd->add_option("--rho", rho, "Fixed ρ for the approximate LayerNorm treatment (default: estimated)")
            ->check(CLI::PositiveNumber & finite_number(1e30));
        cmd->add_option(
            "--ln-dataset", ln_datasets,
            "Dataset whose prompts give ρ and the exact linearisation points: D for every observable, "
            "or OBS=D for one (repeatable; default: each observable's own, else the first dataset)");
    }
    auto* j = cmd->add_flag("--json", json, "JSON output");
    auto* c = cmd->add_flag("--csv", csv, "CSV output");
    j->excludes(c);
    c->excludes(j);
}

CLI::Validator finite_number(double max) {
    return CLI::Validator(
        [max](std::string& s) -> std::string {
            char* end = nullptr;
            const double x = std::strtod(s.c_str(), &end);
            if (s.empty() || end != s.c_str() + s.size()) return "'" + s + "' is not a number";
            if (!std::isfinite(x)) return "'" + s + "' is not a finite number";
            if (std::abs(x) > max) {
                std::ostringstream o;
                o << "'" << s << "' is absurd (at most " << max << " in magnitude)";
                return o.str();
            }
            return {};
        },
        "FINITE");
}

} // namespace obsprop::cli
