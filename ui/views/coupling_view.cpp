#include "views/coupling_view.h"

#include <QComboBox>
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

const QColor kRed(200, 30, 40);

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
    for (auto* r : {headsRect_, tokensRect_})
        r->setRangeZoom(Qt::Horizontal | Qt::Vertical);
    plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    selectedMarker_ = plot_->addGraph(headsRect_->axis(QCPAxis::atBottom), headsRect_->axis(QCPAxis::atLeft));
    selectedMarker_->setLineStyle(QCPGraph::lsNone);
    selectedMarker_->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(kRed, 2), Qt::NoBrush, 14));
    selectedMarker_->removeFromLegend();
    tokensHint_ = hint(plot_, tokensRect_);

    connect(a_, &QComboBox::currentTextChanged, this, &CouplingView::onPairChanged);
    connect(b_, &QComboBox::currentTextChanged, this, &CouplingView::onPairChanged);
    connect(dataset_, &QComboBox::currentTextChanged, this, [this] {
        headsResult_.reset();
        rebuildHeads();
        requestHeads();
        requestScatter();
    });
    connect(compute_, &QPushButton::clicked, this, &CouplingView::requestHeads);
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
    figure_.drawHeads(points_, a, b);
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
    for (const auto& p : points_)
        if (p.head == h) x << p.coupling, y << p.ratio;
    selectedMarker_->setData(x, y);
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

void CouplingView::onMousePress(QMouseEvent* e) {
    if (!headsRect_->rect().contains(e->pos()) || points_.empty()) return;
    const QCPAxis* x = headsRect_->axis(QCPAxis::atBottom);
    const QCPAxis* y = headsRect_->axis(QCPAxis::atLeft);
    double best = 12.0 * 12.0; // pick within 12 px
    const HeadPoint* hit = nullptr;
    for (const auto& p : points_) {
        const double dx = x->coordToPixel(p.coupling) - e->pos().x(),
                     dy = y->coordToPixel(p.ratio) - e->pos().y();
        if (dx * dx + dy * dy < best) best = dx * dx + dy * dy, hit = &p;
    }
    if (!hit) return;
    const HeadRef h = hit->head;
    setSelectedHead(h);
    Q_EMIT headSelected(h);
}

QPoint CouplingView::headPosition(HeadRef h) const {
    for (const auto& p : points_)
        if (p.head == h) {
            const QPoint inPlot(
                int(std::lround(headsRect_->axis(QCPAxis::atBottom)->coordToPixel(p.coupling))),
                int(std::lround(headsRect_->axis(QCPAxis::atLeft)->coordToPixel(p.ratio))));
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
