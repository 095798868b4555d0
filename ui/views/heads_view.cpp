#include "views/heads_view.h"

#include "models/head_table_model.h"

#include <QAbstractTableModel>
#include <QAction>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>

#include "session/session.h"
#include "views/empty_state.h"
#include "views/heatmap_widget.h"
#include "views/result_table.h"

namespace obsprop::ui {

HeadsView::HeadsView(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* root = new QVBoxLayout(this);
    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Attribution on"), this));
    dataset_ = new QComboBox(this);
    bar->addWidget(dataset_);
    method_ = new QComboBox(this);
    method_->addItem(tr("patching (exact)"), QStringLiteral("patching"));
    method_->addItem(tr("gradient (approximation)"), QStringLiteral("gradient"));
    method_->addItem(tr("total effect (heads and MLPs)"), QStringLiteral("total"));
    method_->setToolTip(tr("patching: a head's output swapped in the final residual only (direct path); "
                           "gradient: its linear approximation; total effect: the clean prompt run again "
                           "with the head's (or MLP's) output from the corrupted prompt at every position, "
                           "everything after it recomputed"));
    bar->addWidget(method_);
    bar->addWidget(new QLabel(tr("at token:"), this));
    position_ = new QComboBox(this);
    position_->setObjectName(QStringLiteral("attributionPosition"));
    position_->setEditable(true);
    position_->addItems({QStringLiteral("last"), QStringLiteral("name")});
    position_->setToolTip(tr("The token whose next-token prediction is attributed: last, name (the prompt's "
                             "slot), or a token index (0 first, -1 last); each prompt is read there. Pick a "
                             "token in the Prompts view with Attribute at This Token."));
    bar->addWidget(position_);
    auto* run = new QPushButton(tr("Compute attribution"), this);
    bar->addWidget(run);
    bar->addStretch(1);
    note_ = new QLabel(this);
    bar->addWidget(note_);
    root->addLayout(bar);

    auto* split = new QSplitter(Qt::Horizontal, this);
    for (int s = 0; s < 2; ++s) {
        auto* box = new QWidget(split);
        auto* v = new QVBoxLayout(box);
        v->setContentsMargins(0, 0, 0, 0);
        pick_[s] = new QComboBox(box);
        pick_[s]->setObjectName(QStringLiteral("quantity%1").arg(s));
        maps_[s] = new HeatmapWidget(box);
        v->addWidget(pick_[s]);
        v->addWidget(maps_[s], 1);
        connect(pick_[s], &QComboBox::currentTextChanged, this, [this] { redraw(); });
        connect(pick_[s], &QComboBox::activated, this, [this, s] { userPicked_[s] = true; });
        connect(maps_[s], &HeatmapWidget::headClicked, this, [this](int l, int h) {
            setSelectedHead({l, h});
            Q_EMIT headSelected({l, h});
        });
    }
    model_ = new HeadTableModel(this);
    table_ = new QTableView(split);
    proxy_ = showSorted(table_, model_, 1, Qt::DescendingOrder);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->setWordWrap(false);
    connect(table_, &QTableView::clicked, this, [this](const QModelIndex& i) {
        const HeadRef h = model_->headAt(proxy_->mapToSource(i).row());
        if (!h.valid()) return; // an MLP row: the other views select heads
        setSelectedHead(h);
        Q_EMIT headSelected(h);
    });
    auto* steer = new QAction(tr("Use as &Steering Vector"), this);
    steer->setStatusTip(tr("Add this head's feature as a steering vector"));
    connect(steer, &QAction::triggered, this, [this] {
        const int row = contextRow(table_);
        if (row < 0) return;
        const HeadRef h = model_->headAt(proxy_->mapToSource(proxy_->index(row, 0)).row());
        if (h.valid()) Q_EMIT steerRequested(h); // an MLP row has no head feature to steer with
    });
    split->addWidget(withResultTools(table_, proxy_, {steer}));
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 3);
    split->setStretchFactor(2, 2);
    // Until there is something to draw, a hint in place of the heatmaps and the table.
    stack_ = new QStackedWidget(this);
    hint_ = makeEmptyHint(stack_);
    stack_->addWidget(hint_);
    stack_->addWidget(split);
    root->addWidget(stack_, 1);

