#include "figures/plot_export.h"

#include <QFileInfo>
#include <QSvgGenerator>

#include "figures/qcp.h"

namespace obsprop::ui {

bool exportPlot(QCustomPlot* plot, const QString& file, int width, int height, double scale,
                const QString& title) {
    const QString suffix = QFileInfo(file).suffix().toLower();
    const int w = width > 0 ? width : plot->width(), h = height > 0 ? height : plot->height();
    if (suffix == QLatin1String("png")) return plot->savePng(file, w, h, scale);
    if (suffix == QLatin1String("pdf"))
        return plot->savePdf(file, w, h, QCP::epAllowCosmetic, QString(), title);
    if (suffix != QLatin1String("svg")) return false;
    QSvgGenerator gen;
    gen.setFileName(file);
    gen.setSize(QSize(w, h));
    gen.setViewBox(QRect(0, 0, w, h));
    gen.setTitle(title);
    QCPPainter painter;
    if (!painter.begin(&gen)) return false;
    plot->toPainter(&painter, w, h);
    painter.end();
    return QFileInfo(file).size() > 0;
}

} // namespace obsprop::ui
