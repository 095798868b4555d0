// The views' tables as CSV (what their "copy" gives and what the tests read), written with the core's one
// CSV rule (analyses::csv_field) and numbers at full precision.
#pragma once

#include <QString>

#include "analyses/tables.h"

namespace obsprop::ui {

inline QString csvField(const QString& s) {
    return QString::fromStdString(analyses::csv_field(s.toStdString()));
}
inline QString csvNumber(double v) {
    return QString::number(v, 'g', 17);
}

} // namespace obsprop::ui
