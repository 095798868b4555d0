// The one part of an observable that needs LibTorch: n as a dense tensor.
#include <stdexcept>
#include <string>

#include <torch/types.h>

#include "obsprop/observable.h"

namespace obsprop {

at::Tensor Observable::vector(int vocab) const {
    torch::Tensor n = torch::zeros({vocab}, torch::kFloat);
    auto a = n.accessor<float, 1>();
    for (const auto& [id, w] : terms) {
        if (id < 0 || id >= vocab)
            throw std::out_of_range("observable '" + name + "' uses token id " + std::to_string(id) +
                                    ", outside a vocabulary of " + std::to_string(vocab));
        a[id] += static_cast<float>(w);
    }
    return n;
}

} // namespace obsprop
