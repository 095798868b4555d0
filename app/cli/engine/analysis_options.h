// The analysis subcommands' options applied (options.h registers them): the workspace opened, the settings
// resolved with the overrides, and references given on the command line checked against the model.
#pragma once

#include <string>
#include <vector>

#include "analyses/analysis.h"
#include "analyses/reports.h"
#include "analyses/tables.h"
#include "options.h"

namespace obsprop {
class Workspace;
}

namespace obsprop::cli {

// Opens the workspace (--project wins; --observable adds to, or replaces one of, its observables) and
// resolves the settings with the options' overrides plus `more`. A bad --observable (syntax, or a name given
// twice), --dataset, --ln-dataset or setting is a UsageError.
analyses::Analysis open_analysis(const AnalysisOptions& o, const analyses::SettingsOverrides& more = {});
analyses::SettingsOverrides overrides_of(const AnalysisOptions& o);

// Prints a table as --json (array of row objects), --csv, or aligned text.
void print_table(const analyses::Table& t, const AnalysisOptions& o);

// References given on the command line, checked strictly; every failure is a UsageError naming the option.
// One head "L.H": two non-negative integers, nothing else ("-1.0", "1.4 ->", "1.4x" are refused).
analyses::HeadId parse_head_arg(const std::string& option, const std::string& text);
// A path of heads and MLPs, "1.2 -> mlp2 -> 3.4" (separators "->", ">" or ",").
std::vector<analyses::HeadId> parse_path_arg(const std::string& option, const std::string& text);
// The heads and MLPs exist in the workspace's model, in order (validate_path's rules).
void check_heads_arg(const Workspace& w, const std::string& option, const std::string& text,
                     const std::vector<analyses::HeadId>& heads);
// A layer index of the workspace's model.
void check_layer_arg(const Workspace& w, const std::string& option, int layer);
// The name of an observable of the workspace (empty: the first observable's).
std::string observable_arg(const Workspace& w, const std::string& option, const std::string& name);

} // namespace obsprop::cli
