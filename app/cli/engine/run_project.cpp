// obsprop project create, obsprop export in the engine.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "analyses/export.h"
#include "analyses/recipe.h"
#include "analyses/workspace.h"
#include "model/transformer.h"
#include "project/study_preset.h"
#ifdef OBSPROP_WITH_FIGURES
#include "figures/project_figures.h"
#endif
#include "analysis_options.h"
#include "cli.h"
#include "commands.h"

namespace obsprop::cli::engine {

int create_project(const CreateArgs& c) {
    analyses::Analysis a = open_analysis(c.o);
    const auto& w = a.workspace();
    auto p = w.project();
    if (!c.preset.empty()) {
        const auto chosen_observables = p.observables; // --observable wins over the preset's of the same name
        const auto& config = w.model().config();
        project::apply_preset(p, c.preset, config.n_layers, config.n_heads);
        for (const auto& o : chosen_observables) {
            auto it = std::find_if(p.observables.begin(), p.observables.end(),
                                   [&](const auto& x) { return x.name == o.name; });
            if (it != p.observables.end()) *it = o;
        }
        // What opening the project will check: every observable parses and every prompt fits the model.
        const auto parsed = parse_project_observables(p.observables, w.tokenizer(), config.d_vocab);
        if (!parsed.invalid.empty())
            throw std::runtime_error("preset " + c.preset + ": observable '" + parsed.invalid.front().name +
                                     "' does not parse for this model: " + parsed.invalid.front().error);
        tokenize_datasets(p.datasets, w.tokenizer(), config.n_ctx);
    }
    const auto chosen = overrides_of(c.o);
    for (auto& ob : p.observables) {
        if (chosen.ln_dataset) ob.dataset = *chosen.ln_dataset;
        if (auto it = chosen.observable_ln_datasets.find(ob.name); it != chosen.observable_ln_datasets.end())
            ob.dataset = it->second;
    }
    p.model_fingerprint = project::fingerprint_model(c.o.model);
    // Relative to the project file, so a folder holding both can move.
    const auto rel = std::filesystem::absolute(c.o.model).lexically_relative(
        std::filesystem::absolute(c.out).parent_path());
    if (!rel.empty()) p.model_path = rel;
    project::save_project(p, c.out);
    std::cout << "wrote " << c.out << " (" << p.observables.size() << " observables, " << p.datasets.size()
              << " datasets)\n";
    return 0;
}

int export_project(const ExportArgs& e) {
    const analyses::Analysis a = open_analysis(e.o);
    if (const auto& bad = a.workspace().invalid_observables(); !bad.empty())
        throw std::runtime_error(e.o.project + ": observable '" + bad.front().name +
                                 "' does not parse for this model (" + bad.front().error +
                                 "); fix or remove it, or replace it with --observable, before exporting");
    if (!a.workspace().model_change().empty() && !e.allow_model_change)
        throw std::runtime_error(a.workspace().model_change() +
                                 "; re-save the project with this model, or pass --allow-model-change");
    const auto reports = analyses::project_reports(a);
    auto s = analyses::export_tables(analyses::tables_of(reports), e.out, analyses::export_manifest(a));
    std::cout << "wrote " << s.files.size() << " files to " << e.out << '\n';
    if (e.figures) {
#ifdef OBSPROP_WITH_FIGURES
        const auto drawn = ui::figures::write_project_figures(reports, e.out);
        std::cout << "drew " << drawn.size() << " figure files into " << e.out << '\n';
#else
        throw UsageError("this obsprop was built without the explorer (OBSPROP_BUILD_GUI=OFF): no figures");
#endif
    }
    return 0;
}

} // namespace obsprop::cli::engine
