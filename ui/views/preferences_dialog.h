// Edit ▸ Preferences: the engine's threads and the memory budget for float32 copies of BF16/F16 weights,
// kept in QSettings ("engine/threads", "engine/memoryBudgetMiB"; 0 = automatic).
#pragma once

#include <QDialog>

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

    void accept() override;

  private:
    QSpinBox* threads_;
    QSpinBox* budget_;
};

} // namespace obsprop::ui
