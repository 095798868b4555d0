#include "views/paths_view.h"

#include "models/path_table_model.h"

#include <QAbstractTableModel>
#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>

#include "results/csv.h"
#include "session/session.h"
#include "views/empty_state.h"
#include "views/result_table.h"

namespace obsprop::ui {

PathsView::PathsView(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* lay = new QVBoxLayout(this);
    auto* bar = new QHBoxLayout;
    observable_ = new QComboBox(this);
    observable_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    method_ = new QComboBox(this);
    method_->addItem(tr("Feature norm (data-free, two heads)"));
    method_->addItem(tr("Path patching (beam search)"));
    method_->setToolTip(
        tr("Rank every two-head virtual head by its feature norm, or search paths of any length by "
           "patching them over a dataset's prompt pairs"));
    dataset_ = new QComboBox(this);
    dataset_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    keep_ = new QSpinBox(this);
    keep_->setRange(1, 5000);
    keep_->setValue(50);
    keep_->setToolTip(tr("How many of the highest-norm paths to keep"));
    width_ = new QSpinBox(this);
    width_->setRange(1, 1000);
    width_->setValue(8);
    width_->setToolTip(tr("Paths kept at each length"));
    length_ = new QSpinBox(this);
    length_->setRange(1, 1000);
    length_->setValue(3);
    length_->setToolTip(tr("Most nodes in a path"));
    mlp_ = new QCheckBox(tr("MLPs"), this);
    mlp_->setObjectName(QStringLiteral("mlpNodes"));
    mlp_->setToolTip(tr("Search paths through MLPs too: every layer's MLP is a node beside its heads"));
    embed_ = new QCheckBox(tr("Embeddings"), this);
    embed_->setObjectName(QStringLiteral("embedNodes"));
    embed_->setToolTip(tr("Let paths start at the embeddings (the tokens and positions that differ between "
                          "the two prompts of a pair)"));
    tokens_ = new QCheckBox(tr("Source tokens"), this);
    tokens_->setObjectName(QStringLiteral("tokenNodes"));
    tokens_->setToolTip(tr("Heads are nodes at one source token too (1.4@name, 0.3@last, 0.2@5): the head "
                           "is patched through what it reads from that token alone"));
    rank_ = new QPushButton(tr("Rank"), this);
    keepLabel_ = new QLabel(tr("Keep:"), this);
    datasetLabel_ = new QLabel(tr("Pairs:"), this);
    widthLabel_ = new QLabel(tr("Beam:"), this);
    lengthLabel_ = new QLabel(tr("Max nodes:"), this);
    bar->addWidget(new QLabel(tr("Observable:"), this));
    bar->addWidget(observable_);
    bar->addWidget(method_);
    for (QWidget* w :
         std::initializer_list<QWidget*>{keepLabel_, keep_, datasetLabel_, dataset_, widthLabel_, width_,
                                         lengthLabel_, length_, mlp_, embed_, tokens_, rank_})
        bar->addWidget(w);
    bar->addStretch(1);
    lay->addLayout(bar);
    status_ = new QLabel(this);
    status_->setWordWrap(true);
    lay->addWidget(status_);

    stack_ = new QStackedWidget(this);
    placeholder_ = makeEmptyHint(this);
    model_ = new PathTableModel(this);
    table_ = new QTableView(this);
    proxy_ = showSorted(table_, model_, PathTableModel::Rank, Qt::AscendingOrder);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setSectionResizeMode(PathTableModel::Path, QHeaderView::Stretch);
    auto* steer = new QAction(tr("Use as &Steering Vector"), this);
    steer->setStatusTip(tr("Add this path's feature as a steering vector"));
    connect(steer, &QAction::triggered, this, [this] {
        if (const int row = contextRow(table_); row >= 0) onActivated(proxy_->index(row, 0));
    });
    auto* score = new QAction(tr("Score on &Corpus"), this);
    score->setStatusTip(tr("Score this path's feature on every token of a corpus (the Corpus tab)"));
    connect(score, &QAction::triggered, this, [this] {
        const int row = contextRow(table_);
        if (row < 0 || !results_) return;
        const std::vector<HeadRef> nodes = featurePath(proxy_->index(row, 0), tr("have a feature to score"));
        if (!nodes.empty()) Q_EMIT corpusRequested(nodes, results_->observable);
    });
    stack_->addWidget(placeholder_);
    stack_->addWidget(withResultTools(table_, proxy_, {steer, score}));
    lay->addWidget(stack_, 1);
    // Any path, typed: heads and MLP nodes.
    auto* compareBar = new QHBoxLayout;
    pathEdit_ = new QLineEdit(this);
    pathEdit_->setObjectName(QStringLiteral("comparePath"));
    pathEdit_->setPlaceholderText(tr("e.g. 0.3 -> mlp0 -> 1.4"));
    pathEdit_->setToolTip(
        tr("A path of heads (L.H) and MLPs (mlpL), earliest first. An MLP is linearised between two prompts "
           "of the observable's LayerNorm dataset, at the last token or, when a head follows it, at the name "
           "slot."));
    auto* compare = new QPushButton(tr("Compare"), this);
    auto* steerTyped = new QPushButton(tr("Steer with It"), this);
    steerTyped->setToolTip(tr("Add the typed path's feature as a steering vector"));
    auto* scoreTyped = new QPushButton(tr("Score on Corpus"), this);
    scoreTyped->setToolTip(tr("Score the typed path's feature on every token of a corpus (the Corpus tab)"));
    compareBar->addWidget(new QLabel(tr("Path:"), this));
    compareBar->addWidget(pathEdit_, 1);
    compareBar->addWidget(compare);
    compareBar->addWidget(steerTyped);
    compareBar->addWidget(scoreTyped);
    lay->addLayout(compareBar);
    detail_ = new QLabel(this);
    detail_->setWordWrap(true);
    detail_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    lay->addWidget(detail_);
    connect(pathEdit_, &QLineEdit::returnPressed, this, &PathsView::compareTypedPath);
    connect(compare, &QPushButton::clicked, this, &PathsView::compareTypedPath);
    connect(steerTyped, &QPushButton::clicked, this, [this] {
        std::vector<HeadRef> nodes;
        if (typedPathParsed(nodes)) Q_EMIT pathActivated(nodes, observable());
    });
    connect(scoreTyped, &QPushButton::clicked, this, [this] {
        std::vector<HeadRef> nodes;
        if (typedPathParsed(nodes)) Q_EMIT corpusRequested(nodes, observable());
    });

    connect(rank_, &QPushButton::clicked, this, [this] {
        searched_ = true; // a choice of the user's: saved with the project's view state
        rank();
    });
    connect(method_, &QComboBox::currentIndexChanged, this, &PathsView::updateControls);
    // Any choice made here is view state worth saving with the project.
    auto touched = [this] { searched_ = true; };
    connect(method_, &QComboBox::currentIndexChanged, this, touched);
    connect(dataset_, &QComboBox::currentIndexChanged, this, touched);
    connect(observable_, &QComboBox::currentIndexChanged, this, touched);
    for (QSpinBox* box : {keep_, width_, length_})
        connect(box, &QSpinBox::valueChanged, this, touched);
    connect(mlp_, &QCheckBox::toggled, this, touched);
    connect(mlp_, &QCheckBox::toggled, this, &PathsView::updateLengthLimit);
    connect(embed_, &QCheckBox::toggled, this, touched);
    connect(embed_, &QCheckBox::toggled, this, &PathsView::updateLengthLimit);
    connect(tokens_, &QCheckBox::toggled, this, touched);
    connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &PathsView::onCurrentRowChanged);
    connect(table_, &QTableView::doubleClicked, this, &PathsView::onActivated);
    connect(session_, &Session::recipeChanged, this, [this] {
        refreshChoices();
        if (!results_) return;
        // Computed for the old recipe: dropped at once, and the same search run again.
        results_.reset();
        model_->clear();
        detail_->clear();
        stack_->setCurrentWidget(placeholder_);
        placeholder_->setText(tr("Recipe changed: recomputing…"));
        rank();
    });
    connect(session_, &Session::workspaceOpened, this, [this] {
        searched_ = false;
        results_.reset();
        model_->clear();
        status_->clear();
        detail_->clear();
        stack_->setCurrentWidget(placeholder_);
        refreshChoices();
    });
    connect(session_, &Session::pathsReady, this, [this](const PathResults& r) {
        results_ = r;
        model_->setResults(r);
        table_->setColumnHidden(PathTableModel::Sd, !r.patching);
        table_->setColumnHidden(PathTableModel::FeatureNorm, !r.patching);
        table_->setColumnHidden(PathTableModel::Length, !r.patching);
        if (r.patching)
            status_->setText(
                tr("%1 on %2: %3 paths scored by path patching over %4 pairs; the best %5 of each length, by "
                   "|Δ|.%6")
                    .arg(r.observable, r.dataset)
                    .arg(r.scored)
                    .arg(r.pairs == r.pairsGiven ? QString::number(r.pairs)
                                                 : tr("%1 of %2").arg(r.pairs).arg(r.pairsGiven))
                    .arg(r.beamWidth)
                    .arg(QString(r.mlpNodes ? tr(" MLPs are nodes too.") : QString()) +
                         (r.embedNodes ? tr(" Paths may start at the embeddings.") : QString()) +
                         (r.tokenNodes ? tr(" Heads may read one source token.") : QString())) +
                (r.pairs < r.pairsGiven ? tr(" Pairs whose two prompts differ in length are left out.")
                                        : QString()));
        else
            status_->setText(tr("%1: top %2 of %3 paths scored (data-free, norm-comparison rule).")
                                 .arg(r.observable)
                                 .arg(r.rows.size())
                                 .arg(r.scored));
        rank_->setEnabled(true);
        stack_->setCurrentIndex(r.rows.empty() ? 0 : 1); // the hint, or the table with its filter
        if (r.rows.empty()) placeholder_->setText(tr("No path scored: the model needs at least two layers."));
    });
    connect(session_, &Session::pathDetailReady, this, [this](const PathDetail& d) {
        QStringList parts;
        for (int k = 0; k < d.observables.size(); ++k) {
            const auto i = static_cast<std::size_t>(k);
            parts << (d.observables[k] == d.observable
                          ? tr("%1 ‖y‖ %2").arg(d.observables[k], QString::number(d.norms[i], 'g', 4))
                          : tr("%1 ‖y‖ %2, cos %3")
                                .arg(d.observables[k], QString::number(d.norms[i], 'g', 4),
                                     QString::number(d.cosines[i], 'f', 3)));
        }
        detail_->setText(tr("Path %1, feature vector per observable (cosines with %2's): %3")
                             .arg(d.path, d.observable, parts.join(QStringLiteral("; "))) +
                         (d.mlpPoints.isEmpty() ? QString() : tr(". MLPs linearised: %1").arg(d.mlpPoints)));
    });
    connect(session_, &Session::jobFailed, this, [this](const QString& channel, const QString& msg) {
        if (channel == QLatin1String("path comparison/paths")) detail_->setText(msg);
        if (!channel.startsWith(QLatin1String("path ")) || !channel.endsWith(QLatin1String("/paths")) ||
            channel.startsWith(QLatin1String("path comparison")))
            return;
        status_->setText(msg);
    });
    // Re-enable Rank however the job ends (finished, failed, superseded or cancelled).
    connect(&session_->jobs(), &JobTracker::finished, this, [this](const QString& channel, bool) {
        if (channel.endsWith(QLatin1String("/paths"))) updateControls();
    });
    refreshChoices();
}

