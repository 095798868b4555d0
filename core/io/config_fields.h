// Field readers shared by the config.json parsers (model_config*.cpp). Every reader names the file and the
// key in its ConfigError. Internal to obsprop_io.
#pragma once

#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

#include "io/model_config.h"

namespace obsprop::io::config_fields {

// Upper bounds on the sizes a configuration may declare, far above any released model (the largest have
// ~126 layers, 128 heads, hidden size 16 384, MLP 53 248, vocabularies of 262 144 and contexts of about a
// million positions). A hostile config.json is refused with the field's name before anything is sized
// from it.
inline constexpr long long kMaxLayers = 1024;
inline constexpr long long kMaxHeads = 1024;
inline constexpr long long kMaxDModel = 1 << 17;
inline constexpr long long kMaxDHead = 1 << 14;
inline constexpr long long kMaxDMlp = 1 << 20;
inline constexpr long long kMaxVocab = 1 << 23;
inline constexpr long long kMaxCtx = 1 << 24;
inline constexpr long long kMaxAnyInt = 1LL << 30; // any other integer field (windows, patterns)
// The parameters a configuration implies (64-bit arithmetic), at most 2^40 (1.1 trillion).
inline constexpr unsigned long long kMaxParameters = 1ULL << 40;

[[noreturn]] void fail(const std::string& source, const std::string& what);

// A required positive integer no larger than `max`; `names` are accepted spellings, the first present
// wins.
int required_int(const nlohmann::json& j, std::initializer_list<const char*> names, const std::string& source,
                 long long max = kMaxAnyInt);
// An optional positive integer no larger than `max` (absent or null gives `fallback`).
int optional_int(const nlohmann::json& j, const char* name, int fallback, const std::string& source,
                 long long max = kMaxAnyInt);
// The sizes of a parsed configuration against each other, in 64 bits: the head dimensions and the
// parameter count they imply. Called once the sizes are read, before anything is allocated per layer.
void check_sizes(const ModelConfig& c, const std::string& source);
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
