// Where a non-finite result comes from. Loading never scans the weights' values (that reads every byte of a
// checkpoint of many gigabytes); when a result turns out NaN or infinite, these find the weights that hold
// NaN or ±inf so that the error can name them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace obsprop::io {
class Checkpoint;
}

namespace obsprop::model {

struct Weights;
class Transformer;

// The checkpoint's floating-point tensors holding NaN or ±inf, as "'name' holds NaN" (at most `limit`, in
// name order). Reads the raw stored values of every tensor.
std::vector<std::string> nonfinite_tensors(const io::Checkpoint& ckpt, std::size_t limit = 3);
// The same over weights held in memory, named by their fields ("layers.0.W_O").
std::vector<std::string> nonfinite_weights(const Weights& w, std::size_t limit = 3);
// For a model: its checkpoint's tensors (reopened from its folder) when it was loaded from one, else its
// weights.
std::vector<std::string> nonfinite_weights(const Transformer& m, std::size_t limit = 3);

// What to add to a message about a non-finite result: "; the checkpoint's tensor 'x' holds NaN" (or
// "tensors … and …"), or "; every weight of the model is finite, so the computation overflowed".
std::string nonfinite_weights_note(const Transformer& m);

} // namespace obsprop::model
