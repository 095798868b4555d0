#include "analyses/engine_status.h"

#include <torch/version.h>

#include "model/runtime.h"

namespace obsprop::analyses {

EngineStatus engine_status() {
    const auto tm = model::tensor_memory();
    return {model::current_threads(), tm.installed, tm.live, tm.peak};
}

const char* torch_version() {
    return TORCH_VERSION;
}

void configure_engine(int threads, bool count_memory) {
    if (count_memory) model::install_tensor_memory_counter();
    model::configure_threads(threads);
}

} // namespace obsprop::analyses
