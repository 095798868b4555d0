// obsprop project create|validate, obsprop export
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "analyses/export.h"
#include "analyses/workspace.h"
#ifdef OBSPROP_WITH_FIGURES
#include "figures/project_figures.h"
#endif
#include "analysis_options.h"
#include "cli.h"
#include "io/version.h"

namespace obsprop::cli {

namespace {} // namespace

void add_project_commands(CLI::App& app, Action& run) {
    auto* project = app.add_subcommand("project", "Create or check project files (.obsprop)");
    project->require_subcommand(1);

    auto o = std::make_shared<AnalysisOptions>();
    auto out = std::make_shared<std::string>();
    auto* create = project->add_subcommand(
        "create", "Write a project for a model, with observables and the study's datasets");
    create->add_option("--model", o->model, "Hugging Face model folder")->required();
    create->add_option("--observable", o->observables,
                       "Observable, e.g. 'subj=\" she\" - \" he\"' (repeatable)");
    create->add_option(
        "--ln-dataset", o->ln_datasets,
        "Each observable's LayerNorm dataset: OBS=D for one, D for all (stored in the project)");
    create->add_option("--out", *out, "Project file to write")->required();
    create->callback([o, out, &run] {
        run = [o, out] {
            analyses::Analysis a = o->open();
            auto p = a.workspace().project();
            const auto chosen = o->overrides();
            for (auto& ob : p.observables) {
                if (chosen.ln_dataset) ob.dataset = *chosen.ln_dataset;
                if (auto it = chosen.observable_ln_datasets.find(ob.name);
                    it != chosen.observable_ln_datasets.end())
                    ob.dataset = it->second;
            }
            p.model_fingerprint = project::fingerprint_model(o->model);
            // Relative to the project file, so a folder holding both can move.
            const auto rel = std::filesystem::absolute(o->model).lexically_relative(
                std::filesystem::absolute(*out).parent_path());
            if (!rel.empty()) p.model_path = rel;
            project::save_project(p, *out);
            std::cout << "wrote " << *out << " (" << p.observables.size() << " observables, "
                      << p.datasets.size() << " datasets)\n";
            return 0;
        };
    });

    auto file = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    auto* validate = project->add_subcommand("validate", "Check that a project file and its model open");
    validate->add_option("file", *file, "Project file")->required();
    validate->add_flag("--json", *json, "JSON output");
    validate->callback([file, json, &run] {
        run = [file, json] {
            Workspace w = Workspace::open_project(*file);
            const auto dir = w.project().resolved_model_path(w.project_file());
            const std::string now = project::fingerprint_model(dir);
            const bool matches = w.model_change().empty();
            nlohmann::json invalid = nlohmann::json::array();
            for (const auto& bad : w.invalid_observables())
                invalid.push_back({{"name", bad.name}, {"expr", bad.expr}, {"error", bad.error}});
            nlohmann::json r = {{"file", *file},
                                {"model", dir.string()},
                                {"observables", w.observables().size()},
                                {"datasets", w.datasets().size()},
                                {"fingerprint", now},
                                {"saved_fingerprint", w.project().model_fingerprint},
                                {"fingerprint_matches", matches},
                                {"invalid_observables", invalid}};
            const bool ok = matches && invalid.empty();
            if (*json)
                print_json(r);
            else if (ok)
                std::cout << *file << ": ok (" << w.observables().size() << " observables, "
                          << w.datasets().size() << " datasets)" << '\n';
            for (const auto& bad : w.invalid_observables())
                std::cerr << "obsprop: error: " << *file << ": observable '" << bad.name
                          << "' does not parse for this model: " << bad.error << '\n';
            if (!matches) std::cerr << "obsprop: error: " << w.model_change() << '\n';
            return ok ? 0 : 1;
        };
    });

    auto e = std::make_shared<AnalysisOptions>();
    auto dir = std::make_shared<std::string>();
    auto* exp = app.add_subcommand("export", "Write every table of a project to a folder as CSV and JSON");
    e->add_to(exp, true);
    exp->add_option("--out", *dir, "Folder to write")->required();
    auto figures = std::make_shared<bool>(false);
    exp->add_flag(
        "--figures", *figures,
        "Also draw every figure (PNG, SVG, PDF) from the same reports, with the explorer's figure code "
        "(offscreen, in this process)");
    auto allow_change = std::make_shared<bool>(false);
    exp->add_flag("--allow-model-change", *allow_change,
                  "Export even when the model folder no longer matches the project's fingerprint");
    exp->callback([e, dir, figures, allow_change, &run] {
        run = [e, dir, figures, allow_change] {
            const analyses::Analysis a = e->open();
            if (const auto& bad = a.workspace().invalid_observables(); !bad.empty())
                throw std::runtime_error(
                    e->project + ": observable '" + bad.front().name + "' does not parse for this model (" +
                    bad.front().error +
                    "); fix or remove it, or replace it with --observable, before exporting");
            if (!a.workspace().model_change().empty() && !*allow_change)
                throw std::runtime_error(
                    a.workspace().model_change() +
                    "; re-save the project with this model, or pass --allow-model-change");
            const auto reports = analyses::project_reports(a);
            auto s =
                analyses::export_tables(analyses::tables_of(reports), *dir, analyses::export_manifest(a));
            std::cout << "wrote " << s.files.size() << " files to " << *dir << '\n';
            if (*figures) {
#ifdef OBSPROP_WITH_FIGURES
                const auto drawn = ui::figures::write_project_figures(reports, *dir);
                std::cout << "drew " << drawn.size() << " figure files into " << *dir << '\n';
#else
                throw UsageError(
                    "this obsprop was built without the explorer (OBSPROP_BUILD_GUI=OFF): no figures");
#endif
            }
            return 0;
        };
    });
}

} // namespace obsprop::cli
