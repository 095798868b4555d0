// An independent, deliberately naive forward pass of GPT-2, GPT-Neo, GPT-NeoX (Pythia), Llama (SmolLM2,
// TinyLlama), Mistral, Qwen2, Qwen3, Gemma, Gemma 2 and Gemma 3 (text) checkpoints.
//
// It exists only so that tests can check the real (LibTorch) forward pass against something written
// separately from it: plain loops over positions, heads and dimensions, every number in double precision,
// no matrix library and no code shared with the product. It follows the semantics of Hugging Face's
// modeling_*.py of each family; naive_transformer.cpp and naive_decoder.cpp say which detail comes from
// where. Speed is not a goal: use it on tiny models and short prompts.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace obsprop::naive {

// A dense tensor in row-major order, values as stored in the checkpoint (converted to float).
struct Tensor {
    std::vector<std::int64_t> shape;
    std::vector<float> values;
};

// Tensors by their Hugging Face names. The family's base-model prefix ("transformer." for gpt2 and gpt_neo,
// "gpt_neox." for gpt_neox, "model." for the Llama-style families) may be present or not; lm_head.weight
// never has it. Known non-parameter buffers (the causal-mask "attn.bias", "masked_bias", rotary "inv_freq",
// ...) are ignored; any other tensor the model does not use is an error.
using Weights = std::map<std::string, Tensor>;

// Everything the reference computes for one prompt (batch size 1), in double precision.
struct Trace {
    std::vector<std::vector<double>> logits;                            // [T][vocab]
    std::vector<std::vector<std::vector<double>>> resid_pre;            // [layer][T][d_model] block input
    std::vector<std::vector<double>> resid_final;                       // [T][d_model] last block output
    std::vector<std::vector<std::vector<std::vector<double>>>> pattern; // [layer][head][query][key]
    std::vector<std::vector<std::vector<std::vector<double>>>> z;       // [layer][T][head][d_head]
    // z is the attention-weighted values per head before the output projection (with grouped KV heads,
    // head h reads KV head h / (n_heads / n_kv_heads)).

    // What each block adds to the residual stream, [layer][T][d_model]: resid_mid = resid_pre + attn_out
    // (the input of the MLP's norm in sequential blocks), and the block output is resid_mid + mlp_out.
    // attn_out includes the output projection's bias and, for Gemma 2/3, post_attention_layernorm;
    // mlp_out includes Gemma 2/3's post_feedforward_layernorm. For GPT-NeoX with use_parallel_residual the
    // MLP reads ln2(resid_pre), not resid_mid.
    std::vector<std::vector<std::vector<double>>> resid_mid; // [layer][T][d_model]
    std::vector<std::vector<std::vector<double>>> attn_out;  // [layer][T][d_model]
    std::vector<std::vector<std::vector<double>>> mlp_out;   // [layer][T][d_model]

    // Rotary inverse frequencies each layer used, [layer][rotary_dims / 2] (after linear / llama3 scaling;
    // Gemma 3 sliding layers use rope_local_base_freq). Empty for GPT-2 and GPT-Neo.
    std::vector<std::vector<double>> inv_freq;
    std::vector<std::int64_t> window; // [layer] sliding window W (keys i-W < j <= i), 0 for full causal
};

// Runs the model described by `config` (the checkpoint's config.json, model_type gpt2 | gpt_neo | gpt_neox |
// llama | mistral | qwen2 | qwen3 | gemma | gemma2 | gemma3_text) on the token ids. Throws
// std::runtime_error on anything it does not know or cannot check: an unknown model_type, activation or
// attention type, RoPE type or parameter, a config key that would change the computation in a way it does
// not model (partial rotary factor, bidirectional attention, soft-caps on a family without them, ...), a
// missing / misshapen / unexpected tensor, an out-of-range token id, an empty prompt, or a prompt longer
// than the learned position table.
Trace run(const nlohmann::json& config, const Weights& w, const std::vector<int>& ids);

// Interventions for activation patching (GPT-2, GPT-Neo and GPT-NeoX only): the run is the same except that
//   z[(layer, head)]  [T][d_head] replaces that head's attention-weighted values at every position, before
//   the
//                     output projection (so its output, bias excluded, is the one these values give);
//   mlp_out[layer]    [T][d_model] replaces what the layer's MLP adds to the residual stream.
// Everything after the replaced value is computed from it. The trace records the values used (trace.z and
// trace.mlp_out hold the replacements). Throws std::runtime_error on a misshapen replacement, a layer or
// head out of range, or a decoder family (Llama and later).
struct Overrides {
    std::map<std::pair<int, int>, std::vector<std::vector<double>>> z;
    std::map<int, std::vector<std::vector<double>>> mlp_out;
};
Trace run(const nlohmann::json& config, const Weights& w, const std::vector<int>& ids, const Overrides& ov);

// The activation functions of Hugging Face's ACT2FN table that these families use, by their config name:
// gelu, gelu_python (exact erf), gelu_new, gelu_pytorch_tanh (tanh approximation), gelu_fast, quick_gelu,
// gelu_10, relu, silu, swish, tanh, sigmoid, linear. Throws std::runtime_error for any other name.
double activation(std::string_view name, double x);

} // namespace obsprop::naive
