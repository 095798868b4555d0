#include "svd_view.h"

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

#include "csv.h"
#include "plot_export.h"
#include "qcp.h"
#include "session.h"

namespace obsprop::ui {

// One row per singular index: i, σ_i, then |cos(y_obs, v_i)| per observable. Qt::UserRole holds the
// raw number (the proxy sorts by it); the display is rounded.
class SvdTableModel : public QAbstractTableModel {
  public:
    using QAbstractTableModel::QAbstractTableModel;

    void setResults(const SvdResults& r) {
        beginResetModel();
        r_ = r;
        endResetModel();
    }
    void clear() {
        beginResetModel();
        r_ = SvdResults{};
        endResetModel();
    }
    int rowCount(const QModelIndex& parent = {}) const override {
        return parent.isValid() ? 0 : static_cast<int>(r_.sigma.size());
    }
    int columnCount(const QModelIndex& parent = {}) const override {
        return parent.isValid() ? 0 : 2 + static_cast<int>(r_.absCosine.size());
    }
    double value(int row, int col) const {
        const auto i = static_cast<std::size_t>(row);
        if (col == 0) return row;
        if (col == 1) return r_.sigma[i];
        const auto& c = r_.absCosine[static_cast<std::size_t>(col - 2)];
        return i < c.size() ? c[i] : qQNaN();
    }
    QVariant data(const QModelIndex& idx, int role) const override {
        if (!checkIndex(idx, CheckIndexOption::IndexIsValid)) return {};
        const double v = value(idx.row(), idx.column());
        if (role == Qt::UserRole) return v;
        if (role == Qt::TextAlignmentRole) return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        if (role == Qt::DisplayRole)
            return idx.column() == 0 ? QString::number(idx.row())
                                     : QString::number(v, idx.column() == 1 ? 'g' : 'f', 4);
        return {};
    }
    QVariant headerData(int section, Qt::Orientation o, int role) const override {
        if (o != Qt::Horizontal || role != Qt::DisplayRole || section < 0 || section >= columnCount())
            return {};
        if (section == 0) return QStringLiteral("i");
        if (section == 1) return QStringLiteral("σ");
        return QStringLiteral("|cos| %1").arg(r_.observables.value(section - 2));
    }
    QString csvHeader(int section) const {
        if (section == 0) return QStringLiteral("index");
        if (section == 1) return QStringLiteral("sigma");
        return QStringLiteral("abs_cos_%1").arg(r_.observables.value(section - 2));
    }

  private:
    SvdResults r_;
};

namespace {

QColor seriesColour(int i) {
    static const QColor colours[] = {{31, 119, 180}, {230, 110, 0},  {30, 140, 30},
                                     {200, 30, 40},  {140, 90, 180}, {120, 80, 60}};
    return colours[i % 6];
}

} // namespace

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
    placeholder_ = new QLabel(
        tr("Select a head to see how its OV circuit's singular vectors align with the features."), this);
    placeholder_->setAlignment(Qt::AlignCenter);
    placeholder_->setWordWrap(true);
    stack_->addWidget(placeholder_);
    auto* split = new QSplitter(Qt::Vertical, this);
    stack_->addWidget(split);
    lay->addWidget(stack_, 1);

    model_ = new SvdTableModel(this);
    proxy_ = new QSortFilterProxyModel(this);
    proxy_->setSourceModel(model_);
    proxy_->setSortRole(Qt::UserRole);
    table_ = new QTableView(split);
    table_->setModel(proxy_);
    table_->setSortingEnabled(true);
    table_->sortByColumn(1, Qt::DescendingOrder);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setAlternatingRowColors(true);

    plot_ = new QCustomPlot(split);
    plot_->setMinimumSize(320, 220);
    plot_->plotLayout()->insertRow(0);
    plot_->plotLayout()->addElement(
        0, 0, new QCPTextElement(plot_, QString(), QFont(font().family(), 10, QFont::Bold)));
    plot_->xAxis->setLabel(tr("right singular vector v_i (by σ, descending)"));
    plot_->yAxis->setLabel(tr("|cos(y, v_i)|"));
    plot_->yAxis->setRange(0, 1.05);
    plot_->xAxis->grid()->setVisible(false);
    // The legend in a row of its own below the bars, so it never hides one.
    plot_->axisRect()->insetLayout()->take(plot_->legend);
    plot_->plotLayout()->addElement(2, 0, plot_->legend);
    plot_->plotLayout()->setRowStretchFactor(2, 0.001);
    plot_->legend->setFillOrder(QCPLegend::foColumnsFirst);
    plot_->legend->setBorderPen(Qt::NoPen);
    plot_->legend->setVisible(true);
    group_ = new QCPBarsGroup(plot_);
    group_->setSpacing(1);
    split->addWidget(table_);
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
            tr("Select a head to see how its OV circuit's singular vectors align with the features."));
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

    plot_->clearPlottables();
    const int n = std::min<int>(kBarVectors, static_cast<int>(r.sigma.size()));
    const int k = static_cast<int>(r.absCosine.size());
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (int i = 0; i < n; ++i)
        ticker->addTick(i, QString::number(i));
    plot_->xAxis->setTicker(ticker);
    for (int o = 0; o < k; ++o) {
        auto* bars = new QCPBars(plot_->xAxis, plot_->yAxis);
        bars->setName(r.observables.value(o));
        bars->setWidth(0.8 / std::max(1, k));
        bars->setPen(Qt::NoPen);
        bars->setBrush(seriesColour(o));
        bars->setBarsGroup(group_);
        QVector<double> keys, values;
        for (int i = 0; i < n && i < static_cast<int>(r.absCosine[o].size()); ++i)
            keys << i, values << r.absCosine[o][i];
        bars->setData(keys, values);
    }
    plot_->xAxis->setRange(-0.6, std::max(1, n) - 0.4);
    if (auto* t = qobject_cast<QCPTextElement*>(plot_->plotLayout()->element(0, 0)))
        t->setText(tr("Head %1: |cos| with the top %2 singular vectors")
                       .arg(headName(r.head.layer, r.head.head))
                       .arg(n));
    plot_->replot(QCustomPlot::rpQueuedReplot);
    lnCheck_->setText(layerNormText());
    stack_->setCurrentIndex(1);
}

QString SvdView::layerNormText() const {
    if (!results_) return {};
    const SvdResults& r = *results_;
    if (r.layerNormCheck.empty())
        return tr("LayerNorm check: needs a dataset (theorem: cos ≈ %1).")
            .arg(r.expectedLayerNormCosine, 0, 'f', 4);
    QStringList parts;
    for (std::size_t i = 0; i < r.layerNormCheck.size(); ++i)
        parts << QStringLiteral("%1 %2 (on %3)")
                     .arg(r.observables.value(static_cast<int>(i)))
                     .arg(r.layerNormCheck[i], 0, 'f', 4)
                     .arg(r.layerNormDatasets.value(static_cast<int>(i)));
    return tr("LayerNorm check, cos(exact, approximate LN feature): %1 — theorem √(1 − 1/(d−1)) = %2")
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

} // namespace obsprop::ui
