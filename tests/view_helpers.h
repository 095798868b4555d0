// What the view suites share: reading a view's CSV back, checking that a figure exports in every format, and
// saving a screenshot of a view when OBSPROP_VIEW_SHOTS names a folder.
#pragma once

#include <QCoreApplication>
#include <QFileInfo>
#include <QStringList>
#include <QTemporaryDir>
#include <QWidget>
#include <QtTest>
#include <functional>

#include "figures/qcp.h"

namespace view_helpers {

inline QStringList csvLines(const QString& csv) {
    return csv.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
}

// One CSV record (RFC 4180 quoting).
inline QStringList cells(const QString& line) {
    QStringList out{QString()};
    bool quoted = false;
    for (int i = 0; i < line.size(); ++i) {
        const QChar ch = line[i];
        if (quoted && ch == QLatin1Char('"') && i + 1 < line.size() && line[i + 1] == QLatin1Char('"'))
            out.last() += ch, ++i;
        else if (ch == QLatin1Char('"'))
            quoted = !quoted;
        else if (ch == QLatin1Char(',') && !quoted)
            out << QString();
        else
            out.last() += ch;
    }
    return out;
}

// PNG, SVG and PDF are written (and not empty); an unknown format is refused.
inline void exportsAllFormats(const std::function<bool(const QString&)>& exportTo) {
    QTemporaryDir tmp;
    for (const char* ext : {"png", "svg", "pdf"}) {
        const QString f = tmp.filePath(QStringLiteral("figure.") + QLatin1String(ext));
        QVERIFY2(exportTo(f), ext);
        QVERIFY2(QFileInfo(f).size() > 500, ext);
    }
    QVERIFY(!exportTo(tmp.filePath(QStringLiteral("figure.bmpx"))));
}

inline void screenshot(QWidget* w, const char* name) {
    const QString dir = qEnvironmentVariable("OBSPROP_VIEW_SHOTS");
    if (dir.isEmpty()) return;
    QCoreApplication::processEvents();
    for (auto* p : w->findChildren<QCustomPlot*>())
        p->replot();
    QVERIFY(w->grab().save(dir + QStringLiteral("/view-") + QLatin1String(name) + QStringLiteral(".png")));
}

} // namespace view_helpers
