// make-checkpoint: writes a random Hugging Face checkpoint folder (config.json, tokenizer.json,
// safetensors weights) of any family and shape. Streams tensor by tensor, so the full GPT-Neo-1.3B
// shape needs only a few MB of memory.
//
//   make-checkpoint --preset gpt-neo-1.3b --out /tmp/neo13
//   make-checkpoint --family gpt_neox --layers 2 --d-model 64 --heads 4 --dtype bf16 --shards 3 --out d
#include "checkpoint_gen.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

namespace {

using obsprop::tools::CheckpointSpec;
using obsprop::tools::Family;

std::string human_bytes(std::uint64_t b) {
    char buf[32];
    if (b >= (1ull << 30))
        std::snprintf(buf, sizeof buf, "%.2f GiB", double(b) / double(1ull << 30));
    else if (b >= (1ull << 20))
        std::snprintf(buf, sizeof buf, "%.2f MiB", double(b) / double(1ull << 20));
    else if (b >= 1024)
        std::snprintf(buf, sizeof buf, "%.1f KiB", double(b) / 1024.0);
    else
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
    return buf;
}

int run(int argc, char** argv) {
    CLI::App app{"Write a random Hugging Face checkpoint (GPT-2, GPT-Neo or GPT-NeoX/Pythia layout)."};
    std::string family_s, out, preset_s, dtype_s = "f32";
    CheckpointSpec s; // defaults; a preset replaces them, explicit options override both
    int layers = 0, heads = 0, d_model = 0, d_mlp = 0, vocab = 0, n_ctx = 0, window = 0, shards = 1;
    double rotary_pct = 0, rotary_base = 0, scale = 0, ln_eps = 0;
    std::uint64_t seed = 0;
    std::string activation;
    bool f_serial = false, f_noprefix = false, f_prefix = false, f_lmhead = false, f_buffers = false;

    app.add_option("--family", family_s, "gpt2, gpt_neo or gpt_neox")
        ->check(CLI::IsMember({"gpt2", "gpt_neo", "gpt_neox"}));
    app.add_option("--out", out, "output directory (created; earlier weights in it are replaced)")
        ->required();
    app.add_option("--preset", preset_s, "gpt2-small, gpt-neo-125m, gpt-neo-1.3b, pythia-70m or tiny")
        ->check(CLI::IsMember(obsprop::tools::preset_names()));
    auto* o_layers = app.add_option("--layers", layers, "number of layers")->check(CLI::PositiveNumber);
    auto* o_heads = app.add_option("--heads", heads, "attention heads per layer")->check(CLI::PositiveNumber);
    auto* o_d = app.add_option("--d-model", d_model, "residual width")->check(CLI::PositiveNumber);
    auto* o_mlp =
        app.add_option("--d-mlp", d_mlp, "MLP width (0: 4 * d_model)")->check(CLI::NonNegativeNumber);
    auto* o_vocab = app.add_option("--vocab", vocab, "vocabulary size (>= 257)")->check(CLI::PositiveNumber);
    auto* o_ctx = app.add_option("--n-ctx", n_ctx, "positions")->check(CLI::PositiveNumber);
    auto* o_window = app.add_option("--window", window, "GPT-Neo local window")->check(CLI::PositiveNumber);
    auto* o_rpct =
        app.add_option("--rotary-pct", rotary_pct, "GPT-NeoX rotary fraction")->check(CLI::Range(0.0, 1.0));
    auto* o_rbase =
        app.add_option("--rotary-base", rotary_base, "GPT-NeoX rotary base")->check(CLI::PositiveNumber);
    auto* o_eps = app.add_option("--ln-eps", ln_eps, "LayerNorm epsilon")->check(CLI::PositiveNumber);
    auto* o_act = app.add_option("--activation", activation, "activation name written to config.json");
    auto* o_serial = app.add_flag("--no-parallel-residual", f_serial, "GPT-NeoX: sequential residual");
    auto* o_dtype =
        app.add_option("--dtype", dtype_s, "storage dtype")->check(CLI::IsMember({"f32", "f16", "bf16"}));
    auto* o_shards =
        app.add_option("--shards", shards, "number of safetensors shards")->check(CLI::Range(1, 99999));
    auto* o_noprefix =
        app.add_flag("--no-prefix", f_noprefix, "no transformer./gpt_neox. prefix on tensor names");
    auto* o_prefix = app.add_flag("--prefix", f_prefix, "force the prefix (gpt2-small has none by default)");
    auto* o_lmhead = app.add_flag("--lm-head", f_lmhead, "GPT-2/Neo: also store the tied lm_head.weight");
    auto* o_buffers =
        app.add_flag("--buffers", f_buffers, "add the legacy attention-mask / inv_freq buffers");
    auto* o_seed = app.add_option("--seed", seed, "random seed");
    auto* o_scale = app.add_option("--scale", scale, "std of weight matrices (0: 1/sqrt(d_model))")
                        ->check(CLI::NonNegativeNumber);
    o_prefix->excludes(o_noprefix);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 1;
    }

