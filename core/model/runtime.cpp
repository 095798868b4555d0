#include "model/runtime.h"

#include <cstdlib>
#include <thread>

#include <ATen/Parallel.h>

namespace obsprop::model {

int configure_threads(int n) {
    if (const char* env = std::getenv("OBSPROP_THREADS"); env && std::atoi(env) > 0) n = std::atoi(env);
    if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(n);
    return at::get_num_threads();
}

int current_threads() { return at::get_num_threads(); }

}  // namespace obsprop::model
