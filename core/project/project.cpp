#include "project/project.h"

#include "io/atomic_file.h"

#include <climits>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>

#include "io/input_guard.h"

namespace obsprop::project {

using nlohmann::json;
namespace fs = std::filesystem;

std::filesystem::path Project::resolved_model_path(const fs::path& project_file) const {
    if (model_path.empty() || model_path.is_absolute()) return model_path;
    return (project_file.parent_path() / model_path).lexically_normal();
}

namespace {

[[noreturn]] void fail(const std::string& src, const std::string& what) {
    throw ProjectError(src + ": " + what);
}

std::string quoted(const std::string& s) {
    return io::json_preview(json(s), 60);
}

// An integer in [lo, hi], checked in 64 bits before it is narrowed (2^32 + 1 must not become 1).
bool int_in(const json& v, long long lo, long long hi, int& out) {
    if (!v.is_number_integer()) return false;
    if (v.is_number_unsigned() ? v.get<unsigned long long>() > static_cast<unsigned long long>(hi)
                               : v.get<long long>() < lo || v.get<long long>() > hi)
        return false;
    out = static_cast<int>(v.get<long long>());
    return true;
}

// Field readers: absent or null gives the default; a wrong type is an error naming the field.
template <typename T>
T get(const json& j, const char* key, T fallback, const std::string& src, const std::string& where) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    const std::string field = "field '" + where + key + "'";
    if constexpr (std::is_same_v<T, double>) {
        if (!it->is_number()) fail(src, field + " has the wrong type");
        const double v = it->get<double>();
        if (!std::isfinite(v)) fail(src, field + " must be a finite number");
        return v;
    } else if constexpr (std::is_same_v<T, int>) {
        if (!it->is_number_integer()) fail(src, field + " has the wrong type");
        int v = 0;
        if (!int_in(*it, INT_MIN, INT_MAX, v))
            fail(src, field + " = " + io::json_preview(*it) + " is out of range");
        return v;
    } else if constexpr (std::is_same_v<T, bool>) {
        if (!it->is_boolean()) fail(src, field + " has the wrong type");
        return it->get<bool>();
    } else {
        static_assert(std::is_same_v<T, std::string>);
        if (!it->is_string()) fail(src, field + " has the wrong type");
        return it->get<std::string>();
    }
}

// Observable and dataset names become parts of exported file names: refuse anything that would not be
// one plain file name on every system.
constexpr std::size_t kMaxNameBytes = 100;

void check_name(const std::string& src, const char* kind, const std::string& name) {
    auto bad = [&](const std::string& why) {
        fail(src, std::string(kind) + " name " + quoted(name) + " is not usable in file names: " + why);
    };
    if (name.empty()) fail(src, std::string("every ") + kind + " needs a name");
    if (name.size() > kMaxNameBytes) bad("it is longer than " + std::to_string(kMaxNameBytes) + " bytes");
    if (name == "." || name == "..") bad("it is '" + name + "'");
    if (name.front() == '-') bad("it starts with '-'");
    for (const char c : name) {
        if (c == '/' || c == '\\') bad(std::string("it contains '") + c + "'");
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) bad("it contains a control character");
    }
}

std::vector<std::string> get_strings(const json& j, const char* key, const std::string& src,
                                     const std::string& where) {
    std::vector<std::string> out;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return out;
    if (!it->is_array()) fail(src, "field '" + where + key + "' must be a list of strings");
    for (const auto& e : *it) {
        if (!e.is_string()) fail(src, "field '" + where + key + "' must be a list of strings");
        out.push_back(e.get<std::string>());
    }
    return out;
}

