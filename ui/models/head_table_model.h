// Rows: heads of the model, then its MLPs ("mlp L") when either quantity covers them (total-effect
// attribution); columns: the head, then the two quantities the Heads view shows (its left and right
// heatmap). Qt::UserRole holds the sort key.
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
    int rowCount(const QModelIndex& p = {}) const override {
        return p.isValid() ? 0 : a_.layers * a_.heads + mlpRows();
    }
    int columnCount(const QModelIndex& p = {}) const override { return p.isValid() ? 0 : 3; }
    HeadRef headAt(int row) const {
        if (!a_.heads) return {};
        if (row >= a_.layers * a_.heads) return HeadRef::mlp(row - a_.layers * a_.heads);
        return HeadRef{row / a_.heads, row % a_.heads};
    }
    int rowOf(HeadRef h) const {
        return h.is_mlp() ? a_.layers * a_.heads + h.layer : h.layer * a_.heads + h.head;
    }
    QVariant data(const QModelIndex& i, int role) const override {
        if (!i.isValid()) return {};
        const HeadRef h = headAt(i.row());
        const HeadMatrix& m = i.column() == 1 ? a_ : b_;
        const bool has = i.column() == 0 || (!m.empty() && m.layers == a_.layers && m.heads == a_.heads &&
                                             (!h.is_mlp() || static_cast<int>(m.mlp.size()) == a_.layers));
        auto value = [&] {
            return h.is_mlp() ? m.mlp[static_cast<std::size_t>(h.layer)] : m.at(h.layer, h.head);
        };
        if (role == Qt::DisplayRole) {
            if (i.column() == 0)
                return h.is_mlp() ? QStringLiteral("mlp%1").arg(h.layer) : headName(h.layer, h.head);
            return has ? QVariant(QString::number(value(), 'g', 6)) : QVariant();
        }
        if (role == Qt::UserRole) { // sort key
            if (i.column() == 0) return h.layer * 10000 + (h.is_mlp() ? 9999 : h.head);
            return has ? QVariant(value()) : QVariant();
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
    // A row per layer's MLP when either quantity has the MLPs' values.
    int mlpRows() const {
        const auto fits = [&](const HeadMatrix& m) { return static_cast<int>(m.mlp.size()) == a_.layers; };
        return a_.heads && (fits(a_) || fits(b_)) ? a_.layers : 0;
    }
    HeadMatrix a_, b_;
};

} // namespace obsprop::ui
