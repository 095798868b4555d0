// obsprop project create, obsprop export in the engine.
#include <filesystem>
#include <iostream>

#include "analyses/export.h"
#include "analyses/workspace.h"
#ifdef OBSPROP_WITH_FIGURES
#include "figures/project_figures.h"
#endif
#include "analysis_options.h"
#include "cli.h"
#include "commands.h"

namespace obsprop::cli::engine {

int create_project(const CreateArgs& c) {
    analyses::Analysis a = open_analysis(c.o);
    auto p = a.workspace().project();
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
