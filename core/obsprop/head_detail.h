// Everything the explorer shows about one selected head: its OV singular values, the cosine of every
// observable's feature (at the head's input) with every right singular vector, and the LayerNorm check.
#pragma once

#include <vector>

#include "obsprop/workspace.h"

namespace obsprop {

struct HeadDetail {
    int layer = 0, head = 0;
    std::vector<double> sigma;                // [dh] descending
    std::vector<std::vector<double>> cosine;  // [observable][dh] cos(y, v_i), signed
    std::vector<double> ln_check;             // [observable] cos(exact-LN, approximate-LN feature); empty without data
    double expected_ln_cosine = 0;            // √(1 − 1/(d−1))
};

// `dataset` (may be empty) supplies the residuals for the LayerNorm check (its prompts' mean resid_pre at
// the name slot).
HeadDetail head_detail(const Workspace& w, int layer, int head, const std::string& dataset, const Progress& progress = {});

}  // namespace obsprop
