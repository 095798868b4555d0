// A view's choice boxes, filled from the session: the items replaced, the current choice kept while it is
// still offered (else `fallback`, else the first item), and no signal emitted for the refill.
#pragma once

#include <QComboBox>
#include <QSignalBlocker>
#include <QStringList>

namespace obsprop::ui {

inline void refill(QComboBox* c, const QStringList& items, const QString& fallback = {}) {
    const QString keep = c->currentText();
    QSignalBlocker block(c);
    c->clear();
    c->addItems(items);
    int i = c->findText(keep);
    if (i < 0) i = c->findText(fallback);
    c->setCurrentIndex(i >= 0 ? i : 0);
}

} // namespace obsprop::ui
