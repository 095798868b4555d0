#include "views/svd_view.h"

#include "models/svd_table_model.h"

#include <QAbstractTableModel>
#include <QComboBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStackedWidget>
#include <QSvgGenerator>
#include <QTableView>
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

SvdView::SvdView(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* lay = new QVBoxLayout(this);
    auto* bar = new QHBoxLayout;
    title_ = new QLabel(this);
    bar->addWidget(title_, 1);
    lay->addLayout(bar);
    lnCheck_ = new QLabel(this);
    lnCheck_->setWordWrap(true);
    lnCheck_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    lay->addWidget(lnCheck_);

    stack_ = new QStackedWidget(this);
    placeholder_ = makeEmptyHint(this);
    stack_->addWidget(placeholder_);
    auto* split = new QSplitter(Qt::Vertical, this);
    stack_->addWidget(split);
    lay->addWidget(stack_, 1);

    model_ = new SvdTableModel(this);
    table_ = new QTableView(split);
    proxy_ = showSorted(table_, model_, 1, Qt::DescendingOrder);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);

    plot_ = new QCustomPlot(split);
    plot_->setMinimumSize(320, 220);
    figure_ = figures::SvdFigure::build(plot_);
    plot_->xAxis->setLabel(tr("right singular vector v_i (by σ, descending)"));
    auto* interaction = new PlotInteraction(plot_, [this](const QPoint& pixel) -> std::optional<PlotValue> {
        const auto [bars, i] = barAt(plot_, pixel);
        if (!bars) return std::nullopt;
        return PlotValue{toolTipAt(pixel), csvNumber(bars->data()->at(i)->value)};
    });
    interaction->setZoomable({plot_->axisRect()});
    split->addWidget(withResultTools(table_, proxy_));
    split->addWidget(plot_);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 2);

    connect(session_, &Session::workspaceOpened, this, [this] { head_ = {}; }); // recipeChanged follows
    connect(session_, &Session::recipeChanged, this, &SvdView::refreshChoices);
    connect(session_, &Session::headDetailReady, this, [this](const SvdResults& r) {
        if (r.head == head_) display(r);
    });
    connect(session_, &Session::jobFailed, this, [this](const QString& channel, const QString& msg) {
        if (channel.endsWith(QLatin1String("/svd")) && !results_) placeholder_->setText(msg);
    });
    refreshChoices();
}

QAbstractItemModel* SvdView::model() const {
    return model_;
}

void SvdView::refreshChoices() {
    request(); // the observables may have changed
}

void SvdView::setSelectedHead(HeadRef h) {
    if (h == head_) return;
    head_ = h;
    request();
}

void SvdView::request() {
    results_.reset();
    model_->clear();
    if (!head_.valid()) {
        title_->setText(tr("No head selected"));
        placeholder_->setText(
            session_->isOpen()
                ? tr("Select a head (in the Heads view, or with Alt+Right) to see how its OV circuit's "
                     "singular "
                     "vectors align with the features.")
                : missingInput(*session_, 0, tr("the singular vectors of a head's OV circuit")));
        stack_->setCurrentWidget(placeholder_);
        lnCheck_->clear();
        return;
    }
    title_->setText(tr("<b>Head %1</b>: SVD of W_OV").arg(headName(head_.layer, head_.head)));
    placeholder_->setText(tr("Computing the SVD of head %1…").arg(headName(head_.layer, head_.head)));
    stack_->setCurrentWidget(placeholder_);
    lnCheck_->clear();
    session_->computeHeadDetail(QStringLiteral("svd"), head_);
}

void SvdView::display(const SvdResults& r) {
    results_ = r;
    model_->setResults(r);
    table_->sortByColumn(table_->horizontalHeader()->sortIndicatorSection(),
                         table_->horizontalHeader()->sortIndicatorOrder());

    figure_.draw(r, kBarVectors);
    PlotInteraction::of(plot_)->rememberRanges();
    lnCheck_->setText(layerNormText());
    stack_->setCurrentIndex(1);
}

QString SvdView::toolTipAt(const QPoint& pixel) const {
    const auto [bars, i] = barAt(plot_, pixel);
    if (!bars || !results_) return {};
    const int o = static_cast<int>(results_->observables.indexOf(bars->name())); // a series per observable
    const int v = static_cast<int>(std::lround(bars->data()->at(i)->key));
    if (o < 0 || o >= int(results_->absCosine.size()) || v < 0 || v >= int(results_->sigma.size())) return {};
    return tr("%1\nsingular vector v_%2 (σ = %3)\n|cos(y, v_%2)| = %4")
        .arg(results_->observables.value(o))
        .arg(v)
        .arg(results_->sigma[size_t(v)], 0, 'g', 6)
        .arg(results_->absCosine[size_t(o)][size_t(v)], 0, 'g', 6);
}

QString SvdView::layerNormText() const {
    if (!results_) return {};
    const SvdResults& r = *results_;
    if (r.layerNormCheck.empty())
        return tr("LayerNorm check: needs a dataset (random directions: cos ≈ %1).")
            .arg(r.expectedLayerNormCosine, 0, 'f', 4);
    QStringList parts;
    for (std::size_t i = 0; i < r.layerNormCheck.size(); ++i)
        parts << tr("%1 %2 (min %3 over %4 tokens of %5)")
                     .arg(r.observables.value(static_cast<int>(i)))
                     .arg(r.layerNormCheck[i], 0, 'f', 4)
                     .arg(r.layerNormCheckMin.size() > i ? r.layerNormCheckMin[i] : 0.0, 0, 'f', 4)
                     .arg(r.layerNormTokens.size() > i ? r.layerNormTokens[i] : 0)
                     .arg(r.layerNormDatasets.value(static_cast<int>(i)));
    return tr("LayerNorm check, cos(exact, approximate LN feature) at each token: %1 — random directions: %2")
        .arg(parts.join(QStringLiteral(", ")))
        .arg(r.expectedLayerNormCosine, 0, 'f', 4);
}

QString SvdView::tableCsv() const {
    QStringList head;
    for (int c = 0; c < model_->columnCount(); ++c)
        head << model_->csvHeader(c);
    QString out = head.join(QLatin1Char(',')) + QLatin1Char('\n');
    for (int row = 0; row < proxy_->rowCount(); ++row) {
        const int src = proxy_->mapToSource(proxy_->index(row, 0)).row();
        QStringList cells;
        for (int c = 0; c < model_->columnCount(); ++c)
            cells << (c == 0 ? QString::number(src) : QString::number(model_->value(src, c), 'g', 17));
        out += cells.join(QLatin1Char(',')) + QLatin1Char('\n');
    }
    return out;
}

bool SvdView::exportFigure(const QString& file, int w, int h, double scale) const {
    return exportPlot(plot_, file, w, h, scale, tr("SVD alignment"));
}

QString SvdView::command() const {
    return session_->headDetailCommand(head_);
}

} // namespace obsprop::ui
