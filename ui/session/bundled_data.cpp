#include "session/bundled_data.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

namespace obsprop::ui {

namespace {
const QString kDemoProject = QStringLiteral("projects/demo.obsprop");
} // namespace

QStringList bundledDataDirs() {
    QStringList dirs;
    if (QCoreApplication::instance())
        dirs << QDir::cleanPath(QCoreApplication::applicationDirPath() + QStringLiteral("/../share/obsprop"));
    for (const QString& d : QStandardPaths::standardLocations(QStandardPaths::GenericDataLocation))
        dirs << QDir::cleanPath(d + QStringLiteral("/obsprop"));
    dirs.removeDuplicates();
    return dirs;
}

QString bundledDemoProject() {
    for (const QString& d : bundledDataDirs()) {
        const QFileInfo f(d + QLatin1Char('/') + kDemoProject);
        if (f.isFile()) return f.absoluteFilePath();
    }
    return {};
}

QString bundledCorpus() {
    for (const QString& d : bundledDataDirs()) {
        const QFileInfo f(d + QStringLiteral("/corpus/corpus.txt"));
        if (f.isFile()) return f.absoluteFilePath();
    }
    return {};
}

QString bundledManual() {
    QStringList dirs;
    if (QCoreApplication::instance())
        dirs << QCoreApplication::applicationDirPath() + QStringLiteral("/../share/doc/obsprop");
    for (const QString& d : QStandardPaths::standardLocations(QStandardPaths::GenericDataLocation))
        dirs << d + QStringLiteral("/doc/obsprop");
    for (const QString& d : dirs) {
        const QFileInfo f(QDir::cleanPath(d + QStringLiteral("/README.md")));
        if (f.isFile()) return f.absoluteFilePath();
    }
    return {};
}

bool isReadOnlyProject(const QString& file) {
    if (file.isEmpty()) return false;
    const QFileInfo f(file);
    const QString demo = bundledDemoProject();
    if (!demo.isEmpty() && f.exists() && f.canonicalFilePath() == QFileInfo(demo).canonicalFilePath())
        return true;
    if (f.exists() && !f.isWritable()) return true;
    // Saves write a temporary next to the file and rename it over the old one.
    return !QFileInfo(f.absolutePath()).isWritable();
}

} // namespace obsprop::ui
