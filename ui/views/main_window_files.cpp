// MainWindow, the part about what is open: the welcome page while nothing is, the file dialogs (replaceable
// by tests), Locate Model for a project whose model folder moved or changed, and which file actions apply.
#include <QAction>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QStackedWidget>
#include <QTabWidget>

#include "session/bundled_data.h"
#include "session/recent_files.h"
#include "session/session.h"
#include "views/attention_view.h"
#include "views/corpus_view.h"
#include "views/coupling_view.h"
#include "views/debias_view.h"
#include "views/heads_view.h"
#include "views/main_window.h"
#include "views/steering_panel.h"
#include "views/svd_view.h"
#include "views/welcome_page.h"

namespace obsprop::ui {

void MainWindow::buildWelcome() {
    central_ = new QStackedWidget(this);
    welcome_ = new WelcomePage(central_);
    central_->addWidget(welcome_);
    central_->addWidget(tabs_);
    setCentralWidget(central_);
    const bool demo = !bundledDemoProject().isEmpty();
    welcome_->setDemoAvailable(demo, demo ? QString()
                                          : tr("The demo project is not installed (looked in %1)")
                                                .arg(bundledDataDirs().join(QStringLiteral(", "))));
    welcome_->setRecent(recentPaths());
    connect(welcome_, &WelcomePage::openDemoRequested, this, &MainWindow::openDemo);
    connect(welcome_, &WelcomePage::openModelFolderRequested, this, &MainWindow::chooseModelFolder);
    connect(welcome_, &WelcomePage::openProjectRequested, this, &MainWindow::chooseProject);
    connect(welcome_, &WelcomePage::openRecentRequested, this, &MainWindow::openPath);
    connect(tabs_, &QTabWidget::currentChanged, this, &MainWindow::updateFileActions);
    connect(session_, &Session::workspaceOpened, this, [this] {
        missingProject_.clear();
        updateFileActions();
    });
}

bool MainWindow::isWelcomeShown() const {
    return central_->currentWidget() == welcome_;
}

bool MainWindow::currentTabHasFigure() const {
    QWidget* tab = tabs_->currentWidget();
    return tab == heads_ || tab == coupling_ || tab == svd_ || tab == steering_ || tab == attention_ ||
           tab == debias_ || tab == corpus_;
}

void MainWindow::updateFileActions() {
    const bool open = session_->isOpen();
    central_->setCurrentWidget(open ? static_cast<QWidget*>(tabs_) : welcome_);
    if (projectDock_) {
        projectDock_->setVisible(open && projectDockWanted_);
        projectDock_->toggleViewAction()->setEnabled(open);
    }
    if (!open && welcome_->isVisible()) welcome_->setFocus();
    locateModel_->setEnabled(!missingProject_.isEmpty() || !session_->projectFile().isEmpty());
    // Tabs whose result is a table have no figure: say so on the disabled action instead of a warning box.
    const bool figure = open && currentTabHasFigure();
    exportFigure_->setEnabled(figure);
    exportFigure_->setToolTip(figure ? tr("Export the figure of this tab as PNG, SVG or PDF")
                              : !open
                                  ? tr("Open a project first")
                                  : tr("The %1 tab shows a table, not a figure: Export All (Ctrl+Shift+E) "
                                       "writes its table as CSV and JSON")
                                        .arg(tabs_->tabText(tabs_->currentIndex()).remove(QLatin1Char('&'))));
}

QString MainWindow::choosePath(Choice what, const QString& title, const QString& start) {
    if (chooser_) return chooser_(what, title, start);
    if (what == Choice::ModelFolder) return QFileDialog::getExistingDirectory(this, title, start);
    return QFileDialog::getOpenFileName(this, title, start, tr("ObsProp projects (*.obsprop)"));
}

void MainWindow::onModelMissing(const QString& file, const QString& dir, const QString& message) {
    missingProject_ = file;
    updateFileActions();
    status_->setText(tr("The model folder of %1 is missing: File ▸ Locate Model… to find it")
                         .arg(QFileInfo(file).fileName()));
    Q_EMIT openFailed(message);
    if (quiet()) return;
    auto* box =
        new QMessageBox(QMessageBox::Warning, tr("Model folder not found"),
                        tr("The project %1 uses the model in %2, which no longer exists (moved, renamed "
                           "or on a drive that is not connected). Locate the folder to open the "
                           "project; nothing in it is lost.")
                            .arg(QDir::toNativeSeparators(file), QDir::toNativeSeparators(dir)),
                        QMessageBox::Cancel, this);
    box->setObjectName(QStringLiteral("modelMissing"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    auto* locate = box->addButton(tr("&Locate Model…"), QMessageBox::AcceptRole);
    box->setDefaultButton(locate);
    connect(locate, &QAbstractButton::clicked, this, &MainWindow::locateModel, Qt::QueuedConnection);
    box->open();
}

void MainWindow::locateModel() {
    const bool current = missingProject_.isEmpty();
    const QString file = current ? session_->projectFile() : missingProject_;
    if (file.isEmpty()) {
        status_->setText(tr("Locate Model applies to a project file: open or save one first."));
        return;
    }
    // Another project with unsaved edits would be replaced; the open project itself keeps its edits.
    if (!current && !confirmDiscard()) return;
    const QString start = current ? QFileInfo(currentModel()).absolutePath() : QFileInfo(file).absolutePath();
    const QString dir = choosePath(
        Choice::ModelFolder, tr("Locate the model folder of %1").arg(QFileInfo(file).fileName()), start);
    if (dir.isEmpty()) return;
    if (current) storeViewState(); // the reopened project carries the view as it is now
    status_->setText(tr("Opening %1 on the model in %2…").arg(QFileInfo(file).fileName(), dir));
    session_->locateModel(file, dir);
}

} // namespace obsprop::ui
