// obsprop info | tokenize | logits: looking at a checkpoint and running it.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <numeric>

#include <CLI/CLI.hpp>
#include <torch/types.h>

#include "cli.h"
#include "io/model_summary.h"
#include "io/tokenizer.h"
#include "model/finite.h"
#include "model/transformer.h"

namespace obsprop::cli {

namespace {

int cmd_info(const std::string& dir, bool json) {
    auto c = io::load_model_config(dir);
    // Loading the weights too checks that the checkpoint really matches the configuration.
    auto m = model::Transformer::load(dir);
    const auto facts = io::describe_model(c);
    if (json) {
        nlohmann::json j = nlohmann::json::object();
        for (const auto& f : facts)
            j[f.key] = f.value;
        j["checkpoint_bytes"] = m->checkpoint_bytes();
        print_json(j);
        return 0;
    }
    std::size_t width = 0;
    for (const auto& f : facts)
        width = std::max(width, f.label.size());
    for (const auto& f : facts)
        std::cout << std::left << std::setw(static_cast<int>(width) + 2) << f.label << f.text << '\n';
    std::cout << std::left << std::setw(static_cast<int>(width) + 2) << "Weights" << m->checkpoint_bytes()
              << " bytes\n";
    return 0;
}

int cmd_tokenize(const std::string& dir, const std::string& text, bool json) {
    auto tok = io::Tokenizer::from_directory(dir);
    auto ids = tok.encode(text);
    nlohmann::json tokens = nlohmann::json::array();
    for (int id : ids)
        tokens.push_back(tok.token_text(id));
    if (json) {
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

int cmd_logits(const std::string& dir, const std::string& prompt, int top, bool json) {
    if (top < 0) throw UsageError("--top must be a non-negative number");
    auto tok = io::Tokenizer::from_directory(dir);
    auto m = model::Transformer::load(dir);
    auto ids = tok.encode(prompt);
    if (ids.empty()) throw UsageError("the prompt is empty: it has no tokens");
    torch::NoGradGuard no_grad;
    auto batch = model::Batch::from({ids});
    model::RunOptions opts;
    opts.last_logits_only = true;
    torch::Tensor last = m->forward(batch, opts).squeeze(0).contiguous();
    const float* p = last.data_ptr<float>();
    std::vector<float> values(p, p + last.numel());
    // NaN weights (or an overflow) would print as null: refuse, naming the tensors that hold them.
    const auto bad = std::count_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
    if (bad > 0)
        throw std::runtime_error("the logits at the last position are not finite (" + std::to_string(bad) +
                                 " of " + std::to_string(values.size()) + " are NaN or infinite)" +
                                 model::nonfinite_weights_note(*m));

    std::vector<int> order(values.size());
    std::iota(order.begin(), order.end(), 0);
    int k = std::min<int>(top, static_cast<int>(values.size()));
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) {
        return values[a] > values[b] || (values[a] == values[b] && a < b);
    });
    if (json) {
        nlohmann::json out = {{"ids", ids}, {"last", values}};
        if (top > 0) {
            nlohmann::json t = nlohmann::json::array();
            for (int i = 0; i < k; ++i)
                t.push_back(
                    {{"id", order[i]}, {"token", tok.token_text(order[i])}, {"logit", values[order[i]]}});
            out["top"] = t;
        }
        print_json(out);
        return 0;
    }
    std::cout << ids.size() << " tokens; logits at the last position over " << values.size() << " tokens\n";
    for (int i = 0; i < k; ++i)
        std::cout << std::setw(3) << i + 1 << ". " << std::setw(7) << order[i] << "  " << std::setw(12)
                  << values[order[i]] << "  "
                  << nlohmann::json(tok.token_text(order[i]))
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                  << '\n';
    return 0;
}

} // namespace

void add_model_commands(CLI::App& app, Action& run) {
    struct Opts {
        std::string model, text, prompt;
        bool json = false;
        int top = 0;
    };
    auto o = std::make_shared<Opts>();

    auto* info = app.add_subcommand("info", "Show a checkpoint's architecture (and check it loads)");
    info->add_option("--model", o->model, "Hugging Face model folder")->required();
    info->add_flag("--json", o->json, "JSON output");
    info->callback([o, &run] { run = [o] { return cmd_info(o->model, o->json); }; });

    auto* tokenize = app.add_subcommand("tokenize", "Tokenise text exactly as given (no BOS is added)");
    tokenize->add_option("--model", o->model, "Hugging Face model folder")->required();
    tokenize->add_flag("--json", o->json, "JSON output");
    tokenize->add_option("text", o->text, "Text to tokenise")->required();
    tokenize->callback([o, &run] { run = [o] { return cmd_tokenize(o->model, o->text, o->json); }; });

    auto* logits = app.add_subcommand("logits", "Run a prompt and print the logits at its last position");
    logits->add_option("--model", o->model, "Hugging Face model folder")->required();
    logits->add_option("--prompt", o->prompt, "Prompt text, tokenised exactly as given")->required();
    logits->add_option("--top", o->top, "Also list the K highest logits");
    logits->add_flag("--json", o->json, "JSON output");
    logits->callback([o, &run] { run = [o] { return cmd_logits(o->model, o->prompt, o->top, o->json); }; });
}

} // namespace obsprop::cli
