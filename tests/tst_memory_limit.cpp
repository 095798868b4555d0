// A BF16 model whose float32 size is more than the memory the process may take (RLIMIT_AS) still gets every
// analysis: features of all heads, the 2-head ranking, SVD alignment and a batched forward pass widen what
// they read layer by layer, within the memory budget. A process of its own (this suite), since the limit
// holds for the whole process while it is set.
#include "test_models.h"

#include <QtTest>

#include <sys/resource.h>

#include <fstream>
#include <string>

#include "model/transformer.h"
#include "model/widening.h"
#include "obsprop/features.h"
#include "obsprop/ranking.h"
#include "obsprop/svd.h"

using obsprop::tools::Family;
using torch::Tensor;

namespace {

// The process's address space now (VmSize), bytes.
std::uint64_t address_space() {
    std::ifstream in("/proc/self/status");
    std::string key;
    while (in >> key) {
        std::uint64_t kb = 0;
        if (key == "VmSize:" && in >> kb) return kb * 1024;
        in.ignore(1 << 12, '\n');
    }
    return 0;
}

struct Results {
    Tensor norms_a, norms_b, ranking, sigma, logits;
};

Results analyse(const obsprop::model::Transformer& m) {
    torch::NoGradGuard ng;
    obsprop::Observable a, b;
    a.name = "a", a.terms = {{10, 1.0}, {20, -1.0}};
    b.name = "b", b.terms = {{30, 1.0}, {31000, -1.0}};
    obsprop::FeatureOptions o;
    o.block_ln = o.final_ln = obsprop::LnMode::Approximate;
    const auto fs = obsprop::compute_head_features(m, {a, b}, o);
    Results r;
    r.norms_a = fs[0].norms, r.norms_b = fs[1].norms;
    r.ranking = obsprop::rank_virtual_heads(m, a, o).norms;
    r.sigma = obsprop::svd_alignment(m, fs[0], 3).cosines.abs();
    const auto prompts = test_models::test_prompts(m.config().d_vocab, {16, 16, 12, 16});
    r.logits = m.forward(obsprop::model::Batch::from(prompts));
    return r;
}

double rel_diff(const Tensor& a, const Tensor& b) {
    const Tensor x = a.to(torch::kDouble).nan_to_num(0), y = b.to(torch::kDouble).nan_to_num(0);
    return ((x - y).abs().max() / (1 + y.abs().max())).item<double>();
}

} // namespace

class TstMemoryLimit : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void analysesFitUnderTheLimit() {
#if defined(__SANITIZE_ADDRESS__)
        // AddressSanitizer maps terabytes of shadow memory up front: no address-space limit can hold it. The
        // normal build runs this test.
        QSKIP("an address-space limit cannot hold AddressSanitizer's shadow memory");
#endif
        QTemporaryDir dir;
        obsprop::tools::CheckpointSpec spec;
        spec.family = Family::GPTNeoX;
        spec.n_layers = 8, spec.n_heads = 8, spec.d_model = 512, spec.d_mlp = 2048, spec.vocab = 32000;
        spec.storage = obsprop::io::DType::BF16;
        const std::string path = dir.path().toStdString() + "/model";
        const auto written = obsprop::tools::write_checkpoint_streaming(spec, path);
        const std::uint64_t file = std::filesystem::file_size(path + "/model.safetensors");
        const std::uint64_t f32 = written.n_parameters * sizeof(float);
        QVERIFY(f32 > 200'000'000);

        // Warm up (threads, their allocator arenas, LibTorch's and BLAS's own buffers) on a tiny model, so
        // the limit measures what the analyses themselves add.
        auto tiny = test_models::make_tiny(Family::GPTNeoX, 3, 32000);
        (void)analyse(*tiny.model);

        const std::uint64_t headroom = 150'000'000;
        QVERIFY(f32 > headroom + 50'000'000); // the whole model widened cannot fit
        rlimit saved{};
        QCOMPARE(getrlimit(RLIMIT_AS, &saved), 0);
        rlimit lim = saved;
        lim.rlim_cur = address_space() + file + headroom;
        QCOMPARE(setrlimit(RLIMIT_AS, &lim), 0);

        Results under;
        bool control_failed = false;
        std::string error;
        obsprop::model::set_memory_budget(32'000'000);
        try {
            auto m = obsprop::model::Transformer::load(path);
            // The limit binds: the float32 copy of everything (what the loader used to make) is refused.
            try {
                Tensor all = torch::empty({static_cast<std::int64_t>(f32 / sizeof(float))}, torch::kFloat);
                all.fill_(0);
            } catch (const std::exception&) {
                control_failed = true;
            }
            under = analyse(*m);
            QVERIFY(m->widening().cached_bytes <= 32'000'000);
        } catch (const std::exception& e) {
            error = e.what();
        }
        obsprop::model::set_memory_budget(0);
        QCOMPARE(setrlimit(RLIMIT_AS, &saved), 0);
        QVERIFY2(error.empty(), error.c_str());
        QVERIFY(control_failed);

        // The same numbers without the limit and with a budget that holds every copy.
        auto m = obsprop::model::Transformer::load(path);
        const Results free = analyse(*m);
        QVERIFY(rel_diff(under.norms_a, free.norms_a) <= 1e-6);
        QVERIFY(rel_diff(under.norms_b, free.norms_b) <= 1e-6);
        QVERIFY(rel_diff(under.ranking, free.ranking) <= 1e-6);
        QVERIFY(rel_diff(under.sigma, free.sigma) <= 1e-5);
        QVERIFY(rel_diff(under.logits, free.logits) <= 1e-6);
        QVERIFY(torch::isfinite(under.logits).all().item<bool>());
    }
};

QTEST_APPLESS_MAIN(TstMemoryLimit)
#include "tst_memory_limit.moc"
