// The default memory budget for float32 copies of stored weights, without any value set with
// set_memory_budget() (model/widening.h): OBSPROP_MEMORY_BUDGET, else a quarter of the memory the kernel
// reports available now. Throws std::invalid_argument for a malformed OBSPROP_MEMORY_BUDGET.
#pragma once

#include <cstdint>

namespace obsprop::model {

std::uint64_t default_memory_budget();

} // namespace obsprop::model
