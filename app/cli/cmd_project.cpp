// obsprop project create|validate, obsprop export
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "analyses/export.h"
#include "analyses/workspace.h"
#include "analysis_options.h"
#include "cli.h"
#include "io/version.h"

namespace obsprop::cli {

namespace {

// The figures are drawn by the explorer's plot code: run obsprop-explorer (next to this program) on the
// offscreen platform with --export-all, and wait for it.
int run_explorer_export(const std::string& project, const std::string& dir) {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    std::vector<std::filesystem::path> candidates;
    if (!ec) candidates = {self.parent_path() / "obsprop-explorer"};
    candidates.emplace_back("obsprop-explorer");
    for (const auto& exe : candidates) {
        if (exe.has_parent_path() && !std::filesystem::exists(exe)) continue;
        const std::string path = exe.string();
        std::vector<std::string> args{path, "-platform", "offscreen", "--export-all", dir, project};
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_t pid = fork();
        if (pid < 0) throw std::runtime_error("cannot start obsprop-explorer");
        if (pid == 0) {
            execvp(path.c_str(), argv.data());
            _exit(127);
        }
        int status = 0;
        if (waitpid(pid, &status, 0) < 0) throw std::runtime_error("lost obsprop-explorer");
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && exe.has_parent_path() == false)
            throw std::runtime_error("obsprop-explorer is not installed (it draws the figures)");
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    throw std::runtime_error("obsprop-explorer was not found next to obsprop (it draws the figures)");
}

} // namespace

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
            const std::string saved = w.project().model_fingerprint;
            nlohmann::json r = {{"file", *file},
                                {"model", dir.string()},
                                {"observables", w.observables().size()},
                                {"datasets", w.datasets().size()},
                                {"fingerprint", now},
                                {"fingerprint_matches", saved.empty() || saved == now}};
            if (*json)
                print_json(r);
            else
                std::cout << *file << ": ok (" << w.observables().size() << " observables, "
                          << w.datasets().size() << " datasets)"
                          << (saved.empty() || saved == now
                                  ? ""
                                  : "; the model files have changed since it was saved")
                          << '\n';
            return 0;
        };
    });

    auto e = std::make_shared<AnalysisOptions>();
    auto dir = std::make_shared<std::string>();
    auto* exp = app.add_subcommand("export", "Write every table of a project to a folder as CSV and JSON");
    e->add_to(exp, true);
    exp->add_option("--out", *dir, "Folder to write")->required();
    auto figures = std::make_shared<bool>(false);
    exp->add_flag("--figures", *figures,
                  "Also draw every figure (PNG, SVG, PDF) with the explorer's own plot code, offscreen "
                  "(needs --project)");
    exp->callback([e, dir, figures, &run] {
        run = [e, dir, figures] {
            if (*figures && e->project.empty()) throw UsageError("--figures needs --project FILE");
            const analyses::Analysis a = e->open();
            const auto tables = analyses::tables_of(analyses::project_reports(a));
            auto s = analyses::export_tables(tables, *dir, analyses::export_manifest(a));
            std::cout << "wrote " << s.files.size() << " files to " << *dir << '\n';
            if (*figures) {
                const int rc = run_explorer_export(e->project, *dir);
                if (rc != 0)
                    throw std::runtime_error("drawing the figures failed (obsprop-explorer exited with " +
                                             std::to_string(rc) + ")");
                std::cout << "drew the figures into " << *dir << '\n';
            }
            return 0;
        };
    });
}

} // namespace obsprop::cli
