// Shared pieces of the obsprop command-line tool.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace CLI {
class App;
}

namespace obsprop::cli {

// What a subcommand does once its arguments are parsed; it returns the process exit code.
using Action = std::function<int()>;

// Each area registers its subcommands; the chosen one stores its action in `run`.
void add_model_commands(CLI::App& app, Action& run);
void add_analysis_commands(CLI::App& app, Action& run);
void add_project_commands(CLI::App& app, Action& run);

// Writes JSON to stdout (invalid UTF-8 in token texts is replaced, never fatal).
void print_json(const nlohmann::json& j);

// A usage error: the command line asks for something impossible or absent (a bad option value, a head, layer,
// path, observable or dataset the model or project does not have). Printed as "obsprop: error: <message>",
// exit code 2 (like CLI11's own parse errors; a runtime error exits with 1).
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

} // namespace obsprop::cli
