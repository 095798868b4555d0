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

// An error the user can act on: printed as "obsprop: error: <message>", exit code 1.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

} // namespace obsprop::cli
