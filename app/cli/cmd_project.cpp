// obsprop project create | validate, obsprop export. validate needs no LibTorch and runs in the front end:
// it checks a project with the functions the workspace opens projects with (analyses/recipe.h), the model's
// weights against its configuration without loading them. create and export run in the engine
// (engine/run_project.cpp).
#include <filesystem>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "analyses/recipe.h"
#include "cli.h"
#include "commands.h"
#include "io/model_config.h"
#include "io/safetensors.h"
#include "io/weight_plan.h"

namespace obsprop::cli {

int run_validate(const ValidateArgs& a) {
    const std::filesystem::path file = a.file;
    const project::Project p = project::load_project(file);
    const auto dir = project_model_folder(p, file);
    // What opening the project's workspace checks, in the same order, without loading the weights.
    const auto config = io::load_model_config(dir);
    io::check_weights(io::Checkpoint::open(dir), config);
    const auto tokenizer = io::Tokenizer::from_directory(dir);
    const std::string change = model_change_note(p, file, dir, false);
    const auto observables = parse_project_observables(p.observables, tokenizer, config.d_vocab);
    const auto datasets =
        tokenize_datasets(p.datasets.empty() ? study_datasets() : p.datasets, tokenizer, config.n_ctx);

    const std::string now = project::fingerprint_model(dir);
    const bool matches = change.empty();
    nlohmann::json invalid = nlohmann::json::array();
    for (const auto& bad : observables.invalid)
        invalid.push_back({{"name", bad.name}, {"expr", bad.expr}, {"error", bad.error}});
    nlohmann::json r = {{"file", a.file},
                        {"model", dir.string()},
                        {"observables", observables.valid.size()},
                        {"datasets", datasets.size()},
                        {"fingerprint", now},
                        {"saved_fingerprint", p.model_fingerprint},
                        {"fingerprint_matches", matches},
                        {"invalid_observables", invalid}};
    const bool ok = matches && invalid.empty();
    if (a.json)
        print_json(r);
    else if (ok)
        std::cout << a.file << ": ok (" << observables.valid.size() << " observables, " << datasets.size()
                  << " datasets)" << '\n';
    for (const auto& bad : observables.invalid)
        std::cerr << "obsprop: error: " << a.file << ": observable '" << bad.name
                  << "' does not parse for this model: " << bad.error << '\n';
    if (!matches) std::cerr << "obsprop: error: " << change << '\n';
    return ok ? 0 : 1;
}

void add_project_commands(CLI::App& app, Action& run) {
    auto* project = app.add_subcommand("project", "Create or check project files (.obsprop)");
    project->require_subcommand(1);

    auto create = std::make_shared<CreateArgs>();
    auto* c = project->add_subcommand(
        "create", "Write a project for a model, with observables, the study's datasets and pair datasets");
    c->add_option("--model", create->o.model, "Hugging Face model folder")->required();
    c->add_option("--observable", create->o.observables,
                  "Observable, e.g. 'subj=\" she\" - \" he\"' (repeatable)");
    c->add_option("--ln-dataset", create->o.ln_datasets,
                  "Each observable's LayerNorm dataset: OBS=D for one, D for all (stored in the project)");
    c->add_option("--pairs", create->o.pairs,
                  "A dataset of prompt pairs from a CSV (header clean,corrupt[,label]) or JSONL file, added "
                  "after the study's datasets: NAME=FILE (repeatable; docs/datasets.md)");
    c->add_option("--preset", create->preset,
                  "Start from a study's recipe for your copy of its model: gpt-neo-1.3b-study (the "
                  "observable-propagation study on GPT-Neo-1.3B: observables subj, obj, gram, bias, its "
                  "datasets with 50 names of each gender, its steering experiments; docs/study-preset.md)");
    c->add_option("--out", create->out, "Project file to write")->required();
    c->callback([create, &run] { run = [create] { return engine::create_project(*create); }; });

    auto validate = std::make_shared<ValidateArgs>();
    auto* v = project->add_subcommand("validate", "Check that a project file and its model open");
    v->add_option("file", validate->file, "Project file")->required();
    v->add_flag("--json", validate->json, "JSON output");
    v->callback([validate, &run] { run = [validate] { return run_validate(*validate); }; });

    auto e = std::make_shared<ExportArgs>();
    auto* exp = app.add_subcommand("export", "Write every table of a project to a folder as CSV and JSON");
    e->o.add_to(exp, true);
    exp->add_option("--out", e->out, "Folder to write")->required();
    exp->add_flag(
        "--figures", e->figures,
        "Also draw every figure (PNG, SVG, PDF) from the same reports, with the explorer's figure code "
        "(offscreen, in this process)");
    exp->add_flag("--allow-model-change", e->allow_model_change,
                  "Export even when the model folder no longer matches the project's fingerprint");
    exp->callback([e, &run] { run = [e] { return engine::export_project(*e); }; });
}

} // namespace obsprop::cli
