// The bound on a steering multiplier, in plain C++ so that the command line's front end (no LibTorch) checks
// --alpha with the steering's own number.
#pragma once

namespace obsprop {

// Largest |α| accepted; beyond it the numbers mean nothing (activations of order 1e6 and more).
inline constexpr double kMaxSteeringMultiplier = 1e6;

} // namespace obsprop
