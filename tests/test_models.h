// Small generated models shared by the test suites: written to a temporary folder, loaded with the
// product's loader, and available to the independent naive reference.
#pragma once

#include <QTemporaryDir>

#include <memory>
#include <string>

#include "checkpoint_gen.h"
#include "model/transformer.h"
#include "naive_transformer.h"

namespace test_models {

// The generator's in-memory tensors in the naive reference's form.
inline obsprop::naive::Weights to_naive(const obsprop::tools::GeneratedCheckpoint& g) {
    obsprop::naive::Weights w;
    for (const auto& [name, t] : g.tensors)
        w[name] = obsprop::naive::Tensor{t.shape, t.values};
    return w;
}

// A generated checkpoint on disk, loaded.
struct TinyModel {
    obsprop::tools::CheckpointSpec spec;
    obsprop::tools::GeneratedCheckpoint gen;
    std::unique_ptr<QTemporaryDir> dir = std::make_unique<QTemporaryDir>();
    std::shared_ptr<obsprop::model::Transformer> model;

    obsprop::naive::Weights naive() const { return to_naive(gen); }
    obsprop::naive::Trace run_naive(const std::vector<int>& ids) const {
        return obsprop::naive::run(gen.config, naive(), ids);
    }
    const obsprop::io::HostTensor& tensor(const std::string& name) const { return gen.at(name); }
};

// Unprefixed names, so tests can look tensors up as "h.0.attn.c_proj.weight".
inline TinyModel make_tiny(obsprop::tools::Family family, std::uint64_t seed, int vocab = 300,
                           int n_layers = 0) {
    TinyModel t;
    t.spec = obsprop::tools::preset("tiny", family);
    if (n_layers > 0) t.spec.n_layers = n_layers;
    t.spec.seed = seed;
    t.spec.vocab = vocab;
    t.spec.prefix = false;
    t.gen = obsprop::tools::generate(t.spec);
    const std::string dir = t.dir->path().toStdString() + "/model";
    obsprop::tools::write_checkpoint(t.gen, t.spec, dir);
    t.model = obsprop::model::Transformer::load(dir);
    return t;
}

} // namespace test_models
