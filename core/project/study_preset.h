// Project presets: a study's recipe written into a new project for the user's own copy of the model it was
// run on (docs/study-preset.md). Plain C++.
#pragma once

#include <string>
#include <vector>

#include "project/project.h"

namespace obsprop::project {

// The observable-propagation study on GPT-Neo-1.3B (DESIGN §5, §6): its four observables, its datasets with
// fifty names of each gender and every template, and its six steering experiments.
inline constexpr const char* kStudyPreset = "gpt-neo-1.3b-study";

// The names `project create --preset` accepts.
std::vector<std::string> preset_names();

// Writes preset `name` into `p`: its observables and its datasets (each replacing any of the same name; the
// project's others are kept, after them), its settings and its steering presets. The
// preset's heads must exist: throws ProjectError naming the preset and both shapes when the model's
// `n_layers` × `n_heads` is not the shape the preset was made for, and for an unknown preset, listing the
// known ones.
void apply_preset(Project& p, const std::string& name, int n_layers, int n_heads);

} // namespace obsprop::project
