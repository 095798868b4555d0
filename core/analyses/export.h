// Export: every report of a project as tables, into a folder as CSV and JSON with a manifest. `obsprop
// export` and the explorer's File ▸ Export All call these same functions with the same resolved settings,
// so they write the same files with the same numbers.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyses/analysis.h"
#include "analyses/reports.h"
#include "analyses/tables.h"
#include "obsprop/progress.h"

namespace obsprop::analyses {

// Every report an export holds, computed once; the tables and the figures are drawn from these.
struct ProjectReports {
    std::vector<FeaturesReport> features;       // zero or one
    std::vector<AttributionReport> attribution; // per dataset with pairs
    std::vector<PathsReport> path_searches;     // per dataset with aligned pairs, per observable
    std::vector<DatasetReport> datasets;        // per dataset
    std::vector<CouplingReport> couplings;      // per pair of observables (fits over settings().dataset)
    std::vector<SvdReport> svds;                // per observable
    std::vector<PathsReport> rankings;          // per observable
    std::vector<SteeringReport> steering;       // the project's steering presets, all at once (zero or one)
};

ProjectReports project_reports(const Analysis& a, const Progress& progress = {});
std::vector<Table> tables_of(const ProjectReports& r);

// The manifest both surfaces write: the resolved settings, the model, the project file, the tables.
nlohmann::json export_manifest(const Analysis& a);

struct ExportSummary {
    std::vector<std::filesystem::path> files;
};

// Writes <name>.csv and <name>.json for every table and manifest.json (with the tables listed) into `dir`
// (created if needed). Throws std::runtime_error naming a file it cannot write.
// `extra` files (name, contents) are written with the tables, before the manifest, and listed in it.
ExportSummary export_tables(const std::vector<Table>& tables, const std::filesystem::path& dir,
                            const nlohmann::json& manifest,
                            const std::vector<std::pair<std::string, std::string>>& extra = {});

// A corpus report (`obsprop corpus --export DIR`, the explorer's Corpus view): its three tables (CSV and
// JSON), <tables' stem>_report.json holding to_json(r) (everything, the vectors and the examples' contexts)
// and the manifest with the corpus options.
ExportSummary export_corpus(const Analysis& a, const CorpusReport& r, const std::filesystem::path& dir);

// The project's steering presets as steering vectors.
std::vector<SteeringVector> project_steering(const Analysis& a);

} // namespace obsprop::analyses
