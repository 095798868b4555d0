#include "figures/plot_export.h"

#include <QFileInfo>

#include <QSvgGenerator>
#include <filesystem>

#include "figures/plot_style.h"
#include "figures/qcp.h"
#include "io/atomic_file.h"

namespace obsprop::ui {

namespace {

bool render(QCustomPlot* plot, const QString& suffix, const QString& file, int w, int h, double scale,
            const QString& title) {
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

} // namespace

bool exportPlot(QCustomPlot* plot, const QString& file, int width, int height, double scale,
                const QString& title) {
    const QString suffix = QFileInfo(file).suffix().toLower();
    const int w = width > 0 ? width : plot->width(), h = height > 0 ? height : plot->height();
    // Drawn into a temporary next to the file and moved into place: an interrupted export never leaves a torn
    // figure under the final name.
    const std::filesystem::path target = file.toStdString(), tmp = io::temporary_for(target);
    // Written figures are black on white whatever the theme the plot follows on screen.
    figures::applyPalette(plot, figures::exportPalette());
    const bool rendered = render(plot, suffix, QString::fromStdString(tmp.string()), w, h, scale, title);
    figures::applyPalette(plot, plot->palette());
    if (!rendered) {
        std::error_code ec;
        std::filesystem::remove(tmp, ec);
        return false;
    }
    try {
        io::commit_file(tmp, target);
    } catch (const std::exception&) {
        return false;
    }
    return true;
}

} // namespace obsprop::ui
