#include "model/runtime.h"

#include <thread>

#include <ATen/Parallel.h>

namespace obsprop::model {

int configure_threads(int n) {
    if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(n);
    return at::get_num_threads();
}

int current_threads() { return at::get_num_threads(); }

}  // namespace obsprop::model
