// Virtual heads (DESIGN §3.3): the two-head paths of an observable ranked by feature norm. Selecting a
// row selects its first (earliest) head; double-clicking offers the path as a steering vector.
#pragma once

#include <QWidget>
#include <optional>
#include <vector>

#include "results.h"

class QAbstractItemModel;
class QComboBox;
class QLabel;
class QModelIndex;
class QPushButton;
class QSortFilterProxyModel;
class QSpinBox;
class QStackedWidget;
class QTableView;

namespace obsprop::ui {

class Session;
class PathTableModel;

class PathsView : public QWidget {
    Q_OBJECT
  public:
    explicit PathsView(Session* session, QWidget* parent = nullptr);

    QString observable() const;
    int keep() const;
    const std::optional<PathResults>& results() const { return results_; }
    QAbstractItemModel* model() const;  // the table's source model
    QSortFilterProxyModel* proxy() const { return proxy_; }
    QTableView* table() const { return table_; }
    QComboBox* observableBox() const { return observable_; }
    QSpinBox* keepBox() const { return keep_; }
    QPushButton* rankButton() const { return rank_; }

    // "rank,path,norm" in the order shown.
    QString tableCsv() const;

  public Q_SLOTS:
    void rank();

  Q_SIGNALS:
    void headSelected(obsprop::ui::HeadRef h);
    void pathActivated(std::vector<obsprop::ui::HeadRef> path, QString observable);

  private:
    void refreshChoices();
    void onCurrentRowChanged(const QModelIndex& current);
    void onActivated(const QModelIndex& index);

    Session* session_;
    QComboBox* observable_ = nullptr;
    QSpinBox* keep_ = nullptr;
    QPushButton* rank_ = nullptr;
    QLabel* status_ = nullptr;
    QStackedWidget* stack_ = nullptr;
    QLabel* placeholder_ = nullptr;
    QTableView* table_ = nullptr;
    PathTableModel* model_ = nullptr;
    QSortFilterProxyModel* proxy_ = nullptr;
    std::optional<PathResults> results_;
};

}  // namespace obsprop::ui
