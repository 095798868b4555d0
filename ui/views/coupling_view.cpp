#include "views/coupling_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QStackedWidget>
#include <QSvgGenerator>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "figures/coupling_figure.h"
#include "figures/plot_export.h"
#include "figures/qcp.h"
#include "results/csv.h"
#include "session/session.h"
#include "views/choices.h"
#include "views/empty_state.h"

namespace obsprop::ui {

namespace {

QCPItemText* hint(QCustomPlot* p, QCPAxisRect* r) {
    auto* t = new QCPItemText(p);
    t->setClipAxisRect(r);
    t->position->setType(QCPItemPosition::ptAxisRectRatio);
    t->position->setAxisRect(r);
    t->position->setCoords(0.5, 0.5);
    t->setColor(Qt::gray);
    return t;
}

} // namespace

CouplingView::CouplingView(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* lay = new QVBoxLayout(this);
    auto* bar = new QHBoxLayout;
    a_ = new QComboBox(this), b_ = new QComboBox(this), dataset_ = new QComboBox(this);
    for (auto* c : {a_, b_, dataset_})
        c->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    compute_ = new QPushButton(tr("Compute"), this);
    compute_->setToolTip(tr("Compute the coupling coefficients and the attribution for this pair"));
    bar->addWidget(new QLabel(tr("Observable a:"), this));
    bar->addWidget(a_);
    bar->addWidget(new QLabel(tr("b:"), this));
    bar->addWidget(b_);
    bar->addWidget(new QLabel(tr("Dataset:"), this));
    bar->addWidget(dataset_);
    bar->addWidget(compute_);
    bar->addSpacing(12);
    threshold_ = new QDoubleSpinBox(this);
    threshold_->setRange(0, 100);
    threshold_->setDecimals(1);
    threshold_->setSingleStep(1);
    threshold_->setSuffix(QStringLiteral(" %"));
    threshold_->setValue(figures::kDefaultMinAttributionShare * 100);
    threshold_->setToolTip(
        tr("Leave out the heads whose attribution of a is smaller in magnitude than this share "
           "of the largest: their ratio b / a is mostly the near-zero denominator. 0 shows "
           "every head."));
    auto* thresholdLabel = new QLabel(tr("Hide |attribution a| below"), this);
    thresholdLabel->setBuddy(threshold_);
    bar->addWidget(thresholdLabel);
    bar->addWidget(threshold_);
    hidden_ = new QLabel(this);
    bar->addWidget(hidden_);
    symlog_ = new QCheckBox(tr("Log ratio axis"), this);
    symlog_->setToolTip(tr("Draw the ratio on a symmetric-logarithmic axis (linear within ±1)"));
    bar->addWidget(symlog_);
    bar->addStretch(1);
    lay->addLayout(bar);
    info_ = new QLabel(this);
    info_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    info_->setWordWrap(true);
    lay->addWidget(info_);

    stack_ = new QStackedWidget(this);
    placeholder_ = makeEmptyHint(this);
    plot_ = new QCustomPlot(this);
    plot_->setMinimumSize(480, 260);
    stack_->addWidget(placeholder_);
    stack_->addWidget(plot_);
    lay->addWidget(stack_, 1);

    // Two panels side by side in one plot, so a figure export holds both.
    figure_ =
        figures::CouplingFigure::build(plot_, true, tr("dashed: y = x · click a point to select its head"));
    headsRect_ = figure_.headsRect;
    tokensRect_ = figure_.tokensRect;
    // The selected head: a black ring with a white one on it, visible over any point and background.
    for (auto [g, width] : {std::pair{&selectedMarker_, 4.0}, std::pair{&selectedInner_, 1.5}}) {
        *g = plot_->addGraph(headsRect_->axis(QCPAxis::atBottom), headsRect_->axis(QCPAxis::atLeft));
        (*g)->setLineStyle(QCPGraph::lsNone);
        (*g)->setScatterStyle(QCPScatterStyle(
            QCPScatterStyle::ssCircle, QPen(width > 2 ? Qt::black : Qt::white, width), Qt::NoBrush, 15));
        (*g)->removeFromLegend();
    }
    tokensHint_ = hint(plot_, tokensRect_);
    auto* interaction = new PlotInteraction(plot_, [this](const QPoint& pixel) { return valueAt(pixel); });
    interaction->setZoomable({headsRect_, tokensRect_});

    connect(a_, &QComboBox::currentTextChanged, this, &CouplingView::onPairChanged);
    connect(b_, &QComboBox::currentTextChanged, this, &CouplingView::onPairChanged);
    connect(dataset_, &QComboBox::currentTextChanged, this, [this] {
        headsResult_.reset();
        rebuildHeads();
        requestHeads();
        requestScatter();
    });
    connect(compute_, &QPushButton::clicked, this, &CouplingView::requestHeads);
    connect(threshold_, &QDoubleSpinBox::valueChanged, this, &CouplingView::rebuildHeads);
    connect(symlog_, &QCheckBox::toggled, this, &CouplingView::rebuildHeads);
    connect(plot_, &QCustomPlot::mousePress, this, &CouplingView::onMousePress);
    connect(session_, &Session::workspaceOpened, this, [this] { selected_ = {}; });
    connect(session_, &Session::recipeChanged, this, [this] {
        headsResult_.reset(), scatter_.reset(); // computed for the previous recipe: never shown again
        refreshChoices();
    });
    connect(session_, &Session::couplingHeadsReady, this, &CouplingView::onHeads);
    connect(session_, &Session::couplingReady, this, &CouplingView::onCoupling);
    connect(session_, &Session::jobFailed, this, [this](const QString& channel, const QString& msg) {
        if (channel.endsWith(QLatin1String("/coupling"))) info_->setText(msg);
    });
    refreshChoices();
}

QString CouplingView::observableA() const {
    return a_->currentText();
}
QString CouplingView::observableB() const {
    return b_->currentText();
}
QString CouplingView::dataset() const {
    return dataset_->currentText();
}
QString CouplingView::infoText() const {
    return info_->text();
}

void CouplingView::refreshChoices() {
    QStringList names;
    for (const auto& o : session_->observables())
        names << o.first;
    refill(a_, names, names.value(0));
    refill(b_, names, names.value(1));
    refill(dataset_, session_->datasetNames());
    onPairChanged();
}

void CouplingView::onPairChanged() {
    scatter_.reset();
    headsResult_.reset();
    rebuildHeads();
    drawScatter();
    requestHeads();
    requestScatter();
}

void CouplingView::requestHeads() {
    // One observable is no pair (the hint asks for a second one).
    if (observableA().isEmpty() || observableB().isEmpty() || dataset().isEmpty() ||
        session_->observables().size() < 2)
        return;
    session_->computeCouplingHeads(QStringLiteral("coupling"), observableA(), observableB(), dataset());
}

void CouplingView::onHeads(const CouplingHeads& r) {
    if (r.a != observableA() || r.b != observableB() || r.dataset != dataset()) return; // an older choice
    headsResult_ = r;
    rebuildHeads();
}

void CouplingView::rebuildHeads() {
    QString missing;
    const QString a = observableA(), b = observableB();
    points_ = headsResult_ ? headsResult_->points : std::vector<HeadPoint>{};
    if (a.isEmpty() || b.isEmpty() || session_->observables().size() < 2)
        missing = missingInput(*session_, 2, tr("how their features couple head by head"));
    else if (!headsResult_)
        missing = tr("Computing C(%1→%2) and the attribution of both on %3…").arg(a, b, dataset());
    else if (points_.empty())
        missing = tr("No head has a finite attribution ratio.");
    figure_.drawHeads(points_, a, b, {threshold_->value() / 100, symlog_->isChecked()});
    PlotInteraction::of(plot_)->rememberRanges(headsRect_);
    hidden_->setText(hiddenText());
    setSelectedHead(selected_); // re-place the marker
    if (points_.empty() && !scatter_) {
        placeholder_->setText(missing);
        stack_->setCurrentWidget(placeholder_);
    } else {
        stack_->setCurrentWidget(plot_);
    }
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void CouplingView::setSelectedHead(HeadRef h) {
    const bool changed = !(h == selected_);
    selected_ = h;
    QVector<double> x, y;
    for (const auto& p : shownPoints())
        if (p.head == h) x << p.coupling, y << figure_.ratioCoord(p.ratio);
    selectedMarker_->setData(x, y);
    selectedInner_->setData(x, y);
    if (changed) {
        scatter_.reset();
        drawScatter();
        requestScatter();
    }
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void CouplingView::requestScatter() {
    if (!selected_.valid() || observableA().isEmpty() || observableB().isEmpty() || dataset().isEmpty() ||
        session_->observables().size() < 2)
        return;
    scatter_.reset();
    session_->computeCouplingScatter(QStringLiteral("coupling"), selected_, observableA(), observableB(),
                                     dataset());
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void CouplingView::onCoupling(const CouplingScatter& r) {
    if (!(r.head == selected_) || r.a != observableA() || r.b != observableB()) return;
    scatter_ = r;
    drawScatter();
    if (stack_->currentWidget() == placeholder_) stack_->setCurrentWidget(plot_);
}

void CouplingView::drawScatter() {
    figure_.drawTokens(scatter_ ? &*scatter_ : nullptr);
    PlotInteraction::of(plot_)->rememberRanges(tokensRect_);
    if (!scatter_) {
        info_->setText(selected_.valid() ? QString()
                                         : tr("Click a head in the left panel to see its token scores."));
        tokensHint_->setText(selected_.valid() ? tr("Waiting for the token scores of head %1…")
                                                     .arg(headName(selected_.layer, selected_.head))
                                               : tr("No head selected"));
        tokensHint_->setVisible(true);
        plot_->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const CouplingScatter& s = *scatter_;
    tokensHint_->setVisible(false);
    info_->setText(
        tr("Head %1, %2→%3 on %4 (%5 tokens): slope = %6, R² = %7, predicted C = %8, intercept = %9; "
           "band half-width at s₁ = 0: r·‖y_b − C·y_a‖ = %10 (r = %11)")
            .arg(headName(s.head.layer, s.head.head), s.a, s.b, dataset())
            .arg(s.s1.size())
            .arg(s.slope, 0, 'g', 4)
            .arg(s.r2, 0, 'g', 4)
            .arg(s.predicted, 0, 'g', 4)
            .arg(s.intercept, 0, 'g', 4)
            .arg(s.halfWidthAtZero, 0, 'g', 4)
            .arg(s.meanTokenNorm, 0, 'g', 4));
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

const CouplingView::HeadPoint* CouplingView::headNear(const QPoint& pixel) const {
    if (!headsRect_->rect().contains(pixel)) return nullptr;
    const QCPAxis* x = headsRect_->axis(QCPAxis::atBottom);
    const QCPAxis* y = headsRect_->axis(QCPAxis::atLeft);
    double best = 12.0 * 12.0; // within 12 px
    const HeadPoint* hit = nullptr;
    for (const auto& p : shownPoints()) {
        const double dx = x->coordToPixel(p.coupling) - pixel.x(),
                     dy = y->coordToPixel(figure_.ratioCoord(p.ratio)) - pixel.y();
        if (dx * dx + dy * dy < best) best = dx * dx + dy * dy, hit = &p;
    }
    return hit;
}

std::optional<PlotValue> CouplingView::valueAt(const QPoint& pixel) const {
    if (const HeadPoint* p = headNear(pixel))
        return PlotValue{tr("head %1\nC(%2→%3) = %4\nattribution %3 / %2 = %5\nattribution %2 = %6, %3 = %7")
                             .arg(headName(p->head.layer, p->head.head), observableA(), observableB())
                             .arg(p->coupling, 0, 'g', 6)
                             .arg(p->ratio, 0, 'g', 6)
                             .arg(p->attributionA, 0, 'g', 6)
                             .arg(p->attributionB, 0, 'g', 6),
                         QStringList{headName(p->head.layer, p->head.head), csvNumber(p->coupling),
                                     csvNumber(p->attributionA), csvNumber(p->attributionB),
                                     csvNumber(p->ratio)}
                             .join(QLatin1Char('\t'))};
    if (!scatter_ || !tokensRect_->rect().contains(pixel)) return std::nullopt;
    const QCPAxis* x = tokensRect_->axis(QCPAxis::atBottom);
    const QCPAxis* y = tokensRect_->axis(QCPAxis::atLeft);
    double best = 8.0 * 8.0; // the token points are small and many
    int hit = -1;
    for (std::size_t i = 0; i < scatter_->s1.size(); ++i) {
        const double dx = x->coordToPixel(scatter_->s1[i]) - pixel.x(),
                     dy = y->coordToPixel(scatter_->s2[i]) - pixel.y();
        if (dx * dx + dy * dy < best) best = dx * dx + dy * dy, hit = int(i);
    }
    if (hit < 0) return std::nullopt;
    const double s1 = scatter_->s1[size_t(hit)], s2 = scatter_->s2[size_t(hit)];
    return PlotValue{tr("token %1 of %2\ns₁ = y_%3·x = %4\ns₂ = y_%5·x = %6")
                         .arg(hit)
                         .arg(scatter_->dataset, scatter_->a)
                         .arg(s1, 0, 'g', 6)
                         .arg(scatter_->b)
                         .arg(s2, 0, 'g', 6),
                     csvNumber(s1) + QLatin1Char('\t') + csvNumber(s2)};
}

QString CouplingView::hiddenText() const {
    const auto hidden = points_.size() - shownPoints().size();
    if (points_.empty()) return {};
    return hidden == 0 ? tr("all %1 heads shown").arg(points_.size())
                       : tr("%1 of %2 heads hidden").arg(hidden).arg(points_.size());
}

void CouplingView::onMousePress(QMouseEvent* e) {
    const HeadPoint* hit = headNear(e->pos());
    if (!hit) return;
    const HeadRef h = hit->head;
    setSelectedHead(h);
    Q_EMIT headSelected(h);
}

QPoint CouplingView::headPosition(HeadRef h) const {
    for (const auto& p : shownPoints())
        if (p.head == h) {
            const QPoint inPlot(
                int(std::lround(headsRect_->axis(QCPAxis::atBottom)->coordToPixel(p.coupling))),
                int(std::lround(
                    headsRect_->axis(QCPAxis::atLeft)->coordToPixel(figure_.ratioCoord(p.ratio)))));
            return plot_->mapTo(this, inPlot);
        }
    return {-1, -1};
}

QString CouplingView::tableCsv() const {
    QString out = QStringLiteral("layer,head,coupling,attribution_a,attribution_b,ratio\n");
    for (const auto& p : points_)
        out += QStringLiteral("%1,%2,%3,%4,%5,%6\n")
                   .arg(p.head.layer)
                   .arg(p.head.head)
                   .arg(csvNumber(p.coupling), csvNumber(p.attributionA), csvNumber(p.attributionB),
                        csvNumber(p.ratio));
    return out;
}

QString CouplingView::scatterCsv() const {
    QString out = QStringLiteral("token,s1,s2\n");
    if (scatter_)
        for (std::size_t i = 0; i < scatter_->s1.size(); ++i)
            out += QStringLiteral("%1,%2,%3\n")
                       .arg(i)
                       .arg(csvNumber(scatter_->s1[i]), csvNumber(scatter_->s2[i]));
    return out;
}

bool CouplingView::exportFigure(const QString& file, int w, int h, double scale) const {
    return exportPlot(plot_, file, w, h, scale, tr("Coupling %1→%2").arg(observableA(), observableB()));
}

QString CouplingView::command() const {
    return session_->couplingCommand(observableA(), observableB(), dataset(), selected_);
}

} // namespace obsprop::ui
