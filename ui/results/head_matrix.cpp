#include "results/head_matrix.h"

namespace obsprop::ui {

QString HeadMatrix::toCsv() const {
    QString out =
        QStringLiteral("layer,head,%1\n").arg(quantity.isEmpty() ? QStringLiteral("value") : quantity);
    for (int l = 0; l < layers; ++l)
        for (int h = 0; h < heads; ++h)
            out += QStringLiteral("%1,%2,%3\n").arg(l).arg(h).arg(at(l, h), 0, 'g', 17);
    for (std::size_t l = 0; l < mlp.size(); ++l)
        out += QStringLiteral("%1,mlp,%2\n").arg(l).arg(mlp[l], 0, 'g', 17);
    return out;
}

} // namespace obsprop::ui