PathsView::Method PathsView::method() const {
    return method_->currentIndex() == 1 ? Method::PathPatching : Method::FeatureNorm;
}

void PathsView::setMethod(Method m) {
    method_->setCurrentIndex(m == Method::PathPatching ? 1 : 0);
}

void PathsView::updateControls() {
    const bool patching = method() == Method::PathPatching;
    for (QWidget* w : std::initializer_list<QWidget*>{keepLabel_, keep_})
        w->setVisible(!patching);
    for (QWidget* w : std::initializer_list<QWidget*>{datasetLabel_, dataset_, widthLabel_, width_,
                                                      lengthLabel_, length_, mlp_, embed_, tokens_})
        w->setVisible(patching);
    rank_->setText(patching ? tr("Search") : tr("Rank"));
    rank_->setEnabled(observable_->count() > 0 && (!patching || dataset_->count() > 0));
    const QString missing = missingInput(*session_, 1, tr("the paths of heads that carry it"));
    if (!results_ && !missing.isEmpty())
        placeholder_->setText(missing);
    else if (!results_)
        placeholder_->setText(
            patching ? tr("Choose an observable and a dataset of prompt pairs and press Search to find "
                          "the paths that carry the most of the observable, by path patching.")
                     : tr("Choose an observable and press Rank to list its strongest two-head paths."));
}

