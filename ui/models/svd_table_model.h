// One row per singular index of a head: i, σ_i, then |cos(y_obs, v_i)| per observable. Qt::UserRole holds
// the raw number (the proxy sorts by it); the display is rounded.
#pragma once

#include <QAbstractTableModel>
#include <QStringList>
#include <cmath>

#include "results/results.h"

namespace obsprop::ui {

class SvdTableModel : public QAbstractTableModel {
  public:
    using QAbstractTableModel::QAbstractTableModel;

    void setResults(const SvdResults& r) {
        beginResetModel();
        r_ = r;
        endResetModel();
    }
    void clear() {
        beginResetModel();
        r_ = SvdResults{};
        endResetModel();
    }
    int rowCount(const QModelIndex& parent = {}) const override {
        return parent.isValid() ? 0 : static_cast<int>(r_.sigma.size());
    }
    int columnCount(const QModelIndex& parent = {}) const override {
        return parent.isValid() ? 0 : 2 + static_cast<int>(r_.absCosine.size());
    }
    double value(int row, int col) const {
        const auto i = static_cast<std::size_t>(row);
        if (col == 0) return row;
        if (col == 1) return r_.sigma[i];
        const auto& c = r_.absCosine[static_cast<std::size_t>(col - 2)];
        return i < c.size() ? c[i] : qQNaN();
    }
    QVariant data(const QModelIndex& idx, int role) const override {
        if (!checkIndex(idx, CheckIndexOption::IndexIsValid)) return {};
        const double v = value(idx.row(), idx.column());
        if (role == Qt::UserRole) return v;
        if (role == Qt::TextAlignmentRole) return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        if (role == Qt::DisplayRole)
            return idx.column() == 0 ? QString::number(idx.row())
                                     : QString::number(v, idx.column() == 1 ? 'g' : 'f', 4);
        return {};
    }
    QVariant headerData(int section, Qt::Orientation o, int role) const override {
        if (o != Qt::Horizontal || role != Qt::DisplayRole || section < 0 || section >= columnCount())
            return {};
        if (section == 0) return QStringLiteral("i");
        if (section == 1) return QStringLiteral("σ");
        return QStringLiteral("|cos| %1").arg(r_.observables.value(section - 2));
    }
    QString csvHeader(int section) const {
        if (section == 0) return QStringLiteral("index");
        if (section == 1) return QStringLiteral("sigma");
        return QStringLiteral("abs_cos_%1").arg(r_.observables.value(section - 2));
    }

  private:
    SvdResults r_;
};

} // namespace obsprop::ui
