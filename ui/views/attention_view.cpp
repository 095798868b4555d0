#include "views/attention_view.h"

#include "models/attention_table_model.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMouseEvent>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>

#include "figures/attention_figure.h"
#include "figures/plot_export.h"
#include "figures/qcp.h"
#include "results/csv.h"
#include "results/token_text.h"
#include "session/session.h"
#include "views/choices.h"
#include "views/plot_interaction.h"
#include "views/result_table.h"

namespace obsprop::ui {

namespace {

QString quoted(const QString& token) {
    return QStringLiteral("“%1”").arg(visibleToken(token));
}

} // namespace

AttentionView::AttentionView(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* lay = new QVBoxLayout(this);
    auto* bar = new QHBoxLayout;
    observable_ = new QComboBox(this);
    observable_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    observable_->setToolTip(tr("The observable whose contributions the bars and the table show"));
    dataset_ = new QComboBox(this);
    dataset_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    prompt_ = new QComboBox(this);
    prompt_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    prompt_->setMinimumContentsLength(48);
    prompt_->setToolTip(tr("The prompt the head reads (selecting a row in the Prompts view chooses it too)"));
    bar->addWidget(new QLabel(tr("Observable:"), this));
    bar->addWidget(observable_);
    bar->addWidget(new QLabel(tr("Dataset:"), this));
    bar->addWidget(dataset_);
    bar->addWidget(new QLabel(tr("Prompt:"), this));
    bar->addWidget(prompt_, 1);
    lay->addLayout(bar);
    status_ = new QLabel(this);
    status_->setWordWrap(true);
    lay->addWidget(status_);

    stack_ = new QStackedWidget(this);
    placeholder_ = new QLabel(this);
    placeholder_->setAlignment(Qt::AlignCenter);
    placeholder_->setWordWrap(true);
    stack_->addWidget(placeholder_);
    auto* split = new QSplitter(Qt::Horizontal, this);
    stack_->addWidget(split);
    lay->addWidget(stack_, 1);

    plot_ = new QCustomPlot(split);
    plot_->setMinimumSize(360, 320);
    plot_->setMouseTracking(true);
    figure_ = figures::AttentionFigure::build(plot_);
    auto* side = new QWidget(split);
    side->setMinimumWidth(300);
    auto* sideLay = new QVBoxLayout(side);
    sideLay->setContentsMargins(0, 0, 0, 0);
    model_ = new AttentionTableModel(this);
    table_ = new QTableView(side);
    proxy_ = showSorted(table_, model_, AttentionTableModel::Position, Qt::AscendingOrder);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setSectionResizeMode(AttentionTableModel::Token, QHeaderView::Stretch);
    total_ = new QLabel(side);
    total_->setWordWrap(true);
    total_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    sideLay->addWidget(withResultTools(table_, proxy_), 1);
    sideLay->addWidget(total_);
    split->addWidget(plot_);
    split->addWidget(side);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 0);
    split->setSizes({900, 380}); // the table wide enough for whole tokens

