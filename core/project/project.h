// Project files (.obsprop): the recipe of an analysis, not its tensors. JSON with sorted keys (so
// files diff cleanly), versioned by "format"/"version", loaded field by field with defaults, saved
// atomically (temporary file + rename).
//
// {
//   "format": "obsprop-project", "version": 1 (2 when a dataset is a pair dataset),
//   "model": {"path": "models/demo", "fingerprint": "xxh3:0123456789abcdef"},
//   "observables": [{"name": "subj", "expr": "\" she\" - \" he\"", "dataset": "subject"}],
//   "datasets": [{"name", "templates": [...], "female_names": [...], "male_names": [...]}
//                or {"name", "pairs": [{"clean", "corrupt", "label"}]}  (a pair dataset, version 2)],
//   "settings": {"ln_mode": "approx", "rho": null, "svd_top_k": 5, "attribution": "patching"},
//   "steering": [{"name", "observable", "layer", "path": [[l,h],...], "position": "name",
//                 "normalize": true, "multiplier": 0.0, "range": 300.0}],
//   "view": { free-form state of the GUI }
// }
// A relative model path is relative to the project file's folder.
//
// Reading and writing apply the same checks: observable and dataset names are unique and usable as file
// names (non-empty, at most 100 bytes, no '/', '\' or control characters, not "." or "..", no leading
// '-'); integers are range-checked before they are narrowed; numbers are finite; a steering preset's
// path holds [layer, head] pairs of non-negative integers or [layer, "mlp"] for a layer's MLP, its layer is
// -1 or a layer index and its observable is one of the project's; the view nests at most 63 levels. The file
// itself must be a regular file (a FIFO is refused without blocking) of at most 256 MB, parsed with a nesting
// limit.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "project/dataset.h"

namespace obsprop::project {

// The newest version read and written. Version 2 added pair datasets; a project without them is still
// written as version 1.
inline constexpr int kProjectVersion = 2;

class ProjectError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct NamedObservable {
    std::string name;
    std::string expr;
    std::string dataset; // its LayerNorm dataset (ρ, exact linearisation points); empty = the first dataset
    bool operator==(const NamedObservable&) const = default;
};

struct Settings {
    std::string ln_mode = "approx";       // none | approx | exact
    std::optional<double> rho;            // ln_f / LayerNorm input norm; none = estimate from data
    int svd_top_k = 5;                    // SVD alignment entries per head
    std::string attribution = "patching"; // patching | gradient | total: the default attribution method
    // The token whose prediction attribution explains: name, last or a token index (dataset.h).
    std::string attribution_position = "last";
};

struct SteeringPreset {
    std::string name;
    std::string observable; // whose feature vector
    // (layer, head), earliest first; one entry = a single head. head == kMlpNode: the layer's MLP.
    static constexpr int kMlpNode = -2;
    std::vector<std::pair<int, int>> path;
    int layer = -1; // where it is added (blocks.{layer}.hook_resid_pre); -1 = path's first layer
    std::string position = "name"; // name | last | all | a token index (dataset.h)
    bool normalize = true;
    double multiplier = 0.0;
    double range = 300.0;
};

struct Project {
    std::filesystem::path model_path; // as written (may be relative)
    std::string model_fingerprint;    // empty when unknown
    std::vector<NamedObservable> observables;
    std::vector<Dataset> datasets;
    Settings settings;
    std::vector<SteeringPreset> steering;
    nlohmann::json view = nlohmann::json::object();

    // The model folder, resolved against the folder of the project file.
    std::filesystem::path resolved_model_path(const std::filesystem::path& project_file) const;
};

nlohmann::json to_json(const Project& p);
// Tolerant: missing fields take defaults; wrong types, values out of range, bad or repeated names, a newer
// version or a foreign format throw ProjectError naming the field. `source` names the file in messages.
Project from_json(const nlohmann::json& j, const std::string& source = "project");

// Throws ProjectError "<src>: dataset name ... is not usable in file names: ..." unless `name` is a name a
// project file may give a dataset (the rules above).
void check_dataset_name(const std::string& src, const std::string& name);

Project load_project(const std::filesystem::path& file);
// Atomic and durable (io::write_file_atomic): a crash leaves the old file or the new one. Refuses
// (ProjectError) a project that load_project would refuse.
void save_project(const Project& p, const std::filesystem::path& file);
// The text save_project writes (sorted keys, 2-space indent, trailing newline).
std::string serialize(const Project& p);

// A fingerprint that identifies a model folder, fast on any size ("xxh3v2:<16 hex digits>", fingerprint.cpp):
// xxh3 over config.json, the tokenizer files, and for every tensor its name, dtype, shape and 64 samples of
// 64 bytes spread evenly over its data. Throws ProjectError if the folder has no config.json or its weights
// cannot be read.
std::string fingerprint_model(const std::filesystem::path& dir);
// Whether `saved` (a project's model.fingerprint, "" when unknown) still describes `dir`. Fingerprints of the
// first format ("xxh3:", config.json + the first MiB of each weights file) are checked in that format.
bool fingerprint_matches(const std::string& saved, const std::filesystem::path& dir);

} // namespace obsprop::project
