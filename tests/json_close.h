// One comparison of two JSON documents for the suites that compare a report across processes: the same
// shape, strings and booleans equal, every number equal up to 1e-6 relative (the command line runs the same
// float32 computation in another process, perhaps with other thread counts). Says where they differ.
#pragma once

#include <algorithm>
#include <cmath>

#include <QtGlobal>
#include <nlohmann/json.hpp>

namespace json_close {

inline bool same(const nlohmann::json& a, const nlohmann::json& b) {
    if (a.is_number() && b.is_number()) {
        const double x = a.get<double>(), y = b.get<double>();
        return std::abs(x - y) <= 1e-6 * std::max({1.0, std::abs(x), std::abs(y)}) ||
               (qWarning("%g vs %g", x, y), false);
    }
    if (a.type() != b.type())
        return qWarning("types differ: %s vs %s", a.dump().c_str(), b.dump().c_str()), false;
    if (a.is_array()) {
        if (a.size() != b.size()) return qWarning("lengths differ"), false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (!same(a[i], b[i])) return false;
        return true;
    }
    if (a.is_object()) {
        if (a.size() != b.size()) return qWarning("keys differ"), false;
        for (auto it = a.begin(); it != a.end(); ++it)
            if (!b.contains(it.key()) || !same(it.value(), b[it.key()]))
                return qWarning("at %s", it.key().c_str()), false;
        return true;
    }
    return a == b || (qWarning("%s vs %s", a.dump().c_str(), b.dump().c_str()), false);
}

} // namespace json_close
