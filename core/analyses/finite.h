// Every report's own numbers are finite, or the report is an error: a NaN or an infinity (from NaN weights in
// a checkpoint, or an overflow) never reaches a table, a JSON file or a heatmap as a blank. Each report
// function checks its result here before returning it, so every surface (the CLI, `obsprop export`, the
// explorer) gets the same error. The message names the quantity, the observable and the head (or prompt),
// and the checkpoint's tensors that hold NaN or ±inf when there are some.
//
// Checked: the quantities a report measures (norms, attributions, scores, values, singular values, steering
// changes). Not checked: ratios of them that are undefined by design, documented as NaN in grid.h (the cosine
// or coupling with a zero vector, a fit over constant data).
#pragma once

#include <stdexcept>

#include "analyses/reports.h"

namespace obsprop {
class Workspace;
}

namespace obsprop::analyses {

struct NonFiniteResult : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Throw NonFiniteResult.
void require_finite(const Workspace& w, const FeaturesReport& r);
void require_finite(const Workspace& w, const AttributionReport& r);
void require_finite(const Workspace& w, const CouplingReport& r);
void require_finite(const Workspace& w, const CouplingScatterReport& r);
void require_finite(const Workspace& w, const SvdReport& r);
void require_finite(const Workspace& w, const HeadDetailReport& r);
void require_finite(const Workspace& w, const PathsReport& r);
void require_finite(const Workspace& w, const PathDetailReport& r);
void require_finite(const Workspace& w, const SteeringReport& r);
void require_finite(const Workspace& w, const DatasetReport& r);
void require_finite(const Workspace& w, const AttentionReport& r);

} // namespace obsprop::analyses
