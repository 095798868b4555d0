// Edit ▸ Preferences: the engine's threads and the memory budget for float32 copies of BF16/F16 weights
// ("engine/threads", "engine/memoryBudgetMiB"; 0 = automatic), the colour theme (views/theme.h) and the size
// and resolution Export Figure starts with ("export/size", "export/dpi", which the export dialog also
// remembers; no size = the plot's size on screen), all in QSettings.
#pragma once

#include <QDialog>

class QComboBox;
class QSpinBox;

namespace obsprop::ui {

// Applies the saved engine settings: the memory budget at once (models opened from now on), the threads only
// when `startup` (changing them while an analysis runs is not safe). The explorer calls it once at start-up,
// the dialog after OK.
void applyEngineSettings(bool startup);

class PreferencesDialog : public QDialog {
    Q_OBJECT
  public:
    explicit PreferencesDialog(QWidget* parent = nullptr);

    QSpinBox* threadsBox() const { return threads_; }
    QSpinBox* budgetBox() const { return budget_; }
    QComboBox* themeBox() const { return theme_; }
    QSpinBox* exportWidthBox() const { return width_; }
    QSpinBox* exportHeightBox() const { return height_; }
    QSpinBox* exportDpiBox() const { return dpi_; }

    void accept() override;

  private:
    QSpinBox* threads_;
    QSpinBox* budget_;
    QComboBox* theme_;
    QSpinBox *width_, *height_, *dpi_;
};

} // namespace obsprop::ui
