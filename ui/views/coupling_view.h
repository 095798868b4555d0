// Coupling between two observables (DESIGN §3.6). Left: every head as a point, x = its coupling
// coefficient C(a→b) (data-free) and y = attribution_b / attribution_a (measured), with the line y = x;
// clicking a point selects the head. Heads with |attribution_a| below a share of the largest (spin box in
// percent, default figures::kDefaultMinAttributionShare, 0 shows all) are left out, since their ratio is
// dominated by the near-zero denominator; a label says how many. The ratio axis can be symmetric-logarithmic.
// Right: for the selected head, the token scores s₁ = y_a·x against s₂ = y_b·x over a dataset, the
// least-squares line, the predicted line s₂ = C·s₁ and the Theorem-2 band. Everything drawn comes from the
// Session's results; this widget only lays it out.
#pragma once

#include <QWidget>
#include <optional>
#include <vector>

#include "figures/coupling_figure.h"
#include "results/results.h"
#include "views/plot_interaction.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QCustomPlot;
class QCPAxisRect;
class QCPGraph;
class QCPItemText;
class QLabel;
class QMouseEvent;
class QPushButton;
class QStackedWidget;

namespace obsprop::ui {

class Session;

class CouplingView : public QWidget {
    Q_OBJECT
  public:
    explicit CouplingView(Session* session, QWidget* parent = nullptr);

    QString observableA() const;
    QString observableB() const;
    QString dataset() const;
    QComboBox* observableBoxA() const { return a_; }
    QComboBox* observableBoxB() const { return b_; }
    QComboBox* datasetBox() const { return dataset_; }
    QPushButton* computeButton() const { return compute_; }
    QString infoText() const; // the line above the plot: slope, R², C of the selected head
    // One head of the left plot: what is drawn at (coupling, ratio), as the core computed it.
    using HeadPoint = CouplingHeadPoint;
    const std::vector<HeadPoint>& headPoints() const { return points_; } // every head, drawn or not
    // The heads drawn: |attribution a| ≥ the threshold.
    const std::vector<HeadPoint>& shownPoints() const { return figure_.shown; }
    QDoubleSpinBox* thresholdBox() const { return threshold_; }
    QCheckBox* symlogBox() const { return symlog_; }
    QString hiddenText() const; // "3 of 24 heads hidden …"
    const std::optional<CouplingScatter>& scatter() const { return scatter_; }
    HeadRef selectedHead() const { return selected_; }
    // Widget position of a head's point in the left plot (for tests), or (-1, -1).
    QPoint headPosition(HeadRef h) const;
    QCustomPlot* plot() const { return plot_; }

    // The `obsprop` command that prints what this view shows (Edit ▸ Copy as Command).
    QString command() const;
    bool exportFigure(const QString& file, int w, int h, double scale) const;
    // "layer,head,coupling,attribution_a,attribution_b,ratio": the left plot's points.
    QString tableCsv() const;
    // "token,s1,s2": the right plot's points for the selected head.
    QString scatterCsv() const;

  public Q_SLOTS:
    void setSelectedHead(obsprop::ui::HeadRef h);

  Q_SIGNALS:
    void headSelected(obsprop::ui::HeadRef h);

  private:
    void refreshChoices();
    void onPairChanged();
    void requestHeads();
    void onHeads(const CouplingHeads& r);
    void onCoupling(const CouplingScatter& r);
    void onMousePress(QMouseEvent* e);
    const HeadPoint* headNear(const QPoint& plotPixel) const;
    std::optional<PlotValue> valueAt(const QPoint& plotPixel) const;
    void requestScatter();
    void rebuildHeads();
    void drawScatter();

    Session* session_;
    QComboBox* a_ = nullptr;
    QComboBox* b_ = nullptr;
    QComboBox* dataset_ = nullptr;
    QPushButton* compute_ = nullptr;
    QDoubleSpinBox* threshold_ = nullptr;
    QLabel* hidden_ = nullptr;
    QCheckBox* symlog_ = nullptr;
    QLabel* info_ = nullptr;
    QStackedWidget* stack_ = nullptr;
    QLabel* placeholder_ = nullptr;
    QCustomPlot* plot_ = nullptr;
    QCPAxisRect* headsRect_ = nullptr;
    QCPAxisRect* tokensRect_ = nullptr;
    figures::CouplingFigure figure_;
    QCPGraph* selectedMarker_ = nullptr; // a black ring …
    QCPGraph* selectedInner_ = nullptr;  // … with a white one on it
    QCPItemText* tokensHint_ = nullptr;

    std::optional<CouplingHeads> headsResult_;
    std::optional<CouplingScatter> scatter_;
    std::vector<HeadPoint> points_;
    HeadRef selected_;
};

} // namespace obsprop::ui
