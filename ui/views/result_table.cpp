#include "views/result_table.h"

#include <QAction>
#include <QClipboard>
#include <QContextMenuEvent>
#include <QGuiApplication>
#include <QHeaderView>
#include <QKeyEvent>
#include <QLineEdit>
#include <QMenu>
#include <QRegularExpression>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>
#include <algorithm>

#include "results/csv.h"
#include "views/page_actions.h"

namespace obsprop::ui {

namespace {

const char* kContextRow = "obsprop_contextRow";

QString clean(QString s) {
    s.replace(QLatin1Char('\t'), QLatin1Char(' ')).replace(QLatin1Char('\n'), QLatin1Char(' '));
    return s.replace(QLatin1Char('\r'), QLatin1Char(' '));
}

QString headerText(const QAbstractItemModel* m, int c) {
    return clean(m->headerData(c, Qt::Horizontal, Qt::DisplayRole).toString());
}

bool shown(const QTableView* v, int c) {
    return !v->isColumnHidden(c);
}

void copy(const QString& text) {
    QGuiApplication::clipboard()->setText(text);
}

// Ctrl+C on the table copies the selection (the item view's own copy takes only the current cell). The
// menu's action carries the same shortcut, which wins while the table has the focus; this catches the key
// whichever way it arrives.
class CopyKey : public QObject {
  public:
    explicit CopyKey(QTableView* view) : QObject(view), view_(view) {}
    bool eventFilter(QObject* o, QEvent* e) override {
        if (e->type() == QEvent::KeyPress && static_cast<QKeyEvent*>(e)->matches(QKeySequence::Copy)) {
            copy(selectionTsv(view_));
            return true;
        }
        return QObject::eventFilter(o, e);
    }

  private:
    QTableView* view_;
};

} // namespace

QString cellText(const QModelIndex& i) {
    const QVariant raw = i.data(Qt::UserRole);
    const auto type = raw.metaType().id();
    if (type == QMetaType::Double || type == QMetaType::Float) return csvNumber(raw.toDouble());
    return clean(i.data(Qt::DisplayRole).toString());
}

QString rowTsv(const QTableView* view, int row) {
    const auto* m = view->model();
    QStringList cells;
    for (int c = 0; c < m->columnCount(); ++c)
        if (shown(view, c)) cells << cellText(m->index(row, c));
    return cells.join(QLatin1Char('\t'));
}

QString tableTsv(const QTableView* view) {
    const auto* m = view->model();
    QStringList header;
    for (int c = 0; c < m->columnCount(); ++c)
        if (shown(view, c)) header << headerText(m, c);
    QStringList lines{header.join(QLatin1Char('\t'))};
    for (int r = 0; r < m->rowCount(); ++r)
        lines << rowTsv(view, r);
    return lines.join(QLatin1Char('\n')) + QLatin1Char('\n');
}

QString selectionTsv(const QTableView* view) {
    const QModelIndexList sel =
        view->selectionModel() ? view->selectionModel()->selectedIndexes() : QModelIndexList{};
    if (sel.isEmpty()) {
        const QModelIndex cur = view->currentIndex();
        return cur.isValid() ? cellText(cur) : QString();
    }
    int r0 = sel.front().row(), r1 = r0, c0 = sel.front().column(), c1 = c0;
    for (const auto& i : sel) {
        r0 = std::min(r0, i.row()), r1 = std::max(r1, i.row());
        c0 = std::min(c0, i.column()), c1 = std::max(c1, i.column());
    }
    QStringList lines;
    for (int r = r0; r <= r1; ++r) {
        QStringList cells;
        for (int c = c0; c <= c1; ++c)
            if (shown(view, c))
                cells << (view->selectionModel()->isSelected(view->model()->index(r, c))
                              ? cellText(view->model()->index(r, c))
                              : QString());
        lines << cells.join(QLatin1Char('\t'));
    }
    return lines.join(QLatin1Char('\n'));
}

int contextRow(const QTableView* view) {
    return view->property(kContextRow).isValid() ? view->property(kContextRow).toInt() : -1;
}

QSortFilterProxyModel* showSorted(QTableView* view, QAbstractItemModel* model, int column,
                                  Qt::SortOrder order) {
    auto* proxy = new QSortFilterProxyModel(view);
    proxy->setSourceModel(model);
    proxy->setSortRole(Qt::UserRole);
    view->setModel(proxy);
    view->setSortingEnabled(true);
    view->sortByColumn(column, order);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view->verticalHeader()->hide();
    view->setAlternatingRowColors(true);
    return proxy;
}

QWidget* withResultTools(QTableView* view, QSortFilterProxyModel* proxy, const QList<QAction*>& extra) {
    auto* pane = new QWidget(view->parentWidget());
    auto* lay = new QVBoxLayout(pane);
    lay->setContentsMargins(0, 0, 0, 0);
    lay->setSpacing(2);
    auto* filter = new QLineEdit(pane);
    filter->setObjectName(QStringLiteral("tableFilter"));
    filter->setPlaceholderText(QObject::tr("Filter rows…"));
    filter->setClearButtonEnabled(true);
    filter->setToolTip(QObject::tr("Show only the rows containing this text (in any column)"));
    proxy->setFilterKeyColumn(-1);
    proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    QObject::connect(filter, &QLineEdit::textChanged, proxy,
                     [proxy](const QString& t) { proxy->setFilterFixedString(t); });

    auto* copySel = new QAction(QObject::tr("&Copy"), view);
    copySel->setShortcuts(QKeySequence::keyBindings(QKeySequence::Copy));
    copySel->setShortcutContext(Qt::WidgetShortcut);
    QObject::connect(copySel, &QAction::triggered, view, [view] { copy(selectionTsv(view)); });
    view->addAction(copySel);
    view->installEventFilter(new CopyKey(view));

    view->setContextMenuPolicy(Qt::CustomContextMenu);
    QObject::connect(view, &QWidget::customContextMenuRequested, view, [view, extra, copySel](QPoint pos) {
        const QModelIndex at = view->indexAt(pos);
        view->setProperty(kContextRow, at.isValid() ? at.row() : -1);
        QMenu menu(view);
        menu.addAction(copySel);
        auto* value = menu.addAction(QObject::tr("Copy &Value"), view, [at] { copy(cellText(at)); });
        value->setEnabled(at.isValid());
        auto* row = menu.addAction(QObject::tr("Copy &Row"), view,
                                   [view, at] { copy(rowTsv(view, at.row()) + QLatin1Char('\n')); });
        row->setEnabled(at.isValid());
        menu.addAction(QObject::tr("Copy &Table"), view, [view] { copy(tableTsv(view)); })
            ->setEnabled(view->model()->rowCount() > 0);
        if (!extra.isEmpty()) menu.addSeparator();
        for (QAction* a : extra) {
            a->setEnabled(at.isValid());
            menu.addAction(a);
        }
        addPageActions(&menu, view);
        menu.setObjectName(QStringLiteral("tableMenu"));
        menu.exec(view->viewport()->mapToGlobal(pos));
        view->setProperty(kContextRow, QVariant());
    });
    lay->addWidget(filter);
    lay->addWidget(view, 1);
    return pane;
}

} // namespace obsprop::ui
