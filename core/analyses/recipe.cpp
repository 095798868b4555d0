#include "analyses/recipe.h"

#include <stdexcept>

namespace obsprop {

std::vector<project::Dataset> study_datasets() {
    return {project::study_subject_dataset(), project::study_object_dataset(),
            project::study_occupation_dataset()};
}

std::filesystem::path project_model_folder(const project::Project& p, const std::filesystem::path& file) {
    const auto dir = p.resolved_model_path(std::filesystem::absolute(file));
    if (dir.empty()) throw project::ProjectError(file.string() + ": the project names no model folder");
    if (!std::filesystem::is_directory(dir))
        throw ModelFolderMissing(file.string() + ": its model folder " + dir.string() + " does not exist",
                                 dir);
    return dir;
}

std::string model_change_note(const project::Project& p, const std::filesystem::path& file,
                              const std::filesystem::path& dir, bool located) {
    if (project::fingerprint_matches(p.model_fingerprint, dir)) return {};
    return file.string() + ": the model folder " + dir.string() +
           (located ? " is not the model the project was saved with"
                    : " has changed since the project was saved") +
           " (its weights, configuration or tokenizer differ from the fingerprint " + p.model_fingerprint +
           "); results may not match what was saved with it";
}

ParsedObservables parse_project_observables(const std::vector<project::NamedObservable>& observables,
                                            const io::Tokenizer& tokenizer, int vocab) {
    ParsedObservables out;
    for (const auto& o : observables) {
        try {
            out.valid.emplace_back(parse_observable(o.expr, tokenizer, vocab, o.name), o.dataset);
        } catch (const ObservableParseError& e) {
            out.invalid.push_back({o.name, o.expr, e.what()}); // the recipe keeps it as written
        }
    }
    return out;
}

std::vector<DatasetPrompts> tokenize_datasets(const std::vector<project::Dataset>& datasets,
                                              const io::Tokenizer& tokenizer, int n_ctx) {
    std::vector<DatasetPrompts> out;
    for (const auto& d : datasets) {
        DatasetPrompts dp;
        dp.recipe = d;
        dp.prompts = project::expand(d);
        project::tokenize(dp.prompts, tokenizer, d);
        for (const auto& p : dp.prompts)
            if (static_cast<int>(p.ids.size()) > n_ctx)
                throw std::invalid_argument("prompt \"" + p.text + "\" is longer than the model's context");
        dp.pairs = project::pairs(d);
        out.push_back(std::move(dp));
    }
    return out;
}

} // namespace obsprop