    connect(run, &QPushButton::clicked, this, &HeadsView::requestAttribution);
    connect(position_->lineEdit(), &QLineEdit::returnPressed, this, &HeadsView::requestAttribution);
    connect(session_, &Session::featuresReady, this, &HeadsView::onFeatures);
    connect(session_, &Session::attributionReady, this, &HeadsView::onAttribution);
    connect(session_, &Session::jobFailed, this, [this](const QString& channel, const QString& e) {
        if (channel == QLatin1String("features/heads") && available_.empty()) hint_->setText(e);
        if (channel == QLatin1String("attribution/heads")) note_->setText(e); // e.g. a token no prompt has
    });
    connect(session_, &Session::workspaceOpened, this, [this] {
        QSignalBlocker b(method_);
        method_->setCurrentIndex(std::max(0, method_->findData(session_->defaultAttribution())));
        QSignalBlocker bp(position_);
        position_->setEditText(session_->defaultAttributionPosition());
    });
    // Results follow the recipe: what was computed for the old one is dropped at once (never shown under a
    // name whose definition changed) and what was on screen is computed again.
    connect(session_, &Session::recipeChanged, this, [this] {
        const QString keep = dataset_->currentText();
        dataset_->clear();
        dataset_->addItems(session_->datasetNames());
        if (!keep.isEmpty()) dataset_->setCurrentText(keep);
        available_.clear();
        refreshCombos();
        note_->setText(session_->observables().isEmpty() ? QString() // the empty state says what to do
                                                         : tr("Recipe changed: recomputing…"));
        session_->computeFeatures(QStringLiteral("heads"));
        requestAttribution();
    });
    updateEmptyState();
}

void HeadsView::updateEmptyState() {
    QString hint = missingInput(*session_, 1, tr("every head's feature norm"));
    if (hint.isEmpty() && available_.empty()) hint = tr("Computing the feature norms…");
    hint_->setText(hint);
    stack_->setCurrentIndex(hint.isEmpty() ? 1 : 0);
}

void HeadsView::requestAttribution() {
    if (!dataset_->currentText().isEmpty())
        session_->computeAttribution(QStringLiteral("heads"), dataset_->currentText(),
                                     method_->currentData().toString(), position_->currentText().trimmed());
}

void HeadsView::attributeAt(const QString& position) {
    position_->setEditText(position);
    requestAttribution();
}

void HeadsView::onFeatures(const FeatureResults& r) {
    for (auto it = available_.begin(); it != available_.end();)
        it = it->first.startsWith(QStringLiteral("norm")) || it->first.startsWith(QStringLiteral("cos")) ||
                     it->first.startsWith(QStringLiteral("coupling"))
                 ? available_.erase(it)
                 : std::next(it);
    order_ = r.observables;
    for (int k = 0; k < r.observables.size(); ++k)
        available_[QStringLiteral("norm: %1").arg(r.observables[k])] = r.norms[k];
    if (!r.cosine.empty()) {
        available_[QStringLiteral("cosine: %1, %2").arg(r.pairA, r.pairB)] = r.cosine;
        available_[QStringLiteral("coupling: %1 → %2").arg(r.pairA, r.pairB)] = r.couplingAB;
        available_[QStringLiteral("coupling: %1 → %2").arg(r.pairB, r.pairA)] = r.couplingBA;
    }
    pairA_ = r.pairA, pairB_ = r.pairB;
    note_->setText(r.pairA.isEmpty() ? tr("LayerNorm: %1").arg(r.lnMode)
                                     : tr("LayerNorm: %1 · cos(W_Uᵀn_%2, W_Uᵀn_%3) = %4")
                                           .arg(r.lnMode, r.pairA, r.pairB)
                                           .arg(r.unembedCosine, 0, 'f', 4));
    refreshCombos();
}

void HeadsView::onAttribution(const AttributionResults& r) {
    for (auto it = available_.begin(); it != available_.end();) // one attribution (dataset, method) at a time
        it = it->first.startsWith(QStringLiteral("attribution")) ? available_.erase(it) : std::next(it);
    for (int k = 0; k < r.observables.size(); ++k)
        available_[QStringLiteral("attribution (%1): %2").arg(r.method, r.observables[k])] = r.maps[k];
    const QString at =
        r.position == QLatin1String("last") ? QString() : tr(", prediction at token %1").arg(r.position);
    note_->setText(r.method == QLatin1String("total")
                       ? tr("total effect over %1 aligned pairs of '%2'%3 (MLPs in the table)")
                             .arg(r.pairs)
                             .arg(r.dataset, at)
                       : tr("attribution over %1 pairs of '%2'%3").arg(r.pairs).arg(r.dataset, at));
    refreshCombos();
}

