#include "project/study_preset.h"

#include <algorithm>

#include "project/dataset.h"

namespace obsprop::project {

namespace {

// Replaces the steering preset with the same name, else appends.
void put(std::vector<SteeringPreset>& list, SteeringPreset item) {
    for (auto& x : list)
        if (x.name == item.name) {
            x = std::move(item);
            return;
        }
    list.push_back(std::move(item));
}

// One of the study's steering experiments: the feature of `observable` for head (layer, head), added
// `alpha` times (not normalised) to the residual stream of token `position` of each object prompt at the
// model's input, the token's embedding, as the study did.
SteeringPreset experiment(int layer, int head, const std::string& observable, const std::string& position) {
    SteeringPreset s;
    s.name = std::to_string(layer) + "." + std::to_string(head) + " " + observable + " at token " + position;
    s.observable = observable;
    s.path = {{layer, head}};
    s.layer = 0;
    s.position = position;
    s.normalize = false;
    s.multiplier = 50.0;
    s.range = 100.0;
    return s;
}

void apply_study(Project& p, int n_layers, int n_heads) {
    if (n_layers != 24 || n_heads != 16)
        throw ProjectError(std::string("preset ") + kStudyPreset +
                           " is for GPT-Neo-1.3B (24 layers of 16 heads); this model has " +
                           std::to_string(n_layers) + " layers of " + std::to_string(n_heads) + " heads");
    std::vector<Dataset> study = {study_subject_dataset(StudyNames::Fifty),
                                  study_object_dataset(StudyNames::Fifty),
                                  study_occupation_dataset(StudyNames::Fifty)};
    // The study's datasets first, in its order; the project's other datasets after them.
    for (auto& d : p.datasets) {
        bool replaced = false;
        for (const auto& s : study)
            replaced = replaced || s.name == d.name;
        if (!replaced) study.push_back(std::move(d));
    }
    p.datasets = std::move(study);
    // The study's observables first, in its order; the project's others after them.
    std::vector<NamedObservable> observables = {{"subj", "\" she\" - \" he\"", "subject"},
                                                {"obj", "\" her\" - \" him\"", "object"},
                                                {"gram", "\" actress\" - \" actor\"", "occupation"},
                                                {"bias", "\" nurse\" - \" programmer\"", "occupation"}};
    for (auto& o : p.observables)
        if (std::none_of(observables.begin(), observables.begin() + 4,
                         [&](const NamedObservable& s) { return s.name == o.name; }))
            observables.push_back(std::move(o));
    p.observables = std::move(observables);
    // Feature norms with the LayerNorms taken into account; heads attributed by activation patching.
    p.settings.ln_mode = "approx";
    p.settings.attribution = "patching";
    p.settings.svd_top_k = 5;
    // The study steers token 15 and token 6 of its object template: with GPT-2's tokenizer, its last token
    // (" love") and its name. Stored as "last" and "name", they hold for every template of every dataset.
    for (const auto& obs : {"subj", "obj"}) {
        put(p.steering, experiment(17, 14, obs, "last"));
        put(p.steering, experiment(15, 13, obs, "name"));
        put(p.steering, experiment(13, 11, obs, "name"));
    }
}

} // namespace

std::vector<std::string> preset_names() {
    return {kStudyPreset};
}

void apply_preset(Project& p, const std::string& name, int n_layers, int n_heads) {
    if (name == kStudyPreset) return apply_study(p, n_layers, n_heads);
    std::string known;
    for (const auto& n : preset_names())
        known += (known.empty() ? "" : ", ") + n;
    throw ProjectError("unknown project preset '" + name + "' (known: " + known + ")");
}

} // namespace obsprop::project
