// The debiasing sweep's rows (core: analyses::DebiasReport), one per (candidate head, α): rank, head,
// coupling, layer, α, the exact and predicted mean changes of both observables, whether it separates them
// and the score Δraise − Δlower. Qt::UserRole holds the raw number (the proxy sorts by it).
#pragma once

#include <QAbstractTableModel>
#include <QStringList>
#include <cmath>

#include "results/results.h"

namespace obsprop::ui {

class DebiasTableModel : public QAbstractTableModel {
  public:
    enum Column {
        Rank,
        Head,
        Coupling,
        Layer,
        Alpha,
        ChangeRaise,
        ChangeLower,
        PredictedRaise,
        PredictedLower,
        Separates,
        Score,
        ColumnCount
    };
    using QAbstractTableModel::QAbstractTableModel;

    void setResults(const DebiasResults& r) { beginResetModel(), r_ = r, endResetModel(); }
    void clear() { beginResetModel(), r_ = DebiasResults{}, endResetModel(); }
    const analyses::DebiasReport& report() const { return r_.report; }
    const analyses::DebiasReport::Row& row(int i) const {
        return r_.report.rows[static_cast<std::size_t>(i)];
    }

    int rowCount(const QModelIndex& p = {}) const override {
        return p.isValid() ? 0 : static_cast<int>(r_.report.rows.size());
    }
    int columnCount(const QModelIndex& p = {}) const override { return p.isValid() ? 0 : ColumnCount; }
    // The number a cell holds (the head: layer + head / 1000).
    double value(int i, int col) const {
        const auto& x = row(i);
        switch (col) {
        case Rank:
            return x.rank;
        case Head:
            return x.head.layer + x.head.head / 1000.0;
        case Coupling:
            return x.coupling;
        case Layer:
            return x.layer;
        case Alpha:
            return x.alpha;
        case ChangeRaise:
            return x.change_raise;
        case ChangeLower:
            return x.change_lower;
        case PredictedRaise:
            return x.predicted_raise;
        case PredictedLower:
            return x.predicted_lower;
        case Separates:
            return x.separates ? 1 : 0;
        case Score:
            return x.score;
        default:
            return qQNaN();
        }
    }
    QVariant data(const QModelIndex& idx, int role) const override {
        if (!checkIndex(idx, CheckIndexOption::IndexIsValid)) return {};
        const int c = idx.column();
        const double v = value(idx.row(), c);
        if (role == Qt::UserRole) { // integers copy as displayed; numbers at full precision
            if (c == Head) return row(idx.row()).head.layer * 1000 + row(idx.row()).head.head;
            if (c == Rank || c == Layer || c == Separates) return static_cast<int>(v);
            return v;
        }
        if (role == Qt::TextAlignmentRole)
            return QVariant::fromValue((c == Head || c == Separates ? Qt::AlignLeft : Qt::AlignRight) |
                                       Qt::AlignVCenter);
        if (role != Qt::DisplayRole) return {};
        const auto& x = row(idx.row());
        switch (c) {
        case Rank:
        case Layer:
            return QString::number(static_cast<int>(v));
        case Head:
            return QString::fromStdString(x.head.label());
        case Alpha:
            return QString::number(v, 'g', 6);
        case Separates:
            return x.separates ? QStringLiteral("yes") : QStringLiteral("no");
        default: {
            const QString t = QString::number(v, 'f', 4);
            return t == QLatin1String("-0.0000") ? t.mid(1) : t;
        }
        }
    }
    QVariant headerData(int s, Qt::Orientation o, int role) const override {
        if (o != Qt::Horizontal || role != Qt::DisplayRole || s < 0 || s >= ColumnCount) return {};
        const QString up = QString::fromStdString(r_.report.raise),
                      down = QString::fromStdString(r_.report.lower);
        switch (s) {
        case Rank:
            return QStringLiteral("rank");
        case Head:
            return QStringLiteral("head");
        case Coupling:
            return QStringLiteral("C(%1→%2)").arg(up, down);
        case Layer:
            return QStringLiteral("layer");
        case Alpha:
            return QStringLiteral("α");
        case ChangeRaise:
            return QStringLiteral("Δ %1").arg(up);
        case ChangeLower:
            return QStringLiteral("Δ %1").arg(down);
        case PredictedRaise:
            return QStringLiteral("predicted Δ %1").arg(up);
        case PredictedLower:
            return QStringLiteral("predicted Δ %1").arg(down);
        case Separates:
            return QStringLiteral("separates");
        case Score:
            return QStringLiteral("score");
        default:
            return {};
        }
    }

  private:
    DebiasResults r_;
};

} // namespace obsprop::ui
