// Standard shortcuts with fallbacks: QKeySequence's standard keys come from the platform theme, and without
// a desktop theme (a bare X server, some window managers) several are empty (Save As, Preferences, Redo).
// The fallback is the binding most Linux desktops use.
#pragma once

#include <QKeySequence>
#include <QList>
#include <QString>

namespace obsprop::ui {

inline QList<QKeySequence> standardShortcut(QKeySequence::StandardKey key, const QString& fallback) {
    QList<QKeySequence> keys = QKeySequence::keyBindings(key);
    if (keys.isEmpty()) keys << QKeySequence(fallback);
    return keys;
}

} // namespace obsprop::ui
