// Internal to the checkpoint generator: the tensor plan shared by checkpoint_gen.cpp (GPT-2, GPT-Neo,
// GPT-NeoX, writing) and checkpoint_families.cpp (the Llama-style families).
#pragma once

#include "checkpoint_gen.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace obsprop::tools::detail {

// How a tensor's values are made: Matrix N(0, weight_std^2); LnWeight 1 + N(0, 0.1^2) (LayerNorm and
// Llama-style RMSNorm weights); Bias N(0, 0.1^2) (biases and Gemma's zero-centred RMSNorm weights);
// CausalMask and InvFreq are the legacy buffers.
enum class Init { Matrix, LnWeight, Bias, CausalMask, InvFreq };

struct Plan {
    io::TensorLayout layout;
    std::string key; // seeds the values: name without prefix (the tied embedding's name for a tied lm_head)
    Init init = Init::Matrix;
    std::int64_t window = 0; // CausalMask: 0 = global, else local window
    bool buffer = false;
};

// The families after GPT-NeoX (is_llama_style).
void validate_llama_style(const CheckpointSpec& s); // throws std::invalid_argument("checkpoint spec: ...")
void llama_style_plan(const CheckpointSpec& s, std::vector<Plan>& out);
void llama_style_config(const CheckpointSpec& s, nlohmann::json& c);
bool llama_style_preset(const std::string& name, Family family, CheckpointSpec& s); // false: unknown
std::vector<std::string> llama_style_preset_names();

} // namespace obsprop::tools::detail
