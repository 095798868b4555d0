// Paths of heads (DESIGN §3.3): either every two-head virtual head of an observable ranked by feature norm
// (data-free), or a beam search by path patching over a dataset's prompt pairs (with each path's feature
// norm beside its patching score). Selecting a row selects its first (earliest) head; double-clicking offers
// the path as a steering vector.
#pragma once

#include <QJsonObject>
#include <QWidget>
#include <optional>
#include <vector>

#include "results/results.h"

class QAbstractItemModel;
class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QModelIndex;
class QPushButton;
class QSortFilterProxyModel;
class QSpinBox;
class QStackedWidget;
class QTableView;

namespace obsprop::ui {

class Session;
class PathTableModel;

class PathsView : public QWidget {
    Q_OBJECT
  public:
    explicit PathsView(Session* session, QWidget* parent = nullptr);

    enum class Method { FeatureNorm, PathPatching };
    QString observable() const;
    int keep() const;
    Method method() const;
    void setMethod(Method m);
    const std::optional<PathResults>& results() const { return results_; }
    QAbstractItemModel* model() const; // the table's source model
    QSortFilterProxyModel* proxy() const { return proxy_; }
    QTableView* table() const { return table_; }
    QLabel* detailLabel() const { return detail_; } // the selected path compared across observables
    QComboBox* observableBox() const { return observable_; }
    QSpinBox* keepBox() const { return keep_; }
    QComboBox* methodBox() const { return method_; }
    QComboBox* datasetBox() const { return dataset_; }
    QSpinBox* beamWidthBox() const { return width_; }
    QSpinBox* maxLengthBox() const { return length_; }
    QCheckBox* mlpBox() const { return mlp_; }      // beam search: MLPs are nodes too
    QCheckBox* embedBox() const { return embed_; }  // beam search: paths may start at the embeddings
    QCheckBox* tokenBox() const { return tokens_; } // beam search: heads at one source token are nodes too
    QPushButton* rankButton() const { return rank_; }
    QLineEdit* pathEdit() const { return pathEdit_; } // a path typed to compare, e.g. "0.3 -> mlp0 -> 1.4"

    // The choices, for the project's view state: {"method": "norm"|"patching", "observable", "dataset",
    // "keep", "beam_width", "max_length", "mlp_nodes", "embed_nodes", "token_nodes" (the last three only when
    // set)}. restoreState sets them and runs the ranking or search. The `obsprop` command that prints what
    // this view shows (Edit ▸ Copy as Command).
    QString command() const;
    QString tableCsv() const; // the table as sorted
    QJsonObject state() const;
    bool hasSearched() const { return searched_; } // ranked or searched since opening (or restored)
    void restoreState(const QJsonObject& s);

    // In the order shown: "rank,path,norm" (norm ranking) or "rank,path,length,score,sd,feature_norm" (beam
    // search).

  public Q_SLOTS:
    void rank();
    // Compares the path typed in pathEdit() across observables (any heads and MLPs, "0.3 -> mlp0 -> 1.4");
    // a malformed path is reported in detailLabel().
    void compareTypedPath();

  Q_SIGNALS:
    void headSelected(obsprop::ui::HeadRef h);
    void pathActivated(std::vector<obsprop::ui::HeadRef> path, QString observable);
    // Score on Corpus (a row's context menu, or the typed path's button): the Corpus tab takes the path.
    void corpusRequested(std::vector<obsprop::ui::HeadRef> path, QString observable);

  private:
    bool searched_ = false;
    void refreshChoices();
    void updateControls();
    void updateLengthLimit();
    void onCurrentRowChanged(const QModelIndex& current);
    void onActivated(const QModelIndex& index);
    // A row's nodes when it has a feature vector; else empty, the detail line saying the row cannot `what`.
    std::vector<HeadRef> featurePath(const QModelIndex& index, const QString& what);

    Session* session_;
    QComboBox* observable_ = nullptr;
    QComboBox* method_ = nullptr;
    QComboBox* dataset_ = nullptr;
    QLabel* keepLabel_ = nullptr;
    QLabel* datasetLabel_ = nullptr;
    QLabel* widthLabel_ = nullptr;
    QLabel* lengthLabel_ = nullptr;
    QSpinBox* keep_ = nullptr;
    QSpinBox* width_ = nullptr;
    QSpinBox* length_ = nullptr;
    QCheckBox* mlp_ = nullptr;
    QCheckBox* embed_ = nullptr;
    QCheckBox* tokens_ = nullptr;
    QPushButton* rank_ = nullptr;
    QLineEdit* pathEdit_ = nullptr;
    std::vector<HeadRef> typedPath_; // the typed path last compared (empty: a table row was)
    bool typedPathParsed(std::vector<HeadRef>& out);
    // The nodes whose feature a path row compares: after a leading embedding node (a path that starts at the
    // embeddings has the rest's feature), each head without its source token.
    static std::vector<HeadRef> afterEmbeddings(const std::vector<HeadRef>& nodes);
    PathNodeKinds nodeKinds() const; // the beam search's node boxes
    QLabel* status_ = nullptr;
    QLabel* detail_ = nullptr;
    QStackedWidget* stack_ = nullptr;
    QLabel* placeholder_ = nullptr;
    QTableView* table_ = nullptr;
    PathTableModel* model_ = nullptr;
    QSortFilterProxyModel* proxy_ = nullptr;
    std::optional<PathResults> results_;
};

} // namespace obsprop::ui
