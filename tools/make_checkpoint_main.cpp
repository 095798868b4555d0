// make-checkpoint: writes a random Hugging Face checkpoint folder (config.json, tokenizer.json,
// safetensors weights) of any family and shape. Streams tensor by tensor, so the full GPT-Neo-1.3B
// shape needs only a few MB of memory.
//
//   make-checkpoint --preset gpt-neo-1.3b --out /tmp/neo13
//   make-checkpoint --family gpt_neox --layers 2 --d-model 64 --heads 4 --dtype bf16 --shards 3 --out d
//   make-checkpoint --preset tiny --family gemma2 --out d
//   make-checkpoint --preset smollm2-135m --tokenizer SmolLM2/tokenizer.json --out /tmp/smol
#include "checkpoint_gen.h"

#include "io/safetensors_writer.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>
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

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::invalid_argument(path + ": cannot read");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == ',') {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

int run(int argc, char** argv) {
    CLI::App app{"Write a random Hugging Face checkpoint (GPT-2, GPT-Neo, GPT-NeoX/Pythia, Llama, Mistral, "
                 "Qwen2, Qwen3, Gemma, Gemma 2 or Gemma 3 layout)."};
    std::string family_s, out, preset_s, dtype_s = "f32";
    CheckpointSpec s; // defaults; a preset replaces them, explicit options override both
    int layers = 0, heads = 0, d_model = 0, d_mlp = 0, vocab = 0, n_ctx = 0, window = 0, shards = 1;
    double rotary_pct = 0, rotary_base = 0, scale = 0, ln_eps = 0;
    std::uint64_t seed = 0;
    std::string activation, tokenizer_path, rope_scaling, layer_types;
    bool f_serial = false, f_noprefix = false, f_prefix = false, f_lmhead = false, f_buffers = false;
    bool f_untied = false, f_use_sw = false, f_attn_bias = false, f_mlp_bias = false;
    int kv_heads = 0, head_dim = 0, rope_orig = 0, sliding = 0, max_window_layers = 0, sw_pattern = 0;
    double rope_theta = 0, rope_factor = 0, rope_low = 0, rope_high = 0, rope_local = 0, attn_cap = 0;
    double final_cap = 0, qpas = 0;

    app.add_option("--family", family_s,
                   "model_type: gpt2, gpt_neo, gpt_neox, llama, mistral, qwen2, qwen3, "
                   "gemma, gemma2 or gemma3_text")
        ->check(CLI::IsMember(obsprop::tools::family_names()));
    app.add_option("--out", out, "output directory (created; earlier weights in it are replaced)")
        ->required();
    app.add_option("--preset", preset_s, "a real model's shape (see --help list) or tiny (for --family)")
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
        app.add_flag("--no-prefix", f_noprefix, "no transformer./gpt_neox./model. prefix on tensor names");
    auto* o_prefix = app.add_flag("--prefix", f_prefix, "force the prefix (gpt2-small has none by default)");
    auto* o_lmhead =
        app.add_flag("--lm-head", f_lmhead, "GPT-2/Neo/Llama-style: also store the tied lm_head.weight");
    auto* o_buffers =
        app.add_flag("--buffers", f_buffers, "add the legacy attention-mask / inv_freq buffers");
    auto* o_seed = app.add_option("--seed", seed, "random seed");
    auto* o_scale = app.add_option("--scale", scale, "std of weight matrices (0: 1/sqrt(d_model))")
                        ->check(CLI::NonNegativeNumber);
    o_prefix->excludes(o_noprefix);
    auto* o_kv = app.add_option("--kv-heads", kv_heads, "key/value heads (Llama-style; 0: --heads)")
                     ->check(CLI::NonNegativeNumber);
    auto* o_hd = app.add_option("--head-dim", head_dim, "head width (Llama-style; 0: d_model / heads)")
                     ->check(CLI::NonNegativeNumber);
    auto* o_untied = app.add_flag("--untied", f_untied,
                                  "Llama-style: tie_word_embeddings false, own random lm_head.weight");
    auto* o_theta = app.add_option("--rope-theta", rope_theta, "RoPE base (0: family default)")
                        ->check(CLI::NonNegativeNumber);
    auto* o_rs = app.add_option("--rope-scaling", rope_scaling, "RoPE scaling type")
                     ->check(CLI::IsMember({"", "none", "linear", "llama3"}));
    auto* o_rf =
        app.add_option("--rope-factor", rope_factor, "rope_scaling factor")->check(CLI::PositiveNumber);
    auto* o_rl = app.add_option("--rope-low-freq-factor", rope_low, "llama3 low_freq_factor")
                     ->check(CLI::PositiveNumber);
    auto* o_rh = app.add_option("--rope-high-freq-factor", rope_high, "llama3 high_freq_factor")
                     ->check(CLI::PositiveNumber);
    auto* o_ro = app.add_option("--rope-original-max", rope_orig, "llama3 original_max_position_embeddings")
                     ->check(CLI::PositiveNumber);
    auto* o_rloc = app.add_option("--rope-local-base", rope_local, "Gemma 3 rope_local_base_freq")
                       ->check(CLI::PositiveNumber);
    auto* o_sw = app.add_option("--sliding-window", sliding, "sliding window (0: none / family default)")
                     ->check(CLI::NonNegativeNumber);
    auto* o_lt =
        app.add_option("--layer-types", layer_types,
                       "comma-separated sliding_attention / full_attention per layer (Qwen, Gemma 2/3)");
    auto* o_mwl = app.add_option("--max-window-layers", max_window_layers, "Qwen max_window_layers")
                      ->check(CLI::NonNegativeNumber);
    auto* o_usw = app.add_flag("--use-sliding-window", f_use_sw, "Qwen use_sliding_window");
    auto* o_swp = app.add_option("--sliding-window-pattern", sw_pattern, "Gemma 3 sliding_window_pattern")
                      ->check(CLI::PositiveNumber);
    auto* o_ac = app.add_option("--attn-softcap", attn_cap, "Gemma 2/3 attn_logit_softcapping (0: null)")
                     ->check(CLI::NonNegativeNumber);
    auto* o_fc = app.add_option("--final-softcap", final_cap, "Gemma 2/3 final_logit_softcapping (0: null)")
                     ->check(CLI::NonNegativeNumber);
    auto* o_qp = app.add_option("--query-pre-attn-scalar", qpas, "Gemma 2/3 (0: head_dim)")
                     ->check(CLI::NonNegativeNumber);
    auto* o_ab = app.add_flag("--attention-bias", f_attn_bias, "Llama / Qwen3 / Gemma: q, k, v, o biases");
    auto* o_mb = app.add_flag("--mlp-bias", f_mlp_bias, "Llama: gate, up, down biases");
    app.add_option("--tokenizer", tokenizer_path,
                   "copy this tokenizer.json instead of the generated one (its ids must be < vocab)")
        ->check(CLI::ExistingFile);

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
    if (o_kv->count()) s.n_kv_heads = kv_heads;
    if (o_hd->count()) s.head_dim = head_dim;
    if (o_untied->count()) s.untied = true;
    if (o_theta->count()) s.rope_theta = rope_theta;
    if (o_rs->count()) s.rope_scaling = rope_scaling == "none" ? "" : rope_scaling;
    if (o_rf->count()) s.rope_factor = rope_factor;
    if (o_rl->count()) s.rope_low_freq_factor = rope_low;
    if (o_rh->count()) s.rope_high_freq_factor = rope_high;
    if (o_ro->count()) s.rope_original_max_positions = rope_orig;
    if (o_rloc->count()) s.rope_local_base_freq = rope_local;
    if (o_sw->count()) s.sliding_window = sliding;
    if (o_lt->count()) s.layer_types = split_commas(layer_types);
    if (o_mwl->count()) s.max_window_layers = max_window_layers;
    if (o_usw->count()) s.use_sliding_window = true;
    if (o_swp->count()) s.sliding_window_pattern = sw_pattern;
    if (o_ac->count()) s.attn_softcap = attn_cap;
    if (o_fc->count()) s.final_softcap = final_cap;
    if (o_qp->count()) s.query_pre_attn_scalar = qpas;
    if (o_ab->count()) s.attention_bias = true;
    if (o_mb->count()) s.mlp_bias = true;
    s.validate();
    std::string tokenizer;
    if (!tokenizer_path.empty()) {
        tokenizer = read_text(tokenizer_path);
        const auto top = obsprop::tools::tokenizer_max_id(tokenizer);
        if (top >= s.vocab) {
            throw std::invalid_argument(tokenizer_path + " has token id " + std::to_string(top) +
                                        ", outside a vocabulary of " + std::to_string(s.vocab));
        }
    }

    const auto t0 = std::chrono::steady_clock::now();
    auto sum = obsprop::tools::write_checkpoint_streaming(s, out);
    if (!tokenizer.empty()) {
        const auto path = std::filesystem::path(out) / "tokenizer.json";
        sum.bytes -= std::filesystem::file_size(path);
        obsprop::io::write_file_atomic(path, tokenizer);
        sum.bytes += tokenizer.size();
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::printf("wrote %s: %s, %d layers, %d heads (%d KV) of %d, d_model %d, d_mlp %d, vocab %d, n_ctx %d, "
                "%s, seed %llu\n",
                out.c_str(), obsprop::tools::family_name(s.family), s.n_layers, s.n_heads,
                obsprop::tools::is_llama_style(s.family) ? s.kv_heads() : s.n_heads, s.d_head(), s.d_model,
                s.mlp_dim(), s.vocab, s.n_ctx, obsprop::io::dtype_name(s.storage),
                static_cast<unsigned long long>(s.seed));
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
