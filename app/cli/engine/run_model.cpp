// obsprop logits in the engine: runs a prompt through the model.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <numeric>

#include <torch/types.h>

#include "analyses/model_folder.h"
#include "cli.h"
#include "commands.h"
#include "model/finite.h"
#include "model/transformer.h"

namespace obsprop::cli::engine {

int logits(const ModelArgs& a) {
    if (a.top < 0) throw UsageError("--top must be a non-negative number");
    const auto loaded = analyses::load_model_folder(a.model);
    const io::Tokenizer& tok = *loaded.tokenizer;
    const model::Transformer& m = *loaded.model;
    auto ids = tok.encode(a.prompt);
    if (ids.empty()) throw UsageError("the prompt is empty: it has no tokens");
    torch::NoGradGuard no_grad;
    auto batch = model::Batch::from({ids});
    model::RunOptions opts;
    opts.last_logits_only = true;
    torch::Tensor last = m.forward(batch, opts).squeeze(0).contiguous();
    const float* p = last.data_ptr<float>();
    std::vector<float> values(p, p + last.numel());
    // NaN weights (or an overflow) would print as null: refuse, naming the tensors that hold them.
    const auto bad = std::count_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
    if (bad > 0)
        throw std::runtime_error("the logits at the last position are not finite (" + std::to_string(bad) +
                                 " of " + std::to_string(values.size()) + " are NaN or infinite)" +
                                 model::nonfinite_weights_note(m));

    std::vector<int> order(values.size());
    std::iota(order.begin(), order.end(), 0);
    int k = std::min<int>(a.top, static_cast<int>(values.size()));
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int x, int y) {
        return values[x] > values[y] || (values[x] == values[y] && x < y);
    });
    if (a.json) {
        nlohmann::json out = {{"ids", ids}, {"last", values}};
        if (a.top > 0) {
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

} // namespace obsprop::cli::engine
