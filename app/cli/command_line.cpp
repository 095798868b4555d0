// Parsing a command line and running the chosen subcommand, as both programs (obsprop and obsprop-engine)
// and every request of `obsprop batch` do.
#include <exception>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "cli.h"
#include "io/version.h"

namespace obsprop::cli {

void print_json(const nlohmann::json& j) {
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

namespace {

// The first words of the command line name subcommands: one that names none is an error naming it (CLI11
// would say "A subcommand is required" or list it as an unexpected argument).
std::string unknown_subcommand(CLI::App& app, int argc, const char* const* argv) {
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

int run_command_line(int argc, const char* const* argv) {
    CLI::App app{"obsprop: observable propagation on Transformer checkpoints (headless ObsProp Explorer)"};
    app.set_version_flag("--version", std::string("obsprop ") + obsprop::version());
    app.require_subcommand(1);
    app.fallthrough(false);

    Action run;
    add_model_commands(app, run);
    add_analysis_commands(app, run);
    add_project_commands(app, run);
    add_batch_command(app, run);
    // After the subcommands, which would inherit it.
    app.footer(
        "--help, --version, info, tokenize and project validate answer at once; every other command\n"
        "starts the numeric engine (obsprop-engine, LibTorch), which takes about half a second. To run\n"
        "many commands, start it once: obsprop batch (see obsprop batch --help).");

    if (const std::string bad = unknown_subcommand(app, argc, argv); !bad.empty()) return usage_error(bad);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
        return usage_error(std::string(e.what()) + " (see '" + parsed_path(app) + " --help')");
    }
    try {
        before_action();
        return run ? run() : 0;
    } catch (const UsageError& e) {
        return usage_error(e.what());
    } catch (const std::exception& e) {
        std::cout.flush();
        std::cerr << "obsprop: error: " << error_message(e) << '\n';
        return 1;
    } catch (...) {
        std::cerr << "obsprop: error: unknown failure\n";
        return 1;
    }
}

} // namespace obsprop::cli