void HeadsView::refreshCombos() {
    const QStringList names = quantities();
    for (int s = 0; s < 2; ++s) {
        const QString keep = pick_[s]->currentText();
        QSignalBlocker b(pick_[s]);
        pick_[s]->clear();
        pick_[s]->addItems(names);
        int idx = userPicked_[s] ? names.indexOf(keep) : -1;
        if (idx < 0) {
            // Until the user chooses: the first observable's norm on the left, its attribution on the right
            // (or the second observable's norm while no attribution has arrived).
            const QString first = order_.value(0), second = order_.value(1, first);
            const QStringList wanted = s == 0
                                           ? QStringList{QStringLiteral("norm: ") + first}
                                           : QStringList{QStringLiteral("attribution (patching): ") + first,
                                                         QStringLiteral("attribution (gradient): ") + first,
                                                         QStringLiteral("attribution (total): ") + first,
                                                         QStringLiteral("norm: ") + second};
            for (const QString& w : wanted)
                if (idx < 0) idx = names.indexOf(w);
            if (idx < 0) idx = names.indexOf(keep);
            if (idx < 0) idx = std::min<int>(s, static_cast<int>(names.size()) - 1);
        }
        pick_[s]->setCurrentIndex(idx);
    }
    redraw();
}

QStringList HeadsView::quantities() const {
    QStringList out;
    for (const auto& [k, v] : available_)
        out << k;
    return out;
}

void HeadsView::setQuantity(int side, const QString& name) {
    userPicked_[side] = true;
    pick_[side]->setCurrentText(name);
}
QString HeadsView::quantity(int side) const {
    return pick_[side]->currentText();
}

const HeadMatrix* HeadsView::matrix(const QString& name) const {
    auto it = available_.find(name);
    return it == available_.end() ? nullptr : &it->second;
}

void HeadsView::redraw() {
    const HeadMatrix* m[2] = {matrix(pick_[0]->currentText()), matrix(pick_[1]->currentText())};
    for (int s = 0; s < 2; ++s) {
        maps_[s]->setMatrix(m[s] ? *m[s] : HeadMatrix{});
        maps_[s]->setSelectedHead(selected_.layer, selected_.head);
    }
    model_->set(m[0], m[1]);
    fitTable();
    updateEmptyState();
}

void HeadsView::fitTable() {
    // The table is as wide as its numbers and headers, so no digit is clipped: the heatmaps give way.
    int width = 2 * table_->frameWidth() + table_->verticalScrollBar()->sizeHint().width();
    for (int c = 0; c < proxy_->columnCount(); ++c)
        width += std::max(static_cast<const QAbstractItemView*>(table_)->sizeHintForColumn(c),
                          table_->horizontalHeader()->sectionSizeHint(c));
    table_->setMinimumWidth(width);
}

void HeadsView::setSelectedHead(HeadRef h) {
    selected_ = h;
    for (auto* map : maps_)
        map->setSelectedHead(h.layer, h.head);
    if (!h.valid() || model_->rowCount() == 0) return;
    const QModelIndex src = model_->index(model_->rowOf(h), 0);
    const QModelIndex idx = proxy_->mapFromSource(src);
    QSignalBlocker b(table_);
    table_->selectRow(idx.row());
    table_->scrollTo(idx);
}

bool HeadsView::exportFigure(int side, const QString& file, int w, int h, double scale) const {
    return maps_[side]->exportTo(file, w, h, scale);
}

QString HeadsView::pickedQuantity(int side) const {
    return userPicked_[side] ? pick_[side]->currentText() : QString();
}

QString HeadsView::command() const {
    // The left heatmap's analysis: an attribution, or the features (with the compared pair).
    if (quantity(0).startsWith(QLatin1String("attribution")))
        return session_->attributionCommand(dataset_->currentText(), method_->currentData().toString(),
                                            position_->currentText().trimmed());
    return session_->featuresCommand(pairA_, pairB_);
}

} // namespace obsprop::ui
