// train-demo: trains ObsProp Explorer's demo model (resources/models/demo) from a seed.
//
//   train-demo --out resources/models/demo            # the shipped model (see scripts/train-demo)
//   train-demo --out /tmp/tiny --layers 1 --heads 2 --d-model 32 --steps 20   # a smoke run
#include <iomanip>
#include <iostream>

#include <CLI/CLI.hpp>

#include "trainer.h"

int main(int argc, char** argv) {
    using namespace obsprop::train_demo;
    TrainOptions o;
    std::string out, policy = policy_name(o.policy);
    CLI::App app{"Trains the demo model: a small GPT-2 that performs the pronoun and occupation tasks of the "
                 "source study, saved as a Hugging Face GPT-2 folder."};
    app.add_option("--out", out, "output folder (created)");
    app.add_option("--seed", o.seed, "seed of the corpus, the tokenizer sample and the initial weights");
    app.add_option("--layers", o.n_layers, "Transformer blocks")->check(CLI::Range(1, 48));
    app.add_option("--heads", o.n_heads, "attention heads per block")->check(CLI::Range(1, 64));
    app.add_option("--d-model", o.d_model, "residual width (a multiple of --heads)")
        ->check(CLI::Range(8, 2048));
    app.add_option("--d-mlp", o.d_mlp, "MLP hidden width (default 4 * d-model)");
    app.add_option("--n-ctx", o.n_ctx, "context length (training rows and position embeddings)")
        ->check(CLI::Range(16, 1024));
    app.add_option("--vocab", o.vocab, "largest vocabulary, <|endoftext|> included")
        ->check(CLI::Range(258, 65536));
    app.add_option("--steps", o.steps, "optimiser steps")->check(CLI::Range(1, 1000000));
    app.add_option("--batch", o.batch, "rows of n-ctx tokens per step")->check(CLI::Range(1, 4096));
    app.add_option("--warmup", o.warmup, "linear warm-up steps")->check(CLI::Range(1, 1000000));
    app.add_option("--lr", o.lr, "peak learning rate (AdamW)");
    app.add_option("--min-lr-frac", o.min_lr_frac, "final learning rate as a fraction of the peak");
    app.add_option("--weight-decay", o.weight_decay, "AdamW weight decay of the matrices");
    app.add_option("--threads", o.threads, "LibTorch intra-op threads (results depend on it)")
        ->check(CLI::Range(1, 64));
    app.add_option("--eval-every", o.eval_every, "steps between held-out evaluations (0: only at the end)");
    app.add_option("--log-every", o.log_every, "steps per line of training_loss.csv")
        ->check(CLI::Range(1, 100000));
    app.add_option("--heldout-policy", policy,
                   "strict: held-out names only in identity sentences; stories: also in "
                   "narrative pronoun sentences")
        ->check(CLI::IsMember({"strict", "stories"}));
    app.add_option("--bpe-documents", o.bpe_documents, "documents the tokenizer is learnt from")
        ->check(CLI::Range(100, 10000000));
    app.add_option("--mix-identity", o.mix.identity, "weight of identity sentences");
    app.add_option("--mix-subject", o.mix.subject, "weight of subject-pronoun frames");
    app.add_option("--mix-object", o.mix.object, "weight of object-pronoun frames");
    app.add_option("--mix-occupation", o.mix.occupation, "weight of occupation frames");
    app.add_option("--mix-story", o.mix.story, "weight of narrative pronoun sentences");
    app.add_option("--mix-filler", o.mix.filler, "weight of filler sentences");
    int print_corpus = 0;
    app.add_option("--print-corpus", print_corpus,
                   "print this many training documents (as the run would draw "
                   "them) and exit; --out is then ignored");
    CLI11_PARSE(app, argc, argv);
    if (!parse_policy(policy, o.policy)) return 2;
    if (print_corpus > 0) {
        const Corpus corpus(o.policy, o.mix);
        Rng rng(data_seed(o.seed));
        for (int i = 0; i < print_corpus; ++i)
            std::cout << corpus.document(rng) << '\n';
        return 0;
    }
    if (out.empty()) {
        std::cerr << "train-demo: --out is required\n";
        return 2;
    }
    o.warmup = std::min(o.warmup, o.steps);
    o.out = out;
    try {
        TrainResult r = train(o, std::cout);
        const auto& h = r.metrics["heldout"];
        std::cout << std::fixed << std::setprecision(3) << "wrote " << out << " in " << std::setprecision(1)
                  << r.seconds << " s; loss " << std::setprecision(3) << r.first_loss << " -> "
                  << r.final_loss << "; held-out accuracy subject " << h["subject"]["accuracy"] << ", object "
                  << h["object"]["accuracy"] << ", occupation " << h["occupation"]["accuracy"] << std::endl;
    } catch (const std::exception& e) {
        std::cerr << "train-demo: " << e.what() << std::endl;
        return 1;
    }
    return 0;
}
