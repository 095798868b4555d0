// Shared pieces of the obsprop command-line tool. It is two programs: `obsprop`, the front end, which starts
// in milliseconds because it never loads LibTorch, and `obsprop-engine`, which does the numeric work. Both
// parse the command line with the same subcommand and option definitions (cmd_*.cpp); the front end answers
// --help, --version, info, tokenize and project validate itself and hands every other command line, word
// for word, to the engine (front/main.cpp), which parses it again and runs it (engine/).
#pragma once

#include <exception>
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
void add_batch_command(CLI::App& app, Action& run);

// Parses a command line (argv[0] is the program) with every subcommand and runs the chosen one. Exit codes:
// 0 success (and --help, --version), 1 a runtime error, 2 a usage error; every error is printed on stderr as
// "obsprop: error: <message>".
int run_command_line(int argc, const char* const* argv);

// Writes JSON to stdout (invalid UTF-8 in token texts is replaced, never fatal).
void print_json(const nlohmann::json& j);

// A usage error: the command line asks for something impossible or absent (a bad option value, a head, layer,
// path, observable or dataset the model or project does not have). Printed as "obsprop: error: <message>",
// exit code 2 (like CLI11's own parse errors; a runtime error exits with 1).
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Defined by each program (front/main.cpp, engine/main.cpp):
// runs once a command line is parsed, before its action (the engine sizes LibTorch's threads);
void before_action();
// the message of a runtime error (the engine leaves LibTorch's backtraces out).
std::string error_message(const std::exception& e);

} // namespace obsprop::cli
