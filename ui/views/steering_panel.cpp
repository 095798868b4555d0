#include "views/steering_panel.h"

#include "models/steering_table_model.h"

#include <QAbstractTableModel>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QSlider>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStackedWidget>
#include <QSvgGenerator>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "figures/bar_figures.h"
#include "figures/plot_export.h"
#include "figures/qcp.h"
#include "results/csv.h"
#include "session/session.h"
#include "views/empty_state.h"
#include "views/plot_interaction.h"
#include "views/result_table.h"

namespace obsprop::ui {

namespace {
const QColor kStale(190, 190, 190);
} // namespace

SteeringPanel::SteeringPanel(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* lay = new QVBoxLayout(this);
    auto* bar = new QHBoxLayout;
    observable_ = new QComboBox(this);
    observable_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    normalize_ = new QCheckBox(tr("unit norm"), this);
    normalize_->setChecked(true);
    normalize_->setToolTip(tr("Normalise the feature vector to length 1 before scaling it by α"));
    position_ = new QComboBox(this);
    position_->setObjectName(QStringLiteral("steeringPosition"));
    position_->setEditable(true);
    position_->addItems({QStringLiteral("name"), QStringLiteral("last")});
    position_->setToolTip(tr("The token each new vector is added at: name (the prompt's slot), last, or a "
                             "token index (0 the first, -1 the last)"));
    add_ = new QPushButton(tr("Add head"), this);
    dataset_ = new QComboBox(this);
    dataset_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    for (QWidget* w :
         std::initializer_list<QWidget*>{new QLabel(tr("Feature of:"), this), observable_, normalize_,
                                         new QLabel(tr("at token:"), this), position_, add_})
        bar->addWidget(w);
    bar->addStretch(1);
    for (QWidget* w : std::initializer_list<QWidget*>{new QLabel(tr("Dataset:"), this), dataset_})
        bar->addWidget(w);
    lay->addLayout(bar);

    rowsBox_ = new QWidget(this);
    rowsLayout_ = new QGridLayout(rowsBox_);
    rowsLayout_->setColumnStretch(1, 1);
    scroll_ = new QScrollArea(this);
    scroll_->setWidget(rowsBox_);
    scroll_->setWidgetResizable(true);
    scroll_->setFrameShape(QFrame::NoFrame);
    status_ = new QLabel(this);
    error_ = new QLabel(this);
    error_->setStyleSheet(QStringLiteral("color: #b2182b"));
    error_->setWordWrap(true);
    error_->hide();
    for (QWidget* w : std::initializer_list<QWidget*>{scroll_, status_, error_})
        lay->addWidget(w);

    stack_ = new QStackedWidget(this);
    placeholder_ = makeEmptyHint(this);
    auto* split = new QSplitter(Qt::Vertical, this);
    stack_->addWidget(placeholder_);
    stack_->addWidget(split);
    plot_ = new QCustomPlot(split);
    plot_->setMinimumSize(320, 200);
    figure_ = figures::SteeringFigure::build(plot_);
    predictedBars_ = figure_.predicted;
    exactBars_ = figure_.exact;
    auto* interaction = new PlotInteraction(plot_, [this](const QPoint& pixel) -> std::optional<PlotValue> {
        const auto bar = barAt(pixel);
        if (!bar) return std::nullopt;
        const auto v = barValue(bar->first, bar->second);
        if (!v) return std::nullopt;
        return PlotValue{toolTipAt(pixel), csvNumber(*v)};
    });
    interaction->setZoomable({plot_->axisRect()});
    model_ = new SteeringTableModel(this);
    auto* proxy = new QSortFilterProxyModel(this); // filtering only: rows stay in prompt order
    proxy->setSourceModel(model_);
    table_ = new QTableView(split);
    table_->setModel(proxy);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->setAlternatingRowColors(true);
    split->addWidget(plot_);
    split->addWidget(withResultTools(table_, proxy));
    lay->addWidget(stack_, 1);

    debounce_ = new QTimer(this);
    debounce_->setSingleShot(true);
    debounce_->setInterval(30);
    connect(debounce_, &QTimer::timeout, this, [this] {
        if (!session_->isSteeringPrepared()) return; // the preparation in flight ends with an exact run
        pending_ = true;
        session_->requestExactSteering();
        drawBars();
    });
    connect(add_, &QPushButton::clicked, this, &SteeringPanel::addSelectedHead);
    connect(dataset_, &QComboBox::currentTextChanged, this, [this](const QString& d) {
        session_->setSteeringDataset(d); // prepares the vectors again on the new prompts
        awaitPreparation();
    });
    // The session owns the vectors: the panel shows them and forwards what the user does.
    connect(session_, &Session::steeringVectorsChanged, this, [this] {
        rebuildRows();
        awaitPreparation();
    });
    connect(session_, &Session::steeringValuesRestored, this, [this] { // undo or redo of a multiplier
        const auto& v = vectors();
        for (std::size_t i = 0; i < rows_.size() && i < v.size(); ++i) {
            rows_[i].range->setValue(std::clamp(v[i].range, 1.0, kMaxRange));
            rows_[i].alpha->setValue(v[i].alpha); // predicts at once and runs the exact pass
        }
    });
    connect(session_, &Session::recipeChanged, this, [this] {
        refreshChoices();
        awaitPreparation(); // the session prepares the vectors again for the new recipe
    });
    connect(session_, &Session::steeringPrepared, this, [this] { preparing_ = false; });
    connect(session_, &Session::steeringReady, this, &SteeringPanel::onSteering);
    connect(session_, &Session::jobFailed, this, [this](const QString& channel, const QString& msg) {
        if (!channel.startsWith(QLatin1String("steering/"))) return;
        pending_ = preparing_ = false;
        error_->setText(msg);
        error_->show();
        drawBars();
    });
    refreshChoices();
    rebuildRows();
    drawBars();
}

QAbstractItemModel* SteeringPanel::model() const {
    return model_;
}
const std::vector<SteeringVectorSpec>& SteeringPanel::vectors() const {
    return session_->steeringVectors();
}
QString SteeringPanel::dataset() const {
    return dataset_->currentText();
}
const SteeringPanel::Row* SteeringPanel::rowAt(int i) const {
    return i >= 0 && i < static_cast<int>(rows_.size()) ? &rows_[static_cast<std::size_t>(i)] : nullptr;
}
bool SteeringPanel::exactIsStale() const {
    return pending_ || preparing_ || debounce_->isActive();
}

void SteeringPanel::refreshChoices() {
    QStringList names;
    for (const auto& o : session_->observables())
        names << o.first;
    for (auto [box, items] : {std::pair{observable_, names}, std::pair{dataset_, session_->datasetNames()}}) {
        const QString keep = box == dataset_ ? session_->steeringDataset() : box->currentText();
        QSignalBlocker block(box);
        box->clear();
        box->addItems(items);
        box->setCurrentIndex(std::max(0, box->findText(keep)));
    }
    add_->setEnabled(head_.valid() && observable_->count() > 0);
}

void SteeringPanel::setSelectedHead(HeadRef h) {
    head_ = h;
    add_->setEnabled(h.valid() && observable_->count() > 0);
    add_->setText(h.valid() ? tr("Add head %1").arg(headName(h.layer, h.head)) : tr("Add head"));
}

void SteeringPanel::addSelectedHead() {
    if (head_.valid() && !observable_->currentText().isEmpty()) addPath({head_}, observable_->currentText());
}

void SteeringPanel::addPath(std::vector<HeadRef> path, QString observable) {
    if (path.empty() || observable.isEmpty()) return;
    SteeringVectorSpec s; // the session names it
    s.observable = observable;
    s.path = std::move(path);
    s.normalize = normalize_->isChecked();
    s.position = position_->currentText().trimmed();
    session_->addSteeringVector(s); // steeringVectorsChanged rebuilds the rows
}

void SteeringPanel::removeVector(int index) {
    if (index < 0 || index >= static_cast<int>(vectors().size())) return;
    session_->removeSteeringVector(vectors()[static_cast<std::size_t>(index)].id);
}

void SteeringPanel::rebuildRows() {
    for (const Row& r : rows_)
        for (QWidget* w : std::initializer_list<QWidget*>{r.name, r.slider, r.alpha, r.range, r.remove})
            w->hide(), w->deleteLater();
    rows_.clear();
    delete empty_;
    empty_ = nullptr;
    const auto& vectors_ = vectors();
    if (vectors_.empty()) {
        empty_ = new QLabel(tr("No steering vectors: select a head and press Add, or double-click a path."),
                            rowsBox_);
        rowsLayout_->addWidget(empty_, 0, 0, 1, 5);
    }
    for (int i = 0; i < static_cast<int>(vectors_.size()); ++i) {
        const SteeringVectorSpec& v = vectors_[static_cast<std::size_t>(i)];
        Row r{new QLabel(v.name + (v.normalize ? QString() : tr(" (raw)")), rowsBox_),
              new QSlider(Qt::Horizontal, rowsBox_), new QDoubleSpinBox(rowsBox_),
              new QDoubleSpinBox(rowsBox_), new QPushButton(tr("Remove"), rowsBox_)};
        const double range = std::clamp(v.range, 1.0, kMaxRange);
        r.slider->setRange(-kSliderSteps, kSliderSteps);
        r.slider->setMinimumWidth(160);
        r.range->setRange(1, kMaxRange);
        r.range->setDecimals(0);
        r.range->setPrefix(QStringLiteral("±"));
        r.range->setValue(range);
        r.range->setToolTip(tr("Slider range"));
        r.alpha->setDecimals(2);
        r.alpha->setRange(-range, range);
        r.alpha->setSingleStep(range / 100);
        r.alpha->setPrefix(QStringLiteral("α = "));
        r.alpha->setValue(v.alpha);
        r.slider->setValue(static_cast<int>(std::lround(r.alpha->value() / range * kSliderSteps)));
        rowsLayout_->addWidget(r.name, i, 0);
        rowsLayout_->addWidget(r.slider, i, 1);
        rowsLayout_->addWidget(r.alpha, i, 2);
        rowsLayout_->addWidget(r.range, i, 3);
        rowsLayout_->addWidget(r.remove, i, 4);
        connect(r.slider, &QSlider::valueChanged, this, [this, i, r](int pos) {
            QSignalBlocker block(r.alpha);
            r.alpha->setValue(pos * r.range->value() / kSliderSteps);
            setAlpha(i, r.alpha->value()); // the spin box's rounding is what gets used and shown
        });
        connect(r.alpha, &QDoubleSpinBox::valueChanged, this, [this, i, r](double a) {
            QSignalBlocker block(r.slider);
            r.slider->setValue(static_cast<int>(std::lround(a / r.range->value() * kSliderSteps)));
            setAlpha(i, a);
        });
        connect(r.range, &QDoubleSpinBox::valueChanged, this,
                [this, i](double range) { setRange(i, range); });
        connect(r.remove, &QPushButton::clicked, this, [this, i] { removeVector(i); });
        rows_.push_back(r);
    }
    // Up to four rows without scrolling.
    const int rowHeight =
        rows_.empty() ? empty_->sizeHint().height() : rows_.front().alpha->sizeHint().height();
    const int shown = std::clamp(static_cast<int>(rows_.size()), 1, 4);
    const QMargins m = rowsLayout_->contentsMargins();
    scroll_->setFixedHeight(shown * (rowHeight + std::max(0, rowsLayout_->verticalSpacing())) + m.top() +
                            m.bottom());
}

void SteeringPanel::setRange(int i, double range) {
    const Row& r = rows_[static_cast<std::size_t>(i)];
    session_->setSteeringRange(vectors()[static_cast<std::size_t>(i)].id, range); // saved with the project
    r.alpha->setSingleStep(range / 100);
    r.alpha->setRange(-range, range); // clamps α (and reports it) when it falls outside
    QSignalBlocker block(r.slider);
    r.slider->setValue(static_cast<int>(std::lround(r.alpha->value() / range * kSliderSteps)));
}

void SteeringPanel::awaitPreparation() {
    debounce_->stop();
    preparing_ = pending_ = !vectors().empty() && session_->isOpen() && !session_->observables().isEmpty();
    clearResults();
}

void SteeringPanel::clearResults() {
    exact_.reset();
    prediction_ = SteeringResults{};
    model_->setResults({});
    error_->hide();
    drawBars();
}

void SteeringPanel::setAlpha(int index, double alpha) {
    session_->setSteeringAlpha(vectors()[static_cast<std::size_t>(index)].id, alpha);
    if (session_->isSteeringPrepared()) prediction_ = session_->predictSteering(); // instant
    debounce_->start(); // the exact run: latest wins, each move restarts the wait
    drawBars();
}

void SteeringPanel::onSteering(const SteeringResults& r) {
    if (preparing_ || vectors().empty()) return; // computed for a vector list that has since changed
    error_->hide();
    if (!r.exact) {
        prediction_ = r;
    } else {
        exact_ = r;
        pending_ = false;
        model_->setResults(r);
    }
    drawBars();
}

void SteeringPanel::drawBars() {
    const QStringList obs = !prediction_.observables.isEmpty() ? prediction_.observables
                            : exact_                           ? exact_->observables
                                                               : QStringList();
    const bool stale = exactIsStale();
    figure_.draw(prediction_, exact_, stale);
    PlotInteraction::of(plot_)->rememberRanges();
    const QString missing = missingInput(*session_, 1, tr("what steering with its features does"));
    placeholder_->setText(
        !missing.isEmpty() ? missing
        : vectors().empty()
            ? tr("Select a head and press Add head (or double-click a path in the Paths view) to "
                 "steer with its feature and see the effect on every observable.")
        : preparing_ ? tr("Preparing the steering gradients…")
                     : tr("No result (see the message above)."));
    stack_->setCurrentIndex(obs.isEmpty() ? 0 : 1);
    QPalette pal = table_->palette(); // the per-prompt numbers belong to the exact run: grey when stale
    pal.setColor(QPalette::Text, stale ? kStale.darker(130) : palette().color(QPalette::Text));
    table_->setPalette(pal);
    status_->setText(
        obs.isEmpty() ? QString()
        : stale || !exact_
            ? tr("%1 — exact run pending").arg(prediction_.vectorName)
            : tr("%1 — exact over %2 prompts").arg(exact_->vectorName).arg(exact_->prompts.size()));
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

QString SteeringPanel::tableCsv() const {
    QStringList head;
    for (int c = 0; c < model_->columnCount(); ++c)
        head << csvField(model_->columnName(c));
    QString out = head.join(QLatin1Char(',')) + QLatin1Char('\n');
    for (int r = 0; r < model_->rowCount(); ++r) {
        QStringList cells{csvField(model_->prompt(r))};
        for (int c = 1; c < model_->columnCount(); ++c)
            cells << csvNumber(model_->value(r, c));
        out += cells.join(QLatin1Char(',')) + QLatin1Char('\n');
    }
    return out;
}

QString SteeringPanel::barsCsv() const {
    // From the results the bars are drawn from, never read back out of the plot.
    QString out = QStringLiteral("observable,predicted,exact_mean_change\n");
    for (int k = 0; k < prediction_.observables.size(); ++k) {
        const int e = exact_ ? static_cast<int>(exact_->observables.indexOf(prediction_.observables[k])) : -1;
        out += QStringLiteral("%1,%2,%3\n")
                   .arg(csvField(prediction_.observables[k]), csvNumber(prediction_.predicted[size_t(k)]),
                        e >= 0 ? csvNumber(exact_->meanChange[size_t(e)]) : QString());
    }
    return out;
}

std::optional<std::pair<QString, bool>> SteeringPanel::barAt(const QPoint& pixel) const {
    const auto [bars, i] = obsprop::ui::barAt(plot_, pixel);
    if (!bars || (bars != predictedBars_ && bars != exactBars_)) return std::nullopt;
    const QStringList obs = !prediction_.observables.isEmpty() ? prediction_.observables
                            : exact_                           ? exact_->observables
                                                               : QStringList();
    const int k = static_cast<int>(std::lround(bars->data()->at(i)->key)); // the bars' keys index `obs`
    if (k < 0 || k >= obs.size()) return std::nullopt;
    return std::pair{obs[k], bars == exactBars_};
}

// From the results the bars are drawn from.
std::optional<double> SteeringPanel::barValue(const QString& observable, bool exact) const {
    if (!exact) {
        const int k = static_cast<int>(prediction_.observables.indexOf(observable));
        if (k < 0 || k >= static_cast<int>(prediction_.predicted.size())) return std::nullopt;
        return prediction_.predicted[size_t(k)];
    }
    const int e = exact_ ? static_cast<int>(exact_->observables.indexOf(observable)) : -1;
    if (e < 0 || e >= static_cast<int>(exact_->meanChange.size())) return std::nullopt;
    return exact_->meanChange[size_t(e)];
}

QString SteeringPanel::toolTipAt(const QPoint& pixel) const {
    const auto bar = barAt(pixel);
    const auto v = bar ? barValue(bar->first, bar->second) : std::nullopt;
    if (!v) return {};
    if (!bar->second) return tr("%1\nlinear prediction: %2").arg(bar->first).arg(*v, 0, 'g', 6);
    return exactIsStale() ? tr("%1\nexact mean change: %2 (for older multipliers; updating…)")
                                .arg(bar->first)
                                .arg(*v, 0, 'g', 6)
                          : tr("%1\nexact mean change: %2").arg(bar->first).arg(*v, 0, 'g', 6);
}

bool SteeringPanel::exportFigure(const QString& file, int w, int h, double scale) const {
    return exportPlot(plot_, file, w, h, scale, tr("Steering"));
}

QString SteeringPanel::command() const {
    return session_->steeringCommand();
}

} // namespace obsprop::ui