QAbstractItemModel* PathsView::model() const {
    return model_;
}
QString PathsView::observable() const {
    return observable_->currentText();
}
int PathsView::keep() const {
    return keep_->value();
}

void PathsView::refreshChoices() {
    const QString keep = observable_->currentText();
    QStringList names;
    for (const auto& o : session_->observables())
        names << o.first;
    QSignalBlocker block(observable_);
    observable_->clear();
    observable_->addItems(names);
    observable_->setCurrentIndex(std::max(0, observable_->findText(keep)));
    const QString keepDataset = dataset_->currentText();
    QSignalBlocker blockDatasets(dataset_);
    dataset_->clear();
    dataset_->addItems(session_->datasetNames());
    dataset_->setCurrentIndex(std::max(0, dataset_->findText(keepDataset)));
    updateLengthLimit();
    updateControls();
}

// A path has at most one head per layer, as many MLPs when they are nodes, and the embeddings first.
void PathsView::updateLengthLimit() {
    if (!session_->isOpen()) return;
    QSignalBlocker blockLength(length_);
    length_->setMaximum(std::max(1, session_->modelInfo().layers * (mlp_->isChecked() ? 2 : 1) +
                                        (embed_->isChecked() ? 1 : 0)));
}

void PathsView::rank() {
    if (observable().isEmpty()) return;
    rank_->setEnabled(false);
    if (method() == Method::PathPatching) {
        if (dataset_->currentText().isEmpty()) return updateControls();
        status_->setText(tr("Searching the paths of %1 on %2…").arg(observable(), dataset_->currentText()));
        session_->computePathSearch(QStringLiteral("paths"), observable(), dataset_->currentText(),
                                    width_->value(), length_->value(), nodeKinds());
        return;
    }
    status_->setText(tr("Ranking the paths of %1…").arg(observable()));
    session_->computePaths(QStringLiteral("paths"), observable(), keep());
}

