// The explorer's colour theme: "system" (the desktop's style and palette, as the program started), "light"
// or "dark" (Qt's Fusion style with a light or dark palette). Kept in QSettings ("appearance/theme"); every
// widget and on-screen plot follows a change at once (exported figures stay light: figures/plot_style.h).
#pragma once

#include <QString>
#include <QStringList>

namespace obsprop::ui {

QStringList themeNames(); // "system", "light", "dark"
// Applies a theme to the running application; false (and nothing changed) for an unknown name.
bool applyTheme(const QString& name);
// The theme saved in Preferences ("system" when none or an unknown one is saved), and saving one.
QString savedTheme();
void saveTheme(const QString& name);

} // namespace obsprop::ui
