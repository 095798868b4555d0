// The particulars of a model configuration as every surface shows them.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/model_config.h"

namespace obsprop::io {

// One particular of a configuration, as `obsprop info` (key: value in --json, label and text otherwise) and
// the explorer's model summary show it.
struct ModelFact {
    std::string key, label;
    nlohmann::json value;
    std::string text;
};
// Family, sizes, key/value heads, head width, norms, activation, positions (learned or rotary with its
// scaling), sliding windows, soft-caps, embedding scale, tied unembedding (the last few only where they
// apply).
std::vector<ModelFact> describe_model(const ModelConfig& c);

} // namespace obsprop::io
