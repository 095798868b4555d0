#include "analyses/workspace.h"

#include <stdexcept>

#include "analyses/model_folder.h"

namespace obsprop {

Workspace Workspace::open_model(const std::filesystem::path& dir, const Progress& progress) {
    Workspace w;
    report(progress, 0.0, "loading model");
    auto loaded = analyses::load_model_folder(dir);
    w.model_ = std::move(loaded.model);
    w.tokenizer_ = std::move(loaded.tokenizer);
    report(progress, 0.7, "tokenising the datasets");
    w.project_.model_path = std::filesystem::absolute(dir);
    w.project_.datasets = study_datasets();
    w.set_datasets(w.project_.datasets);
    report(progress, 1.0, "ready");
    return w;
}

Workspace Workspace::open_project(const std::filesystem::path& file, const Progress& progress) {
    report(progress, 0.0, "reading project");
    project::Project p = project::load_project(file);
    const auto dir = project_model_folder(p, file);
    return open_on(std::move(p), file, dir, false, progress);
}

Workspace Workspace::open_project(project::Project p, const std::filesystem::path& file,
                                  const std::filesystem::path& model_dir, const Progress& progress) {
    p.model_path = std::filesystem::absolute(model_dir);
    return open_on(std::move(p), file, model_dir, true, progress);
}

Workspace Workspace::open_on(project::Project p, const std::filesystem::path& file,
                             const std::filesystem::path& dir, bool located, const Progress& progress) {
    Workspace w;
    w.project_file_ = std::filesystem::absolute(file);
    report(progress, 0.1, "loading model");
    auto loaded = analyses::load_model_folder(dir);
    w.model_ = std::move(loaded.model);
    w.tokenizer_ = std::move(loaded.tokenizer);
    w.project_ = p;
    report(progress, 0.8, "checking the model's fingerprint");
    w.model_change_ = model_change_note(p, file, dir, located);
    auto parsed = parse_project_observables(p.observables, *w.tokenizer_, w.model_->config().d_vocab);
    for (auto& [o, dataset] : parsed.valid)
        w.adopt(std::move(o), dataset);
    w.invalid_ = std::move(parsed.invalid); // the recipe keeps them as written
    w.set_datasets(p.datasets.empty() ? study_datasets() : p.datasets);
    report(progress, 1.0, "ready");
    return w;
}

void Workspace::record_recipe(const Observable& o, const std::string& dataset) {
    for (auto& r : project_.observables)
        if (r.name == o.name) {
            r.expr = o.expr;
            if (!dataset.empty()) r.dataset = dataset;
            return;
        }
    project_.observables.push_back({o.name, o.expr, dataset});
}

const Observable& Workspace::add_observable(const std::string& name, const std::string& expr,
                                            const std::string& dataset) {
    return adopt(parse_observable(expr, *tokenizer_, model_->config().d_vocab, name), dataset);
}

const Observable& Workspace::adopt(Observable o, const std::string& dataset) {
    std::erase_if(invalid_, [&o](const InvalidObservable& i) { return i.name == o.name; });
    for (auto& existing : observables_)
        if (existing.name == o.name) {
            existing = std::move(o);
            record_recipe(existing, dataset);
            return existing;
        }
    observables_.push_back(std::move(o));
    record_recipe(observables_.back(), dataset);
    return observables_.back();
}

const Observable& Workspace::observable(const std::string& name) const {
    for (const auto& o : observables_)
        if (o.name == name) return o;
    for (const auto& i : invalid_)
        if (i.name == name)
            throw std::invalid_argument("observable '" + name +
                                        "' does not parse for this model: " + i.error);
    throw std::invalid_argument("no observable named '" + name + "'");
}

void Workspace::remove_observable(const std::string& name) {
    std::erase_if(observables_, [&name](const Observable& o) { return o.name == name; });
    std::erase_if(invalid_, [&name](const InvalidObservable& i) { return i.name == name; });
    std::erase_if(project_.observables,
                  [&name](const project::NamedObservable& o) { return o.name == name; });
}

ObservableMatrix Workspace::observable_matrix() const {
    ObservableMatrix m;
    const int V = model_->config().d_vocab;
    m.n = torch::zeros({static_cast<std::int64_t>(observables_.size()), V});
    for (std::size_t k = 0; k < observables_.size(); ++k) {
        m.names.push_back(observables_[k].name);
        m.n[static_cast<std::int64_t>(k)] = observables_[k].vector(V);
    }
    return m;
}

void Workspace::set_datasets(const std::vector<project::Dataset>& datasets) {
    datasets_ = tokenize_datasets(datasets, *tokenizer_, model_->config().n_ctx);
    project_.datasets = datasets;
}

const DatasetPrompts& Workspace::dataset(const std::string& name) const {
    for (const auto& d : datasets_)
        if (d.recipe.name == name) return d;
    std::string known;
    for (const auto& d : datasets_)
        known += (known.empty() ? "" : ", ") + d.recipe.name;
    throw std::invalid_argument("no dataset named '" + name + "' (the project has: " + known + ")");
}

PromptBatch Workspace::prompt_batch(const std::string& name, const std::string& position) const {
    const auto& d = dataset(name);
    PromptBatch b;
    for (std::size_t i = 0; i < d.prompts.size(); ++i) {
        const auto& p = d.prompts[i];
        b.ids.push_back(p.ids);
        try {
            b.positions.push_back(
                project::token_position(position, p.name_position, static_cast<int>(p.ids.size())));
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument("dataset '" + name + "', prompt " + std::to_string(i) + ": " +
                                        e.what());
        }
    }
    return b;
}

std::pair<PromptBatch, PromptBatch> Workspace::pair_batches(const std::string& name,
                                                            const std::string& read) const {
    const auto& d = dataset(name);
    if (d.pairs.empty())
        throw std::invalid_argument("dataset '" + name + "' has no female/male prompt pairs");
    if (read == "all") throw std::invalid_argument("attribution reads one token, not all");
    PromptBatch all = prompt_batch(name);
    if (read != "last") all = cut_after(all, prompt_batch(name, read).positions);
    std::vector<int> clean, corrupt;
    for (auto [f, m] : d.pairs)
        clean.push_back(f), corrupt.push_back(m);
    return {all.subset(clean), all.subset(corrupt)};
}

} // namespace obsprop
