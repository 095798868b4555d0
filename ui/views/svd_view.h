// SVD alignment of the selected head (DESIGN §3.8): a table of its OV circuit's singular values with
// |cos| between each right singular vector and every observable's feature, a grouped bar chart of those
// cosines over the top singular vectors, and the LayerNorm check beside the theorem's expected cosine.
#pragma once

#include <QWidget>
#include <optional>

#include "figures/bar_figures.h"
#include "results/results.h"

class QAbstractItemModel;
class QComboBox;
class QCustomPlot;
class QCPBarsGroup;
class QLabel;
class QSortFilterProxyModel;
class QStackedWidget;
class QTableView;

namespace obsprop::ui {

class Session;
class SvdTableModel;

class SvdView : public QWidget {
    Q_OBJECT
  public:
    explicit SvdView(Session* session, QWidget* parent = nullptr);

    static constexpr int kBarVectors = 16; // singular vectors in the bar chart

    HeadRef selectedHead() const { return head_; }
    const std::optional<SvdResults>& results() const { return results_; }
    QAbstractItemModel* model() const; // the table's source model
    QSortFilterProxyModel* proxy() const { return proxy_; }
    QTableView* table() const { return table_; }
    QCustomPlot* plot() const { return plot_; }
    QString layerNormText() const;

    QString tableCsv() const; // index, sigma, abs_cos_<obs>: the table as sorted
    // The `obsprop` command that prints what this view shows (Edit ▸ Copy as Command).
    QString command() const;
    bool exportFigure(const QString& file, int w, int h, double scale) const;
    // "index,sigma,abs_cos_<observable>...": the table's rows in the order shown.

  public Q_SLOTS:
    void setSelectedHead(obsprop::ui::HeadRef h);

    // The hover text at a pixel of the plot (a bar: observable, singular vector, |cos|); empty elsewhere.
    QString toolTipAt(const QPoint& plotPixel) const;

  private:
    void refreshChoices();
    void request();
    void display(const SvdResults& r);

    Session* session_;
    QLabel* title_ = nullptr;
    QLabel* lnCheck_ = nullptr;
    QStackedWidget* stack_ = nullptr;
    QLabel* placeholder_ = nullptr;
    QTableView* table_ = nullptr;
    SvdTableModel* model_ = nullptr;
    QSortFilterProxyModel* proxy_ = nullptr;
    QCustomPlot* plot_ = nullptr;
    figures::SvdFigure figure_;
    HeadRef head_;
    std::optional<SvdResults> results_;
};

} // namespace obsprop::ui
