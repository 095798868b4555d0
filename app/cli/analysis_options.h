// Options shared by the analysis subcommands: where the model, observables and prompts come from.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "obsprop/tables.h"
#include "obsprop/workspace.h"

namespace CLI {
class App;
}

namespace obsprop::cli {

struct AnalysisOptions {
    std::string model, project;
    std::vector<std::string> observables;  // EXPR or name=EXPR
    std::string dataset;
    std::string ln = "none";
    std::string position = "name";
    bool json = false, csv = false;

    // Adds --model/--project/--observable/--dataset/--ln/--json/--csv to a subcommand.
    void add_to(CLI::App* cmd, bool with_dataset = true, bool with_ln = true);
    // Opens the workspace: --project wins; --observable adds to (or, for a project, replaces) its list.
    Workspace open() const;
    TableOptions table_options() const;
};

// Prints a table as --json (array of row objects), --csv, or aligned text.
void print_table(const Table& t, const AnalysisOptions& o);

}  // namespace obsprop::cli
