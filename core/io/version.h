#pragma once

namespace obsprop {
// The product version, as given to CMake's project().
const char* version();
} // namespace obsprop
