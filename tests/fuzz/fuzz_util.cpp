#include "fuzz_util.h"

#include <cstdio>

namespace obsprop::fuzz {

void invariant_failed(const std::string& what) {
    std::fprintf(stderr, "fuzz invariant failed: %s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
}

} // namespace obsprop::fuzz
