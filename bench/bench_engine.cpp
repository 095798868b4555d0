// Engine benchmark (issue: observable propagation at scale). Prints one JSON object per step:
//   bench_engine LARGE_DIR SMALL_DIR
//   on LARGE_DIR (e.g. GPT-Neo-1.3B shape): load, all-head feature norms for two observables, ranking of
//   every 2-head virtual head; on SMALL_DIR (GPT-2-small shape): attribution by direct-path patching over
//   20 prompt pairs of 16 tokens. scripts/bench runs the PyTorch peer (bench/peer_engine.py) on the same
//   folders and reports the ratios.
//   bench_engine paths SMALL_DIR [RUNS]
//   beam search by path patching over the same 20 pairs (width 8, up to 3 nodes), heads only and with MLP
//   nodes beside the heads, alternately, RUNS times each: the times, their medians and the ratio of medians.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <iostream>

#include <nlohmann/json.hpp>

#include "model/runtime.h"
#include "obsprop/analysis.h"
#include "obsprop/attribution.h"
#include "obsprop/observable.h"
#include "obsprop/path_patching.h"
#include "obsprop/ranking.h"
#include "obsprop/svd.h"

using Clock = std::chrono::steady_clock;
static double since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}
static double peak_rss() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_maxrss) * 1024.0;
}

// The study's observables by GPT-2 token id: " she" − " he" and " her" − " him".
static obsprop::Observable ids(const std::string& name, int plus, int minus) {
    obsprop::Observable o;
    o.name = name;
    o.terms = {{std::min(plus, minus), plus < minus ? 1.0 : -1.0},
               {std::max(plus, minus), plus < minus ? -1.0 : 1.0}};
    return o;
}

// 20 pairs of 16 tokens whose 4th token differs, and " she" − " he".
struct PatchingCase {
    obsprop::PromptBatch clean, corrupt;
    obsprop::ObservableMatrix om;
};
static PatchingCase patching_case(const obsprop::model::Transformer& m) {
    PatchingCase c;
    for (int p = 0; p < 20; ++p) {
        std::vector<int> a, b;
        for (int i = 0; i < 16; ++i)
            a.push_back((7919 * (p * 16 + i) + 13) % 50000);
        b = a;
        b[3] = (b[3] + 101) % 50000; // the "name" differs
        c.clean.ids.push_back(a), c.corrupt.ids.push_back(b);
        c.clean.positions.push_back(3), c.corrupt.positions.push_back(3);
    }
    c.om.names = {"subj"};
    c.om.n = ids("subj", 673, 339).vector(m.config().d_vocab).unsqueeze(0);
    return c;
}

