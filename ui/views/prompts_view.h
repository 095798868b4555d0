// The prompts of a dataset as the model sees them: text, name slot, tokens, and every observable's
// value at the last position. "Edit dataset…" changes the dataset's templates and names in place. Selecting
// a row selects that prompt for the views that show one prompt (the Attention view).
#pragma once

#include <QWidget>
#include <optional>

#include "results/results.h"

class QAbstractItemModel;
class QComboBox;
class QDialog;
class QLabel;
class QPushButton;
class QStackedWidget;
class QTableView;

namespace obsprop::ui {

class Session;
class PromptTableModel;

class PromptsView : public QWidget {
    Q_OBJECT
  public:
    explicit PromptsView(Session* session, QWidget* parent = nullptr);

    QString dataset() const;
    QComboBox* datasetBox() const { return dataset_; }
    QPushButton* editButton() const { return edit_; }
    QTableView* table() const { return table_; }
    QAbstractItemModel* model() const;
    // The `obsprop` command that prints what this view shows (Edit ▸ Copy as Command).
    QString command() const;
    QString tableCsv() const; // the table as sorted
    const std::optional<PromptResults>& results() const { return results_; }

    // "text,name,gender,name_position,tokens,<observable>...": the rows shown.

  public Q_SLOTS:
    // Opens the (window-modal) editor for the current dataset; returns it for tests.
    QDialog* editDataset();

  Q_SIGNALS:
    // The user selected a prompt's row (its index in the dataset).
    void promptSelected(const QString& dataset, int prompt);

  private:
    void refreshChoices();
    void request();

    Session* session_;
    QComboBox* dataset_ = nullptr;
    QPushButton* edit_ = nullptr;
    QLabel* status_ = nullptr;
    QStackedWidget* stack_ = nullptr;
    QLabel* placeholder_ = nullptr;
    QTableView* table_ = nullptr;
    PromptTableModel* model_ = nullptr;
    std::optional<PromptResults> results_;
};

} // namespace obsprop::ui
