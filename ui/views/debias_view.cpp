#include "views/debias_view.h"

#include "models/debias_table_model.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "figures/plot_export.h"
#include "figures/qcp.h"
#include "project/dataset.h"
#include "results/csv.h"
#include "session/session.h"
#include "views/choices.h"
#include "views/empty_state.h"
#include "views/plot_interaction.h"
#include "views/result_table.h"

namespace obsprop::ui {

namespace {

const QString kConsumer = QStringLiteral("debias");
const QString kChannel = QStringLiteral("debias/debias");

QString name(const std::string& s) {
    return QString::fromStdString(s);
}

} // namespace

DebiasView::DebiasView(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* lay = new QVBoxLayout(this);
    auto* bar = new QHBoxLayout;
    raise_ = new QComboBox(this);
    raise_->setToolTip(tr("The observable to raise (e.g. gram)"));
    lower_ = new QComboBox(this);
    lower_->setToolTip(tr("The observable to lower (e.g. bias)"));
    feature_ = new QComboBox(this);
    feature_->setToolTip(tr("The observable whose head features steer"));
    dataset_ = new QComboBox(this);
    dataset_->setToolTip(tr("The prompts the mean changes are taken over"));
    for (QComboBox* c : {raise_, lower_, feature_, dataset_})
        c->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    candidates_ = new QSpinBox(this);
    candidates_->setRange(1, 10000);
    candidates_->setValue(8);
    candidates_->setToolTip(tr("Heads swept: those with the most negative coupling C(raise→lower)"));
    alphas_ = new QLineEdit(this);
    alphas_->setPlaceholderText(tr("default"));
    alphas_->setToolTip(tr("Multipliers α, separated by commas or spaces; empty: -50, -20, -5, 5, 20, 50 "
                           "(unit vectors: -20, -5, -1, 1, 5, 20)"));
    alphas_->setMinimumWidth(140);
    normalize_ = new QCheckBox(tr("Unit vectors"), this);
    normalize_->setToolTip(tr("Steer with each feature scaled to length 1 (α is then the length added)"));
    position_ = new QComboBox(this);
    position_->setObjectName(QStringLiteral("debiasPosition"));
    position_->setEditable(true);
    position_->addItems({QStringLiteral("name"), QStringLiteral("last")});
    position_->setToolTip(tr("The token every vector is added at: name (the prompt's slot), last, or a token "
                             "index (0 the first, -1 the last)"));
    run_ = new QPushButton(tr("Run Sweep"), this);
    run_->setObjectName(QStringLiteral("runAnalysis")); // obsprop-explorer --run clicks it
    cancel_ = new QPushButton(tr("Cancel"), this);
    cancel_->setEnabled(false);
    bar->addWidget(new QLabel(tr("Raise:"), this));
    bar->addWidget(raise_);
    bar->addWidget(new QLabel(tr("Lower:"), this));
    bar->addWidget(lower_);
    bar->addWidget(new QLabel(tr("Feature of:"), this));
    bar->addWidget(feature_);
    bar->addWidget(new QLabel(tr("Candidates:"), this));
    bar->addWidget(candidates_);
    bar->addWidget(new QLabel(tr("α:"), this));
    bar->addWidget(alphas_, 1);
    lay->addLayout(bar);
    // A second row, so the tab fits a laptop's width.
    bar = new QHBoxLayout;
    bar->addWidget(normalize_);
    bar->addWidget(new QLabel(tr("at token:"), this));
    bar->addWidget(position_);
    bar->addWidget(new QLabel(tr("Dataset:"), this));
    bar->addWidget(dataset_);
    bar->addStretch(1);
    bar->addWidget(run_);
    bar->addWidget(cancel_);
    lay->addLayout(bar);
    status_ = new QLabel(this);
    status_->setWordWrap(true);
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    lay->addWidget(status_);

    stack_ = new QStackedWidget(this);
    placeholder_ = makeEmptyHint(this);
    stack_->addWidget(placeholder_);
    auto* split = new QSplitter(Qt::Horizontal, this);
    stack_->addWidget(split);
    lay->addWidget(stack_, 1);

    model_ = new DebiasTableModel(this);
    table_ = new QTableView(split);
    proxy_ = showSorted(table_, model_, DebiasTableModel::Rank, Qt::AscendingOrder);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    auto* use = new QAction(tr("Use as Steering Vector"), this);
    use->setObjectName(QStringLiteral("useAsSteeringVector"));
    connect(use, &QAction::triggered, this, [this] {
        const int row = contextRow(table_);
        if (row >= 0) useAsSteeringVector(row);
    });
    connect(table_, &QTableView::doubleClicked, this,
            [this](const QModelIndex& i) { useAsSteeringVector(proxy_->mapToSource(i).row()); });

    plot_ = new QCustomPlot(split);
    plot_->setMinimumSize(320, 260);
    plot_->xAxis->setLabel(tr("Δ raise"));
    plot_->yAxis->setLabel(tr("Δ lower"));
    quadrant_ = new QCPItemRect(plot_);
    quadrant_->setPen(Qt::NoPen);
    quadrant_->setBrush(QColor(46, 160, 67, 40));
    quadrant_->setLayer(QStringLiteral("background"));
    others_ = plot_->addGraph();
    others_->setLineStyle(QCPGraph::lsNone);
    others_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QColor(120, 120, 120), 7));
    others_->setName(tr("moves both the same way"));
    separating_ = plot_->addGraph();
    separating_->setLineStyle(QCPGraph::lsNone);
    separating_->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssDisc, QColor(46, 160, 67), QColor(46, 160, 67), 8));
    separating_->setName(tr("separates (Δ raise > 0, Δ lower < 0)"));
    plot_->legend->setVisible(true); // above the axes, where it hides no point
    plot_->plotLayout()->insertRow(0);
    plot_->plotLayout()->addElement(0, 0, plot_->legend);
    plot_->plotLayout()->setRowStretchFactor(0, 0.001);
    plot_->legend->setFillOrder(QCPLegend::foRowsFirst);
    auto* interaction = new PlotInteraction(plot_, [this](const QPoint& pixel) -> std::optional<PlotValue> {
        const int row = rowAt(pixel);
        if (row < 0) return std::nullopt;
        return PlotValue{toolTipAt(pixel), csvNumber(model_->row(row).change_lower)};
    });
    interaction->setZoomable({plot_->axisRect()});

    split->addWidget(withResultTools(table_, proxy_, {use}));
    split->addWidget(plot_);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    split->setSizes({900, 480});

    connect(run_, &QPushButton::clicked, this, &DebiasView::runSweep);
    connect(alphas_, &QLineEdit::returnPressed, this, &DebiasView::runSweep);
    connect(cancel_, &QPushButton::clicked, this, [this] { session_->jobs().cancel(kChannel); });
    connect(raise_, &QComboBox::currentIndexChanged, this, [this] {
        // the raised observable's own prompts, until the user picks a dataset
        if (!dataset_->property("touched").toBool())
            if (const int i = dataset_->findText(session_->observableLnDataset(raise_->currentText()));
                i >= 0) {
                QSignalBlocker block(dataset_);
                dataset_->setCurrentIndex(i);
            }
    });
    connect(dataset_, &QComboBox::activated, this, [this] { dataset_->setProperty("touched", true); });
    // What the user changes (not what a refill sets) makes the choices part of the project's view state.
    for (QComboBox* box : {raise_, lower_, feature_, dataset_, position_})
        connect(box, &QComboBox::activated, this, [this] { touched_ = true; });
    connect(position_, &QComboBox::editTextChanged, this, [this] { touched_ = true; });
    connect(candidates_, &QSpinBox::valueChanged, this, [this] { touched_ = true; });
    connect(alphas_, &QLineEdit::textEdited, this, [this] { touched_ = true; });
    connect(normalize_, &QCheckBox::clicked, this, [this] { touched_ = true; });
    connect(session_, &Session::workspaceOpened, this, [this] {
        dataset_->setProperty("touched", false);
        touched_ = false;
        results_.reset(), asked_.reset();
        model_->clear();
        refreshChoices(); // the new project's choices, before its view state is restored
    });
    connect(session_, &Session::recipeChanged, this, &DebiasView::refreshChoices);
    connect(session_, &Session::debiasReady, this, &DebiasView::display);
    connect(&session_->jobs(), &JobTracker::progress, this,
            [this](const QString& channel, double fraction, const QString& stage) {
                if (channel == kChannel)
                    status_->setText(tr("Sweeping… %1% (%2)").arg(qRound(100 * fraction)).arg(stage));
            });
    connect(&session_->jobs(), &JobTracker::finished, this, [this](const QString& channel, bool ok) {
        if (channel != kChannel) return;
        cancel_->setEnabled(false);
        if (!ok && !results_) status_->setText(tr("The sweep stopped before it finished."));
    });
    connect(session_, &Session::jobFailed, this, [this](const QString& channel, const QString& message) {
        if (channel == kChannel) status_->setText(message);
    });
    refreshChoices();
}

