// Fuzz target: config.json of any family, as the loader reads and checks it, then summarised as `obsprop
// info` shows it. Refusals must be ConfigError; a configuration that loads must have sizes the engine can
// allocate without overflow (the checks promise it), which is asserted here.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "io/model_config.h"
#include "io/model_summary.h"

using namespace obsprop;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::write_scratch("config.json", fuzz::as_text(data, size));
    try {
        const io::ModelConfig c = io::load_model_config(fuzz::scratch_dir());
        if (c.n_layers <= 0 || c.n_heads <= 0 || c.d_model <= 0 || c.d_head <= 0 || c.d_vocab <= 0 ||
            c.n_kv_heads <= 0 || c.n_heads % c.n_kv_heads != 0)
            fuzz::invariant_failed("a loaded configuration has a non-positive or inconsistent size");
        if (static_cast<int>(c.local_window.size()) != c.n_layers && !c.local_window.empty())
            fuzz::invariant_failed("per-layer windows do not match the layer count");
        for (const auto& fact : io::describe_model(c))
            if (fact.label.empty()) fuzz::invariant_failed("a model fact without a label");
    } catch (const io::ConfigError&) {
    }
    return 0;
}