    Family family = Family::GPT2;
    const bool have_family = !family_s.empty() && obsprop::tools::parse_family(family_s, family);
    if (!preset_s.empty()) {
        s = obsprop::tools::preset(preset_s, family);
        if (have_family && obsprop::tools::preset_fixes_family(preset_s) && s.family != family) {
            throw std::invalid_argument("--family " + family_s + " contradicts --preset " + preset_s + " (" +
                                        obsprop::tools::family_name(s.family) + ")");
        }
    } else if (!have_family) {
        throw std::invalid_argument("give --family or --preset");
    } else {
        s.family = family;
    }

    if (o_layers->count()) s.n_layers = layers;
    if (o_heads->count()) s.n_heads = heads;
    if (o_d->count()) s.d_model = d_model;
    if (o_mlp->count()) s.d_mlp = d_mlp;
    if (o_vocab->count()) s.vocab = vocab;
    if (o_ctx->count()) s.n_ctx = n_ctx;
    if (o_window->count()) s.window_size = window;
    if (o_rpct->count()) s.rotary_pct = rotary_pct;
    if (o_rbase->count()) s.rotary_base = rotary_base;
    if (o_eps->count()) s.ln_eps = ln_eps;
    if (o_act->count()) s.activation = activation;
    if (o_serial->count()) s.parallel_residual = false;
    if (o_dtype->count()) {
        s.storage = dtype_s == "f16"    ? obsprop::io::DType::F16
                    : dtype_s == "bf16" ? obsprop::io::DType::BF16
                                        : obsprop::io::DType::F32;
    }
    if (o_shards->count()) s.shards = shards;
    if (o_noprefix->count()) s.prefix = false;
    if (o_prefix->count()) s.prefix = true;
    if (o_lmhead->count()) s.lm_head = true;
    if (o_buffers->count()) s.buffers = true;
    if (o_seed->count()) s.seed = seed;
    if (o_scale->count()) s.scale = scale;
    s.validate();

    const auto t0 = std::chrono::steady_clock::now();
    const auto sum = obsprop::tools::write_checkpoint_streaming(s, out);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::printf(
        "wrote %s: %s, %d layers, %d heads, d_model %d, d_mlp %d, vocab %d, n_ctx %d, %s, seed %llu\n",
        out.c_str(), obsprop::tools::family_name(s.family), s.n_layers, s.n_heads, s.d_model, s.mlp_dim(),
        s.vocab, s.n_ctx, obsprop::io::dtype_name(s.storage), static_cast<unsigned long long>(s.seed));
    for (const auto& f : sum.files) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(f, ec);
        std::printf("  %-40s %s\n", f.filename().string().c_str(), ec ? "?" : human_bytes(size).c_str());
    }
    std::printf("%llu tensors, %llu parameters, %s in %.1f s\n",
                static_cast<unsigned long long>(sum.n_tensors),
                static_cast<unsigned long long>(sum.n_parameters), human_bytes(sum.bytes).c_str(), secs);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make-checkpoint: %s\n", e.what());
        return 1;
    }
}
