// Model-core benchmark: time to ready and peak RSS when opening a checkpoint, and batched forward
// passes. Prints one JSON object so scripts/bench can collect the figures.
//
//   bench_model load DIR            open, then run one 1-token prompt (every weight page touched)
//   bench_model forward DIR N T R   N prompts x T tokens, best of R runs
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "model/runtime.h"
#include "model/transformer.h"

using Clock = std::chrono::steady_clock;

static double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

static double peak_rss_bytes() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_maxrss) * 1024.0;
}

int main(int argc, char** argv) try {
    if (argc < 3) {
        std::cerr << "usage: bench_model load DIR | forward DIR N T R\n";
        return 2;
    }
    const std::string mode = argv[1];
    const int threads = obsprop::model::configure_threads(0);
    torch::NoGradGuard no_grad;
    nlohmann::json out = {{"mode", mode}, {"threads", threads}};

    auto t0 = Clock::now();
    auto m = obsprop::model::Transformer::load(argv[2]);
    out["open_s"] = seconds_since(t0);
    out["checkpoint_bytes"] = m->checkpoint_bytes();
    const auto& c = m->config();

    if (mode == "load") {
        obsprop::model::RunOptions o;
        o.last_logits_only = true;
        auto logits = m->forward(obsprop::model::Batch::from({{1}}), o);
        out["ready_s"] = seconds_since(t0);
        out["logit0"] = logits[0][0].item<float>();
    } else if (mode == "forward" && argc >= 6) {
        const int n = std::stoi(argv[3]), T = std::stoi(argv[4]), reps = std::stoi(argv[5]);
        std::mt19937 rng(1234);
        std::uniform_int_distribution<int> tok(0, c.d_vocab - 1);
        std::vector<std::vector<int>> prompts(n, std::vector<int>(T));
        for (auto& p : prompts)
            for (auto& t : p)
                t = tok(rng);
        auto batch = obsprop::model::Batch::from(prompts);
        double best = 1e30;
        for (int r = 0; r < reps; ++r) {
            auto t1 = Clock::now();
            auto logits = m->forward(batch);
            best = std::min(best, seconds_since(t1));
        }
        out["prompts"] = n;
        out["tokens"] = T;
        out["forward_best_s"] = best;
    } else {
        std::cerr << "bench_model: unknown mode or missing arguments\n";
        return 2;
    }
    out["peak_rss_bytes"] = peak_rss_bytes();
    out["rss_over_checkpoint"] = peak_rss_bytes() / static_cast<double>(m->checkpoint_bytes());
    std::cout << out.dump() << std::endl;
    return 0;
} catch (const std::exception& e) {
    std::cerr << "bench_model: " << e.what() << '\n';
    return 1;
}
