// The selected head's attention on one prompt of a dataset (core: analyses::attention_report): the token ×
// token pattern with the hovered cell's query, key and value, and under it what each source token sends
// through the head to the chosen observable at the last token (attention × the head's OV feature · the
// token's normalised residual), as bars column for column and as a sortable table with the total. It follows
// the selected head and the prompt selected in the Prompts view; the observable, dataset and prompt are its
// own choices, the LayerNorm treatment the project's.
#pragma once

#include <QJsonObject>
#include <QWidget>
#include <optional>

#include "figures/attention_figure.h"
#include "results/results.h"

class QComboBox;
class QCustomPlot;
class QLabel;
class QMouseEvent;
class QSortFilterProxyModel;
class QStackedWidget;
class QTableView;

namespace obsprop::ui {

class Session;
class AttentionTableModel;

class AttentionView : public QWidget {
    Q_OBJECT
  public:
    explicit AttentionView(Session* session, QWidget* parent = nullptr);

    HeadRef selectedHead() const { return head_; }
    QString observable() const;
    QString dataset() const;
    int prompt() const; // index in the dataset, -1 when there is none
    const std::optional<AttentionResults>& results() const { return results_; }
    QComboBox* observableBox() const { return observable_; }
    QComboBox* datasetBox() const { return dataset_; }
    QComboBox* promptBox() const { return prompt_; }
    QCustomPlot* plot() const { return plot_; }
    const figures::AttentionFigure& figure() const { return figure_; }
    AttentionTableModel* model() const { return model_; }
    QSortFilterProxyModel* proxy() const { return proxy_; }
    QTableView* table() const { return table_; }
    QString placeholderText() const; // the hint shown instead of the figure (empty when it is shown)
    QString totalText() const;

    // The hover text at a pixel of the plot (a pattern cell or a contribution bar); empty elsewhere.
    QString toolTipAt(const QPoint& plotPixel) const;
    // "position,token,attention,contribution_<observable>" in the order shown: `obsprop attention --csv`'s
    // columns.
    QString tableCsv() const;
    // The `obsprop` command that prints what this view shows (Edit ▸ Copy as Command).
    QString command() const;
    bool exportFigure(const QString& file, int w, int h, double scale) const;

    // The choices, for the project's view state: {"observable", "dataset", "prompt"}.
    QJsonObject state() const;
    bool isTouched() const { return touched_; } // a choice made since opening (or restored)
    void restoreState(const QJsonObject& s);

  public Q_SLOTS:
    void setSelectedHead(obsprop::ui::HeadRef h);
    // A prompt chosen elsewhere (the Prompts view): shows it, switching the dataset when needed.
    void showPrompt(const QString& dataset, int prompt);

  private:
    void refreshChoices();
    void refillPrompts();
    void request();
    void display(const AttentionResults& r);
    void showPlaceholder(const QString& text);

    Session* session_;
    QComboBox* observable_ = nullptr;
    QComboBox* dataset_ = nullptr;
    QComboBox* prompt_ = nullptr;
    QLabel* status_ = nullptr;
    QStackedWidget* stack_ = nullptr;
    QLabel* placeholder_ = nullptr;
    QCustomPlot* plot_ = nullptr;
    figures::AttentionFigure figure_;
    QTableView* table_ = nullptr;
    AttentionTableModel* model_ = nullptr;
    QSortFilterProxyModel* proxy_ = nullptr;
    QLabel* total_ = nullptr;
    HeadRef head_;
    bool touched_ = false;
    std::optional<AttentionResults> results_;
};

} // namespace obsprop::ui
