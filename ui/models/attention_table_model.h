// One row per source token of an attention result: its position, its text, the attention the last token pays
// it and what it sends through the head to the observable there. Qt::UserRole = sort key.
#pragma once

#include <QAbstractTableModel>

#include "results/results.h"
#include "results/token_text.h"

namespace obsprop::ui {

class AttentionTableModel : public QAbstractTableModel {
  public:
    using QAbstractTableModel::QAbstractTableModel;
    enum Column { Position, Token, Attention, Contribution, Columns };

    void setResults(const AttentionResults& r) {
        beginResetModel();
        r_ = r;
        endResetModel();
    }
    void clear() { setResults({}); }
    const AttentionResults& results() const { return r_; }

    int rowCount(const QModelIndex& p = {}) const override {
        return p.isValid() ? 0 : static_cast<int>(r_.contribution.size());
    }
    int columnCount(const QModelIndex& p = {}) const override { return p.isValid() ? 0 : Columns; }

    // The number in a cell (position, attention from the last token, contribution); NaN for the token.
    double value(int row, int col) const {
        const auto k = static_cast<std::size_t>(row);
        switch (col) {
        case Position:
            return row;
        case Attention:
            return r_.pattern[static_cast<std::size_t>(r_.query)][k];
        case Contribution:
            return r_.contribution[k];
        default:
            return qQNaN();
        }
    }
    QVariant data(const QModelIndex& idx, int role) const override {
        if (!checkIndex(idx, CheckIndexOption::IndexIsValid)) return {};
        const int row = idx.row(), c = idx.column();
        const QString token = r_.tokens.value(row);
        if (role == Qt::DisplayRole) {
            if (c == Token) return visibleToken(token);
            if (c == Position) return row;
            return QString::number(value(row, c), 'f', 4);
        }
        if (role == Qt::UserRole) return c == Token ? QVariant(token) : QVariant(value(row, c));
        if (role == Qt::ToolTipRole)
            return QStringLiteral("token %1 \"%2\": attention %3 from the last token, contribution %4 to %5")
                .arg(row)
                .arg(token)
                .arg(value(row, Attention), 0, 'g', 6)
                .arg(value(row, Contribution), 0, 'g', 6)
                .arg(r_.observable);
        if (role == Qt::TextAlignmentRole && c != Token)
            return QVariant::fromValue(Qt::Alignment(Qt::AlignRight | Qt::AlignVCenter));
        return {};
    }
    QVariant headerData(int s, Qt::Orientation o, int role) const override {
        if (o != Qt::Horizontal || s < 0 || s >= Columns) return {};
        if (role == Qt::ToolTipRole && s >= Attention)
            return s == Attention ? QStringLiteral("The last token's attention to this token")
                                  : QStringLiteral("What this token sends through the head to %1 at the last "
                                                   "token")
                                        .arg(r_.observable);
        if (role != Qt::DisplayRole) return {};
        static const char* names[] = {"pos", "token", "attention", "contribution"};
        return QString::fromLatin1(names[s]);
    }

  private:
    AttentionResults r_;
};

} // namespace obsprop::ui
