// obsprop-engine: the numeric half of the obsprop command (LibTorch). The obsprop front end hands it every
// command line that needs the model run (cli.h); run by hand, it behaves exactly as obsprop does.
#include <exception>
#include <string>

#include <c10/util/Exception.h>

#include "cli.h"
#include "model/runtime.h"
#include "model/widening.h"

namespace obsprop::cli {

void before_action() {
    static const int threads = model::configure_threads();
    (void)threads;
}

std::string error_message(const std::exception& e) {
    if (const auto* t = dynamic_cast<const c10::Error*>(&e)) return t->what_without_backtrace();
    return e.what();
}

} // namespace obsprop::cli

int main(int argc, char** argv) {
    // One command, then exit: float32 copies of BF16/F16 weights go to reused buffers, not a cache (`obsprop
    // batch` keeps them, for the requests that follow).
    obsprop::model::set_keep_widened(false);
    return obsprop::cli::run_command_line(argc, argv);
}
