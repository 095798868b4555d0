// Immutable results the views draw, made by the Session from core results on a worker thread and
// delivered to the GUI thread by value. Plain Qt/std types: no LibTorch here.
#pragma once

#include <QMetaType>
#include <QString>
#include <QStringList>
#include <vector>

#include "analyses/grid.h"
#include "analyses/reports.h"
#include "results/head_matrix.h"

namespace obsprop::ui {

// A head as the core's reports name it.
using HeadRef = analyses::HeadId;

struct ModelInfo {
    QString directory;
    QString family;
    int layers = 0, heads = 0, dModel = 0, dHead = 0, dMlp = 0, vocab = 0, context = 0;
    double checkpointBytes = 0;
    QList<QPair<QString, QString>> facts; // label, text: the model's particulars (io::describe_model)
};

// Data-free features of every observable: norms (norm-comparison rule), and for a chosen pair (a, b) the
// cosine and coupling coefficients per head.
struct FeatureResults {
    QString lnMode;
    QStringList observables;
    std::vector<HeadMatrix> norms; // one per observable
    QString pairA, pairB;
    HeadMatrix cosine, couplingAB, couplingBA; // empty when fewer than two observables
    double unembedCosine = 0;                  // the pair's cos(W_Uᵀn_a, W_Uᵀn_b)
    quint64 generation = 0;                    // the recipe generation it was computed for
};

// Attribution of each observable to heads, averaged over the dataset's prompt pairs.
struct AttributionResults {
    QString method; // "patching", "gradient" or "total" (whose maps also carry the MLPs, HeadMatrix::mlp)
    QString dataset;
    QString position = QStringLiteral("last"); // the token whose prediction is attributed
    int pairs = 0;
    QStringList observables;
    std::vector<HeadMatrix> maps; // one per observable
    quint64 generation = 0;
};

// For one head: SVD alignment of its OV circuit with the observables' features.
struct SvdResults {
    HeadRef head;
    std::vector<double> sigma; // all singular values, descending
    QStringList observables;
    std::vector<std::vector<double>> absCosine; // [observable][singular index] |cos(y, v_i)|
    std::vector<double> layerNormCheck;         // [observable] cos(exact-LN feature, approx-LN feature), mean
    std::vector<double> layerNormCheckMin;      // [observable] the smallest over the tokens
    std::vector<int> layerNormTokens;           // [observable] the tokens (prompts) it was evaluated at
    QStringList layerNormDatasets;              // [observable] whose mean residual the check used
    double expectedLayerNormCosine = 0; // the mean for random directions (obsprop::expected_ln_cosine)
};

// Every head's coupling C(a→b) against its attribution ratio b/a (core: analyses::coupling_heads).
struct CouplingHeadPoint {
    HeadRef head;
    double coupling = 0, attributionA = 0, attributionB = 0, ratio = 0;
};

struct CouplingHeads {
    QString a, b, dataset, method;
    std::vector<CouplingHeadPoint> points; // heads with a finite ratio
};

// For one head and two observables: token scores over the dataset and the predicted coupling.
struct CouplingScatter {
    HeadRef head;
    QString a, b, dataset;
    std::vector<double> s1, s2; // y_a·x, y_b·x over the dataset's tokens
    double slope = 0, intercept = 0, r2 = 0;
    double predicted = 0;                         // C(a→b)
    double normA = 0;                             // ‖y_a‖
    double residualNorm = 0;                      // ‖y_b − C y_a‖
    double meanTokenNorm = 0;                     // mean ‖x‖ over the tokens: r of the Theorem-2 band
    std::vector<double> bandK, bandLow, bandHigh; // the Theorem-2 band, computed in core
    double halfWidthAtZero = 0;                   // its half-width at s₁ = 0: r·‖y_b − C y_a‖
};

// One path of the Paths view: a ranked two-head virtual head (data-free feature norm) or a path found by the
// beam search (path patching over a dataset's pairs, with its feature norm beside it).
struct PathRow {
    QString path;               // "l1.h1 → l2.h2 → …", earliest first
    std::vector<HeadRef> nodes; // the same heads
    double value = 0;           // ‖y‖ (norm ranking) or the mean patching drop of n·z (beam search)
    double sd = 0;              // beam search: standard deviation over the pairs
    double featureNorm = 0;     // beam search: the path's data-free ‖y‖ (norm-comparison rule)
};

// Which nodes a path search may use beside whole attention heads.
struct PathNodeKinds {
    bool mlp = false;    // every layer's MLP
    bool embed = false;  // the embeddings, as a path's first node
    bool tokens = false; // heads at one source token
};

struct PathResults {
    QString observable;
    bool patching = false;         // false: data-free norm ranking; true: beam search by path patching
    QString dataset;               // beam search: the pairs' dataset
    int pairs = 0, pairsGiven = 0; // beam search: pairs used (aligned) of those given
    qulonglong scored = 0;         // paths scored
    int beamWidth = 0;             // beam search: paths kept per length
    bool mlpNodes = false;         // beam search: MLPs were nodes too
    bool embedNodes = false;       // beam search: paths could start at the embeddings
    bool tokenNodes = false;       // beam search: heads at one source token were nodes too
    std::vector<PathRow> rows;     // best first
};

// One path's feature vector for every observable, to compare them: norms (norm-comparison rule) and the
// cosine of each with the chosen observable's.
struct PathDetail {
    QString path; // "l1.h1 → l2.h2"
    std::vector<HeadRef> nodes;
    QString observable; // the chosen one
    QStringList observables;
    std::vector<double> norms;   // per observable
    std::vector<double> cosines; // per observable, with the chosen observable's vector
    QString mlpPoints;           // where the chosen observable's MLP nodes were linearised (empty: none)
};

// A steering vector as the session holds it: stable id, what it is made of, its multiplier and slider range.
struct SteeringVectorSpec {
    quint64 id = 0;
    QString name;
    QString observable;
    std::vector<HeadRef> path;
    int layer = -1; // -1: the path's first layer
    QString position = QStringLiteral("name");
    bool normalize = true;
    double alpha = 0;
    double range = 300;
};

// Steering vectors applied with their multipliers.
struct SteeringResults {
    QString vectorName; // e.g. "head 3.1 (subj)"
    double alpha = 0;
    bool exact = false; // false: only the linear prediction is filled
    QStringList observables;
    std::vector<double> meanChange; // [observable] exact mean change (when exact)
    std::vector<double> predicted;  // [observable] linear prediction
    QStringList prompts;
    std::vector<std::vector<double>> before, after; // [prompt][observable]
    quint64 generation = 0;
};

struct PromptRow {
    QString dataset, text, name, gender;
    int namePosition = 0;
    QStringList tokens;
    std::vector<double> values; // per observable
    int index = 0;              // the prompt's index in its dataset
};

struct PromptResults {
    QStringList observables;
    std::vector<PromptRow> rows;
};

// One head's attention on one prompt of a dataset, and what each source token sends through the head to an
// observable at the prompt's last token (core: analyses::attention_report).
struct AttentionResults {
    HeadRef head;
    QString dataset, observable, lnMode;
    int prompt = 0;                           // index in the dataset
    int query = 0;                            // the position the contributions are read at: the last token
    QStringList tokens;                       // the prompt's tokens as text
    std::vector<std::vector<double>> pattern; // [query][key]; zero where the causal mask hides the key
    std::vector<double> contribution;         // [key] at `query`
    double total = 0;                         // the sum of the contributions
};

// The debiasing sweep as asked for by a view (core: analyses::DebiasOptions; docs/debias.md).
struct DebiasRequest {
    QString raise, lower, featureOf; // featureOf empty: raise
    QString dataset;                 // empty: the project's rule
    QString position;                // empty: the name slot
    int candidates = 8;
    std::vector<double> alphas; // empty: the defaults (analyses::default_debias_alphas)
    bool normalize = false;
    int layer = -1; // -1: each head's own
};

// The sweep's report as the core made it (plain C++, no LibTorch), with the recipe generation it is for.
struct DebiasResults {
    analyses::DebiasReport report;
    quint64 generation = 0;
};

// One head's feature scored over a corpus (core: analyses::corpus_report), as the core made it: the view
// draws the report itself.
struct CorpusResults {
    analyses::CorpusReport report;
};

} // namespace obsprop::ui

Q_DECLARE_METATYPE(obsprop::ui::HeadRef)
