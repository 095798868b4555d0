// Small generated models shared by the test suites: written to a temporary folder, loaded with the
// product's loader, and available to the independent naive reference.
#pragma once

#include <QTemporaryDir>

#include <algorithm>
#include <cmath>
#include <initializer_list>
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

// Prompts of the given lengths with deterministic ids below `vocab` (different lengths exercise padding).
inline std::vector<std::vector<int>> test_prompts(int vocab, std::initializer_list<int> lengths) {
    std::vector<std::vector<int>> ps;
    for (int len : lengths) {
        std::vector<int> p;
        for (int t = 0; t < len; ++t)
            p.push_back((37 * t + 11 * len + 5) % vocab);
        ps.push_back(p);
    }
    return ps;
}

// max |got − want| / (1 + |want|) over the first `rows` rows of a [rows, n] tensor and the reference's rows.
inline double max_rel_err(const torch::Tensor& got, const std::vector<std::vector<double>>& want,
                          std::int64_t rows) {
    auto a = got.to(torch::kDouble).contiguous();
    double worst = 0;
    for (std::int64_t t = 0; t < rows; ++t)
        for (std::size_t v = 0; v < want[static_cast<std::size_t>(t)].size(); ++v) {
            const double g = a[t][static_cast<std::int64_t>(v)].item<double>(),
                         w = want[static_cast<std::size_t>(t)][v];
            worst = std::max(worst, std::abs(g - w) / (1.0 + std::abs(w)));
        }
    return worst;
}

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