// A pair dataset's "pairs": [{"clean", "corrupt", "label"?}, ...].
std::vector<PromptPair> get_pairs(const json& d, const std::string& src) {
    std::vector<PromptPair> out;
    auto it = d.find("pairs");
    if (it == d.end() || it->is_null()) return out;
    if (!it->is_array())
        fail(src, "field 'datasets[].pairs' must be a list of {clean, corrupt, label} objects");
    const std::string w = "datasets[].pairs[].";
    for (const auto& e : *it) {
        if (!e.is_object())
            fail(src, "field 'datasets[].pairs' must be a list of {clean, corrupt, label} objects, not " +
                          io::json_preview(e));
        for (const auto& [key, value] : e.items())
            if (key != "clean" && key != "corrupt" && key != "label")
                fail(src, "field '" + w + key + "' is not a field of a prompt pair (clean, corrupt, label)");
        out.push_back({get<std::string>(e, "clean", "", src, w), get<std::string>(e, "corrupt", "", src, w),
                       get<std::string>(e, "label", "", src, w)});
    }
    return out;
}

const json& get_array(const json& j, const char* key, const std::string& src) {
    static const json empty = json::array();
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return empty;
    if (!it->is_array()) fail(src, std::string("field '") + key + "' must be a list");
    return *it;
}

void require_object(const json& j, const std::string& src, const std::string& what) {
    if (!j.is_object()) fail(src, what + " must be a JSON object");
}

// Copying and writing a JSON value recurses through it: the free-form view is held to the depth of any
// file this reads, before it is copied.
void check_view(const json& view, const std::string& src) {
    constexpr std::size_t kMaxViewDepth = io::kMaxJsonDepth - 1; // the view sits inside the project object
    if (io::json_deeper_than(view, kMaxViewDepth))
        fail(src, "field 'view' is nested more than " + std::to_string(kMaxViewDepth) + " levels deep");
}

} // namespace

void check_dataset_name(const std::string& src, const std::string& name) {
    check_name(src, "dataset", name);
}

json to_json(const Project& p) {
    check_view(p.view, "project");
    json j;
    j["format"] = "obsprop-project";
    // Version 2 adds pair datasets; a project without them is written as version 1, so older explorers
    // still open it (and refuse one with pairs as written by a newer one, instead of misreading it).
    bool has_pairs = false;
    for (const auto& d : p.datasets)
        has_pairs = has_pairs || d.is_pairs();
    j["version"] = has_pairs ? kProjectVersion : 1;
    j["model"] = {{"path", p.model_path.generic_string()}, {"fingerprint", p.model_fingerprint}};
    j["observables"] = json::array();
    for (const auto& o : p.observables) {
        json e = {{"name", o.name}, {"expr", o.expr}};
        if (!o.dataset.empty()) e["dataset"] = o.dataset; // absent when unset, so older files round-trip
        j["observables"].push_back(e);
    }
    j["datasets"] = json::array();
    for (const auto& d : p.datasets) {
        if (d.is_pairs()) {
            json pairs = json::array();
            for (const auto& pp : d.prompt_pairs) {
                json e = {{"clean", pp.clean}, {"corrupt", pp.corrupt}};
                if (!pp.label.empty()) e["label"] = pp.label;
                pairs.push_back(std::move(e));
            }
            j["datasets"].push_back({{"name", d.name}, {"pairs", std::move(pairs)}});
            continue;
        }
        j["datasets"].push_back({{"name", d.name},
                                 {"templates", d.templates},
                                 {"female_names", d.female_names},
                                 {"male_names", d.male_names}});
    }
    j["settings"] = {{"ln_mode", p.settings.ln_mode},
                     {"rho", p.settings.rho ? json(*p.settings.rho) : json(nullptr)},
                     {"svd_top_k", p.settings.svd_top_k},
                     {"attribution", p.settings.attribution}};
    // Written only when set, so projects that never chose one stay as they were.
    if (p.settings.attribution_position != "last")
        j["settings"]["attribution_position"] = p.settings.attribution_position;
    j["steering"] = json::array();
    for (const auto& s : p.steering) {
        json path = json::array();
        for (auto [l, h] : s.path)
            path.push_back(h == SteeringPreset::kMlpNode ? json{l, "mlp"} : json{l, h});
        j["steering"].push_back({{"name", s.name},
                                 {"observable", s.observable},
                                 {"path", path},
                                 {"layer", s.layer},
                                 {"position", s.position},
                                 {"normalize", s.normalize},
                                 {"multiplier", s.multiplier},
                                 {"range", s.range}});
    }
    j["view"] = p.view;
    return j;
}

