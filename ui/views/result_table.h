// What every table of results offers, the same in each view: a filter box (rows containing the text in any
// column, case-insensitive), Ctrl+C copying the selected cells as tab-separated text (numbers at full
// precision, as the CSV export writes them), and a context menu: Copy Value, Copy Row, Copy Table (the
// header and every row the filter shows, in the order shown), the view's own actions, then the actions of
// the tab page the table sits in (Copy as Command, Export…).
#pragma once

#include <QList>
#include <QString>
#include <Qt>

class QAbstractItemModel;
class QAction;
class QLineEdit;
class QModelIndex;
class QSortFilterProxyModel;
class QTableView;
class QWidget;

namespace obsprop::ui {

// The set-up every sortable table of results shares: `view` shows `model` through a new proxy (a child of
// `view`) that sorts by the model's Qt::UserRole, first by `column` in `order`; clicking a header re-sorts,
// whole rows are selected, cells are read-only, rows alternate in colour and carry no row numbers.
QSortFilterProxyModel* showSorted(QTableView* view, QAbstractItemModel* model, int column,
                                  Qt::SortOrder order);

// Sets `view` up (context menu, Ctrl+C, the filter on `proxy`) and returns a pane holding the filter box
// (object name "tableFilter") above the view, for the caller to place where the view would go. `extra` are
// shown in the menu after the copy actions; they can read the row under the pointer with contextRow().
QWidget* withResultTools(QTableView* view, QSortFilterProxyModel* proxy, const QList<QAction*>& extra = {});

// The row (of `view`'s model) the context menu was opened on; -1 outside any row.
int contextRow(const QTableView* view);

// Text of one cell as copied: a number (the model's Qt::UserRole when it is a floating-point value) at full
// precision, else the displayed text; tabs and line breaks become spaces.
QString cellText(const QModelIndex& i);
QString selectionTsv(const QTableView* view); // the selected cells' bounding rectangle, rows by lines
QString rowTsv(const QTableView* view, int row);
QString tableTsv(const QTableView* view); // header line, then every row in view order

} // namespace obsprop::ui
