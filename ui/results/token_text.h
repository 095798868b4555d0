// A token as a label: the tokenizer's text with its whitespace made visible (a space as ␣, a newline as ↵, a
// tab as →), so " she" and "she" read differently on an axis or in a table.
#pragma once

#include <QString>

namespace obsprop::ui {

inline QString visibleToken(QString t) {
    t.replace(QLatin1Char(' '), QChar(0x2423));
    t.replace(QLatin1Char('\n'), QChar(0x21B5));
    t.replace(QLatin1Char('\t'), QChar(0x2192));
    return t.isEmpty() ? QStringLiteral("∅") : t;
}

} // namespace obsprop::ui