Project from_json(const json& j, const std::string& src) {
    require_object(j, src, "a project file");
    const auto format = get<std::string>(j, "format", "", src, "");
    if (format != "obsprop-project")
        fail(src, "not an ObsProp project (field 'format' is \"" + format + "\")");
    const int version = get<int>(j, "version", 0, src, "");
    if (version < 1) fail(src, "field 'version' must be a positive integer");
    if (version > kProjectVersion)
        fail(src, "written by a newer ObsProp Explorer (project version " + std::to_string(version) +
                      ", this one reads up to " + std::to_string(kProjectVersion) + ")");
    Project p;
    if (auto it = j.find("model"); it != j.end() && !it->is_null()) {
        require_object(*it, src, "field 'model'");
        p.model_path = get<std::string>(*it, "path", "", src, "model.");
        p.model_fingerprint = get<std::string>(*it, "fingerprint", "", src, "model.");
    }
    std::set<std::string> names;
    for (const auto& o : get_array(j, "observables", src)) {
        require_object(o, src, "each observable");
        NamedObservable no{get<std::string>(o, "name", "", src, "observables[]."),
                           get<std::string>(o, "expr", "", src, "observables[]."),
                           get<std::string>(o, "dataset", "", src, "observables[].")};
        check_name(src, "observable", no.name);
        if (no.expr.empty()) fail(src, "observable '" + no.name + "' has an empty expression");
        if (!names.insert(no.name).second) fail(src, "observable name '" + no.name + "' is used twice");
        p.observables.push_back(no);
    }
    names.clear();
    for (const auto& d : get_array(j, "datasets", src)) {
        require_object(d, src, "each dataset");
        Dataset ds;
        ds.name = get<std::string>(d, "name", "", src, "datasets[].");
        ds.templates = get_strings(d, "templates", src, "datasets[].");
        ds.female_names = get_strings(d, "female_names", src, "datasets[].");
        ds.male_names = get_strings(d, "male_names", src, "datasets[].");
        ds.prompt_pairs = get_pairs(d, src);
        check_name(src, "dataset", ds.name);
        if (auto err = ds.validate(); !err.empty()) fail(src, err);
        if (!names.insert(ds.name).second) fail(src, "dataset name '" + ds.name + "' is used twice");
        p.datasets.push_back(ds);
    }
    if (auto it = j.find("settings"); it != j.end() && !it->is_null()) {
        require_object(*it, src, "field 'settings'");
        const std::string w = "settings.";
        p.settings.ln_mode = get<std::string>(*it, "ln_mode", p.settings.ln_mode, src, w);
        if (p.settings.ln_mode != "none" && p.settings.ln_mode != "approx" && p.settings.ln_mode != "exact")
            fail(src, "settings.ln_mode must be none, approx or exact (got \"" + p.settings.ln_mode + "\")");
        if (auto r = it->find("rho"); r != it->end() && !r->is_null()) {
            double rho = get<double>(*it, "rho", 0.0, src, w);
            if (!(rho > 0.0) || !std::isfinite(rho)) fail(src, "settings.rho must be a positive number");
            p.settings.rho = rho;
        }
        p.settings.svd_top_k = get<int>(*it, "svd_top_k", p.settings.svd_top_k, src, w);
        if (p.settings.svd_top_k < 1) fail(src, "settings.svd_top_k must be at least 1");
        p.settings.attribution = get<std::string>(*it, "attribution", p.settings.attribution, src, w);
        if (p.settings.attribution != "patching" && p.settings.attribution != "gradient" &&
            p.settings.attribution != "total")
            fail(src, "settings.attribution must be patching, gradient or total");
        p.settings.attribution_position =
            get<std::string>(*it, "attribution_position", p.settings.attribution_position, src, w);
        if (!is_single_token_position(p.settings.attribution_position))
            fail(src, "settings.attribution_position must be name, last or a token index (got \"" +
                          p.settings.attribution_position + "\")");
    }
    for (const auto& s : get_array(j, "steering", src)) {
        require_object(s, src, "each steering preset");
        const std::string w = "steering[].";
        SteeringPreset sp;
        sp.name = get<std::string>(s, "name", "", src, w);
        sp.observable = get<std::string>(s, "observable", "", src, w);
        const std::string preset = "steering preset '" + sp.name + "'";
        for (const auto& e : get_array(s, "path", src)) {
            int layer = 0, head = 0;
            const bool mlp = e.is_array() && e.size() == 2 && e[1].is_string() && e[1] == "mlp";
            if (mlp) head = SteeringPreset::kMlpNode;
            if (!e.is_array() || e.size() != 2 || !int_in(e[0], 0, INT_MAX, layer) ||
                (!mlp && !int_in(e[1], 0, INT_MAX, head)))
                fail(src, preset +
                              ": each path entry must be [layer, head] with non-negative integers or "
                              "[layer, \"mlp\"], not " +
                              io::json_preview(e));
            sp.path.emplace_back(layer, head);
        }
        // Older notes described a separate "head" field; nothing reads it, so a value there would be
        // silently ignored.
        if (s.contains("head"))
            fail(src, preset + ": 'head' is not a field of a steering preset (a single head is a 'path' of "
                               "one [layer, head] entry)");
        sp.layer = get<int>(s, "layer", -1, src, w);
        if (sp.layer < -1)
            fail(src, preset + ": 'layer' must be -1 (the path's first layer) or a layer index");
        sp.position = get<std::string>(s, "position", sp.position, src, w);
        if (!is_token_position(sp.position))
            fail(src, "steering preset '" + sp.name +
                          "': position must be name, last, all or a token index (got \"" + sp.position +
                          "\")");
        sp.normalize = get<bool>(s, "normalize", sp.normalize, src, w);
        sp.multiplier = get<double>(s, "multiplier", 0.0, src, w);
        sp.range = get<double>(s, "range", sp.range, src, w);
        if (!std::isfinite(sp.multiplier) || !std::isfinite(sp.range) || sp.range <= 0)
            fail(src,
                 "steering preset '" + sp.name + "': multiplier and range must be finite, range positive");
        bool known = false;
        for (const auto& o : p.observables)
            known = known || o.name == sp.observable;
        if (!known) fail(src, preset + ": observable '" + sp.observable + "' is not in the project");
        p.steering.push_back(sp);
    }
    if (auto it = j.find("view"); it != j.end() && !it->is_null()) {
        require_object(*it, src, "field 'view'");
        check_view(*it, src);
        p.view = *it;
    }
    return p;
}

std::string serialize(const Project& p) {
    return to_json(p).dump(2) + "\n";
}

Project load_project(const fs::path& file) {
    std::string text;
    try {
        text = io::read_regular_file(file, io::kMaxProjectBytes);
    } catch (const io::ReadError& e) {
        if (e.kind() == io::ReadError::Kind::NotFound || e.kind() == io::ReadError::Kind::CannotOpen)
            throw ProjectError(file.string() + ": cannot open the project file");
        throw ProjectError(file.string() + ": " + e.what());
    }
    const io::ParsedJson parsed = io::parse_json_limited(text);
    if (!parsed.error.empty()) throw ProjectError(file.string() + ": not valid JSON (" + parsed.error + ")");
    return from_json(parsed.value, file.string());
}

void save_project(const Project& p, const fs::path& file) {
    // What is written must read back: the same checks as load_project (names, references, ranges).
    check_view(p.view, file.string());
    from_json(to_json(p), file.string());
    try {
        io::write_file_atomic(file, serialize(p));
    } catch (const std::runtime_error& e) {
        throw ProjectError(e.what());
    }
}

} // namespace obsprop::project