    auto chosen = [this] {
        touched_ = true; // a choice of the user's: saved with the project's view state
        request();
    };
    connect(observable_, &QComboBox::currentIndexChanged, this, chosen);
    connect(prompt_, &QComboBox::currentIndexChanged, this, chosen);
    connect(dataset_, &QComboBox::currentIndexChanged, this, [this, chosen] {
        refillPrompts();
        chosen();
    });
    // Hover values, the context menu, and zoom for long prompts: the contributions' key axis follows the
    // pattern's, so each bar stays under its column.
    auto* interaction = new PlotInteraction(plot_, [this](const QPoint& pixel) -> std::optional<PlotValue> {
        const QString text = toolTipAt(pixel);
        if (text.isEmpty() || !results_) return std::nullopt;
        const AttentionResults& r = *results_;
        const int T = static_cast<int>(r.tokens.size());
        if (const auto [q, k] = figure_.cellAt(pixel, T); q >= 0)
            return PlotValue{text, k > q ? QString() : csvNumber(r.pattern[size_t(q)][size_t(k)])};
        const int k = figure_.keyAt(pixel, T);
        return PlotValue{text, k >= 0 ? csvNumber(r.contribution[size_t(k)]) : QString()};
    });
    interaction->setZoomable({figure_.patternRect, figure_.barsRect});
    QCPAxis* patternKeys = figure_.patternRect->axis(QCPAxis::atBottom);
    QCPAxis* barKeys = figure_.barsRect->axis(QCPAxis::atBottom);
    connect(patternKeys, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), barKeys,
            [barKeys](const QCPRange& r) {
                if (barKeys->range() != r) barKeys->setRange(r);
            });
    connect(barKeys, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), patternKeys,
            [patternKeys](const QCPRange& r) {
                if (patternKeys->range() != r) patternKeys->setRange(r);
            });
    connect(session_, &Session::workspaceOpened, this, [this] { // recipeChanged follows
        head_ = {};
        touched_ = false;
        for (QComboBox* c : {observable_, dataset_, prompt_}) { // a new project starts from its defaults
            QSignalBlocker block(c);
            c->clear();
        }
        refreshChoices(); // the project's view state is restored into these next
    });
    connect(session_, &Session::recipeChanged, this, [this] {
        refreshChoices();
        request(); // the numbers of the old recipe go at once
    });
    connect(session_, &Session::attentionReady, this, [this](const AttentionResults& r) {
        if (r.head == head_ && r.observable == observable() && r.dataset == dataset() && r.prompt == prompt())
            display(r);
    });
    connect(session_, &Session::jobFailed, this, [this](const QString& channel, const QString& message) {
        if (channel == QLatin1String("attention/attention") && !results_) showPlaceholder(message);
    });
    refreshChoices();
    request();
}

QString AttentionView::observable() const {
    return observable_->currentText();
}
QString AttentionView::dataset() const {
    return dataset_->currentText();
}
int AttentionView::prompt() const {
    return prompt_->currentIndex();
}
QString AttentionView::placeholderText() const {
    return stack_->currentWidget() == placeholder_ ? placeholder_->text() : QString();
}
QString AttentionView::totalText() const {
    return total_->text();
}

void AttentionView::refreshChoices() {
    QStringList names;
    for (const auto& o : session_->observables())
        names << o.first;
    refill(observable_, names, names.value(0));
    refill(dataset_, session_->datasetNames(), session_->defaultDataset());
    refillPrompts();
}

void AttentionView::refillPrompts() {
    const int keep = prompt();
    QSignalBlocker block(prompt_);
    prompt_->clear();
    const QStringList texts = session_->promptTexts(dataset());
    for (int i = 0; i < texts.size(); ++i)
        prompt_->addItem(QStringLiteral("%1: %2").arg(i).arg(texts[i]));
    prompt_->setCurrentIndex(keep >= 0 && keep < texts.size() ? keep : (texts.isEmpty() ? -1 : 0));
}

void AttentionView::setSelectedHead(HeadRef h) {
    if (h == head_) return;
    head_ = h;
    request();
}

void AttentionView::showPrompt(const QString& dataset, int prompt) {
    const int d = dataset_->findText(dataset);
    if (d < 0 || prompt < 0 || prompt >= session_->promptTexts(dataset).size()) return;
    if (d == dataset_->currentIndex() && prompt == this->prompt()) return;
    {
        QSignalBlocker a(dataset_), b(prompt_);
        dataset_->setCurrentIndex(d);
        refillPrompts();
        prompt_->setCurrentIndex(prompt);
    }
    touched_ = true;
    request();
}

void AttentionView::showPlaceholder(const QString& text) {
    placeholder_->setText(text);
    stack_->setCurrentWidget(placeholder_);
}

void AttentionView::request() {
    results_.reset();
    model_->clear();
    figure_.clear();
    total_->clear();
    status_->clear();
    if (!session_->isOpen())
        return showPlaceholder(tr("Open a model or a project to see a head's attention on a prompt."));
    if (observable().isEmpty())
        return showPlaceholder(tr("Add an observable in the project panel (for example subj = \" she\" - "
                                  "\" he\") to see what each token sends through a head."));
    if (!head_.valid())
        return showPlaceholder(tr("Select a head to see its attention pattern: click a cell in the Heads "
                                  "view, or step through the heads with Ctrl+J / Ctrl+K."));
    if (prompt() < 0) return showPlaceholder(tr("The dataset %1 has no prompts.").arg(dataset()));
    showPlaceholder(tr("Computing the attention of head %1 on prompt %2 of %3…")
                        .arg(headName(head_.layer, head_.head))
                        .arg(prompt())
                        .arg(dataset()));
    session_->computeAttention(QStringLiteral("attention"), head_, observable(), dataset(), prompt());
}

