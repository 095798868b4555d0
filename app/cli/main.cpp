// obsprop: the headless command-line face of ObsProp Explorer.
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include "cli.h"
#include "io/version.h"
#include "model/runtime.h"
#include "model/widening.h"

namespace obsprop::cli {

void print_json(const nlohmann::json& j) {
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

} // namespace obsprop::cli

namespace {

// The first words of the command line name subcommands: one that names none is an error naming it (CLI11
// would say "A subcommand is required" or list it as an unexpected argument).
std::string unknown_subcommand(CLI::App& app, int argc, char** argv) {
    CLI::App* current = &app;
    std::string path = "obsprop";
    for (int i = 1; i < argc; ++i) {
        const std::string word = argv[i];
        if (word.empty() || word[0] == '-') return {};
        const auto subs = current->get_subcommands([](CLI::App*) { return true; });
        if (subs.empty()) return {};
        CLI::App* next = nullptr;
        std::string names;
        for (auto* s : subs) {
            if (s->check_name(word)) next = s;
            names += (names.empty() ? "" : ", ") + s->get_name();
        }
        if (!next)
            return "unknown subcommand '" + word + "' of '" + path + "' (the subcommands are: " + names + ")";
        current = next;
        path += " " + next->get_name();
    }
    return {};
}

// "obsprop features": the subcommands parsed so far, for a hint after a parse error.
std::string parsed_path(CLI::App& app) {
    std::string path = "obsprop";
    CLI::App* current = &app;
    for (;;) {
        const auto parsed = current->get_subcommands();
        if (parsed.empty()) return path;
        current = parsed.front();
        path += " " + current->get_name();
    }
}

int usage_error(const std::string& message) {
    std::cout.flush();
    std::cerr << "obsprop: error: " << message << '\n';
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    using namespace obsprop;
    CLI::App app{"obsprop: observable propagation on Transformer checkpoints (headless ObsProp Explorer)"};
    app.set_version_flag("--version", std::string("obsprop ") + obsprop::version());
    app.require_subcommand(1);
    app.fallthrough(false);

    cli::Action run;
    cli::add_model_commands(app, run);
    cli::add_analysis_commands(app, run);
    cli::add_project_commands(app, run);

    // Exit codes: 0 success (and --help, --version), 1 a runtime error, 2 a usage error; every message on
    // stderr starts with "obsprop: error: ".
    if (const std::string bad = unknown_subcommand(app, argc, argv); !bad.empty()) return usage_error(bad);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
        return usage_error(std::string(e.what()) + " (see '" + parsed_path(app) + " --help')");
    }
    try {
        model::configure_threads();
        // One command, then exit: float32 copies of BF16/F16 weights go to reused buffers, not a cache.
        model::set_keep_widened(false);
        return run ? run() : 0;
    } catch (const cli::UsageError& e) {
        return usage_error(e.what());
    } catch (const c10::Error& e) {
        std::cout.flush();
        std::cerr << "obsprop: error: " << e.what_without_backtrace() << '\n';
        return 1;
    } catch (const std::exception& e) {
        std::cout.flush();
        std::cerr << "obsprop: error: " << e.what() << '\n';
        return 1;
    } catch (...) {
        std::cerr << "obsprop: error: unknown failure\n";
        return 1;
    }
}
