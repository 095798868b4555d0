#include "views/corpus_view.h"

#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "analyses/tables.h"
#include "figures/plot_export.h"
#include "figures/qcp.h"
#include "results/head_matrix.h"
#include "results/session_convert.h"
#include "results/token_text.h"
#include "session/bundled_data.h"
#include "session/session.h"
#include "views/choices.h"

namespace obsprop::ui {

namespace {

const QString kChannel = QStringLiteral("corpus/corpus");

QString number(double v) {
    return std::isfinite(v) ? QString::number(v, 'g', 6) : QStringLiteral("—");
}

// "Head 1.4", "Path 0.1 → mlp1 → 1.4".
QString titleOf(const std::vector<HeadRef>& path) {
    if (path.size() == 1 && path.front().valid())
        return CorpusView::tr("Head %1").arg(headName(path.front().layer, path.front().head));
    return CorpusView::tr("Path %1").arg(convert::pathText(path));
}

QString cell(const nlohmann::json& v) {
    if (v.is_null()) return QStringLiteral("—");
    if (v.is_string()) return QString::fromStdString(v.get<std::string>());
    if (v.is_number_float()) return number(v.get<double>());
    return QString::fromStdString(v.dump());
}

} // namespace

CorpusView::CorpusView(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* lay = new QVBoxLayout(this);
    auto* bar = new QHBoxLayout;
    head_label_ = new QLabel(this);
    observable_ = new QComboBox(this);
    observable_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    observable_->setToolTip(tr("The observable whose feature is scored and whose value it predicts"));
    file_ = new QLineEdit(bundledCorpus(), this);
    file_->setToolTip(
        tr("Plain text (documents separated by blank lines) or JSONL (a \"text\" field a line)"));
    browse_ = new QPushButton(tr("&Browse…"), this);
    prefix_ = new QLineEdit(this);
    prefix_->setPlaceholderText(tr("none"));
    prefix_->setToolTip(tr("Text put before every window and not scored, e.g. <|endoftext|>"));
    prefix_->setMaximumWidth(140);
    bar->addWidget(head_label_);
    bar->addWidget(new QLabel(tr("Observable:"), this));
    bar->addWidget(observable_);
    bar->addWidget(new QLabel(tr("Corpus:"), this));
    bar->addWidget(file_, 1);
    bar->addWidget(browse_);
    bar->addWidget(new QLabel(tr("Prefix:"), this));
    bar->addWidget(prefix_);
    lay->addLayout(bar);

    auto* bar2 = new QHBoxLayout;
    top_ = new QSpinBox(this);
    top_->setRange(0, 1000);
    top_->setValue(20);
    context_ = new QSpinBox(this);
    context_->setRange(0, 100);
    context_->setValue(8);
    run_ = new QPushButton(tr("R&un"), this);
    run_->setObjectName(QStringLiteral("runAnalysis")); // obsprop-explorer --run clicks it
    cancel_ = new QPushButton(tr("Cancel"), this);
    progress_ = new QProgressBar(this);
    progress_->setRange(0, 1000);
    bar2->addWidget(new QLabel(tr("Examples:"), this));
    bar2->addWidget(top_);
    bar2->addWidget(new QLabel(tr("Context tokens:"), this));
    bar2->addWidget(context_);
    bar2->addWidget(run_);
    bar2->addWidget(cancel_);
    bar2->addWidget(progress_, 1);
    lay->addLayout(bar2);
    status_ = new QLabel(this);
    status_->setWordWrap(true);
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    lay->addWidget(status_);

    auto* split = new QSplitter(Qt::Horizontal, this);
    auto* left = new QWidget(split);
    auto* leftLay = new QVBoxLayout(left);
    leftLay->setContentsMargins(0, 0, 0, 0);
    plot_ = new QCustomPlot(left);
    plot_->setMinimumSize(320, 240);
    plot_->xAxis->setLabel(tr("feature score y·x"));
    plot_->yAxis->setLabel(tr("tokens"));
    baselines_ = new QTableWidget(left);
    baselines_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    baselines_->verticalHeader()->hide();
    baselines_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    leftLay->addWidget(plot_, 1);
    leftLay->addWidget(baselines_);
    examples_ = new QTextBrowser(split);
    examples_->setMinimumWidth(320);
    split->addWidget(left);
    split->addWidget(examples_);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 1);
    lay->addWidget(split, 1);

