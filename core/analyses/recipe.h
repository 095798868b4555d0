// Opening a project's recipe for a model, without its weights: the model folder the project names, whether
// that folder still matches the project's fingerprint, the observables parsed by the model's tokenizer and
// the datasets tokenised. Plain C++ (no LibTorch): the workspace (workspace.h) opens every project through
// these, and `obsprop project validate` checks a project with the same functions without loading LibTorch,
// so both say the same thing about the same project.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "io/tokenizer.h"
#include "obsprop/observable.h"
#include "project/project.h"

namespace obsprop {

struct DatasetPrompts {
    project::Dataset recipe;
    std::vector<project::Prompt> prompts;   // tokenised, with name slots
    std::vector<std::pair<int, int>> pairs; // (female, male) indices into prompts
};

// An observable of the project that does not parse for this model (e.g. a string that is several of its
// tokens): kept in the recipe, so nothing the user wrote is lost, but left out of every analysis.
struct InvalidObservable {
    std::string name, expr, error; // error: "column C: message"
};

// What opening a project throws when the project's model folder does not exist (moved, renamed, deleted):
// the explorer offers to locate it.
class ModelFolderMissing : public project::ProjectError {
  public:
    ModelFolderMissing(const std::string& message, std::filesystem::path folder)
        : ProjectError(message), dir(std::move(folder)) {}
    std::filesystem::path dir; // as the project resolves it
};

// The study's three datasets (DESIGN §5): a project's datasets when it has none.
std::vector<project::Dataset> study_datasets();

// The model folder of project `p` read from `file`. Throws project::ProjectError when the project names no
// folder, ModelFolderMissing when the folder does not exist; messages name `file` as given.
std::filesystem::path project_model_folder(const project::Project& p, const std::filesystem::path& file);

// Empty when `dir` still holds the model the project recorded (its fingerprint); otherwise the warning
// "<file>: the model folder <dir> has changed since the project was saved (...)", or "... is not the model
// the project was saved with" when the user `located` the folder in place of the project's own.
std::string model_change_note(const project::Project& p, const std::filesystem::path& file,
                              const std::filesystem::path& dir, bool located);

// The project's observables parsed for a model with `vocab` token ids and this tokenizer, in recipe order:
// those that parse with their LayerNorm dataset, and those that do not (kept as written).
struct ParsedObservables {
    std::vector<std::pair<Observable, std::string>> valid; // the observable, its LayerNorm dataset
    std::vector<InvalidObservable> invalid;
};
ParsedObservables parse_project_observables(const std::vector<project::NamedObservable>& observables,
                                            const io::Tokenizer& tokenizer, int vocab);

// The datasets' prompts tokenised, with their pairs. Throws std::invalid_argument naming a prompt longer
// than the model's context (`n_ctx` tokens).
std::vector<DatasetPrompts> tokenize_datasets(const std::vector<project::Dataset>& datasets,
                                              const io::Tokenizer& tokenizer, int n_ctx);

} // namespace obsprop
