// A number per attention head (layer × head), as the reports hold them: plain doubles, no LibTorch, so
// every surface (the CLI, the export, the explorer's views and figures) can read reports cheaply.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

namespace obsprop::analyses {

struct HeadGrid {
    int layers = 0, heads = 0;
    std::vector<double> values; // row-major [layer][head]; NaN where undefined (e.g. a zero vector)

    double at(int layer, int head) const { return values[static_cast<std::size_t>(layer * heads + head)]; }
    bool empty() const { return values.empty(); }
};

struct HeadId {
    int layer = -1, head = -1;
    bool valid() const { return layer >= 0 && head >= 0; }
    bool operator==(const HeadId&) const = default;
    std::string label() const { return std::to_string(layer) + "." + std::to_string(head); }
};

// "1.2 -> 3.4" (earliest first), as the CLI reads and writes paths.
std::string path_label(const std::vector<HeadId>& path);

} // namespace obsprop::analyses
