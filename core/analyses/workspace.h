// Everything an analysis works on, opened once: the model, its tokenizer, the parsed observables and
// the tokenised datasets (the recipe). The CLI and the GUI both build one from a model folder or a project
// file; an Analysis (analysis.h) pairs an immutable copy with the resolved settings.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "analyses/recipe.h"
#include "io/tokenizer.h"
#include "obsprop/features.h"
#include "obsprop/observable.h"
#include "obsprop/prompts.h"
#include "project/project.h"

namespace obsprop {

class Workspace {
  public:
    // A model folder with the project's defaults (no observables; the study's datasets).
    static Workspace open_model(const std::filesystem::path& dir, const Progress& progress = {});
    // A project file: its model, observables, datasets and settings. Throws project::ProjectError
    // (ModelFolderMissing when its model folder is gone), io::FormatError, ... with messages naming the file.
    // An observable that does not parse does not stop the project from opening: it is listed in
    // invalid_observables().
    static Workspace open_project(const std::filesystem::path& file, const Progress& progress = {});
    // The project `p` (read from `file`, or as edited since) on the model in `model_dir`, a folder the user
    // located in place of the one the project names ("Locate model…"): the project's model path becomes
    // that folder, and model_change() says so when it is not the model the project was saved with.
    static Workspace open_project(project::Project p, const std::filesystem::path& file,
                                  const std::filesystem::path& model_dir, const Progress& progress = {});

    const model::Transformer& model() const { return *model_; }
    std::shared_ptr<const model::Transformer> model_ptr() const { return model_; }
    const io::Tokenizer& tokenizer() const { return *tokenizer_; }
    const project::Project& project() const { return project_; }
    project::Project& project() { return project_; }
    const std::filesystem::path& project_file() const { return project_file_; }
    // Non-empty when the model folder no longer matches the fingerprint the project recorded (checked on
    // open):
    // "<project>: the model folder <dir> has changed since the project was saved (...)".
    const std::string& model_change() const { return model_change_; }
    // After the project is saved with a fresh fingerprint.
    void clear_model_change() { model_change_.clear(); }
    // Empty: the workspace belongs to no file (an untitled project).
    void set_project_file(const std::filesystem::path& f) {
        project_file_ = f.empty() ? f : std::filesystem::absolute(f);
    }

    // Parses and adds an observable (replacing one of the same name); `name` empty takes the name written
    // in the text ("subj = ..."), else the expression. `dataset` is its LayerNorm dataset in the recipe
    // (empty: keep the one it had, or none). Throws ObservableParseError.
    const Observable& add_observable(const std::string& name, const std::string& expr,
                                     const std::string& dataset = {});
    const std::vector<Observable>& observables() const { return observables_; }
    void clear_observables() {
        observables_.clear();
        invalid_.clear();
        project_.observables.clear();
    }
    // Throws std::invalid_argument (naming the parse error when the observable is invalid).
    const Observable& observable(const std::string& name) const;
    // The project's observables that do not parse (in recipe order); add_observable under the same name
    // replaces one, remove_observable drops it.
    const std::vector<InvalidObservable>& invalid_observables() const { return invalid_; }
    // Removes an observable, valid or not, from the workspace and the recipe.
    void remove_observable(const std::string& name);
    ObservableMatrix observable_matrix() const;

    // Replaces the datasets (tokenising them). Throws std::invalid_argument naming a bad prompt.
    void set_datasets(const std::vector<project::Dataset>& datasets);
    const std::vector<DatasetPrompts>& datasets() const { return datasets_; }
    const DatasetPrompts& dataset(const std::string& name) const; // throws std::invalid_argument

    // The prompts of a dataset with positions: "name" (the name slot), "last", a token index, or "all"
    // (project::kEveryToken for every prompt).
    PromptBatch prompt_batch(const std::string& dataset, const std::string& position = "name") const;
    // Clean (female) and corrupted (male) halves of the dataset's pairs.
    // With `read` other than "last" (name or a token index), each prompt is cut after the token `read`
    // names in it (cut_after), so the last position is the prediction there.
    std::pair<PromptBatch, PromptBatch> pair_batches(const std::string& dataset,
                                                     const std::string& read = "last") const;

  private:
    static Workspace open_on(project::Project p, const std::filesystem::path& file,
                             const std::filesystem::path& dir, bool located, const Progress& progress);
    // Adds a parsed observable (replacing one of the same name) and records it in the recipe.
    const Observable& adopt(Observable o, const std::string& dataset);
    void record_recipe(const Observable& o, const std::string& dataset);
    std::shared_ptr<model::Transformer> model_;
    std::shared_ptr<io::Tokenizer> tokenizer_;
    project::Project project_;
    std::filesystem::path project_file_;
    std::string model_change_;
    std::vector<Observable> observables_;
    std::vector<InvalidObservable> invalid_;
    std::vector<DatasetPrompts> datasets_;
};

} // namespace obsprop
