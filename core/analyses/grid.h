// A number per attention head (layer × head), as the reports hold them: plain doubles, no LibTorch, so
// every surface (the CLI, the export, the explorer's views and figures) can read reports cheaply.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "obsprop/source_token.h"

namespace obsprop::analyses {

struct HeadGrid {
    int layers = 0, heads = 0;
    std::vector<double> values; // row-major [layer][head]; NaN where undefined (e.g. a zero vector)

    double at(int layer, int head) const { return values[static_cast<std::size_t>(layer * heads + head)]; }
    bool empty() const { return values.empty(); }
};

// An attention head "L.H", or, as a node of a path, a layer's MLP "mlpL" (head == kMlp), the embeddings, or
// (path patching) a head at one source token "L.H@name" (obsprop/source_token.h).
struct HeadId {
    static constexpr int kMlp = -2;
    static constexpr int kEmbed = -3; // the embeddings: a path's first node in path patching
    int layer = -1, head = -1;
    int token = source_token::kEveryToken;
    static HeadId mlp(int layer) { return {layer, kMlp}; }
    static HeadId embed() { return {-1, kEmbed}; }
    bool valid() const { return layer >= 0 && head >= 0; } // an attention head (at every token or one)
    bool is_mlp() const { return layer >= 0 && head == kMlp; }
    bool is_embed() const { return head == kEmbed; }
    bool at_token() const { return token != source_token::kEveryToken; }
    HeadId whole() const { return {layer, head}; } // without the source token
    bool operator==(const HeadId&) const = default;
    std::string label() const {
        if (is_embed()) return "embed";
        return is_mlp() ? "mlp" + std::to_string(layer)
                        : std::to_string(layer) + "." + std::to_string(head) + source_token::suffix(token);
    }
};

// "1.2 -> mlp3 -> 3.4" (earliest first), as the CLI reads and writes paths.
std::string path_label(const std::vector<HeadId>& path);
// What a one-node or longer path is called in titles and messages: "head 1.4", "mlp3", "path 0.1 -> 1.4".
std::string path_title(const std::vector<HeadId>& path);
// The path with every source token dropped: the nodes whose feature vectors a patched path composes.
std::vector<HeadId> whole_path(std::vector<HeadId> path);
// The nodes of such a text (the syntax of obsprop::parse_path; nothing checked against a model). Throws
// std::invalid_argument naming the problem.
std::vector<HeadId> parse_path_label(const std::string& text);

} // namespace obsprop::analyses