void AttentionView::display(const AttentionResults& r) {
    results_ = r;
    model_->setResults(r);
    figure_.draw(r);
    PlotInteraction::of(plot_)->rememberRanges();
    const QString last = r.tokens.value(r.query);
    status_->setText(
        tr("Rows: the token attending (query); columns: the token attended to (key). The outlined "
           "row is the last token %1, where each bar below is its attention to a token × the "
           "head's %2 feature · that token's residual after the head's input norm.")
            .arg(quoted(last), r.observable));
    total_->setText(tr("Total through head %1 at the last token: <b>%2</b> (the sum of the contributions; "
                       "the head's value bias is not included).")
                        .arg(headName(r.head.layer, r.head.head))
                        .arg(r.total, 0, 'g', 6));
    stack_->setCurrentIndex(1);
}

QString AttentionView::toolTipAt(const QPoint& pixel) const {
    if (!results_) return {};
    const AttentionResults& r = *results_;
    const int T = static_cast<int>(r.tokens.size());
    if (const auto [q, k] = figure_.cellAt(pixel, T); q >= 0) {
        if (k > q)
            return tr("query %1 %2 cannot see key %3 %4: a token attends only to itself and earlier tokens")
                .arg(q)
                .arg(quoted(r.tokens[q]))
                .arg(k)
                .arg(quoted(r.tokens[k]));
        return tr("query %1 %2\nkey %3 %4\nattention %5")
            .arg(q)
            .arg(quoted(r.tokens[q]))
            .arg(k)
            .arg(quoted(r.tokens[k]))
            .arg(r.pattern[static_cast<std::size_t>(q)][static_cast<std::size_t>(k)], 0, 'g', 6);
    }
    if (const int k = figure_.keyAt(pixel, T); k >= 0)
        return tr("key %1 %2\ncontribution to %3 at the last token: %4\nattention from the last token: %5")
            .arg(k)
            .arg(quoted(r.tokens[k]))
            .arg(r.observable)
            .arg(r.contribution[static_cast<std::size_t>(k)], 0, 'g', 6)
            .arg(r.pattern[static_cast<std::size_t>(r.query)][static_cast<std::size_t>(k)], 0, 'g', 6);
    return {};
}

QString AttentionView::tableCsv() const {
    QString out = QStringLiteral("position,token,attention,contribution_%1\n")
                      .arg(csvField(results_ ? results_->observable : observable()));
    if (!results_) return out;
    for (int row = 0; row < proxy_->rowCount(); ++row) {
        const int k = proxy_->mapToSource(proxy_->index(row, 0)).row();
        out += QStringList{QString::number(k), csvField(results_->tokens.value(k)),
                           csvNumber(model_->value(k, AttentionTableModel::Attention)),
                           csvNumber(model_->value(k, AttentionTableModel::Contribution))}
                   .join(QLatin1Char(',')) +
               QLatin1Char('\n');
    }
    return out;
}

QString AttentionView::command() const {
    return session_->attentionCommand(head_, observable(), dataset(), prompt());
}

bool AttentionView::exportFigure(const QString& file, int w, int h, double scale) const {
    return exportPlot(plot_, file, w, h, scale,
                      tr("Attention of head %1").arg(headName(head_.layer, head_.head)));
}

QJsonObject AttentionView::state() const {
    return {{QStringLiteral("observable"), observable()},
            {QStringLiteral("dataset"), dataset()},
            {QStringLiteral("prompt"), prompt()}};
}

void AttentionView::restoreState(const QJsonObject& s) {
    {
        QSignalBlocker a(observable_), b(dataset_);
        if (const int i = observable_->findText(s[QStringLiteral("observable")].toString()); i >= 0)
            observable_->setCurrentIndex(i);
        if (const int i = dataset_->findText(s[QStringLiteral("dataset")].toString()); i >= 0)
            dataset_->setCurrentIndex(i);
    }
    refillPrompts();
    if (const int p = s[QStringLiteral("prompt")].toInt(-1); p >= 0 && p < prompt_->count()) {
        QSignalBlocker block(prompt_);
        prompt_->setCurrentIndex(p);
    }
    touched_ = true;
    request();
}

} // namespace obsprop::ui
