#include "session/recent_files.h"

#include <QSettings>

namespace obsprop::ui {

namespace {
const QString kKey = QStringLiteral("recent/paths");

void store(QStringList paths) {
    while (paths.size() > kMaxRecentPaths)
        paths.removeLast();
    QSettings().setValue(kKey, paths);
}
} // namespace

QStringList recentPaths() {
    QStringList paths = QSettings().value(kKey).toStringList();
    paths.removeAll(QString());
    paths.removeDuplicates();
    return paths.mid(0, kMaxRecentPaths);
}

void addRecentPath(const QString& path) {
    if (path.isEmpty()) return;
    QStringList paths = recentPaths();
    paths.removeAll(path);
    paths.prepend(path);
    store(paths);
}

void removeRecentPath(const QString& path) {
    QStringList paths = recentPaths();
    if (paths.removeAll(path) > 0) store(paths);
}

} // namespace obsprop::ui
