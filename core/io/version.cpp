#include "io/version.h"

namespace obsprop {
const char* version() {
    return OBSPROP_VERSION;
}
} // namespace obsprop
