#include "analyses/engine_status.h"

#include <torch/version.h>

#include "analyses/workspace.h"
#include "model/memory_budget.h"
#include "model/runtime.h"
#include "model/transformer.h"

namespace obsprop::analyses {

EngineStatus engine_status() {
    const auto tm = model::tensor_memory();
    return {model::current_threads(), tm.installed, tm.live, tm.peak};
}

WeightMemory weight_memory(const Workspace& w) {
    const auto& m = w.model();
    const auto s = m.widening();
    return {!m.weights().all_f32, s.budget, s.cached_bytes, s.converted_bytes, s.hits, s.misses};
}

void set_weight_memory_budget(unsigned long long bytes) {
    model::set_memory_budget(bytes);
}

unsigned long long weight_memory_budget() {
    return model::memory_budget();
}

unsigned long long default_weight_memory_budget() {
    return model::default_memory_budget();
}

const char* torch_version() {
    return TORCH_VERSION;
}

void configure_engine(int threads, bool count_memory) {
    if (count_memory) model::install_tensor_memory_counter();
    model::configure_threads(threads);
}

} // namespace obsprop::analyses
