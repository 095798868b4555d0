// obsprop info | tokenize | logits: looking at a checkpoint and running it. info and tokenize need no
// LibTorch and run in the front end; logits runs the model in the engine (engine/run_model.cpp).
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "cli.h"
#include "commands.h"
#include "io/model_summary.h"
#include "io/safetensors.h"
#include "io/tokenizer.h"
#include "io/weight_plan.h"

namespace obsprop::cli {

int run_info(const ModelArgs& a) {
    const auto c = io::load_model_config(a.model);
    // The checkpoint must really match the configuration: every tensor the model needs, with its shape, and
    // no layer the configuration does not have (the checks the weights' loader makes).
    const auto ckpt = io::Checkpoint::open(a.model);
    io::check_weights(ckpt, c);
    const auto facts = io::describe_model(c);
    if (a.json) {
        nlohmann::json j = nlohmann::json::object();
        for (const auto& f : facts)
            j[f.key] = f.value;
        j["checkpoint_bytes"] = ckpt.total_bytes();
        print_json(j);
        return 0;
    }
    std::size_t width = 0;
    for (const auto& f : facts)
        width = std::max(width, f.label.size());
    for (const auto& f : facts)
        std::cout << std::left << std::setw(static_cast<int>(width) + 2) << f.label << f.text << '\n';
    std::cout << std::left << std::setw(static_cast<int>(width) + 2) << "Weights" << ckpt.total_bytes()
              << " bytes\n";
    return 0;
}

int run_tokenize(const ModelArgs& a) {
    auto tok = io::Tokenizer::from_directory(a.model);
    auto ids = tok.encode(a.text);
    nlohmann::json tokens = nlohmann::json::array();
    for (int id : ids)
        tokens.push_back(tok.token_text(id));
    if (a.json) {
        print_json({{"ids", ids}, {"tokens", tokens}});
        return 0;
    }
    for (std::size_t i = 0; i < ids.size(); ++i)
        std::cout << std::setw(7) << ids[i] << "  "
                  << nlohmann::json(tok.token_text(ids[i]))
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                  << '\n';
    return 0;
}

void add_model_commands(CLI::App& app, Action& run) {
    auto o = std::make_shared<ModelArgs>();

    auto* info = app.add_subcommand("info", "Show a checkpoint's architecture (and check it loads)");
    info->add_option("--model", o->model, "Hugging Face model folder")->required();
    info->add_flag("--json", o->json, "JSON output");
    info->callback([o, &run] { run = [o] { return run_info(*o); }; });

    auto* tokenize = app.add_subcommand("tokenize", "Tokenise text exactly as given (no BOS is added)");
    tokenize->add_option("--model", o->model, "Hugging Face model folder")->required();
    tokenize->add_flag("--json", o->json, "JSON output");
    tokenize->add_option("text", o->text, "Text to tokenise")->required();
    tokenize->callback([o, &run] { run = [o] { return run_tokenize(*o); }; });

    auto* logits = app.add_subcommand("logits", "Run a prompt and print the logits at its last position");
    logits->add_option("--model", o->model, "Hugging Face model folder")->required();
    logits->add_option("--prompt", o->prompt, "Prompt text, tokenised exactly as given")->required();
    logits->add_option("--top", o->top, "Also list the K highest logits");
    logits->add_flag("--json", o->json, "JSON output");
    logits->callback([o, &run] { run = [o] { return engine::logits(*o); }; });
}

} // namespace obsprop::cli
