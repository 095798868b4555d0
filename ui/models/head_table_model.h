// Rows: heads of the model; columns: the head, then the two quantities the Heads view shows (its
// left and right heatmap). Qt::UserRole holds the sort key.
#pragma once

#include <QAbstractTableModel>
#include <QStringList>
#include <cmath>

#include "results/results.h"

namespace obsprop::ui {

class HeadTableModel : public QAbstractTableModel {
  public:
    using QAbstractTableModel::QAbstractTableModel;
    void set(const HeadMatrix* a, const HeadMatrix* b) {
        beginResetModel();
        a_ = a ? *a : HeadMatrix{};
        b_ = b ? *b : HeadMatrix{};
        endResetModel();
    }
    int rowCount(const QModelIndex& p = {}) const override { return p.isValid() ? 0 : a_.layers * a_.heads; }
    int columnCount(const QModelIndex& p = {}) const override { return p.isValid() ? 0 : 3; }
    HeadRef headAt(int row) const { return a_.heads ? HeadRef{row / a_.heads, row % a_.heads} : HeadRef{}; }
    int rowOf(HeadRef h) const { return h.layer * a_.heads + h.head; }
    QVariant data(const QModelIndex& i, int role) const override {
        if (!i.isValid()) return {};
        const HeadRef h = headAt(i.row());
        const HeadMatrix& m = i.column() == 1 ? a_ : b_;
        const bool has = i.column() == 0 || (!m.empty() && m.layers == a_.layers && m.heads == a_.heads);
        if (role == Qt::DisplayRole) {
            if (i.column() == 0) return headName(h.layer, h.head);
            return has ? QVariant(QString::number(m.at(h.layer, h.head), 'g', 6)) : QVariant();
        }
        if (role == Qt::UserRole) { // sort key
            if (i.column() == 0) return h.layer * 10000 + h.head;
            return has ? QVariant(m.at(h.layer, h.head)) : QVariant();
        }
        if (role == Qt::TextAlignmentRole && i.column() > 0) return int(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    }
    QVariant headerData(int s, Qt::Orientation o, int role) const override {
        if (o != Qt::Horizontal || (role != Qt::DisplayRole && role != Qt::ToolTipRole)) return {};
        if (s == 0) return tr("head");
        const QString& title = s == 1 ? a_.title : b_.title;
        // On several lines ("Attribution", "(patching)", "subj") the columns are as narrow as their numbers.
        return role == Qt::DisplayRole ? QString(title)
                                             .replace(QStringLiteral(" — "), QStringLiteral("\n"))
                                             .replace(QStringLiteral(" ("), QStringLiteral("\n("))
                                       : title;
    }

  private:
    HeadMatrix a_, b_;
};

} // namespace obsprop::ui
