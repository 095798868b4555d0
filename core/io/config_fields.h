// Field readers shared by the config.json parsers (model_config*.cpp). Every reader names the file and the
// key in its ConfigError. Internal to obsprop_io.
#pragma once

#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

#include "io/model_config.h"

namespace obsprop::io::config_fields {

[[noreturn]] void fail(const std::string& source, const std::string& what);

// A required positive integer; `names` are accepted spellings, the first present wins.
int required_int(const nlohmann::json& j, std::initializer_list<const char*> names,
                 const std::string& source);
// An optional positive integer (absent or null gives `fallback`).
int optional_int(const nlohmann::json& j, const char* name, int fallback, const std::string& source);
// An optional finite number (absent or null gives `fallback`).
double optional_number(const nlohmann::json& j, std::initializer_list<const char*> names, double fallback,
                       const std::string& source);
bool optional_bool(const nlohmann::json& j, const char* name, bool fallback, const std::string& source);
// Hugging Face's ACT2FN name in `field` (or `fallback`), refused unless the forward pass implements it.
Activation parse_activation(const nlohmann::json& j, const char* field, const char* fallback,
                            const std::string& source);
// true when `key` is present and not null.
bool present(const nlohmann::json& j, const char* key);

} // namespace obsprop::io::config_fields

namespace obsprop::io {
// The RMSNorm decoders (model_config_decoders.cpp).
bool is_decoder_model_type(const std::string& model_type);
ModelConfig parse_decoder_config(const nlohmann::json& j, const std::string& model_type,
                                 const std::string& source);
} // namespace obsprop::io
