// "Export all": every table of a workspace into a folder as CSV and JSON, plus a manifest. The CLI's
// `obsprop export` and the explorer's Export All call this same function.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "obsprop/tables.h"

namespace obsprop {

struct ExportSummary {
    std::vector<std::filesystem::path> files;
};

// Tables: features; per dataset with pairs, attribution_<dataset>; per pair of observables,
// coupling_<a>_<b>; per observable, svd_<obs> and paths_<obs>; per dataset, dataset_<name> and (when its
// pairs align) path_search_<name>_<obs>.
std::vector<Table> all_tables(const Workspace& w, const TableOptions& o, const Progress& progress = {});

// Writes <name>.csv and <name>.json for every table and manifest.json into `dir` (created if needed).
ExportSummary export_tables(const std::vector<Table>& tables, const std::filesystem::path& dir,
                            const nlohmann::json& manifest = nlohmann::json::object());

}  // namespace obsprop
