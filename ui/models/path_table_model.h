// One row per path: rank, path, length, the ranking value (‖y‖ or the patching score), and for the beam
// search the spread over pairs and the feature norm. Qt::UserRole holds what the proxy sorts by.
#pragma once

#include <QAbstractTableModel>
#include <QStringList>
#include <cmath>

#include "results/results.h"

namespace obsprop::ui {

class PathTableModel : public QAbstractTableModel {
  public:
    using QAbstractTableModel::QAbstractTableModel;
    enum Column { Rank, Path, Length, Value, Sd, FeatureNorm, ColumnCount };

    void setResults(const PathResults& r) {
        beginResetModel();
        rows_ = r.rows;
        patching_ = r.patching;
        endResetModel();
        Q_EMIT headerDataChanged(Qt::Horizontal, 0, ColumnCount - 1);
    }
    void clear() { setResults({}); }
    bool patching() const { return patching_; }
    const PathRow& row(int r) const { return rows_[static_cast<std::size_t>(r)]; }
    int rowCount(const QModelIndex& parent = {}) const override {
        return parent.isValid() ? 0 : static_cast<int>(rows_.size());
    }
    int columnCount(const QModelIndex& parent = {}) const override {
        return parent.isValid() ? 0 : ColumnCount;
    }
    QVariant data(const QModelIndex& idx, int role) const override {
        if (!checkIndex(idx, CheckIndexOption::IndexIsValid)) return {};
        const PathRow& r = row(idx.row());
        QVariant v;
        switch (idx.column()) {
        case Rank:
            v = idx.row() + 1;
            break;
        case Path:
            v = r.path;
            break;
        case Length:
            v = static_cast<int>(r.nodes.size());
            break;
        case Value:
            v = r.value;
            break;
        case Sd:
            v = r.sd;
            break;
        default:
            v = r.featureNorm;
            break;
        }
        switch (role) {
        case Qt::DisplayRole:
            return v.typeId() == QMetaType::Double ? QVariant(QString::number(v.toDouble(), 'g', 6)) : v;
        case Qt::UserRole:
            return v;
        case Qt::TextAlignmentRole:
            return idx.column() == Path ? QVariant() : QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        case Qt::ToolTipRole:
            return tr("Double-click to add this path as a steering vector");
        default:
            return {};
        }
    }
    QVariant headerData(int section, Qt::Orientation o, int role) const override {
        if (o != Qt::Horizontal) return {};
        if (role == Qt::ToolTipRole && section == Value && patching_)
            return tr(
                "Mean drop of the observable when only this path carries the corrupted prompt's head output "
                "(path patching, attention frozen)");
        if (role != Qt::DisplayRole) return {};
        switch (section) {
        case Rank:
            return tr("rank");
        case Path:
            return tr("path (earliest → latest)");
        case Length:
            return tr("nodes");
        case Value:
            return patching_ ? tr("patching Δ") : tr("‖y‖");
        case Sd:
            return tr("± sd");
        case FeatureNorm:
            return tr("‖y‖ (data-free)");
        default:
            return {};
        }
    }

  private:
    std::vector<PathRow> rows_;
    bool patching_ = false;
};

} // namespace obsprop::ui
