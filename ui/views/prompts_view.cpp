#include "views/prompts_view.h"

#include "models/prompt_table_model.h"

#include <QAbstractTableModel>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>

#include "results/csv.h"
#include "session/session.h"
#include "views/empty_state.h"
#include "views/result_table.h"

namespace obsprop::ui {

PromptsView::PromptsView(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* lay = new QVBoxLayout(this);
    auto* bar = new QHBoxLayout;
    dataset_ = new QComboBox(this);
    dataset_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    edit_ = new QPushButton(tr("Edit dataset…"), this);
    bar->addWidget(new QLabel(tr("Dataset:"), this));
    bar->addWidget(dataset_);
    bar->addWidget(edit_);
    bar->addStretch(1);
    lay->addLayout(bar);
    status_ = new QLabel(this);
    status_->setWordWrap(true);
    lay->addWidget(status_);

    stack_ = new QStackedWidget(this);
    placeholder_ = makeEmptyHint(this);
    model_ = new PromptTableModel(this);
    auto* proxy = new QSortFilterProxyModel(this);
    proxy->setSourceModel(model_);
    proxy->setSortRole(Qt::UserRole);
    table_ = new QTableView(this);
    table_->setModel(proxy);
    table_->setSortingEnabled(true);
    table_->sortByColumn(-1, Qt::AscendingOrder); // dataset order until the user sorts
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    table_->setAlternatingRowColors(true);
    table_->setWordWrap(false);
    stack_->addWidget(placeholder_);
    stack_->addWidget(withResultTools(table_, proxy));
    lay->addWidget(stack_, 1);

    // The selected prompt's tokens: pick one to steer or attribute there.
    auto* tokenBar = new QHBoxLayout;
    tokens_ = new QListWidget(this);
    tokens_->setObjectName(QStringLiteral("promptTokens"));
    tokens_->setFlow(QListView::LeftToRight);
    tokens_->setWrapping(true);
    tokens_->setResizeMode(QListView::Adjust);
    tokens_->setSpacing(2);
    tokens_->setSelectionMode(QAbstractItemView::SingleSelection);
    tokens_->setMaximumHeight(4 * tokens_->fontMetrics().height() + 12);
    tokens_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    tokens_->setToolTip(tr("The selected prompt's tokens (select a row above); the name slot is bold"));
    steerHere_ = new QPushButton(tr("Steer at This Token"), this);
    steerHere_->setToolTip(tr("New steering vectors are added at this token of every prompt"));
    attributeHere_ = new QPushButton(tr("Attribute at This Token"), this);
    attributeHere_->setToolTip(tr("The Heads view attributes the prediction at this token of every prompt"));
    auto* buttons = new QVBoxLayout;
    buttons->addWidget(steerHere_);
    buttons->addWidget(attributeHere_);
    buttons->addStretch(1);
    tokenBar->addWidget(tokens_, 1);
    tokenBar->addLayout(buttons);
    lay->addLayout(tokenBar);
    showTokens(nullptr);
    connect(tokens_, &QListWidget::itemSelectionChanged, this, [this] {
        const bool picked = !pickedPosition().isEmpty();
        steerHere_->setEnabled(picked);
        attributeHere_->setEnabled(picked);
    });
    connect(steerHere_, &QPushButton::clicked, this, [this] {
        if (const QString p = pickedPosition(); !p.isEmpty()) Q_EMIT steerAtToken(p);
    });
    connect(attributeHere_, &QPushButton::clicked, this, [this] {
        if (const QString p = pickedPosition(); !p.isEmpty()) Q_EMIT attributeAtToken(p);
    });

    connect(dataset_, &QComboBox::currentTextChanged, this, &PromptsView::request);
    connect(edit_, &QPushButton::clicked, this, &PromptsView::editDataset);
    // A row the user selects (a click, the keyboard): the view setting its current row by itself after new
    // values arrive selects nothing, so other views keep their prompt.
    connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            [this, proxy](const QItemSelection& selected) {
                if (selected.indexes().isEmpty() || !results_) return;
                const int row = proxy->mapToSource(selected.indexes().first()).row();
                if (row < 0 || row >= int(results_->rows.size())) return;
                const PromptRow& p = results_->rows[std::size_t(row)];
                showTokens(&p);
                Q_EMIT promptSelected(p.dataset, p.index);
            });
    connect(session_, &Session::recipeChanged, this, [this] {
        // Values of the old recipe are dropped at once (never shown under a redefined name), then recomputed.
        results_.reset();
        model_->setResults({});
        showTokens(nullptr);
        refreshChoices();
        request();
    });
    connect(session_, &Session::promptsReady, this, [this](const PromptResults& r) {
        if (!r.rows.empty() && r.rows.front().dataset != dataset()) return;
        results_ = r;
        model_->setResults(r);
        // Every column as wide as its contents but the text, which takes the room that is left (elided when
        // there is too little: the tooltip has it whole) so the observables' columns stay in view; the tokens
        // are capped.
        auto* header = table_->horizontalHeader();
        header->setSectionResizeMode(QHeaderView::Interactive);
        table_->resizeColumnsToContents();
        table_->setColumnWidth(PromptTableModel::Tokens,
                               std::min(table_->columnWidth(PromptTableModel::Tokens), 220));
        header->setSectionResizeMode(PromptTableModel::Text, QHeaderView::Stretch);
        status_->setText(
            r.observables.isEmpty()
                ? tr("%1 prompts. Add an observable to see its value at the last token.").arg(r.rows.size())
                : tr("%1 prompts; values are n·z at the last token.").arg(r.rows.size()));
        stack_->setCurrentIndex(1); // the table with its filter
    });
    connect(session_, &Session::jobFailed, this, [this](const QString& channel, const QString& msg) {
        if (channel.endsWith(QLatin1String("/prompts"))) status_->setText(msg);
    });
    refreshChoices();
    request();
}

