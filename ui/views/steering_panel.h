// Live steering (DESIGN §3.9): a list of steering vectors (a head's or a path's feature for an
// observable), each with a multiplier slider and spin box kept in sync. Moving a slider draws the
// Session's instant linear prediction at once and asks for the exact forward pass through a short
// debounce (latest wins); exact bars turn grey while a newer request is on its way. Below, the change
// per prompt from the latest exact run.
#pragma once

#include <QWidget>
#include <optional>
#include <vector>

#include "figures/bar_figures.h"
#include "results/results.h"
#include "session/session.h"

class QAbstractItemModel;
class QCheckBox;
class QComboBox;
class QCPBars;
class QCustomPlot;
class QDoubleSpinBox;
class QGridLayout;
class QLabel;
class QPushButton;
class QScrollArea;
class QSlider;
class QStackedWidget;
class QTableView;
class QTimer;

namespace obsprop::ui {

class SteeringTableModel;

class SteeringPanel : public QWidget {
    Q_OBJECT
  public:
    explicit SteeringPanel(Session* session, QWidget* parent = nullptr);

    static constexpr int kSliderSteps = 1000; // slider positions per side (±range)
    static constexpr double kMaxRange = 100000;

    const std::vector<SteeringVectorSpec>& vectors() const; // the session's
    QString dataset() const;
    // The multiplier widgets of vector i (for tests and keyboard focus).
    QSlider* slider(int i) const { return rowAt(i) ? rowAt(i)->slider : nullptr; }
    QDoubleSpinBox* alphaBox(int i) const { return rowAt(i) ? rowAt(i)->alpha : nullptr; }
    QDoubleSpinBox* rangeBox(int i) const { return rowAt(i) ? rowAt(i)->range : nullptr; }
    QPushButton* removeButton(int i) const { return rowAt(i) ? rowAt(i)->remove : nullptr; }
    QPushButton* addButton() const { return add_; }
    QComboBox* observableBox() const { return observable_; }
    QComboBox* datasetBox() const { return dataset_; }
    QComboBox* positionBox() const { return position_; } // name, last or a token index, for new vectors
    QCustomPlot* plot() const { return plot_; }
    QCPBars* predictedBars() const { return predictedBars_; }
    QCPBars* exactBars() const { return exactBars_; }
    QLabel* errorLabel() const { return error_; }
    QAbstractItemModel* model() const;
    const SteeringResults& prediction() const { return prediction_; }
    const std::optional<SteeringResults>& exact() const { return exact_; }
    // The exact bars describe older multipliers or vectors than the prediction (drawn grey).
    bool exactIsStale() const;
    // The `obsprop` command that prints what this view shows (Edit ▸ Copy as Command).
    QString command() const;
    bool exportFigure(const QString& file, int w, int h, double scale) const;
    // "prompt,<obs> before,<obs> after,<obs> change,...": the per-prompt table of the latest exact run.
    QString tableCsv() const;
    // "observable,predicted,exact_mean_change": the bars.
    QString barsCsv() const;
    // The hover text at a pixel of the plot (a bar: observable, predicted or exact value); empty elsewhere.
    QString toolTipAt(const QPoint& plotPixel) const;

  public Q_SLOTS:
    void setSelectedHead(obsprop::ui::HeadRef h);
    void addSelectedHead();
    void addPath(std::vector<obsprop::ui::HeadRef> path, QString observable);
    void removeVector(int index);

  private:
    struct Row {
        QLabel* name;
        QSlider* slider;
        QDoubleSpinBox* alpha;
        QDoubleSpinBox* range;
        QPushButton* remove;
    };
    const Row* rowAt(int i) const;
    void refreshChoices();
    void rebuildRows();
    void awaitPreparation(); // the session prepares its vectors again: old results go
    void clearResults();
    void setAlpha(int index, double alpha);
    void setRange(int index, double range);
    void onSteering(const SteeringResults& r);
    void drawBars();
    // The bar under a pixel: its observable, and whether it is the exact one; empty off the bars.
    std::optional<std::pair<QString, bool>> barAt(const QPoint& plotPixel) const;
    std::optional<double> barValue(const QString& observable, bool exact) const;

    Session* session_;
    QComboBox* observable_ = nullptr;
    QCheckBox* normalize_ = nullptr;
    QComboBox* position_ = nullptr; // the token new vectors are added at
    QPushButton* add_ = nullptr;
    QComboBox* dataset_ = nullptr;
    QGridLayout* rowsLayout_ = nullptr;
    QWidget* rowsBox_ = nullptr;
    QScrollArea* scroll_ = nullptr;
    QLabel* empty_ = nullptr;
    QLabel* status_ = nullptr;
    QLabel* error_ = nullptr;
    QCustomPlot* plot_ = nullptr;
    QCPBars* predictedBars_ = nullptr;
    QCPBars* exactBars_ = nullptr;
    figures::SteeringFigure figure_;
    QStackedWidget* stack_ = nullptr; // placeholder or plot + table
    QLabel* placeholder_ = nullptr;
    QTableView* table_ = nullptr;
    SteeringTableModel* model_ = nullptr;
    QTimer* debounce_ = nullptr;
    std::vector<Row> rows_;
    HeadRef head_;
    SteeringResults prediction_;
    std::optional<SteeringResults> exact_;
    bool pending_ = false;   // an exact run was asked for and has not come back
    bool preparing_ = false; // the vector list changed; results of the old list are ignored
};

} // namespace obsprop::ui
