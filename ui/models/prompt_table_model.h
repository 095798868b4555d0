// One row per prompt of a dataset; the observables' values follow the fixed columns. Qt::UserRole = sort key.
#pragma once

#include <QAbstractTableModel>
#include <QStringList>
#include <cmath>

#include "results/results.h"

namespace obsprop::ui {

class PromptTableModel : public QAbstractTableModel {
  public:
    using QAbstractTableModel::QAbstractTableModel;
    enum Column { Text, Name, Gender, NamePosition, Tokens, FixedColumns };

    void setResults(const PromptResults& r) {
        beginResetModel();
        r_ = r;
        endResetModel();
    }
    const PromptResults& results() const { return r_; }
    int rowCount(const QModelIndex& p = {}) const override {
        return p.isValid() ? 0 : static_cast<int>(r_.rows.size());
    }
    int columnCount(const QModelIndex& p = {}) const override {
        return p.isValid() ? 0 : FixedColumns + static_cast<int>(r_.observables.size());
    }
    QString text(int row, int col) const {
        const PromptRow& p = r_.rows[static_cast<std::size_t>(row)];
        switch (col) {
        case Text:
            return p.text;
        case Name:
            return p.name;
        case Gender:
            return p.gender;
        case NamePosition:
            return QString::number(p.namePosition);
        case Tokens:
            return p.tokens.join(QLatin1Char('|'));
        default:
            return QString::number(value(row, col), 'g', 17);
        }
    }
    double value(int row, int col) const {
        const auto& v = r_.rows[static_cast<std::size_t>(row)].values;
        const auto k = static_cast<std::size_t>(col - FixedColumns);
        return k < v.size() ? v[k] : qQNaN();
    }
    QVariant data(const QModelIndex& idx, int role) const override {
        if (!checkIndex(idx, CheckIndexOption::IndexIsValid)) return {};
        const int c = idx.column();
        if (role == Qt::DisplayRole)
            return c >= FixedColumns ? QString::number(value(idx.row(), c), 'f', 4) : text(idx.row(), c);
        if (role == Qt::UserRole) {
            if (c >= FixedColumns) return value(idx.row(), c);
            return c == NamePosition ? QVariant(r_.rows[static_cast<std::size_t>(idx.row())].namePosition)
                                     : QVariant(text(idx.row(), c));
        }
        if (role == Qt::ToolTipRole && (c == Text || c == Tokens)) return text(idx.row(), c);
        if (role == Qt::TextAlignmentRole && (c == NamePosition || c >= FixedColumns))
            return QVariant::fromValue(Qt::Alignment(Qt::AlignRight | Qt::AlignVCenter));
        return {};
    }
    QString columnName(int c) const {
        static const char* names[] = {"text", "name", "gender", "name position", "tokens"};
        return c < FixedColumns ? QLatin1String(names[c]) : r_.observables.value(c - FixedColumns);
    }
    QVariant headerData(int s, Qt::Orientation o, int role) const override {
        return o == Qt::Horizontal && role == Qt::DisplayRole && s >= 0 && s < columnCount() ? columnName(s)
                                                                                             : QVariant();
    }

  private:
    PromptResults r_;
};

} // namespace obsprop::ui
