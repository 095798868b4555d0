// obsprop: the headless command-line face of ObsProp Explorer.
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include "cli.h"
#include "io/version.h"
#include "model/runtime.h"

namespace obsprop::cli {

void print_json(const nlohmann::json& j) {
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

} // namespace obsprop::cli

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

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        model::configure_threads();
        return run ? run() : 0;
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
