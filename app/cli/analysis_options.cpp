#include "analysis_options.h"

#include <iomanip>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "analyses/workspace.h"
#include "cli.h"

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
            ->check(CLI::PositiveNumber);
        cmd->add_option(
            "--ln-dataset", ln_datasets,
            "Dataset whose prompts give ρ and the exact linearisation points: D for every observable, "
            "or OBS=D for one (repeatable; default: each observable's own, else the first dataset)");
    }
    cmd->add_flag("--json", json, "JSON output");
    cmd->add_flag("--csv", csv, "CSV output");
}

analyses::SettingsOverrides AnalysisOptions::overrides() const {
    analyses::SettingsOverrides o;
    if (!ln.empty()) o.ln_mode = ln;
    if (rho > 0) o.rho = rho;
    for (const auto& d : ln_datasets)
        analyses::parse_ln_dataset_option(d, o);
    if (!dataset.empty()) o.dataset = dataset;
    if (!position.empty()) o.position = position;
    return o;
}

analyses::Analysis AnalysisOptions::open(const analyses::SettingsOverrides& more) const {
    if (model.empty() == project.empty())
        throw UsageError("give exactly one of --model DIR and --project FILE");
    auto w = std::make_shared<Workspace>(project.empty() ? Workspace::open_model(model)
                                                         : Workspace::open_project(project));
    if (!w->model_change().empty()) std::cerr << "obsprop: warning: " << w->model_change() << '\n';
    for (const auto& o : observables)
        w->add_observable({}, o);
    analyses::Analysis a(std::shared_ptr<const Workspace>(w), overrides());
    return a.with(more);
}

void print_table(const analyses::Table& t, const AnalysisOptions& o) {
    if (o.json) {
        print_json(t.to_json());
        return;
    }
    if (o.csv) {
        std::cout << t.to_csv();
        return;
    }
    // Aligned text: every cell formatted first, columns as wide as their widest cell.
    std::vector<std::vector<std::string>> cells{t.columns};
    for (const auto& r : t.rows) {
        std::vector<std::string> line;
        for (const auto& v : r) {
            std::ostringstream s;
            if (v.is_number_float())
                s << std::setprecision(6) << v.get<double>();
            else if (v.is_string())
                s << v.get<std::string>();
            else
                s << v.dump();
            line.push_back(s.str());
        }
        cells.push_back(std::move(line));
    }
    std::vector<std::size_t> width(t.columns.size(), 0);
    for (const auto& line : cells)
        for (std::size_t i = 0; i < line.size() && i < width.size(); ++i)
            width[i] = std::max(width[i], line[i].size());
    for (const auto& line : cells) {
        for (std::size_t i = 0; i < line.size(); ++i)
            std::cout << std::setw(static_cast<int>(width[i] + 2)) << line[i];
        std::cout << '\n';
    }
}

} // namespace obsprop::cli
