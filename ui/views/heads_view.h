// The Heads view: two layer×head heatmaps side by side, each showing a chosen quantity (feature norm per
// observable, attribution by patching or gradient, cosine or coupling of two observables), and a sortable
// ranked table of heads with both values. Clicking a cell or a row selects the head everywhere.
#pragma once

#include <QWidget>
#include <map>

#include "results/results.h"

class QComboBox;
class QTableView;
class QSortFilterProxyModel;
class QLabel;
class QStackedWidget;

namespace obsprop::ui {

class Session;
class HeatmapWidget;
class HeadTableModel;

class HeadsView : public QWidget {
    Q_OBJECT
  public:
    explicit HeadsView(Session* session, QWidget* parent = nullptr);

    // The quantities currently available, by display name (e.g. "norm: subj").
    QStringList quantities() const;
    void setQuantity(int side, const QString& name); // side 0 = left, 1 = right
    QString quantity(int side) const;
    HeatmapWidget* heatmap(int side) const { return maps_[side]; }
    // The hint shown in place of the heatmaps while there is nothing to draw (no model, no observable).
    QLabel* emptyHint() const { return hint_; }
    QTableView* table() const { return table_; }
    const HeadMatrix* matrix(const QString& name) const;
    // The `obsprop` command that prints what this view shows (Edit ▸ Copy as Command).
    QString command() const;
    bool exportFigure(int side, const QString& file, int w, int h, double scale) const;
    // The quantity the user (or the project's view state) chose for a side; empty while it is the default.
    QString pickedQuantity(int side) const;
    // The token whose prediction attribution explains: name, last or a token index.
    QComboBox* positionBox() const { return position_; }

  public Q_SLOTS:
    void setSelectedHead(obsprop::ui::HeadRef h);
    // Attributes the prediction at `position` (the Prompts view's "Attribute at This Token").
    void attributeAt(const QString& position);

  Q_SIGNALS:
    void headSelected(obsprop::ui::HeadRef h);
    // "Use as Steering Vector" on a row of the table.
    void steerRequested(obsprop::ui::HeadRef h);

  private:
    void onFeatures(const FeatureResults& r);
    void onAttribution(const AttributionResults& r);
    void refreshCombos();
    void requestAttribution();
    void redraw();
    void updateEmptyState();
    void fitTable();

    Session* session_;
    HeatmapWidget* maps_[2] = {nullptr, nullptr};
    QComboBox* pick_[2] = {nullptr, nullptr};
    QComboBox* dataset_ = nullptr;
    QComboBox* method_ = nullptr;
    QComboBox* position_ = nullptr;
    QTableView* table_ = nullptr;
    HeadTableModel* model_ = nullptr;
    QSortFilterProxyModel* proxy_ = nullptr;
    QLabel* note_ = nullptr;
    QStackedWidget* stack_ = nullptr;
    QLabel* hint_ = nullptr;
    std::map<QString, HeadMatrix> available_; // by display name
    HeadRef selected_;
    QStringList order_; // observables in the project's order, for defaults
    bool userPicked_[2] = {false, false};
    QString pairA_, pairB_; // the pair the cosine and coupling maps compare
};

} // namespace obsprop::ui
