// Per prompt of the latest exact steering run: before, after and change of every observable.
#pragma once

#include <QAbstractTableModel>
#include <QStringList>
#include <cmath>

#include "results/results.h"

namespace obsprop::ui {

class SteeringTableModel : public QAbstractTableModel {
  public:
    using QAbstractTableModel::QAbstractTableModel;
    void setResults(const SteeringResults& r) { beginResetModel(), r_ = r, endResetModel(); }
    int rowCount(const QModelIndex& p = {}) const override {
        return p.isValid() ? 0 : static_cast<int>(std::min<std::size_t>(r_.after.size(), r_.before.size()));
    }
    int columnCount(const QModelIndex& p = {}) const override {
        return p.isValid() ? 0 : 1 + 3 * static_cast<int>(r_.observables.size());
    }
    double value(int row, int col) const {
        const auto i = static_cast<std::size_t>(row), k = static_cast<std::size_t>((col - 1) / 3);
        const double b = r_.before[i][k], a = r_.after[i][k];
        return (col - 1) % 3 == 0 ? b : (col - 1) % 3 == 1 ? a : a - b;
    }
    QString prompt(int row) const { return r_.prompts.value(row); }
    QString columnName(int col) const {
        if (col == 0) return QStringLiteral("prompt");
        static const char* what[] = {"before", "after", "change"};
        return QStringLiteral("%1 %2").arg(r_.observables.value((col - 1) / 3),
                                           QLatin1String(what[(col - 1) % 3]));
    }
    QVariant data(const QModelIndex& idx, int role) const override {
        if (!checkIndex(idx, CheckIndexOption::IndexIsValid)) return {};
        if (idx.column() == 0)
            return role == Qt::DisplayRole || role == Qt::ToolTipRole ? prompt(idx.row()) : QVariant();
        if (role == Qt::DisplayRole) {
            const QString t = QString::number(value(idx.row(), idx.column()), 'f', 4);
            return t == QLatin1String("-0.0000") ? t.mid(1) : t;
        }
        if (role == Qt::UserRole) return value(idx.row(), idx.column());
        if (role == Qt::TextAlignmentRole) return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    }
    QVariant headerData(int s, Qt::Orientation o, int role) const override {
        return o == Qt::Horizontal && role == Qt::DisplayRole && s >= 0 && s < columnCount() ? columnName(s)
                                                                                             : QVariant();
    }

  private:
    SteeringResults r_;
};

} // namespace obsprop::ui
