// Trains the demo model: a GPT-2-architecture Transformer, run by the product's own forward pass
// (model::Transformer::from_weights over tensors that require grad), and saves it as a Hugging Face
// GPT-2 folder that model::Transformer::load and io::Tokenizer::from_directory open.
//
// Output folder:
//   config.json            model_type gpt2
//   model.safetensors      GPT-2 tensor names ("transformer." prefix), Conv1D weights stored [in, out], f32
//   tokenizer.json         byte-level BPE learnt on the corpus; every name and target word one token
//   heldout.json           the held-out and training name lists and what "held out" means
//   training_loss.csv      step, tokens, lr, loss (mean over the logging window), seconds
//   training_metrics.json  options, sizes, timings, final loss, accuracies on held-out and training names
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "corpus.h"

namespace obsprop::model {
class Transformer;
}
namespace obsprop::io {
class Tokenizer;
}

namespace obsprop::train_demo {

struct TrainOptions {
    std::filesystem::path out;
    std::uint64_t seed = 1;
    // Architecture (GPT-2: d_head = d_model / n_heads, tied unembedding, learned positions, gelu_new).
    int n_layers = 4, n_heads = 8, d_model = 128, d_mlp = 0 /* 4 * d_model */, n_ctx = 64, vocab = 2048;
    // Optimisation: AdamW (betas 0.9/0.95), linear warm-up then cosine decay to min_lr_frac * lr.
    int steps = 3000, batch = 32, warmup = 150;
    double lr = 2e-3, min_lr_frac = 0.1, weight_decay = 0.1, clip = 1.0;
    int threads = 2;
    int log_every = 10, eval_every = 250;
    HeldoutPolicy policy = HeldoutPolicy::Strict;
    CorpusMix mix;
    int bpe_documents = 20000; // documents the tokenizer's merges are learnt from
};

// Evaluates the study's frames (DESIGN §5, "<|endoftext|>" prepended) on the given names:
// for every task the share of prompts where the sign of n·z matches the name's gender, and the mean
// n·z per gender. Tasks: subject (" she" - " he"), object (" her" - " him"), occupation
// (" actress" - " actor") and bias (" nurse" - " programmer"; "accuracy" there is the share of prompts
// that follow the stereotype the corpus was given).
nlohmann::json evaluate(const model::Transformer& m, const io::Tokenizer& tok, const NameLists& names);

// The seed of the training documents' random stream (the tokenizer sample uses another one).
std::uint64_t data_seed(std::uint64_t seed);

struct TrainResult {
    double first_loss = 0, final_loss = 0;
    double seconds = 0;
    nlohmann::json metrics;
};

// Runs everything: corpus, tokenizer, training, saving, reload check. Progress goes to `log`.
// Throws std::runtime_error on failure (e.g. the reloaded folder does not reproduce the logits).
TrainResult train(const TrainOptions& o, std::ostream& log);

} // namespace obsprop::train_demo
