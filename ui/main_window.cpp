// LibTorch headers first: Qt's macros must not be defined when they are parsed.
#include "model/transformer.h"
#include "io/safetensors.h"

#include "main_window.h"

#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPointer>
#include <QProgressBar>
#include <QSettings>
#include <QStatusBar>
#include <QThreadPool>
#include <QTreeWidget>

namespace obsprop::ui {

namespace {

constexpr int kMaxRecent = 8;

QString humanBytes(double b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024.0 && u < 4) b /= 1024.0, ++u;
    return QStringLiteral("%1 %2").arg(b, 0, 'f', u ? 1 : 0).arg(QLatin1String(units[u]));
}

// Loads the model on a worker thread and describes it as (key, value) rows.
QStringList describeModel(const QString& dir) {
    const auto path = std::filesystem::path(dir.toStdString());
    auto m = model::Transformer::load(path);
    const auto& c = m->config();
    QStringList rows;
    auto add = [&rows](const QString& k, const QString& v) { rows << k << v; };
    add(QStringLiteral("Family"), QString::fromLatin1(io::family_name(c.family)));
    add(QStringLiteral("Layers"), QString::number(c.n_layers));
    add(QStringLiteral("Heads per layer"), QString::number(c.n_heads));
    add(QStringLiteral("d_model"), QString::number(c.d_model));
    add(QStringLiteral("d_head"), QString::number(c.d_head));
    add(QStringLiteral("d_mlp"), QString::number(c.d_mlp));
    add(QStringLiteral("Vocabulary"), QString::number(c.d_vocab));
    add(QStringLiteral("Context"), QString::number(c.n_ctx));
    if (c.family == io::Family::GPTNeo) {
        int local = 0;
        for (int l = 0; l < c.n_layers; ++l) local += c.is_local(l) ? 1 : 0;
        add(QStringLiteral("Local-attention layers"), QString::number(local));
    }
    if (c.family == io::Family::GPTNeoX) {
        add(QStringLiteral("Rotary dims per head"), QString::number(c.rotary_dims));
        add(QStringLiteral("Parallel residual"), c.parallel_residual ? QStringLiteral("yes") : QStringLiteral("no"));
    }
    add(QStringLiteral("Weights on disk"), humanBytes(static_cast<double>(m->checkpoint_bytes())));
    const QDir d(dir);
    const bool tok = d.exists(QStringLiteral("tokenizer.json")) ||
                     (d.exists(QStringLiteral("vocab.json")) && d.exists(QStringLiteral("merges.txt")));
    add(QStringLiteral("Tokenizer"), tok ? QStringLiteral("present") : QStringLiteral("missing"));
    return rows;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowTitle(QStringLiteral("ObsProp Explorer"));
    setAcceptDrops(true);

    summary_ = new QTreeWidget(this);
    summary_->setColumnCount(2);
    summary_->setHeaderLabels({QStringLiteral("Property"), QStringLiteral("Value")});
    summary_->setRootIsDecorated(false);
    summary_->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    setCentralWidget(summary_);

    statusLabel_ = new QLabel(QStringLiteral("Open a Hugging Face model folder (File ▸ Open Model…)"), this);
    progress_ = new QProgressBar(this);
    progress_->setRange(0, 0);
    progress_->setMaximumWidth(160);
    progress_->hide();
    statusBar()->addWidget(statusLabel_, 1);
    statusBar()->addPermanentWidget(progress_);

    buildMenus();

    QSettings s;
    if (!restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray())) resize(900, 600);
}

MainWindow::~MainWindow() = default;

void MainWindow::buildMenus() {
    auto* file = menuBar()->addMenu(tr("&File"));
    auto* open = file->addAction(tr("&Open Model Folder…"), this, &MainWindow::chooseModelFolder);
    open->setShortcut(QKeySequence::Open);
    recentMenu_ = file->addMenu(tr("Open &Recent"));
    updateRecentMenu();
    file->addSeparator();
    auto* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
}

void MainWindow::chooseModelFolder() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open Hugging Face model folder"), modelDir_);
    if (!dir.isEmpty()) openPath(dir);
}

void MainWindow::updateRecentMenu() {
    recentMenu_->clear();
    const QStringList recent = QSettings().value(QStringLiteral("recent/models")).toStringList();
    for (const QString& r : recent) recentMenu_->addAction(r, this, [this, r] { openPath(r); });
    recentMenu_->setEnabled(!recent.isEmpty());
}

void MainWindow::openPath(const QString& path) {
    const QFileInfo fi(path);
    const QString dir = fi.isDir() ? fi.absoluteFilePath() : fi.absolutePath();
    const int gen = ++generation_;
    statusLabel_->setText(tr("Loading %1…").arg(dir));
    progress_->show();
    QPointer<MainWindow> self(this);
    QThreadPool::globalInstance()->start([self, dir, gen] {
        QStringList rows;
        QString error;
        try {
            rows = describeModel(dir);
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        }
        QMetaObject::invokeMethod(
            qApp,
            [self, dir, gen, rows, error] {
                if (!self || gen != self->generation_) return;  // window gone, or a newer request won
                self->progress_->hide();
                if (!error.isEmpty()) {
                    self->statusLabel_->setText(tr("Could not open %1").arg(dir));
                    Q_EMIT self->openFailed(error);
                    if (!self->property("quietErrors").toBool())
                        QMessageBox::warning(self, tr("Could not open model"), error);
                    return;
                }
                self->showSummary(dir, rows);
            },
            Qt::QueuedConnection);
    });
}

void MainWindow::showSummary(const QString& dir, const QStringList& rows) {
    modelDir_ = dir;
    summary_->clear();
    for (int i = 0; i + 1 < rows.size(); i += 2)
        new QTreeWidgetItem(summary_, QStringList{rows[i], rows[i + 1]});
    setWindowTitle(QStringLiteral("%1 — ObsProp Explorer").arg(QFileInfo(dir).fileName()));
    statusLabel_->setText(tr("Opened %1").arg(dir));

    QSettings s;
    QStringList recent = s.value(QStringLiteral("recent/models")).toStringList();
    recent.removeAll(dir);
    recent.prepend(dir);
    while (recent.size() > kMaxRecent) recent.removeLast();
    s.setValue(QStringLiteral("recent/models"), recent);
    updateRecentMenu();
    Q_EMIT modelOpened(dir);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* e) {
    if (e->mimeData()->hasUrls()) e->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* e) {
    const auto urls = e->mimeData()->urls();
    if (!urls.isEmpty() && urls.first().isLocalFile()) openPath(urls.first().toLocalFile());
}

void MainWindow::closeEvent(QCloseEvent* e) {
    QSettings().setValue(QStringLiteral("window/geometry"), saveGeometry());
    QMainWindow::closeEvent(e);
}

}  // namespace obsprop::ui