void PromptsView::showTokens(const PromptRow* row) {
    tokens_->clear();
    tokenRowLength_ = row ? static_cast<int>(row->tokens.size()) : 0;
    tokenRowSlot_ = row ? row->namePosition : -1;
    if (row)
        for (int k = 0; k < tokenRowLength_; ++k) {
            QString text = row->tokens[k];
            text.replace(QLatin1Char(' '), QChar(0x2423)); // ␣: a token's leading space stays visible
            auto* item = new QListWidgetItem(QStringLiteral("%1·%2").arg(k).arg(text), tokens_);
            item->setData(Qt::UserRole, k);
            if (k == tokenRowSlot_) {
                QFont f = item->font();
                f.setBold(true);
                item->setFont(f);
                item->setToolTip(tr("token %1: the name slot").arg(k));
            } else {
                item->setToolTip(tr("token %1").arg(k));
            }
        }
    steerHere_->setEnabled(false);
    attributeHere_->setEnabled(false);
}

QString PromptsView::pickedPosition() const {
    const auto items = tokens_->selectedItems();
    if (items.isEmpty()) return {};
    const int k = items.first()->data(Qt::UserRole).toInt();
    if (k == tokenRowSlot_) return QStringLiteral("name");
    if (k == tokenRowLength_ - 1) return QStringLiteral("last");
    return QString::number(k);
}

QAbstractItemModel* PromptsView::model() const {
    return model_;
}
QString PromptsView::dataset() const {
    return dataset_->currentText();
}

void PromptsView::refreshChoices() {
    const QString keep = dataset_->currentText();
    QSignalBlocker block(dataset_);
    dataset_->clear();
    dataset_->addItems(session_->datasetNames());
    dataset_->setCurrentIndex(std::max(0, dataset_->findText(keep)));
    edit_->setEnabled(dataset_->count() > 0);
}

void PromptsView::request() {
    if (dataset().isEmpty()) {
        placeholder_->setText(missingInput(*session_, 0, tr("the prompts of its datasets")));
        stack_->setCurrentWidget(placeholder_);
        return;
    }
    if (!results_) {
        placeholder_->setText(tr("Tokenising and running the prompts of %1…").arg(dataset()));
        stack_->setCurrentWidget(placeholder_);
    }
    status_->setText(tr("Computing the prompts of %1…").arg(dataset()));
    session_->computePrompts(QStringLiteral("prompts"), dataset());
}

QDialog* PromptsView::editDataset() {
    const QString name = dataset();
    if (name.isEmpty()) return nullptr;
    auto* dlg = new QDialog(this);
    dlg->setAttribute(Qt::WA_DeleteOnClose);
    dlg->setWindowTitle(tr("Edit dataset %1").arg(name));
    auto* lay = new QVBoxLayout(dlg);
    lay->addWidget(new QLabel(tr("One line per entry: <tt>template: …[NAME]…</tt>, <tt>female: A, B</tt>, "
                                 "<tt>male: C, D</tt>."),
                              dlg));
    auto* text = new QPlainTextEdit(session_->datasetText(name), dlg);
    text->setObjectName(QStringLiteral("datasetText"));
    text->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    text->setLineWrapMode(QPlainTextEdit::NoWrap);
    lay->addWidget(text, 1);
    auto* error = new QLabel(dlg);
    error->setObjectName(QStringLiteral("error"));
    error->setStyleSheet(QStringLiteral("color: #b2182b"));
    error->setWordWrap(true);
    error->hide();
    lay->addWidget(error);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, dlg);
    lay->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::rejected, dlg, &QDialog::reject);
    connect(buttons, &QDialogButtonBox::accepted, dlg, [this, dlg, text, error, name] {
        const QString err = session_->setDatasetText(name, text->toPlainText());
        if (!err.isEmpty()) { // keep the dialog and the user's text; say what is wrong
            error->setText(err);
            error->show();
            return;
        }
        dlg->accept();
    });
    dlg->resize(620, 320);
    dlg->open();
    return dlg;
}

QString PromptsView::tableCsv() const {
    QStringList head;
    for (int c = 0; c < model_->columnCount(); ++c)
        head << csvField(c == PromptTableModel::NamePosition ? QStringLiteral("name_position")
                                                             : model_->columnName(c));
    QString out = head.join(QLatin1Char(',')) + QLatin1Char('\n');
    auto* proxy = table_->model();
    for (int r = 0; r < proxy->rowCount(); ++r) {
        const int src = static_cast<QSortFilterProxyModel*>(proxy)->mapToSource(proxy->index(r, 0)).row();
        QStringList cells;
        for (int c = 0; c < model_->columnCount(); ++c)
            cells << csvField(model_->text(src, c));
        out += cells.join(QLatin1Char(',')) + QLatin1Char('\n');
    }
    return out;
}

QString PromptsView::command() const {
    return session_->datasetCommand(dataset());
}

} // namespace obsprop::ui