static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Beam search over heads alone, with MLP nodes and with heads at a source token, in turn (so drift in the
// machine's speed hits all alike).
static int bench_paths(const char* small_dir, int runs, int threads) {
    auto small = obsprop::model::Transformer::load(small_dir);
    const auto pc = patching_case(*small);
    struct Variant {
        const char* name;
        obsprop::PathSearchOptions opts;
        std::vector<double> seconds;
        std::size_t scored = 0;
        std::string best;
    };
    obsprop::PathSearchOptions mlp, tokens;
    mlp.mlp_nodes = true, tokens.token_nodes = true;
    std::vector<Variant> variants{{"heads", {}, {}}, {"mlp", mlp, {}}, {"tokens", tokens, {}}};
    for (int r = 0; r < std::max(runs, 1); ++r)
        for (auto& v : variants) {
            const auto t = Clock::now();
            const auto s = obsprop::beam_search_paths(*small, pc.clean, pc.corrupt, pc.om, 0, v.opts);
            v.seconds.push_back(since(t));
            v.scored = s.scored;
            v.best = s.ranked().front().label();
        }
    nlohmann::json out{{"threads", threads}};
    for (const auto& v : variants) {
        const std::string n = v.name;
        out["beam_" + n + "_s"] = v.seconds;
        out["beam_" + n + "_median_s"] = median(v.seconds);
        out["paths_scored_" + n] = v.scored;
        out["best_" + n] = v.best;
        if (n != "heads") out[n + "_over_heads"] = median(v.seconds) / median(variants[0].seconds);
    }
    std::cout << out.dump() << std::endl;
    return 0;
}

int main(int argc, char** argv) try {
    if (argc < 3) {
        std::cerr
            << "usage: bench_engine LARGE_DIR SMALL_DIR | bench_engine attribution SMALL_DIR [REPEATS]\n"
               "       bench_engine paths SMALL_DIR [RUNS]\n";
        return 2;
    }
    const int threads = obsprop::model::configure_threads(0);
    torch::NoGradGuard ng;
    const auto subj = ids("subj", 673, 339), obj = ids("obj", 607, 683);
    if (std::string(argv[1]) == "attribution") { // attribution alone, for profiling
        auto small = obsprop::model::Transformer::load(argv[2]);
        const auto pc = patching_case(*small);
        const int repeats = argc > 3 ? std::stoi(argv[3]) : 5;
        nlohmann::json times = nlohmann::json::array();
        for (int r = 0; r < repeats; ++r) {
            auto t = Clock::now();
            obsprop::attribute_heads(*small, pc.clean, pc.corrupt, pc.om,
                                     obsprop::AttributionMethod::Patching);
            times.push_back(since(t));
        }
        std::cout << nlohmann::json{{"threads", threads}, {"attribution_20_pairs_s", times}}.dump()
                  << std::endl;
        return 0;
    }

    if (std::string(argv[1]) == "paths")
        return bench_paths(argv[2], argc > 3 ? std::stoi(argv[3]) : 5, threads);

    auto t = Clock::now();
    auto big = obsprop::model::Transformer::load(argv[1]);
    const double load = since(t);
    t = Clock::now();
    auto both = obsprop::head_feature_norms(*big, std::vector<obsprop::Observable>{subj, obj}); // one pass
    auto na = both[0], nb = both[1];
    const double norms = since(t);
    t = Clock::now();
    obsprop::RankingOptions ro;
    ro.keep = 100;
    auto rk = obsprop::rank_virtual_heads(*big, subj, {}, ro);
    const double ranking = since(t);

    // SVD alignment of every head's feature with its OV singular vectors (384 heads of d_head 128).
    // The longest wait between two progress calls bounds how fast a cancel is honoured.
    struct Gaps {
        double max = 0;
        std::string where; // the stage reported at the end of the longest gap
        Clock::time_point last = Clock::now();
        obsprop::Progress callback() {
            last = Clock::now();
            return [this](double f, std::string_view stage) {
                if (since(last) > max)
                    max = since(last), where = std::string(stage) + " at " + std::to_string(f);
                last = Clock::now();
                return true;
            };
        }
    } svd_gaps, attribution_gaps, search_gaps;
    auto fs_subj = obsprop::compute_head_features(*big, subj);
    t = Clock::now();
    auto al = obsprop::svd_alignment(*big, fs_subj, 5, svd_gaps.callback());
    const double svd = since(t);

    auto small = obsprop::model::Transformer::load(argv[2]);
    const auto pc = patching_case(*small);
    const auto &clean = pc.clean, &corrupt = pc.corrupt;
    const auto& om = pc.om;
    t = Clock::now();
    auto at = obsprop::attribute_heads(*small, clean, corrupt, om, obsprop::AttributionMethod::Patching);
    const double attribution = since(t);

    // The same steps again, best of 3: the first runs include the first touch of the memory-mapped weights
    // (page faults; the peer pays that inside its load), the repeats are the computation alone.
    double norms_again = 1e300, attribution_again = 1e300;
    for (int rep = 0; rep < 3; ++rep) {
        t = Clock::now();
        obsprop::head_feature_norms(*big, std::vector<obsprop::Observable>{subj, obj});
        norms_again = std::min(norms_again, since(t));
        t = Clock::now();
        obsprop::attribute_heads(*small, clean, corrupt, om, obsprop::AttributionMethod::Patching);
        attribution_again = std::min(attribution_again, since(t));
    }
    obsprop::attribute_heads(*small, clean, corrupt, om, obsprop::AttributionMethod::Patching,
                             attribution_gaps.callback());
    // Beam search by path patching over the same pairs (width 8, up to 3 heads).
    t = Clock::now();
    auto search = obsprop::beam_search_paths(*small, clean, corrupt, om, 0, {8, 3}, search_gaps.callback());
    const double search_s = since(t);

    nlohmann::json out = {{"threads", threads},
                          {"load_s", load},
                          {"norms_two_observables_s", norms},
                          {"ranking_s", ranking},
                          {"ranking_pairs", rk.n_pairs},
                          {"svd_alignment_s", svd},
                          {"svd_alignment_max_progress_gap_s", svd_gaps.max},
                          {"attribution_max_progress_gap_s", attribution_gaps.max},
                          {"path_search_20_pairs_s", search_s},
                          {"path_search_paths_scored", search.scored},
                          {"path_search_max_progress_gap_s", search_gaps.max},
                          {"path_search_max_progress_gap_at", search_gaps.where},
                          {"attribution_max_progress_gap_at", attribution_gaps.where},
                          {"check_svd_top_sigma_0_0", al.top_sigma[0][0][0].item<double>()},
                          {"attribution_20_pairs_s", attribution},
                          {"norms_two_observables_repeat_s", norms_again},
                          {"attribution_20_pairs_repeat_s", attribution_again},
                          {"total_s", load + norms + ranking + attribution},
                          {"peak_rss_bytes", peak_rss()},
                          {"checkpoint_bytes", big->checkpoint_bytes()},
                          {"check_norm_0_0", na[0][0].item<double>()},
                          {"check_top_pair_norm", rk.top.front().norm},
                          {"check_attribution_0_0", at.mean[0][0][0].item<double>()},
                          {"check_norm_obj_0_0", nb[0][0].item<double>()}};
    std::cout << out.dump() << std::endl;
    return 0;
} catch (const std::exception& e) {
    std::cerr << "bench_engine: " << e.what() << '\n';
    return 1;
}