void DebiasView::refreshChoices() {
    QStringList obs;
    for (const auto& [n, expr] : session_->observables())
        obs << n;
    refill(raise_, obs, QStringLiteral("gram"));
    refill(lower_, obs, QStringLiteral("bias"));
    if (lower_->currentIndex() == raise_->currentIndex() && lower_->count() > 1) {
        QSignalBlocker block(lower_);
        lower_->setCurrentIndex(raise_->currentIndex() == 0 ? 1 : 0);
    }
    refill(feature_, QStringList{tr("(the raised one)")} + obs);
    const QString own = session_->observableLnDataset(raise_->currentText());
    refill(dataset_, session_->datasetNames(),
           dataset_->property("touched").toBool() ? session_->defaultDataset()
                                                  : (own.isEmpty() ? session_->defaultDataset() : own));
    if (!dataset_->property("touched").toBool())
        if (const int i = dataset_->findText(own); i >= 0) {
            QSignalBlocker block(dataset_);
            dataset_->setCurrentIndex(i);
        }
    run_->setEnabled(session_->isOpen() && obs.size() >= 2);
    if (results_ && results_->generation != session_->generation()) { // numbers of an older recipe
        results_.reset(), asked_.reset();
        model_->clear();
        draw();
    }
    if (!results_) {
        placeholder_->setText(
            !session_->isOpen() || obs.size() < 2
                ? missingInput(*session_, 2, tr("a debiasing sweep"))
                : tr("Choose the observable to raise and the one to lower, then Run Sweep: the heads with "
                     "the most negative coupling C(raise→lower) are tried as steering vectors at each α."));
        stack_->setCurrentWidget(placeholder_);
    }
}