bool PathsView::typedPathParsed(std::vector<HeadRef>& out) {
    try {
        out = analyses::parse_path_label(pathEdit_->text().trimmed().toStdString());
        return true;
    } catch (const std::exception& e) {
        detail_->setText(tr("Path '%1': %2").arg(pathEdit_->text(), QString::fromUtf8(e.what())));
        return false;
    }
}

void PathsView::compareTypedPath() {
    std::vector<HeadRef> nodes;
    if (observable().isEmpty() || !typedPathParsed(nodes)) return;
    typedPath_ = nodes;
    detail_->setText(tr("Comparing %1…").arg(QString::fromStdString(analyses::path_label(nodes))));
    session_->computePathDetail(QStringLiteral("paths"), nodes, observable());
}

void PathsView::onCurrentRowChanged(const QModelIndex& current) {
    if (!current.isValid() || !results_) return;
    typedPath_.clear();
    const PathRow& r = model_->row(proxy_->mapToSource(current).row());
    const std::vector<HeadRef> nodes = afterEmbeddings(r.nodes);
    if (nodes.empty()) {
        detail_->setText(
            tr("The embeddings' direct path to the logits: it has no feature vector to compare "
               "(its feature norm is that of the observable's covector on the final residual)."));
        return;
    }
    Q_EMIT headSelected(nodes.front());
    session_->computePathDetail(QStringLiteral("paths"), nodes, results_->observable);
}

std::vector<HeadRef> PathsView::afterEmbeddings(const std::vector<HeadRef>& nodes) {
    // A head at one source token has its own feature vector at every token.
    const std::vector<HeadRef> whole = analyses::whole_path(nodes);
    if (whole.empty() || !whole.front().is_embed()) return whole;
    return {whole.begin() + 1, whole.end()};
}

