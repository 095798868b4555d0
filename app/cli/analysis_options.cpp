#include "analysis_options.h"

#include <iomanip>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli.h"

namespace obsprop::cli {

void AnalysisOptions::add_to(CLI::App* cmd, bool with_dataset, bool with_ln) {
    cmd->add_option("--model", model, "Hugging Face model folder");
    cmd->add_option("--project", project, "Project file (.obsprop) instead of --model and --observable");
    cmd->add_option("--observable", observables, "Observable, e.g. 'subj=\" she\" - \" he\"' (repeatable)");
    if (with_dataset)
        cmd->add_option("--dataset", dataset, "Dataset name (study datasets: subject, object, occupation)");
    if (with_ln)
        cmd->add_option("--ln", ln, "LayerNorm treatment: none, approx or exact")->check(CLI::IsMember({"none", "approx", "exact"}));
    cmd->add_flag("--json", json, "JSON output");
    cmd->add_flag("--csv", csv, "CSV output");
}

Workspace AnalysisOptions::open() const {
    if (model.empty() == project.empty()) throw UsageError("give exactly one of --model DIR and --project FILE");
    Workspace w = project.empty() ? Workspace::open_model(model) : Workspace::open_project(project);
    for (const auto& o : observables) w.add_observable({}, o);
    return w;
}

TableOptions AnalysisOptions::table_options() const {
    TableOptions t;
    t.ln_mode = ln;
    t.dataset = dataset;
    return t;
}

void print_table(const Table& t, const AnalysisOptions& o) {
    if (o.json) {
        print_json(t.to_json());
        return;
    }
    if (o.csv) {
        std::cout << t.to_csv();
        return;
    }
    for (const auto& c : t.columns) std::cout << std::setw(14) << c;
    std::cout << '\n';
    for (const auto& r : t.rows) {
        for (const auto& v : r) {
            if (v.is_number_float()) std::cout << std::setw(14) << std::setprecision(6) << v.get<double>();
            else if (v.is_string()) std::cout << std::setw(14) << v.get<std::string>();
            else std::cout << std::setw(14) << v.dump();
        }
        std::cout << '\n';
    }
}

}  // namespace obsprop::cli