QJsonObject DebiasView::state() const {
    return {
        {QStringLiteral("raise"), raise_->currentText()},
        {QStringLiteral("lower"), lower_->currentText()},
        {QStringLiteral("feature_of"), feature_->currentIndex() > 0 ? feature_->currentText() : QString()},
        {QStringLiteral("dataset"), dataset_->currentText()},
        {QStringLiteral("candidates"), candidates_->value()},
        {QStringLiteral("alphas"), alphas_->text()},
        {QStringLiteral("normalize"), normalize_->isChecked()},
        {QStringLiteral("position"), position_->currentText()}};
}

void DebiasView::restoreState(const QJsonObject& s) {
    auto pick = [](QComboBox* box, const QJsonValue& v) {
        if (const int i = box->findText(v.toString()); i >= 0 && !v.toString().isEmpty())
            box->setCurrentIndex(i);
    };
    pick(raise_, s[QStringLiteral("raise")]);
    pick(lower_, s[QStringLiteral("lower")]);
    if (s[QStringLiteral("feature_of")].toString().isEmpty())
        feature_->setCurrentIndex(0);
    else
        pick(feature_, s[QStringLiteral("feature_of")]);
    if (const int i = dataset_->findText(s[QStringLiteral("dataset")].toString()); i >= 0) {
        dataset_->setCurrentIndex(i);
        dataset_->setProperty("touched", true);
    }
    candidates_->setValue(s[QStringLiteral("candidates")].toInt(candidates_->value()));
    alphas_->setText(s[QStringLiteral("alphas")].toString(alphas_->text()));
    normalize_->setChecked(s[QStringLiteral("normalize")].toBool(normalize_->isChecked()));
    if (const QString p = s[QStringLiteral("position")].toString();
        project::is_token_position(p.toStdString()))
        position_->setCurrentText(p);
    touched_ = true;
}

