// obsprop: the command-line face of ObsProp Explorer, the front end. It never loads LibTorch, so --help,
// --version, info, tokenize and project validate answer in milliseconds; every other command line is handed
// word for word to obsprop-engine (exec: the engine becomes this process, with its exit code and output),
// which parses it with the same definitions and does the work.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <system_error>

#include "cli.h"
#include "commands.h"

namespace obsprop::cli {

namespace {

char** g_argv = nullptr; // main's, for the engine

// obsprop-engine: installed in <prefix>/libexec/obsprop/ (OBSPROP_ENGINE_FROM_BINDIR, relative to this
// program's folder), or beside this program in the build tree.
std::filesystem::path find_engine() {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec)
        throw std::runtime_error("cannot find obsprop-engine: where is this program? (" + ec.message() + ")");
    const auto bindir = self.parent_path();
    const std::filesystem::path candidates[] = {
        (bindir / OBSPROP_ENGINE_FROM_BINDIR).lexically_normal(),
        bindir / "obsprop-engine",
    };
    for (const auto& c : candidates)
        if (::access(c.c_str(), X_OK) == 0) return c;
    throw std::runtime_error("this command needs obsprop-engine, which is missing: neither " +
                             candidates[0].string() + " nor " + candidates[1].string() +
                             " is an executable file (reinstall obsprop-explorer)");
}

// The whole command line, to the engine.
int exec_engine() {
    const auto engine = find_engine();
    std::cout.flush();
    ::execv(engine.c_str(), g_argv);
    throw std::runtime_error("cannot start " + engine.string() + ": " + std::strerror(errno));
}

} // namespace

void before_action() {}

std::string error_message(const std::exception& e) {
    return e.what();
}

namespace engine {
int logits(const ModelArgs&) {
    return exec_engine();
}
int features(const FeaturesArgs&) {
    return exec_engine();
}
int attribute(const AttributeArgs&) {
    return exec_engine();
}
int couple(const CoupleArgs&) {
    return exec_engine();
}
int svd(const SvdArgs&) {
    return exec_engine();
}
int head(const HeadArgs&) {
    return exec_engine();
}
int attention(const AttentionArgs&) {
    return exec_engine();
}
int corpus(const CorpusArgs&) {
    return exec_engine();
}
int paths(const PathsArgs&) {
    return exec_engine();
}
int dataset(const AnalysisOptions&) {
    return exec_engine();
}
int steer(const SteerArgs&) {
    return exec_engine();
}
int debias(const DebiasArgs&) {
    return exec_engine();
}
int create_project(const CreateArgs&) {
    return exec_engine();
}
int export_project(const ExportArgs&) {
    return exec_engine();
}
int batch() {
    return exec_engine();
}
} // namespace engine

} // namespace obsprop::cli

int main(int argc, char** argv) {
    obsprop::cli::g_argv = argv;
    return obsprop::cli::run_command_line(argc, argv);
}
