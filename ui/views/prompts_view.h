// The prompts of a dataset as the model sees them: text, name slot, tokens, and every observable's
// value at the last position. "Edit dataset…" changes the dataset's templates and names in place. Selecting
// a row selects that prompt for the views that show one prompt (the Attention view) and lists its tokens
// below the table: pick one, then Steer at This Token or Attribute at This Token applies that token to the
// dataset's prompts (the name slot as "name", the last token as "last", any other by its index).
#pragma once

#include <QWidget>
#include <optional>

#include "results/results.h"

class QAbstractItemModel;
class QComboBox;
class QDialog;
class QLabel;
class QListWidget;
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
    // The selected prompt's tokens, one item each ("6 · ␣Mary"), and the two actions on the picked one.
    QListWidget* tokenList() const { return tokens_; }
    QPushButton* steerHereButton() const { return steerHere_; }
    QPushButton* attributeHereButton() const { return attributeHere_; }
    // The position the picked token stands for: "name", "last" or its index; empty when none is picked.
    QString pickedPosition() const;

    // "text,name,gender,name_position,tokens,<observable>...": the rows shown.

  public Q_SLOTS:
    // Opens the (window-modal) editor for the current dataset; returns it for tests.
    QDialog* editDataset();

  Q_SIGNALS:
    // The user selected a prompt's row (its index in the dataset).
    void promptSelected(const QString& dataset, int prompt);
    // Steer at This Token / Attribute at This Token, with pickedPosition().
    void steerAtToken(const QString& position);
    void attributeAtToken(const QString& position);

  private:
    void refreshChoices();
    void request();
    void showTokens(const PromptRow* row);

    Session* session_;
    QComboBox* dataset_ = nullptr;
    QPushButton* edit_ = nullptr;
    QLabel* status_ = nullptr;
    QStackedWidget* stack_ = nullptr;
    QLabel* placeholder_ = nullptr;
    QTableView* table_ = nullptr;
    PromptTableModel* model_ = nullptr;
    QListWidget* tokens_ = nullptr;
    QPushButton* steerHere_ = nullptr;
    QPushButton* attributeHere_ = nullptr;
    int tokenRowLength_ = 0, tokenRowSlot_ = -1; // of the prompt whose tokens are listed
    std::optional<PromptResults> results_;
};

} // namespace obsprop::ui