std::vector<double> DebiasView::parseAlphas(const QString& text) {
    std::vector<double> out;
    for (const QString& w : text.split(QRegularExpression(QStringLiteral("[,;\\s]+")), Qt::SkipEmptyParts)) {
        bool ok = false;
        const double v = w.toDouble(&ok);
        if (!ok) throw std::invalid_argument(tr("α: “%1” is not a number").arg(w).toStdString());
        if (const std::string why = analyses::multiplier_problem(v); !why.empty())
            throw std::invalid_argument(tr("α: %1 %2").arg(w, QString::fromStdString(why)).toStdString());
        out.push_back(v);
    }
    return out;
}

DebiasRequest DebiasView::request(QString* error) const {
    DebiasRequest q;
    q.raise = raise_->currentText();
    q.lower = lower_->currentText();
    q.featureOf = feature_->currentIndex() > 0 ? feature_->currentText() : QString();
    q.dataset = dataset_->currentText();
    q.candidates = candidates_->value();
    q.normalize = normalize_->isChecked();
    q.position = position_->currentText().trimmed();
    if (error && !project::is_token_position(q.position.toStdString()))
        *error = tr("“%1” is not a token position (name, last, or an index: 0, 1, … or -1, -2, …)")
                     .arg(q.position);
    try {
        q.alphas = parseAlphas(alphas_->text());
    } catch (const std::invalid_argument& e) {
        if (error) *error = QString::fromUtf8(e.what());
    }
    if (error && error->isEmpty() && q.raise == q.lower)
        *error = tr("Choose two different observables to raise and to lower.");
    return q;
}

void DebiasView::runSweep() {
    if (!session_->isOpen()) return;
    QString error;
    const DebiasRequest q = request(&error);
    if (!error.isEmpty()) {
        status_->setText(error);
        return;
    }
    asked_ = q;
    cancel_->setEnabled(true);
    status_->setText(tr("Sweeping…"));
    session_->computeDebias(kConsumer, q);
}

void DebiasView::display(const DebiasResults& r) {
    results_ = r;
    model_->setResults(r);
    table_->sortByColumn(table_->horizontalHeader()->sortIndicatorSection(),
                         table_->horizontalHeader()->sortIndicatorOrder());
    const auto& d = r.report;
    int separating = 0;
    for (const auto& row : d.rows)
        separating += row.separates ? 1 : 0;
    status_->setText(
        tr("%1 of %2 (head, α) separate them. Unsteered means over %3: %4 %5, %6 %7. Steering "
           "with the %8 feature%9 of the %10 heads with the most negative C(%4→%6), at the %11 "
           "token of %12.")
            .arg(separating)
            .arg(d.rows.size())
            .arg(name(d.dataset), name(d.raise))
            .arg(d.mean_raise, 0, 'f', 4)
            .arg(name(d.lower))
            .arg(d.mean_lower, 0, 'f', 4)
            .arg(name(d.feature_of), d.normalize ? tr(" (unit)") : QString())
            .arg(d.candidates)
            .arg(name(d.position), d.layer < 0 ? tr("each head's layer") : tr("layer %1").arg(d.layer)));
    plot_->xAxis->setLabel(tr("Δ %1 (raise)").arg(name(d.raise)));
    plot_->yAxis->setLabel(tr("Δ %1 (lower)").arg(name(d.lower)));
    draw();
    stack_->setCurrentIndex(1);
}

