// A quantity per attention head (layer × head), as the views draw it. Filled from core results;
// the widgets only format and draw it.
#pragma once

#include <QString>
#include <vector>

namespace obsprop::ui {

struct HeadMatrix {
    QString title;    // e.g. "Feature norm ‖y‖ — subj"
    QString quantity; // column name for CSV, e.g. "norm"
    int layers = 0;
    int heads = 0;
    std::vector<double> values; // row-major [layer][head]
    bool diverging = false;     // signed quantity: colour map centred at zero
    std::vector<double> mlp; // per layer, when the quantity also covers the MLPs (total-effect attribution)

    double at(int layer, int head) const { return values[static_cast<std::size_t>(layer * heads + head)]; }
    bool empty() const { return values.empty(); }
    // "layer,head,<quantity>" with every value at full precision (the numbers drawn), then the MLPs' rows
    // ("layer,mlp,<value>") when there are any, as the core's attribution table has them.
    QString toCsv() const;
};

// "L.H" as researchers write heads.
inline QString headName(int layer, int head) {
    return QStringLiteral("%1.%2").arg(layer).arg(head);
}

} // namespace obsprop::ui
