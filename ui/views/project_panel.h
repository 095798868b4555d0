// The project panel: the open model's architecture, the observables (add by typing `name = expression`,
// with the parser's error shown inline; a name already in use asks before it is replaced; remove; the
// selected observable's LayerNorm dataset), the datasets (import a file of prompt pairs as a new dataset,
// undoable, with the reader's error shown inline) and the LayerNorm treatment.
#pragma once

#include <functional>

#include <QWidget>

class QLabel;
class QLineEdit;
class QListWidget;
class QTreeWidget;
class QComboBox;

namespace obsprop::ui {

class Session;

class ProjectPanel : public QWidget {
    Q_OBJECT
  public:
    explicit ProjectPanel(Session* session, QWidget* parent = nullptr);

    QLineEdit* observableInput() const { return input_; }
    QLabel* errorLabel() const { return error_; }
    QListWidget* observableList() const { return observables_; }
    QComboBox* lnDatasetBox() const { return lnDataset_; }
    QListWidget* datasetList() const { return datasets_; }
    QLineEdit* pairsNameInput() const { return pairsName_; }
    QLabel* datasetError() const { return datasetError_; }
    // Imports `file` (CSV or JSONL prompt pairs) as a dataset named as typed in the name field, or after
    // the file (its name without the extension). False, with the error shown, when it was refused.
    bool importPairs(const QString& file);
    // What "Import Pairs…" asks for the file with (default: a file dialog); tests answer it.
    void setFileChooser(std::function<QString()> chooser) { chooser_ = std::move(chooser); }

  private:
    void refresh();
    void addFromInput();
    void add(const QString& text);
    void showLnDataset();

    Session* session_;
    QTreeWidget* model_ = nullptr;
    QListWidget* observables_ = nullptr;
    QListWidget* datasets_ = nullptr;
    QLineEdit* input_ = nullptr;
    QLabel* error_ = nullptr;
    QComboBox* ln_ = nullptr;
    QComboBox* lnDataset_ = nullptr;
    QLineEdit* pairsName_ = nullptr;
    QLabel* datasetError_ = nullptr;
    std::function<QString()> chooser_;
};

} // namespace obsprop::ui
