// Process-wide LibTorch settings. LibTorch starts with one intra-op thread here; size it to the
// machine (or to what the GUI's worker pool leaves free) once at start-up.
#pragma once

namespace obsprop::model {

// n <= 0 means "all cores"; the environment variable OBSPROP_THREADS, when set, wins. Returns the number
// of threads now in use.
int configure_threads(int n = 0);
// LibTorch's intra-op thread count now.
int current_threads();

}  // namespace obsprop::model
