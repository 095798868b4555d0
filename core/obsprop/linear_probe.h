// Baselines for a feature vector trained on labelled activations (docs/corpus.md): the difference of the two
// classes' means, and a linear probe, L2-regularised logistic regression. Plain C++ in float64.
#pragma once

#include <vector>

namespace obsprop {

// Rows of activations [n][d] and a label per row, 1 or 0.
struct LabelledRows {
    std::vector<std::vector<double>> x;
    std::vector<int> labels;
};

// mean(x | label 1) − mean(x | label 0). Throws std::invalid_argument (a class empty, ragged rows, a label
// other than 0 and 1).
std::vector<double> mean_difference(const LabelledRows& data);

struct LogisticProbe {
    std::vector<double> w; // [d]
    double b = 0;
    double loss = 0;     // the objective at (w, b)
    double accuracy = 0; // on the training rows: sign(w·x + b) agrees with the label
    int iterations = 0;  // Newton steps taken
    bool converged = false;
};

// Minimises (1/n) Σᵢ log(1 + exp(−tᵢ (w·xᵢ + b))) + (λ/2)‖w‖², tᵢ = +1 for label 1 and −1 for label 0, the
// intercept b not penalised, by Newton's method (each step solved by conjugate gradients with
// Hessian-vector products, so memory is O(n·d), then a backtracking line search) on centred rows (the same
// minimiser, better conditioned). Stops when ‖∇‖ <= tol·max(1, ‖∇ at 0‖) or after max_iter steps.
// Throws std::invalid_argument for λ <= 0 or not finite, a class empty, ragged or non-finite rows.
LogisticProbe train_logistic_probe(const LabelledRows& data, double lambda, double tol = 1e-10,
                                   int max_iter = 100);

} // namespace obsprop
