// "Export Figure": where to write the current view's figure, as PNG, SVG or PDF, at what size and (for PNG)
// what resolution. The size is in logical pixels of the drawing (the plot is laid out at that size, so fonts
// keep their size); a PNG gets size × resolution/96 pixels, an SVG or PDF is drawn at the size itself.
// The choices are remembered in QSettings.
#pragma once

#include <QDialog>
#include <QSize>
#include <QStringList>

class QComboBox;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace obsprop::ui {

class ExportFigureDialog : public QDialog {
    Q_OBJECT
  public:
    // `figures` names the figures the current view offers (e.g. the two heatmaps); `size` is their size on
    // screen, the default when nothing was remembered.
    ExportFigureDialog(const QStringList& figures, QSize size, QWidget* parent = nullptr);

    QString file() const;
    int figure() const;
    QSize figureSize() const;
    int dpi() const;
    double scale() const { return dpi() / 96.0; } // pixel density for PNG

    void setFile(const QString& f);
    void setFigureSize(QSize s);
    void setDpi(int dpi);

    // Checks the file name, asks before an existing file is replaced (confirm_overwrite.h), remembers the
    // choices.
    void accept() override;

  private:
    void syncFormat();
    void updatePixels();

    QComboBox* figure_ = nullptr;
    QLineEdit* file_ = nullptr;
    QComboBox* format_ = nullptr;
    QSpinBox* width_ = nullptr;
    QSpinBox* height_ = nullptr;
    QSpinBox* dpi_ = nullptr;
    QLabel* pixels_ = nullptr;
    QLabel* error_ = nullptr;
    QString confirmed_; // a file the user already agreed to replace (in the Browse dialog)
};

} // namespace obsprop::ui
