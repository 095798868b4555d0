// Every figure of a project export, drawn from its reports alone (no window, no view state): a heatmap per
// feature norm, per compared pair (cosine, coupling both ways) and per attribution (dataset, observable); the
// coupling-vs-attribution-ratio plot of every pair on the data analyses' dataset; the steering bars of the
// project's steering vectors. Each as PNG, SVG and PDF. `obsprop export --figures` and the explorer's Export
// All both call this. No Qt in this header: the CLI includes it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "analyses/export.h"

namespace obsprop::ui::figures {

struct FigureTask {
    std::string stem;           // file name without suffix, e.g. "heatmap_norm_subj"
    std::function<bool()> draw; // writes <dir>/<stem>.png/.svg/.pdf; false when a file could not be written
};

// One task per figure, to run on the GUI thread (one per event-loop turn keeps a window responsive).
std::vector<FigureTask> project_figure_tasks(const analyses::ProjectReports& r, const std::string& dir);

// Runs every task (creating an offscreen QApplication first when the process has none). Returns the files
// written; throws std::runtime_error naming a figure that could not be written.
std::vector<std::string> write_project_figures(const analyses::ProjectReports& r, const std::string& dir);

} // namespace obsprop::ui::figures
