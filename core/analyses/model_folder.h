// A model folder's weights and tokenizer, loaded as every workspace loads them (workspace.cpp) and as the
// command line's `logits` does. By default each call reads them from disk; a process that answers many
// requests on the same models (`obsprop batch`) installs a loader that keeps them between requests, so a
// sequence of requests on one model pays its load once.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include "io/tokenizer.h"
#include "model/transformer.h"

namespace obsprop::analyses {

struct LoadedModel {
    std::shared_ptr<model::Transformer> model;
    std::shared_ptr<io::Tokenizer> tokenizer;
};

// Through the installed loader, else read_model_folder.
LoadedModel load_model_folder(const std::filesystem::path& dir);
// From disk: the weights (model::Transformer::load, which checks them against config.json), then the
// tokenizer. Throws io::ConfigError, io::FormatError, io::TokenizerError.
LoadedModel read_model_folder(const std::filesystem::path& dir);

using ModelLoader = std::function<LoadedModel(const std::filesystem::path& dir)>;
// Installs the process's loader (an empty one: read from disk again). Not thread-safe: install it before any
// workspace is opened.
void install_model_loader(ModelLoader loader);

} // namespace obsprop::analyses
