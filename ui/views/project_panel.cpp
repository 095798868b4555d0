#include "views/project_panel.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

#include "session/session.h"

namespace obsprop::ui {

ProjectPanel::ProjectPanel(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* v = new QVBoxLayout(this);
    v->addWidget(new QLabel(tr("<b>Model</b>"), this));
    model_ = new QTreeWidget(this);
    model_->setColumnCount(2);
    model_->setHeaderHidden(true);
    model_->setRootIsDecorated(false);
    model_->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    model_->setMaximumHeight(190);
    v->addWidget(model_);

    v->addWidget(new QLabel(tr("<b>Observables</b>"), this));
    observables_ = new QListWidget(this);
    observables_->setObjectName(QStringLiteral("observables"));
    v->addWidget(observables_, 1);
    input_ = new QLineEdit(this);
    input_->setObjectName(QStringLiteral("observableInput"));
    input_->setPlaceholderText(tr("name = \" she\" - \" he\""));
    input_->setToolTip(
        tr("An observable: quoted tokens with weights, e.g. 0.5*\" her\" + 0.5*\" she\" - \" him\", or #id"));
    v->addWidget(input_);
    error_ = new QLabel(this);
    error_->setObjectName(QStringLiteral("observableError"));
    error_->setWordWrap(true);
    QPalette pal = error_->palette();
    pal.setColor(QPalette::WindowText, QColor(190, 30, 30));
    error_->setPalette(pal);
    error_->hide();
    v->addWidget(error_);
    auto* buttons = new QHBoxLayout;
    auto* add = new QPushButton(tr("Add"), this);
    auto* remove = new QPushButton(tr("Remove"), this);
    buttons->addWidget(add);
    buttons->addWidget(remove);
    v->addLayout(buttons);

    v->addWidget(new QLabel(tr("<b>Datasets</b>"), this));
    datasets_ = new QListWidget(this);
    datasets_->setObjectName(QStringLiteral("datasets"));
    datasets_->setMaximumHeight(90);
    v->addWidget(datasets_);
    auto* importRow = new QHBoxLayout;
    pairsName_ = new QLineEdit(this);
    pairsName_->setObjectName(QStringLiteral("pairsName"));
    pairsName_->setPlaceholderText(tr("name (default: the file's)"));
    pairsName_->setToolTip(tr("The name of the dataset the next imported file becomes"));
    auto* importPairs = new QPushButton(tr("Import Pairs…"), this);
    importPairs->setObjectName(QStringLiteral("importPairs"));
    importPairs->setToolTip(tr("Add a dataset of prompt pairs from a CSV file (header clean,corrupt[,label]) "
                               "or a JSONL file ({\"clean\": …, \"corrupt\": …} a line)"));
    importRow->addWidget(pairsName_, 1);
    importRow->addWidget(importPairs);
    v->addLayout(importRow);
    datasetError_ = new QLabel(this);
    datasetError_->setObjectName(QStringLiteral("datasetError"));
    datasetError_->setWordWrap(true);
    datasetError_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    datasetError_->setPalette(pal);
    datasetError_->hide();
    v->addWidget(datasetError_);
    connect(importPairs, &QPushButton::clicked, this, [this] {
        const QString file =
            chooser_ ? chooser_()
                     : QFileDialog::getOpenFileName(this, tr("Import prompt pairs"), QString(),
                                                    tr("Prompt pairs (*.csv *.jsonl);;All files (*)"));
        if (!file.isEmpty()) this->importPairs(file);
    });

    auto* form = new QFormLayout;
    ln_ = new QComboBox(this);
    ln_->setObjectName(QStringLiteral("lnMode"));
    ln_->addItem(tr("ignore"), QStringLiteral("none"));
    ln_->addItem(tr("approximate (√d/ρ)γ"), QStringLiteral("approx"));
    ln_->addItem(tr("exact at a prompt"), QStringLiteral("exact"));
    form->addRow(tr("LayerNorm"), ln_);
    lnDataset_ = new QComboBox(this);
    lnDataset_->setObjectName(QStringLiteral("lnDataset"));
    lnDataset_->setToolTip(
        tr("The dataset whose prompts give the selected observable's ρ and exact linearisation points"));
    form->addRow(tr("ρ from"), lnDataset_);
    v->addLayout(form);

    connect(add, &QPushButton::clicked, this, &ProjectPanel::addFromInput);
    connect(input_, &QLineEdit::returnPressed, this, &ProjectPanel::addFromInput);
    connect(input_, &QLineEdit::textEdited, error_, &QWidget::hide);
    connect(remove, &QPushButton::clicked, this, [this] {
        if (auto* item = observables_->currentItem())
            session_->removeObservable(item->data(Qt::UserRole).toString());
    });
    connect(ln_, &QComboBox::currentIndexChanged, this, [this] {
        const QString mode = ln_->currentData().toString();
        if (mode == session_->lnMode()) return;
        session_->setLnMode(mode); // a recipe edit: every view recomputes
    });
    connect(observables_, &QListWidget::currentRowChanged, this, &ProjectPanel::showLnDataset);
    connect(observables_, &QListWidget::currentItemChanged, this, [this](QListWidgetItem* item) {
        const QString bad = item ? item->data(Qt::UserRole + 1).toString() : QString();
        if (bad.isEmpty()) return;
        error_->setText(
            tr("Observable \"%1\" is not used: %2").arg(item->data(Qt::UserRole).toString(), bad));
        error_->show();
    });
    connect(lnDataset_, &QComboBox::activated, this, [this] {
        auto* item = observables_->currentItem();
        if (!item) return;
        const QString err =
            session_->setObservableLnDataset(item->data(Qt::UserRole).toString(), lnDataset_->currentText());
        error_->setText(err);
        error_->setVisible(!err.isEmpty());
    });
    connect(session_, &Session::recipeChanged, this, &ProjectPanel::refresh);
    connect(session_, &Session::workspaceOpened, this, &ProjectPanel::refresh);
}

void ProjectPanel::addFromInput() {
    const QString text = input_->text().trimmed();
    if (text.isEmpty()) return;
    const QString name = session_->observableNameOf(text);
    if (!name.isEmpty() && session_->hasObservable(name)) {
        // Replacing changes what every result under that name means: ask first.
        auto* ask =
            new QMessageBox(QMessageBox::Question, tr("Replace observable"),
                            tr("An observable named \"%1\" exists. Replace its definition? Every result "
                               "computed for it is recomputed.")
                                .arg(name),
                            QMessageBox::Yes | QMessageBox::Cancel, this);
        ask->setObjectName(QStringLiteral("replaceObservable"));
        ask->setAttribute(Qt::WA_DeleteOnClose);
        connect(ask, &QMessageBox::finished, this, [this, text](int result) {
            if (result == QMessageBox::Yes) add(text);
        });
        ask->open();
        return;
    }
    add(text);
}

void ProjectPanel::add(const QString& text) {
    // "name = expr" names it; otherwise the parser names it after the expression.
    const QString err = session_->addObservable(QString(), text);
    if (err.isEmpty()) {
        input_->clear();
        error_->hide();
    } else {
        error_->setText(err);
        error_->show();
    }
}

bool ProjectPanel::importPairs(const QString& file) {
    QString name = pairsName_->text().trimmed();
    if (name.isEmpty()) name = QFileInfo(file).completeBaseName();
    const QString err = session_->importPairDataset(name, file);
    datasetError_->setText(err);
    datasetError_->setVisible(!err.isEmpty());
    if (err.isEmpty()) pairsName_->clear();
    return err.isEmpty();
}

void ProjectPanel::refresh() {
    const ModelInfo m = session_->modelInfo();
    model_->clear();
    auto row = [this](const QString& k, const QString& v) {
        auto* item = new QTreeWidgetItem(model_, QStringList{k, v});
        item->setToolTip(1, v); // long particulars (windows, rotary scaling) do not fit the column
    };
    row(tr("Folder"), m.directory);
    for (const auto& [label, text] : m.facts)
        row(label, text);
    row(tr("Weights"), QStringLiteral("%1 MiB").arg(m.checkpointBytes / 1048576.0, 0, 'f', 1));

    const int current = observables_->currentRow();
    QSignalBlocker blockList(observables_);
    observables_->clear();
    for (const auto& [name, expr] : session_->observables()) {
        auto* item = new QListWidgetItem(QStringLiteral("%1 = %2").arg(name, expr), observables_);
        item->setData(Qt::UserRole, name);
        const QStringList warn = session_->observableWarnings(name);
        QStringList tip{tr("Tokens: %1").arg(session_->observableTokens(name))};
        tip << warn;
        item->setToolTip(tip.join(QLatin1Char('\n')));
        if (!warn.isEmpty()) item->setForeground(QColor(170, 110, 0));
    }
    for (const auto& bad : session_->invalidObservables()) {
        // Shown as written, marked, with the error: the user edits ("name = ...") or removes it.
        auto* item = new QListWidgetItem(QStringLiteral("⚠ %1 = %2").arg(bad.name, bad.expr), observables_);
        item->setData(Qt::UserRole, bad.name);
        item->setData(Qt::UserRole + 1, bad.error);
        item->setToolTip(tr("Not used: %1").arg(bad.error));
        item->setForeground(error_->palette().color(QPalette::WindowText));
    }
    datasets_->clear();
    for (const QString& name : session_->datasetNames()) {
        auto* item = new QListWidgetItem(name, datasets_);
        const auto n = session_->promptTexts(name).size();
        item->setToolTip(session_->isPairDataset(name) ? tr("%1 prompt pairs (imported)").arg(n / 2)
                                                       : tr("%1 prompts from templates and names").arg(n));
    }
    QSignalBlocker b(ln_);
    ln_->setCurrentIndex(std::max(0, ln_->findData(session_->lnMode())));
    observables_->setCurrentRow(std::min(std::max(current, 0), observables_->count() - 1));
    showLnDataset();
}

void ProjectPanel::showLnDataset() {
    QSignalBlocker b(lnDataset_);
    lnDataset_->clear();
    lnDataset_->addItems(session_->datasetNames());
    auto* item = observables_->currentItem();
    lnDataset_->setEnabled(item != nullptr);
    if (item) lnDataset_->setCurrentText(session_->observableLnDataset(item->data(Qt::UserRole).toString()));
}

} // namespace obsprop::ui