    connect(browse_, &QPushButton::clicked, this, [this] {
        const QString f = QFileDialog::getOpenFileName(this, tr("Corpus"), file_->text(),
                                                       tr("Corpora (*.txt *.jsonl);;All files (*)"));
        if (!f.isEmpty()) file_->setText(f), touched_ = true;
    });
    connect(run_, &QPushButton::clicked, this, &CorpusView::run);
    connect(cancel_, &QPushButton::clicked, this, &CorpusView::cancel);
    connect(&session_->jobs(), &JobTracker::progress, this,
            [this](const QString& channel, double fraction, const QString& stage) {
                if (channel != kChannel) return;
                progress_->setValue(static_cast<int>(std::lround(fraction * 1000)));
                progress_->setFormat(stage + QStringLiteral(" %p%"));
            });
    connect(&session_->jobs(), &JobTracker::finished, this, [this](const QString& channel, bool ok) {
        if (channel != kChannel) return;
        setRunning(false);
        if (!ok && !results_ && status_->text().startsWith(tr("Scoring"))) status_->setText(tr("Cancelled."));
    });
    connect(session_, &Session::corpusReady, this, [this](const CorpusResults& r) {
        if (QString::fromStdString(r.report.corpus) == asked_file_ && r.report.path == asked_path_ &&
            QString::fromStdString(r.report.observable) == asked_observable_)
            display(r);
    });
    connect(session_, &Session::jobFailed, this, [this](const QString& channel, const QString& message) {
        if (channel == kChannel) clearResults(message);
    });
    connect(session_, &Session::workspaceOpened, this, [this] {
        path_.clear();
        head_label_->setText(tr("No head"));
        touched_ = false;
        clearResults({});
        refreshChoices(); // the new project's choices, before its view state is restored
    });
    // What the user changes (not what a refill sets) makes the choices part of the project's view state.
    connect(observable_, &QComboBox::activated, this, [this] { touched_ = true; });
    for (QLineEdit* e : {file_, prefix_})
        connect(e, &QLineEdit::textEdited, this, [this] { touched_ = true; });
    for (QSpinBox* b : {top_, context_})
        connect(b, &QSpinBox::valueChanged, this, [this] { touched_ = true; });
    connect(session_, &Session::recipeChanged, this, [this] {
        refreshChoices();
        if (results_) clearResults(tr("The recipe changed: run again for its numbers."));
    });
    refreshChoices();
    setRunning(false);
    clearResults({});
}

QString CorpusView::observable() const {
    return observable_->currentText();
}
QString CorpusView::corpusFile() const {
    return file_->text().trimmed();
}
QString CorpusView::statusText() const {
    return status_->text();
}

obsprop::CorpusOptions CorpusView::options() const {
    obsprop::CorpusOptions o;
    o.prefix = prefix_->text().toStdString();
    o.top = top_->value();
    o.context = context_->value();
    return o;
}

QJsonObject CorpusView::state() const {
    return {{QStringLiteral("observable"), observable()},
            {QStringLiteral("file"), corpusFile()},
            {QStringLiteral("prefix"), prefix_->text()},
            {QStringLiteral("top"), top_->value()},
            {QStringLiteral("context"), context_->value()}};
}

void CorpusView::restoreState(const QJsonObject& s) {
    if (const int i = observable_->findText(s[QStringLiteral("observable")].toString()); i >= 0)
        observable_->setCurrentIndex(i);
    file_->setText(s[QStringLiteral("file")].toString(file_->text()));
    prefix_->setText(s[QStringLiteral("prefix")].toString(prefix_->text()));
    top_->setValue(s[QStringLiteral("top")].toInt(top_->value()));
    context_->setValue(s[QStringLiteral("context")].toInt(context_->value()));
    touched_ = true;
}

void CorpusView::refreshChoices() {
    QStringList names;
    for (const auto& o : session_->observables())
        names << o.first;
    refill(observable_, names, names.value(0));
}

void CorpusView::setSelectedHead(HeadRef h) {
    if (h.valid())
        path_ = {h};
    else
        path_.clear();
    head_label_->setText(h.valid() ? titleOf(path_) : tr("No head"));
    setRunning(running_);
}

void CorpusView::setPath(std::vector<HeadRef> path, const QString& observable) {
    path_ = std::move(path);
    head_label_->setText(path_.empty() ? tr("No head") : titleOf(path_));
    if (const int i = observable_->findText(observable); !observable.isEmpty() && i >= 0) {
        observable_->setCurrentIndex(i);
        touched_ = true;
    }
    setRunning(running_);
}

void CorpusView::setRunning(bool running) {
    running_ = running;
    run_->setEnabled(!running && !path_.empty() && session_->isOpen());
    cancel_->setEnabled(running);
    progress_->setVisible(running);
    if (!running) progress_->setValue(0);
}

void CorpusView::run() {
    if (!session_->isOpen()) return clearResults(tr("Open a model or a project first."));
    if (observable().isEmpty())
        return clearResults(
            tr("Add an observable in the project panel (for example subj = \" she\" - \" he\")."));
    if (path_.empty())
        return clearResults(tr("Select a head: click a cell in the Heads view, or step with Ctrl+J / Ctrl+K; "
                               "or send a path from the Paths view (Score on Corpus)."));
    if (corpusFile().isEmpty()) return clearResults(tr("Choose a corpus file."));
    asked_path_ = path_;
    asked_observable_ = observable();
    asked_file_ = corpusFile();
    asked_options_ = options();
    clearResults(tr("Scoring every token of %1 with the feature of %2 for %3…")
                     .arg(asked_file_, titleOf(path_).toLower(), asked_observable_));
    setRunning(true);
    session_->computeCorpus(QStringLiteral("corpus"), path_, asked_observable_, asked_file_, options());
}

void CorpusView::cancel() {
    session_->jobs().cancel(kChannel);
}

