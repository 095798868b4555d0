// obsprop batch: many command lines answered by one engine process (engine/batch.cpp).
#include <CLI/CLI.hpp>

#include "cli.h"
#include "commands.h"

namespace obsprop::cli {

void add_batch_command(CLI::App& app, Action& run) {
    auto* batch = app.add_subcommand(
        "batch",
        "Run many commands in one engine process (JSON lines on stdin and stdout; models stay loaded)");
    batch->footer(
        "Each line of standard input is one request, a JSON object whose \"args\" are the words given to\n"
        "obsprop, e.g. {\"id\": 1, \"args\": [\"features\", \"--project\", \"p.obsprop\", \"--json\"]}. Each "
        "is\n"
        "answered on one line of standard output, in order, as soon as it is done:\n"
        "{\"id\": <the request's id, or null>, \"exit\": <0, 1 or 2, the command's exit code>, \"output\": "
        "<what\n"
        "it printed: its JSON parsed, else the text>, \"error\": <what it printed on standard error>}.\n"
        "A bad request (not JSON, no args, an unknown command) is answered with exit 2 and an error, and "
        "the\n"
        "batch goes on until the end of its input. Model folders stay loaded from one request to the next\n"
        "(the last two used; reloaded when their files change).");
    batch->callback([&run] { run = [] { return engine::batch(); }; });
}

} // namespace obsprop::cli