std::vector<HeadRef> PathsView::featurePath(const QModelIndex& index, const QString& what) {
    if (!index.isValid() || !results_) return {};
    const PathRow& r = model_->row(proxy_->mapToSource(index).row());
    if (!r.nodes.empty() && r.nodes.front().is_embed()) {
        detail_->setText(
            tr("%1 starts at the embeddings: only paths of heads and MLPs %2.").arg(r.path, what));
        return {};
    }
    return analyses::whole_path(r.nodes);
}

void PathsView::onActivated(const QModelIndex& index) {
    const std::vector<HeadRef> nodes = featurePath(index, tr("can steer"));
    if (!nodes.empty()) Q_EMIT pathActivated(nodes, results_->observable);
}

QJsonObject PathsView::state() const {
    QJsonObject s{{QStringLiteral("method"),
                   method() == Method::PathPatching ? QStringLiteral("patching") : QStringLiteral("norm")},
                  {QStringLiteral("observable"), observable()},
                  {QStringLiteral("dataset"), dataset_->currentText()},
                  {QStringLiteral("keep"), keep_->value()},
                  {QStringLiteral("beam_width"), width_->value()},
                  {QStringLiteral("max_length"), length_->value()},
                  {QStringLiteral("mlp_nodes"), mlp_->isChecked()}};
    if (embed_->isChecked()) s[QStringLiteral("embed_nodes")] = true; // written only when set
    if (tokens_->isChecked()) s[QStringLiteral("token_nodes")] = true;
    return s;
}

void PathsView::restoreState(const QJsonObject& s) {
    setMethod(s[QStringLiteral("method")].toString() == QLatin1String("patching") ? Method::PathPatching
                                                                                  : Method::FeatureNorm);
    if (const int i = observable_->findText(s[QStringLiteral("observable")].toString()); i >= 0)
        observable_->setCurrentIndex(i);
    if (const int i = dataset_->findText(s[QStringLiteral("dataset")].toString()); i >= 0)
        dataset_->setCurrentIndex(i);
    keep_->setValue(s[QStringLiteral("keep")].toInt(keep_->value()));
    width_->setValue(s[QStringLiteral("beam_width")].toInt(width_->value()));
    mlp_->setChecked(s[QStringLiteral("mlp_nodes")].toBool(false)); // first: they set the length's limit
    embed_->setChecked(s[QStringLiteral("embed_nodes")].toBool(false));
    tokens_->setChecked(s[QStringLiteral("token_nodes")].toBool(false));
    length_->setValue(s[QStringLiteral("max_length")].toInt(length_->value()));
    searched_ = true;
    rank();
}

QString PathsView::tableCsv() const {
    const bool patching = model_->patching();
    QString out = patching ? QStringLiteral("rank,path,length,score,sd,feature_norm\n")
                           : QStringLiteral("rank,path,norm\n");
    auto num = [](double v) { return QString::number(v, 'g', 17); };
    for (int row = 0; row < proxy_->rowCount(); ++row) {
        const int src = proxy_->mapToSource(proxy_->index(row, 0)).row();
        const PathRow& r = model_->row(src);
        if (patching)
            out += QStringLiteral("%1,%2,%3,%4,%5,%6\n")
                       .arg(QString::number(src + 1), r.path, QString::number(r.nodes.size()), num(r.value),
                            num(r.sd), num(r.featureNorm));
        else
            out += QStringLiteral("%1,%2,%3\n").arg(QString::number(src + 1), r.path, num(r.value));
    }
    return out;
}

QString PathsView::command() const {
    if (!typedPath_.empty()) return session_->pathDetailCommand(typedPath_, observable());
    const QModelIndex current = table_->currentIndex();
    if (results_ && current.isValid()) { // the selected path compared across observables
        const auto nodes = afterEmbeddings(model_->row(proxy_->mapToSource(current).row()).nodes);
        if (!nodes.empty()) return session_->pathDetailCommand(nodes, results_->observable);
    }
    return session_->pathsCommand(observable(), method() == Method::PathPatching, dataset_->currentText(),
                                  width_->value(), length_->value(), keep(), nodeKinds());
}

PathNodeKinds PathsView::nodeKinds() const {
    return {mlp_->isChecked(), embed_->isChecked(), tokens_->isChecked()};
}

} // namespace obsprop::ui