void CorpusView::clearResults(const QString& status) {
    results_.reset();
    status_->setText(status);
    plot_->clearPlottables();
    plot_->replot();
    baselines_->clear();
    baselines_->setRowCount(0);
    baselines_->setColumnCount(0);
    examples_->clear();
}

QColor CorpusView::scoreColour(double s, double scale) {
    const double a = scale > 0 && std::isfinite(s) ? std::min(1.0, std::abs(s) / scale) : 0.0;
    return s >= 0 ? QColor(220, 40, 40, static_cast<int>(std::lround(a * 200)))
                  : QColor(40, 90, 220, static_cast<int>(std::lround(a * 200)));
}

void CorpusView::display(const CorpusResults& res) {
    results_ = res;
    const analyses::CorpusReport& r = res.report;
    status_->setText(tr("%1, feature of %2 (LayerNorm %3; baselines on %4: %5 female, %6 male prompts) at %7 "
                        "over %8: %9 documents, %10 windows, %11 tokens; the observable's value %12 ± %13.")
                         .arg(titleOf(r.path), QString::fromStdString(r.observable),
                              QString::fromStdString(r.ln_mode), QString::fromStdString(r.ln_dataset))
                         .arg(r.train_positive)
                         .arg(r.train_negative)
                         .arg(QString::fromStdString(r.hook), QString::fromStdString(r.corpus))
                         .arg(r.documents)
                         .arg(r.windows)
                         .arg(r.tokens)
                         .arg(number(r.value_mean), number(r.value_sd)));
    // The histogram, bar for bin.
    plot_->clearPlottables();
    auto* bars = new QCPBars(plot_->xAxis, plot_->yAxis);
    QVector<double> keys, values;
    for (std::size_t i = 0; i < r.hist_counts.size(); ++i) {
        keys << r.hist_lo + (static_cast<double>(i) + 0.5) * r.hist_width;
        values << static_cast<double>(r.hist_counts[i]);
    }
    bars->setWidth(r.hist_width);
    bars->setData(keys, values);
    plot_->rescaleAxes();
    plot_->yAxis->setRangeLower(0);
    plot_->replot();
    // The baselines: the core's table.
    const analyses::Table t = analyses::baselines_table(r);
    baselines_->setColumnCount(static_cast<int>(t.columns.size()));
    baselines_->setRowCount(static_cast<int>(t.rows.size()));
    QStringList headers;
    for (const auto& c : t.columns)
        headers << QString::fromStdString(c);
    baselines_->setHorizontalHeaderLabels(headers);
    for (std::size_t i = 0; i < t.rows.size(); ++i)
        for (std::size_t j = 0; j < t.rows[i].size(); ++j)
            baselines_->setItem(static_cast<int>(i), static_cast<int>(j),
                                new QTableWidgetItem(cell(t.rows[i][j])));
    // The examples, each context token on its score's colour.
    double scale = 0;
    for (const auto& e : r.examples)
        for (double s : e.scores)
            scale = std::max(scale, std::abs(s));
    QString html = tr("<p>cos(mean difference, probe) = %1; the probe's training accuracy %2.</p>")
                       .arg(number(r.cos_mean_difference_probe), number(r.probe_accuracy));
    for (const auto& e : r.examples) {
        html += QStringLiteral(
                    "<p><b>#%1</b> score %2, value %3 <small>(document %4, line %5, token %6)</small><br>")
                    .arg(e.rank)
                    .arg(number(e.score), number(e.value))
                    .arg(e.document)
                    .arg(e.line)
                    .arg(e.position);
        for (std::size_t i = 0; i < e.tokens.size(); ++i) {
            const QColor c = scoreColour(e.scores[i], scale);
            const QString text = visibleToken(QString::fromStdString(e.tokens[i])).toHtmlEscaped();
            html +=
                QStringLiteral("<span style=\"background-color:rgba(%1,%2,%3,%4)\" title=\"%5\">%6</span>")
                    .arg(c.red())
                    .arg(c.green())
                    .arg(c.blue())
                    .arg(c.alphaF(), 0, 'f', 3)
                    .arg(number(e.scores[i]), static_cast<int>(i) == e.focus
                                                  ? QStringLiteral("<b><u>%1</u></b>").arg(text)
                                                  : text);
        }
        html += QStringLiteral("</p>");
    }
    examples_->setHtml(html);
}

QString CorpusView::baselinesCsv() const {
    return results_ ? QString::fromStdString(analyses::baselines_table(results_->report).to_csv())
                    : QString();
}

QString CorpusView::examplesCsv() const {
    return results_ ? QString::fromStdString(analyses::to_table(results_->report).to_csv()) : QString();
}

QString CorpusView::command() const {
    if (!results_) return {};
    return session_->corpusCommand(asked_path_, asked_observable_, asked_file_, asked_options_);
}

bool CorpusView::exportFigure(const QString& file, int w, int h, double scale) const {
    return exportPlot(
        plot_, file, w, h, scale,
        tr("Corpus scores of %1").arg(titleOf(results_ ? results_->report.path : path_).toLower()));
}

} // namespace obsprop::ui