void DebiasView::draw() {
    QVector<double> sx, sy, ox, oy;
    double x0 = -1, x1 = 1, y0 = -1, y1 = 1;
    if (results_)
        for (const auto& row : results_->report.rows) {
            (row.separates ? sx : ox).push_back(row.change_raise);
            (row.separates ? sy : oy).push_back(row.change_lower);
            x0 = std::min(x0, row.change_raise), x1 = std::max(x1, row.change_raise);
            y0 = std::min(y0, row.change_lower), y1 = std::max(y1, row.change_lower);
        }
    separating_->setData(sx, sy);
    others_->setData(ox, oy);
    const double mx = 0.08 * (x1 - x0), my = 0.08 * (y1 - y0);
    plot_->xAxis->setRange(x0 - mx, x1 + mx);
    plot_->yAxis->setRange(y0 - my, y1 + my);
    quadrant_->topLeft->setCoords(0, 0);
    quadrant_->bottomRight->setCoords(x1 + 100 * mx, y0 - 100 * my);
    PlotInteraction::of(plot_)->rememberRanges();
    plot_->replot();
}

int DebiasView::rowAt(const QPoint& pixel) const {
    if (!results_) return -1;
    int best = -1;
    double bestDist = 8 * 8; // within 8 pixels
    for (int i = 0; i < model_->rowCount(); ++i) {
        const auto& row = model_->row(i);
        const double dx = plot_->xAxis->coordToPixel(row.change_raise) - pixel.x(),
                     dy = plot_->yAxis->coordToPixel(row.change_lower) - pixel.y();
        if (dx * dx + dy * dy < bestDist) bestDist = dx * dx + dy * dy, best = i;
    }
    return best;
}

QString DebiasView::toolTipAt(const QPoint& pixel) const {
    const int i = rowAt(pixel);
    if (i < 0) return {};
    const auto& row = model_->row(i);
    const auto& d = results_->report;
    return tr("head %1 (rank %2, C = %3), α = %4\nΔ %5 = %6 (predicted %7)\nΔ %8 = %9 (predicted %10)")
        .arg(name(row.head.label()))
        .arg(row.rank)
        .arg(row.coupling, 0, 'g', 4)
        .arg(row.alpha, 0, 'g', 6)
        .arg(name(d.raise))
        .arg(row.change_raise, 0, 'g', 6)
        .arg(row.predicted_raise, 0, 'g', 6)
        .arg(name(d.lower))
        .arg(row.change_lower, 0, 'g', 6)
        .arg(row.predicted_lower, 0, 'g', 6);
}

void DebiasView::useAsSteeringVector(int sourceRow) {
    if (!results_ || sourceRow < 0 || sourceRow >= model_->rowCount()) return;
    const auto& row = model_->row(sourceRow);
    const auto& d = results_->report;
    SteeringVectorSpec spec;
    spec.observable = name(d.feature_of);
    spec.path = {row.head};
    spec.layer = d.layer;
    spec.position = name(d.position);
    spec.normalize = d.normalize;
    spec.alpha = row.alpha;
    spec.range = std::max(spec.range, 2 * std::abs(row.alpha));
    if (!d.dataset.empty()) session_->setSteeringDataset(name(d.dataset));
    session_->addSteeringVector(spec);
    status_->setText(tr("Added head %1 (%2) × %3 to the Steering tab.")
                         .arg(name(row.head.label()), spec.observable)
                         .arg(row.alpha, 0, 'g', 6));
    Q_EMIT steeringVectorAdded();
}

QString DebiasView::command() const {
    if (!asked_ || !results_) return {};
    return session_->debiasCommand(*asked_);
}

bool DebiasView::exportFigure(const QString& file, int w, int h, double scale) const {
    return exportPlot(plot_, file, w, h, scale, tr("Debiasing sweep"));
}

} // namespace obsprop::ui
