#include "paths_view.h"

#include <QAbstractTableModel>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>

#include "session.h"

namespace obsprop::ui {

// Rank (1 = largest norm), path and ‖y‖ per virtual head. Qt::UserRole holds what the proxy sorts by.
class PathTableModel : public QAbstractTableModel {
  public:
    using QAbstractTableModel::QAbstractTableModel;
    enum Column { Rank, Path, Norm, ColumnCount };

    void setRows(std::vector<PathRow> rows) {
        beginResetModel();
        rows_ = std::move(rows);
        endResetModel();
    }
    const PathRow& row(int r) const { return rows_[static_cast<std::size_t>(r)]; }
    int rowCount(const QModelIndex& parent = {}) const override {
        return parent.isValid() ? 0 : static_cast<int>(rows_.size());
    }
    int columnCount(const QModelIndex& parent = {}) const override { return parent.isValid() ? 0 : ColumnCount; }
    QVariant data(const QModelIndex& idx, int role) const override {
        if (!checkIndex(idx, CheckIndexOption::IndexIsValid)) return {};
        const PathRow& r = row(idx.row());
        switch (role) {
            case Qt::DisplayRole:
                if (idx.column() == Rank) return idx.row() + 1;
                if (idx.column() == Path) return r.path;
                return QString::number(r.norm, 'g', 6);
            case Qt::UserRole:
                if (idx.column() == Rank) return idx.row() + 1;
                if (idx.column() == Path) return r.path;
                return r.norm;
            case Qt::TextAlignmentRole:
                return idx.column() == Path ? QVariant() : QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
            case Qt::ToolTipRole:
                return tr("Double-click to add this path as a steering vector");
            default:
                return {};
        }
    }
    QVariant headerData(int section, Qt::Orientation o, int role) const override {
        if (o != Qt::Horizontal || role != Qt::DisplayRole) return {};
        switch (section) {
            case Rank: return tr("rank");
            case Path: return tr("path (earliest → latest)");
            case Norm: return tr("‖y‖");
            default: return {};
        }
    }

  private:
    std::vector<PathRow> rows_;
};

PathsView::PathsView(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* lay = new QVBoxLayout(this);
    auto* bar = new QHBoxLayout;
    observable_ = new QComboBox(this);
    observable_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    keep_ = new QSpinBox(this);
    keep_->setRange(1, 5000);
    keep_->setValue(50);
    keep_->setToolTip(tr("How many of the highest-norm paths to keep"));
    rank_ = new QPushButton(tr("Rank"), this);
    bar->addWidget(new QLabel(tr("Observable:"), this));
    bar->addWidget(observable_);
    bar->addWidget(new QLabel(tr("Keep:"), this));
    bar->addWidget(keep_);
    bar->addWidget(rank_);
    bar->addStretch(1);
    lay->addLayout(bar);
    status_ = new QLabel(this);
    status_->setWordWrap(true);
    lay->addWidget(status_);

    stack_ = new QStackedWidget(this);
    placeholder_ = new QLabel(tr("Choose an observable and press Rank to list its strongest two-head paths."), this);
    placeholder_->setAlignment(Qt::AlignCenter);
    placeholder_->setWordWrap(true);
    model_ = new PathTableModel(this);
    proxy_ = new QSortFilterProxyModel(this);
    proxy_->setSourceModel(model_);
    proxy_->setSortRole(Qt::UserRole);
    table_ = new QTableView(this);
    table_->setModel(proxy_);
    table_->setSortingEnabled(true);
    table_->sortByColumn(PathTableModel::Rank, Qt::AscendingOrder);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setSectionResizeMode(PathTableModel::Path, QHeaderView::Stretch);
    table_->setAlternatingRowColors(true);
    stack_->addWidget(placeholder_);
    stack_->addWidget(table_);
    lay->addWidget(stack_, 1);

    connect(rank_, &QPushButton::clicked, this, &PathsView::rank);
    connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, &PathsView::onCurrentRowChanged);
    connect(table_, &QTableView::doubleClicked, this, &PathsView::onActivated);
    connect(session_, &Session::recipeChanged, this, &PathsView::refreshChoices);
    connect(session_, &Session::workspaceOpened, this, [this] {
        results_.reset();
        model_->setRows({});
        status_->clear();
        stack_->setCurrentWidget(placeholder_);
    });
    connect(session_, &Session::pathsReady, this, [this](const PathResults& r) {
        results_ = r;
        model_->setRows(r.rows);
        status_->setText(tr("%1: top %2 of %3 paths scored (data-free, norm-comparison rule).")
                             .arg(r.observable)
                             .arg(r.rows.size())
                             .arg(r.pairsScored));
        rank_->setEnabled(true);
        stack_->setCurrentWidget(r.rows.empty() ? static_cast<QWidget*>(placeholder_) : table_);
        if (r.rows.empty()) placeholder_->setText(tr("No path scored: the model needs at least two layers."));
    });
    connect(session_, &Session::jobFailed, this, [this](const QString& channel, const QString& msg) {
        if (channel != QLatin1String("paths")) return;
        status_->setText(tr("Ranking failed: %1").arg(msg));
    });
    // Re-enable Rank however the job ends (finished, failed, superseded or cancelled).
    connect(&session_->jobs(), &JobTracker::finished, this, [this](const QString& channel, bool) {
        if (channel == QLatin1String("paths")) rank_->setEnabled(observable_->count() > 0);
    });
    refreshChoices();
}

QAbstractItemModel* PathsView::model() const { return model_; }
QString PathsView::observable() const { return observable_->currentText(); }
int PathsView::keep() const { return keep_->value(); }

void PathsView::refreshChoices() {
    const QString keep = observable_->currentText();
    QStringList names;
    for (const auto& o : session_->observables()) names << o.first;
    QSignalBlocker block(observable_);
    observable_->clear();
    observable_->addItems(names);
    observable_->setCurrentIndex(std::max(0, observable_->findText(keep)));
    rank_->setEnabled(!names.isEmpty());
}

void PathsView::rank() {
    if (observable().isEmpty()) return;
    status_->setText(tr("Ranking the paths of %1…").arg(observable()));
    rank_->setEnabled(false);
    session_->computePaths(observable(), keep());
}

void PathsView::onCurrentRowChanged(const QModelIndex& current) {
    if (!current.isValid()) return;
    Q_EMIT headSelected(model_->row(proxy_->mapToSource(current).row()).first);
}

void PathsView::onActivated(const QModelIndex& index) {
    if (!index.isValid() || !results_) return;
    const PathRow& r = model_->row(proxy_->mapToSource(index).row());
    Q_EMIT pathActivated({r.first, r.second}, results_->observable);
}

QString PathsView::tableCsv() const {
    QString out = QStringLiteral("rank,path,norm\n");
    for (int row = 0; row < proxy_->rowCount(); ++row) {
        const int src = proxy_->mapToSource(proxy_->index(row, 0)).row();
        out += QStringLiteral("%1,%2,%3\n").arg(QString::number(src + 1), model_->row(src).path,
                                                 QString::number(model_->row(src).norm, 'g', 17));
    }
    return out;
}

}  // namespace obsprop::ui
