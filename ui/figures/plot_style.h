// The colours of a figure's furniture (background, axes, ticks, labels, grid, legend, texts) taken from a
// palette, so that plots on screen follow the application's theme. The data colours (colour maps, bars,
// points) are the figure's own and stay the same in every theme.
//
// Exported figures (Export Figure, Export All, `obsprop export --figures`) are always drawn with
// exportPalette(): black on white whatever the theme, since they go into papers and slides; exportPlot()
// switches to it while writing and back afterwards.
#pragma once

#include <QPalette>

class QCustomPlot;

namespace obsprop::ui::figures {

// White paper and black ink: the palette of every written figure.
QPalette exportPalette();

// Recolours what the plot draws around its data from the palette (Base for the background, Text for the
// ink, blends of the two for the grid). Does not replot.
void applyPalette(QCustomPlot* plot, const QPalette& palette);

} // namespace obsprop::ui::figures
