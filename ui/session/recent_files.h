// The projects and model folders opened lately, newest first, as the File ▸ Open Recent menu and the welcome
// page list them. Kept in QSettings under "recent/paths" (at most kMaxRecentPaths; a path opened again moves
// to the front). Paths that no longer exist stay in the list until they are opened or removed: the menus
// show them greyed, since a disconnected drive may come back.
#pragma once

#include <QString>
#include <QStringList>

namespace obsprop::ui {

inline constexpr int kMaxRecentPaths = 8;

QStringList recentPaths();
void addRecentPath(const QString& path);
void removeRecentPath(const QString& path);

} // namespace obsprop::ui
