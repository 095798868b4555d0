// The debiasing sweep (docs/debias.md): steering vectors that raise one observable while lowering another.
// The user picks the two observables, the feature that steers, how many candidate heads (most negative
// coupling C(raise→lower) first), the multipliers and the dataset, and runs it in the background (Cancel
// stops it). A table lists every (head, α) with the exact and predicted mean changes; a scatter plot shows
// Δlower against Δraise per row with the quadrant that separates them (Δraise > 0, Δlower < 0) shaded.
// "Use as Steering Vector" on a row adds that head's vector with its α to the Steering tab.
#pragma once

#include <QJsonObject>
#include <QWidget>
#include <optional>

#include "results/results.h"

class QCheckBox;
class QComboBox;
class QCPGraph;
class QCPItemRect;
class QCustomPlot;
class QLabel;
class QLineEdit;
class QPushButton;
class QSortFilterProxyModel;
class QSpinBox;
class QStackedWidget;
class QTableView;

namespace obsprop::ui {

class Session;
class DebiasTableModel;

class DebiasView : public QWidget {
    Q_OBJECT
  public:
    explicit DebiasView(Session* session, QWidget* parent = nullptr);

    // The controls (tests drive them).
    QComboBox* raiseBox() const { return raise_; }
    QComboBox* lowerBox() const { return lower_; }
    QComboBox* featureBox() const { return feature_; }
    QComboBox* datasetBox() const { return dataset_; }
    QSpinBox* candidatesBox() const { return candidates_; }
    QLineEdit* alphaEdit() const { return alphas_; }
    QCheckBox* normalizeBox() const { return normalize_; }
    QComboBox* positionBox() const { return position_; }
    QPushButton* runButton() const { return run_; }
    QPushButton* cancelButton() const { return cancel_; }
    QLabel* statusLabel() const { return status_; }

    const std::optional<DebiasResults>& results() const { return results_; }
    DebiasTableModel* model() const { return model_; }
    QSortFilterProxyModel* proxy() const { return proxy_; }
    QTableView* table() const { return table_; }
    QCustomPlot* plot() const { return plot_; }

    // The request the controls describe; an error message (a bad α list) in `error`.
    DebiasRequest request(QString* error = nullptr) const;
    // The multipliers of a text "a, b c" (commas or spaces); empty text: none (the defaults). Throws
    // std::invalid_argument naming a word that is not a finite number.
    static std::vector<double> parseAlphas(const QString& text);

    // The choices, for the project's view state: {"raise", "lower", "feature_of" (empty: the raised one),
    // "dataset", "candidates", "alphas" (the text as typed), "normalize", "position"}. restoreState sets
    // those the project still has; it does not run the sweep.
    QJsonObject state() const;
    void restoreState(const QJsonObject& s);
    // Whether the user changed a choice (or restoreState set them) since the project opened: the main
    // window then keeps them in the project's view state.
    bool isTouched() const { return touched_; }

    // The `obsprop debias` command that prints what this view shows (Edit ▸ Copy as Command).
    QString command() const;
    bool exportFigure(const QString& file, int w, int h, double scale) const;
    // The hover text at a pixel of the plot (a point: head, α, both changes); empty elsewhere.
    QString toolTipAt(const QPoint& plotPixel) const;

  public Q_SLOTS:
    void runSweep();
    // Adds the vector of the table's row `sourceRow` (of model()) to the Steering tab's vectors.
    void useAsSteeringVector(int sourceRow);

  Q_SIGNALS:
    void steeringVectorAdded();

  private:
    void refreshChoices();
    void display(const DebiasResults& r);
    void draw();
    int rowAt(const QPoint& plotPixel) const;

    Session* session_;
    QComboBox *raise_ = nullptr, *lower_ = nullptr, *feature_ = nullptr, *dataset_ = nullptr,
              *position_ = nullptr;
    QSpinBox* candidates_ = nullptr;
    QLineEdit* alphas_ = nullptr;
    QCheckBox* normalize_ = nullptr;
    QPushButton *run_ = nullptr, *cancel_ = nullptr;
    QLabel* status_ = nullptr;
    QStackedWidget* stack_ = nullptr;
    QLabel* placeholder_ = nullptr;
    QTableView* table_ = nullptr;
    DebiasTableModel* model_ = nullptr;
    QSortFilterProxyModel* proxy_ = nullptr;
    QCustomPlot* plot_ = nullptr;
    QCPGraph *separating_ = nullptr, *others_ = nullptr;
    QCPItemRect* quadrant_ = nullptr;
    std::optional<DebiasResults> results_;
    std::optional<DebiasRequest> asked_; // the request of the results shown (for Copy as Command)
    bool touched_ = false;
};

} // namespace obsprop::ui
