// The project panel: the open model's architecture, the observables (add by typing `name = expression`,
// with the parser's error shown inline; a name already in use asks before it is replaced; remove; the
// selected observable's LayerNorm dataset), the datasets and the LayerNorm treatment.
#pragma once

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
};

} // namespace obsprop::ui
