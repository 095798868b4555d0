#include "views/main_window.h"
#include "views/preferences_dialog.h"
#include "views/shortcuts.h"

#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QGuiApplication>
#include <QJsonArray>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSaveFile>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QUndoStack>

#include <functional>

#include "analyses/engine_status.h"
#include "figures/qcp.h"
#include "session/bundled_data.h"
#include "session/head_selection.h"
#include "session/recent_files.h"
#include "session/session.h"
#include "views/attention_view.h"
#include "views/confirm_overwrite.h"
#include "views/corpus_view.h"
#include "views/coupling_view.h"
#include "views/debias_view.h"
#include "views/debug_overlay.h"
#include "views/export_dialog.h"
#include "views/heads_view.h"
#include "views/heatmap_widget.h"
#include "views/manual_window.h"
#include "views/paths_view.h"
#include "views/project_panel.h"
#include "views/prompts_view.h"
#include "views/stall_watchdog.h"
#include "views/steering_panel.h"
#include "views/svd_view.h"
#include "views/welcome_page.h"

namespace obsprop::ui {

namespace {
constexpr int kAutosaveMs = 15000;
} // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setAcceptDrops(true);
    setObjectName(QStringLiteral("MainWindow"));
    session_ = new Session(this);
    selection_ = new HeadSelection(this);
    watchdog_ = new StallWatchdog(this);

    tabs_ = new QTabWidget(this);
    heads_ = new HeadsView(session_, tabs_);
    coupling_ = new CouplingView(session_, tabs_);
    svd_ = new SvdView(session_, tabs_);
    paths_ = new PathsView(session_, tabs_);
    steering_ = new SteeringPanel(session_, tabs_);
    prompts_ = new PromptsView(session_, tabs_);
    attention_ = new AttentionView(session_, tabs_);
    debias_ = new DebiasView(session_, tabs_);
    corpus_ = new CorpusView(session_, tabs_);
    tabs_->addTab(heads_, tr("Hea&ds")); // Alt+H is the Help menu
    tabs_->addTab(coupling_, tr("&Coupling"));
    tabs_->addTab(svd_, tr("&SVD")); // Alt+V is the View menu
    tabs_->addTab(paths_, tr("&Paths"));
    tabs_->addTab(steering_, tr("S&teering"));
    tabs_->addTab(prompts_, tr("P&rompts"));
    tabs_->addTab(attention_, tr("&Attention"));
    tabs_->addTab(debias_, tr("De&bias"));
    tabs_->addTab(corpus_, tr("C&orpus"));
    buildWelcome(); // the central widget: the welcome page until a project is open, then the tabs

    panel_ = new ProjectPanel(session_, this);
    auto* dock = projectDock_ = new QDockWidget(tr("Project"), this);
    dock->setObjectName(QStringLiteral("projectDock"));
    dock->setWidget(panel_);
    dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable |
                      QDockWidget::DockWidgetClosable);
    addDockWidget(Qt::LeftDockWidgetArea, dock);
    // Closing it (its title bar or View ▸ Project Panel) is the user's choice, kept until they reopen it.
    dock->toggleViewAction()->setText(tr("&Project Panel"));
    dock->toggleViewAction()->setObjectName(QStringLiteral("toggleProjectPanel"));
    connect(dock->toggleViewAction(), &QAction::triggered, this, &MainWindow::setProjectPanelWanted);
    dock->installEventFilter(this);

    buildMenus();
    buildStatusBar();

    // One selection, handed to every view: they select through it and follow it.
    follow(selection_, heads_);
    follow(selection_, coupling_);
    follow(selection_, svd_);
    follow(selection_, paths_);
    follow(selection_, steering_);
    follow(selection_, attention_);
    follow(selection_, corpus_);
    connect(prompts_, &PromptsView::promptSelected, attention_, &AttentionView::showPrompt);
    // A token picked in the Prompts view: new steering vectors go there, or attribution reads it.
    connect(prompts_, &PromptsView::steerAtToken, this, [this](const QString& position) {
        steering_->positionBox()->setEditText(position);
        status_->setText(tr("New steering vectors are added at token %1").arg(position));
        tabs_->setCurrentWidget(steering_);
    });
    connect(prompts_, &PromptsView::attributeAtToken, this, [this](const QString& position) {
        heads_->attributeAt(position);
        status_->setText(tr("Attributing the prediction at token %1").arg(position));
        tabs_->setCurrentWidget(heads_);
    });
    connect(selection_, &HeadSelection::changed, this, [this](HeadRef h) {
        if (h.valid()) status_->setText(tr("Head %1 selected").arg(headName(h.layer, h.head)));
        Q_EMIT headChanged(h);
    });
    connect(heads_, &HeadsView::steerRequested, this, [this](HeadRef h) {
        selection_->select(h);
        steering_->addSelectedHead();
        tabs_->setCurrentWidget(steering_);
    });
    connect(debias_, &DebiasView::steeringVectorAdded, this, [this] { tabs_->setCurrentWidget(steering_); });
    connect(paths_, &PathsView::pathActivated, this, [this](std::vector<HeadRef> path, QString observable) {
        steering_->addPath(std::move(path), std::move(observable));
        tabs_->setCurrentWidget(steering_);
    });
    connect(paths_, &PathsView::corpusRequested, this, [this](std::vector<HeadRef> path, QString observable) {
        corpus_->setPath(std::move(path), observable);
        status_->setText(tr("The Corpus tab scores the feature of %1: press Run")
                             .arg(QString::fromStdString(analyses::path_title(corpus_->selectedPath()))));
        tabs_->setCurrentWidget(corpus_);
    });
    connect(session_, &Session::workspaceOpened, this, &MainWindow::onOpened);
    connect(session_, &Session::openFailed, this, [this](const QString& e) {
        status_->setText(tr("Could not open: %1").arg(e));
        Q_EMIT openFailed(e);
        showError(tr("Could not open"), e);
    });
    connect(session_, &Session::modelChanged, this, [this](const QString& message) {
        status_->setText(tr("The model has changed since the project was saved"));
        auto* box = new QMessageBox(QMessageBox::Warning, tr("The model has changed"), message,
                                    QMessageBox::Ok, this);
        box->setObjectName(QStringLiteral("modelChanged"));
        connect(box->addButton(tr("&Locate Model…"), QMessageBox::ActionRole), &QAbstractButton::clicked,
                this, &MainWindow::locateModel);
        box->setAttribute(Qt::WA_DeleteOnClose);
        if (!quiet()) box->open(); // not modal to the event loop: computations go on
    });
    connect(session_, &Session::modelMissing, this, &MainWindow::onModelMissing);
    connect(session_, &Session::dirtyChanged, this, &MainWindow::updateTitle);
    connect(session_, &Session::jobFailed, this, [this](const QString&, const QString& e) {
        status_->setText(tr("Failed: %1").arg(e)); // the message starts with the analysis
    });

    autosave_ = new QTimer(this);
    autosave_->setInterval(kAutosaveMs);
    connect(autosave_, &QTimer::timeout, this, &MainWindow::writeRecovery);
    autosave_->start();

    QSettings s;
    if (!restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray())) resize(1280, 800);
    restoreState(s.value(QStringLiteral("window/state")).toByteArray());
    projectDockWanted_ = s.value(QStringLiteral("window/projectPanel"), true).toBool();
    updateTitle();
    updateFileActions();
    QTimer::singleShot(0, this, &MainWindow::offerRecovery);
}

MainWindow::~MainWindow() = default;

bool MainWindow::quiet() const {
    return property("quietErrors").toBool();
}

void MainWindow::showError(const QString& title, const QString& message) {
    if (!quiet()) QMessageBox::warning(this, title, message);
}

void MainWindow::buildMenus() {
    auto* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&New Project"), this, &MainWindow::newProject)
        ->setShortcuts(standardShortcut(QKeySequence::New, tr("Ctrl+N")));
    file->addAction(tr("Open &Model Folder…"), this, &MainWindow::chooseModelFolder)
        ->setShortcuts(standardShortcut(QKeySequence::Open, tr("Ctrl+O")));
    file->addAction(tr("Open &Project…"), QKeySequence(tr("Ctrl+Shift+O")), this, &MainWindow::chooseProject);
    recentMenu_ = file->addMenu(tr("Open &Recent"));
    updateRecentMenu();
    file->addAction(tr("Open &Demo Project"), this, &MainWindow::openDemo);
    locateModel_ = file->addAction(tr("&Locate Model…"), this, &MainWindow::locateModel);
    locateModel_->setObjectName(QStringLiteral("locateModel"));
    locateModel_->setStatusTip(tr("Point the project at its model folder after the folder moved or changed"));
    file->addSeparator();
    file->addAction(tr("&Save Project"), this, &MainWindow::save)
        ->setShortcuts(standardShortcut(QKeySequence::Save, tr("Ctrl+S")));
    auto* saveAs = file->addAction(tr("Save Project &As…"), this, &MainWindow::saveAs);
    saveAs->setShortcuts(standardShortcut(QKeySequence::SaveAs, tr("Ctrl+Shift+S")));
    saveAs->setObjectName(QStringLiteral("saveAs"));
    file->addSeparator();
    exportFigure_ =
        file->addAction(tr("&Export Figure…"), QKeySequence(tr("Ctrl+E")), this, &MainWindow::exportFigure);
    file->addAction(tr("Export &All…"), QKeySequence(tr("Ctrl+Shift+E")), this, &MainWindow::chooseExportAll);
    file->addSeparator();
    file->addAction(tr("&Quit"), this, &QWidget::close)
        ->setShortcuts(standardShortcut(QKeySequence::Quit, tr("Ctrl+Q")));

    auto* edit = menuBar()->addMenu(tr("&Edit"));
    auto* undo = session_->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setShortcuts(standardShortcut(QKeySequence::Undo, tr("Ctrl+Z")));
    undo->setObjectName(QStringLiteral("undo"));
    auto* redo = session_->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setShortcuts(standardShortcut(QKeySequence::Redo, tr("Ctrl+Shift+Z")));
    redo->setObjectName(QStringLiteral("redo"));
    edit->addAction(undo);
    edit->addAction(redo);
    edit->addSeparator();
    copyCommand_ = edit->addAction(tr("Copy as &Command"), QKeySequence(tr("Ctrl+Shift+C")), this,
                                   &MainWindow::copyCommand);
    copyCommand_->setToolTip(tr("Copy the obsprop command line that prints the numbers this tab shows"));
    for (int i = 0; i < tabs_->count(); ++i) { // also on every tab's context menu
        tabs_->widget(i)->setContextMenuPolicy(Qt::ActionsContextMenu);
        tabs_->widget(i)->addAction(copyCommand_);
        if (exportFigure_) tabs_->widget(i)->addAction(exportFigure_);
    }
    edit->addSeparator();
    auto* prefs = edit->addAction(tr("&Preferences…"), this, [this] {
        PreferencesDialog d(this);
        d.exec();
    });
    prefs->setShortcuts(standardShortcut(QKeySequence::Preferences, tr("Ctrl+,")));
    prefs->setObjectName(QStringLiteral("preferences"));

    auto* view = menuBar()->addMenu(tr("&View"));
    view->addAction(selection_->nextAction());
    view->addAction(selection_->previousAction());
    view->addAction(tr("&Recompute"), this, [this] { session_->computeFeatures(QStringLiteral("heads")); })
        ->setShortcuts(standardShortcut(QKeySequence::Refresh, tr("F5")));
    view->addSeparator();
    view->addAction(projectDock_->toggleViewAction());
    view->addAction(tr("&Debug Overlay"), QKeySequence(Qt::Key_F12), this, &MainWindow::toggleOverlay);

    auto* help = menuBar()->addMenu(tr("&Help"));
    auto* manual = help->addAction(tr("ObsProp Explorer &Manual"), this, &MainWindow::showManual);
    manual->setShortcuts(standardShortcut(QKeySequence::HelpContents, tr("F1")));
    manual->setObjectName(QStringLiteral("manual"));
    help->addAction(tr("&About ObsProp Explorer"), this, &MainWindow::showAbout);
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

QString MainWindow::aboutText() const {
    return tr("<h3>ObsProp Explorer %1</h3>"
              "<p>Observable propagation for Transformer language models: feature vectors of every attention "
              "head, MLP and path from a linear functional on the logits, with no data; attribution, "
              "coupling, "
              "SVD alignment and steering on top.</p>"
              "<p>Model families: GPT-2, GPT-Neo, Pythia (GPT-NeoX), Llama, Mistral, Qwen 2, Qwen 3, Gemma, "
              "Gemma 2, Gemma 3.</p>"
              "<p>Qt %2 · LibTorch %3</p>")
        .arg(QCoreApplication::applicationVersion(), QString::fromLatin1(qVersion()),
             QString::fromLatin1(analyses::torch_version()));
}

void MainWindow::showManual() {
    const QString file = bundledManual();
    if (file.isEmpty()) {
        showError(tr("Manual"),
                  tr("The manual (share/doc/obsprop/README.md) was not found beside the program "
                     "or in the system's data folders."));
        return;
    }
    auto* w = new ManualWindow(file, this);
    w->setObjectName(QStringLiteral("manualWindow"));
    w->show();
}

void MainWindow::showAbout() {
    if (quiet()) return;
    QMessageBox::about(this, tr("About ObsProp Explorer"), aboutText());
}

void MainWindow::buildStatusBar() {
    status_ = new QLabel(tr("Open a Hugging Face model folder or a project (File ▸ Open)."), this);
    progress_ = new QProgressBar(this);
    progress_->setRange(0, 1000);
    progress_->setMaximumWidth(180);
    progress_->hide();
    cancel_ = new QPushButton(tr("Cancel"), this);
    cancel_->setObjectName(QStringLiteral("cancelJob"));
    cancel_->hide();
    statusBar()->addWidget(status_, 1);
    statusBar()->addPermanentWidget(progress_);
    statusBar()->addPermanentWidget(cancel_);
    auto& jobs = session_->jobs();
    connect(cancel_, &QPushButton::clicked, this, [this] { session_->jobs().cancelAll(); });
    connect(&jobs, &JobTracker::started, this, [this](const QString& channel) {
        progress_->setValue(0);
        progress_->show();
        cancel_->show();
        status_->setText(tr("Computing %1…").arg(jobText(channel)));
    });
    connect(&jobs, &JobTracker::progress, this,
            [this](const QString& channel, double f, const QString& stage) {
                progress_->setValue(static_cast<int>(f * 1000));
                status_->setText(tr("%1: %2").arg(jobText(channel), stage));
            });
    connect(&jobs, &JobTracker::finished, this, [this](const QString& channel, bool ok) {
        if (session_->jobs().running() > 0) return;
        progress_->hide();
        cancel_->hide();
        if (ok) status_->setText(tr("Ready: %1 computed").arg(jobText(channel)));
    });
}

QString MainWindow::jobText(const QString& channel) const {
    // Channels are "<analysis>/<consumer>": "path ranking/paths" reads "path ranking for the Paths view".
    const QString analysis = channel.section(QLatin1Char('/'), 0, 0);
    const QString consumer = channel.section(QLatin1Char('/'), 1);
    if (analysis == QLatin1String("open")) return tr("the project");
    for (int i = 0; i < tabs_->count(); ++i) {
        const QString tab = tabs_->tabText(i).remove(QLatin1Char('&'));
        if (!consumer.isEmpty() && tab.compare(consumer, Qt::CaseInsensitive) == 0)
            return tr("%1 for the %2 view").arg(analysis, tab);
    }
    return analysis;
}

bool MainWindow::confirmDiscard() {
    if (!session_->isDirty() || quiet()) return true;
    const auto a = QMessageBox::question(this, tr("Unsaved changes"), tr("Save the current project first?"),
                                         QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel,
                                         QMessageBox::Save);
    return a == QMessageBox::Discard || (a == QMessageBox::Save && save());
}

void MainWindow::newProject() {
    if (!confirmDiscard()) return;
    QString dir = currentModel();
    if (dir.isEmpty()) dir = choosePath(Choice::ModelFolder, tr("New project: choose a model folder"));
    if (dir.isEmpty()) return;
    status_->setText(tr("New project on %1…").arg(dir));
    session_->openModel(dir); // the model with the default datasets, no observables, no file yet
}

void MainWindow::openPath(const QString& path) {
    if (!confirmDiscard()) return;
    const QFileInfo fi(path);
    if (!fi.exists()) {
        const QString e = tr("%1 does not exist").arg(path);
        Q_EMIT openFailed(e);
        showError(tr("Could not open"), e);
        return;
    }
    status_->setText(tr("Opening %1…").arg(fi.absoluteFilePath()));
    if (fi.isFile() && fi.suffix() == QLatin1String("obsprop"))
        session_->openProject(fi.absoluteFilePath());
    else
        session_->openModel(fi.isDir() ? fi.absoluteFilePath() : fi.absolutePath());
}

bool MainWindow::openDemo() {
    const QString demo = bundledDemoProject();
    if (demo.isEmpty()) {
        const QString e = tr("The demo project is not installed (looked for projects/demo.obsprop in %1)")
                              .arg(bundledDataDirs().join(QStringLiteral(", ")));
        Q_EMIT openFailed(e);
        showError(tr("Could not open"), e);
        return false;
    }
    openPath(demo);
    return true;
}

bool MainWindow::projectIsReadOnly() const {
    return isReadOnlyProject(session_->projectFile());
}

QString MainWindow::currentModel() const {
    return session_->isOpen() ? session_->modelInfo().directory : QString();
}

void MainWindow::onOpened() {
    const ModelInfo m = session_->modelInfo();
    selection_->setShape(m.layers, m.heads);
    selection_->clear(); // a new model: the views start without a head
    if (restoringRecovery_) {
        restoringRecovery_ = false;
        session_->detachFromFile();
    } else {
        updateRecentMenu(session_->projectFile().isEmpty() ? m.directory : session_->projectFile());
    }
    status_->setText(
        tr("Opened %1 (%2, %3 layers × %4 heads)").arg(m.directory, m.family).arg(m.layers).arg(m.heads));
    // The views computed what they show on recipeChanged; the Paths view also ranks once by default.
    if (!session_->viewState()[QStringLiteral("paths")].isObject() && !session_->observables().isEmpty())
        paths_->rank();
    restoreViewState();
    updateTitle();
    Q_EMIT modelOpened(m.directory);
}

void MainWindow::updateTitle() {
    QString name = tr("Untitled");
    if (!session_->projectFile().isEmpty())
        name = projectIsReadOnly() ? tr("%1 (read-only)").arg(QFileInfo(session_->projectFile()).fileName())
                                   : QFileInfo(session_->projectFile()).fileName();
    else if (session_->isOpen())
        name = tr("Untitled (%1)").arg(QFileInfo(session_->modelInfo().directory).fileName());
    setWindowTitle(QStringLiteral("%1[*] — ObsProp Explorer").arg(name));
    setWindowModified(session_->isDirty());
}

void MainWindow::updateRecentMenu(const QString& added) {
    addRecentPath(added);
    const QStringList recent = recentPaths();
    recentMenu_->clear();
    for (const QString& r : recent) // a path that is gone is greyed (its drive may come back)
        recentMenu_->addAction(r, this, [this, r] { openPath(r); })->setEnabled(QFileInfo::exists(r));
    recentMenu_->setEnabled(!recent.isEmpty());
    if (welcome_) welcome_->setRecent(recent);
}

void MainWindow::chooseModelFolder() {
    const QString dir =
        choosePath(Choice::ModelFolder, tr("Open a Hugging Face model folder"), currentModel());
    if (!dir.isEmpty()) openPath(dir);
}

void MainWindow::chooseProject() {
    const QString f = choosePath(Choice::Project, tr("Open project"));
    if (!f.isEmpty()) openPath(f);
}

void MainWindow::storeViewState() {
    // A key is written when the project had it or when it differs from the default, so opening and saving a
    // project without touching anything writes the same bytes.
    QJsonObject v = session_->viewState();
    auto put = [&v](const QString& key, const QJsonValue& value, bool isDefault) {
        if (!isDefault || v.contains(key)) v[key] = value;
    };
    put(QStringLiteral("selected_head"),
        selectedHead().valid() ? QJsonArray{selectedHead().layer, selectedHead().head} : QJsonArray{},
        !selectedHead().valid());
    put(QStringLiteral("tab"), tabs_->currentIndex(), tabs_->currentIndex() == 0);
    put(QStringLiteral("heatmap_left"), heads_->pickedQuantity(0), heads_->pickedQuantity(0).isEmpty());
    put(QStringLiteral("heatmap_right"), heads_->pickedQuantity(1), heads_->pickedQuantity(1).isEmpty());
    put(QStringLiteral("paths"), paths_->state(), !paths_->hasSearched());
    put(QStringLiteral("attention"), attention_->state(), !attention_->isTouched());
    put(QStringLiteral("debias"), debias_->state(), !debias_->isTouched());
    put(QStringLiteral("corpus"), corpus_->state(), !corpus_->isTouched());
    session_->setViewState(v);
}

void MainWindow::restoreViewState() {
    const QJsonObject v = session_->viewState();
    const QJsonArray h = v[QStringLiteral("selected_head")].toArray();
    if (h.size() == 2) selectHead({h[0].toInt(), h[1].toInt()});
    if (v.contains(QStringLiteral("tab"))) tabs_->setCurrentIndex(v[QStringLiteral("tab")].toInt());
    if (v[QStringLiteral("paths")].isObject()) paths_->restoreState(v[QStringLiteral("paths")].toObject());
    if (v[QStringLiteral("attention")].isObject())
        attention_->restoreState(v[QStringLiteral("attention")].toObject());
    if (v[QStringLiteral("debias")].isObject()) debias_->restoreState(v[QStringLiteral("debias")].toObject());
    if (v[QStringLiteral("corpus")].isObject()) corpus_->restoreState(v[QStringLiteral("corpus")].toObject());
    // The heatmap choices apply once the results they name arrive.
    const QString left = v[QStringLiteral("heatmap_left")].toString(),
                  right = v[QStringLiteral("heatmap_right")].toString();
    auto apply = [this, left, right] {
        if (!left.isEmpty() && heads_->quantities().contains(left)) heads_->setQuantity(0, left);
        if (!right.isEmpty() && heads_->quantities().contains(right)) heads_->setQuantity(1, right);
    };
    connect(session_, &Session::featuresReady, this, apply, Qt::SingleShotConnection);
    connect(session_, &Session::attributionReady, this, apply, Qt::SingleShotConnection);
}

bool MainWindow::saveProjectTo(const QString& file) {
    storeViewState();
    const QString err = isReadOnlyProject(file)
                            ? tr("%1 is read-only (the bundled demo project, or a file or folder you cannot "
                                 "write): save it under another name.")
                                  .arg(file)
                            : session_->saveProject(file);
    if (!err.isEmpty()) {
        status_->setText(tr("Not saved: %1").arg(err));
        showError(tr("Could not save"), err);
        return false;
    }
    QFile::remove(recoveryFile());
    updateRecentMenu(file);
    updateTitle();
    status_->setText(tr("Saved %1").arg(file));
    return true;
}

bool MainWindow::save() {
    if (!session_->isOpen()) return false;
    // A read-only project (the installed demo) is never overwritten: Save asks where to keep the copy.
    if (session_->projectFile().isEmpty() || projectIsReadOnly()) return saveAs();
    return saveProjectTo(session_->projectFile());
}

bool MainWindow::saveAs() {
    if (!session_->isOpen()) return false;
    QString suggested = session_->projectFile();
    QString title = tr("Save project");
    if (projectIsReadOnly()) {
        // The copy goes to the user's documents; saving rewrites its model path for the new place.
        QString dir = QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation);
        if (dir.isEmpty() || !QFileInfo(dir).isDir()) dir = QDir::homePath();
        suggested = dir + QLatin1Char('/') + QFileInfo(suggested).fileName();
        title =
            tr("Save a copy of the read-only project %1").arg(QFileInfo(session_->projectFile()).fileName());
        status_->setText(tr("%1 is read-only: choose where to save your copy").arg(session_->projectFile()));
    }
    QString f = QFileDialog::getSaveFileName(this, title, suggested, tr("ObsProp projects (*.obsprop)"));
    if (f.isEmpty()) return false;
    if (!f.endsWith(QLatin1String(".obsprop"))) {
        f += QLatin1String(".obsprop"); // a name the dialog did not check: ask before replacing it
        if (!confirmOverwrite(this, f)) return false;
    }
    return saveProjectTo(f);
}

void MainWindow::exportFigure() {
    // What the current tab offers: its figures, their size on screen, and how to write figure i.
    using Writer = std::function<bool(int figure, const QString& file, QSize size, double scale)>;
    QWidget* tab = tabs_->currentWidget();
    QStringList figures;
    QSize size;
    Writer write;
    auto single = [](auto* view) {
        return [view](int, const QString& f, QSize s, double scale) {
            return view->exportFigure(f, s.width(), s.height(), scale);
        };
    };
    if (tab == heads_) {
        figures = {tr("Left heatmap"), tr("Right heatmap")}, size = heads_->heatmap(0)->size();
        write = [this](int i, const QString& f, QSize s, double scale) {
            return heads_->exportFigure(i, f, s.width(), s.height(), scale);
        };
    } else if (tab == coupling_) {
        figures = {tr("Coupling plots")}, size = coupling_->plot()->size(), write = single(coupling_);
    } else if (tab == svd_) {
        figures = {tr("Alignment bars")}, size = svd_->plot()->size(), write = single(svd_);
    } else if (tab == steering_) {
        figures = {tr("Steering bars")}, size = steering_->plot()->size(), write = single(steering_);
    } else if (tab == attention_) {
        figures = {tr("Attention pattern and contributions")}, size = attention_->plot()->size(),
        write = single(attention_);
    } else if (tab == debias_) {
        figures = {tr("Debiasing sweep")}, size = debias_->plot()->size(), write = single(debias_);
    } else if (tab == corpus_) {
        figures = {tr("Corpus score histogram")}, size = corpus_->plot()->size(), write = single(corpus_);
    } else { // the action is disabled on such a tab; its tooltip says why
        status_->setText(exportFigure_->toolTip());
        return;
    }
    auto* dialog = new ExportFigureDialog(figures, size, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog, write] {
        const QString f = dialog->file();
        const bool ok = write(dialog->figure(), f, dialog->figureSize(), dialog->scale());
        if (ok)
            status_->setText(tr("Wrote %1").arg(f));
        else
            showError(tr("Export failed"), tr("Could not write %1 (is the folder writable?)").arg(f));
        Q_EMIT figureExported(f, ok);
    });
    dialog->open();
}

QString MainWindow::currentCommand() const {
    QWidget* tab = tabs_->currentWidget();
    if (tab == heads_) return heads_->command();
    if (tab == coupling_) return coupling_->command();
    if (tab == svd_) return svd_->command();
    if (tab == paths_) return paths_->command();
    if (tab == steering_) return steering_->command();
    if (tab == prompts_) return prompts_->command();
    if (tab == attention_) return attention_->command();
    if (tab == debias_) return debias_->command();
    if (tab == corpus_) return corpus_->command();
    return {};
}

void MainWindow::copyCommand() {
    const QString c = currentCommand();
    if (c.isEmpty()) {
        status_->setText(tr("Nothing to copy: this tab shows no result yet."));
        return;
    }
    QGuiApplication::clipboard()->setText(c);
    status_->setText(session_->isDirty()
                         ? tr("Copied (it reads the saved project: save first to include your "
                              "edits): %1")
                               .arg(c)
                         : tr("Copied: %1").arg(c));
}

void MainWindow::chooseExportAll() {
    const QString d = QFileDialog::getExistingDirectory(this, tr("Export everything into a folder"));
    if (!d.isEmpty()) exportAll(d);
}

bool MainWindow::exportAll(const QString& dir) {
    if (!session_->isOpen()) return false;
    if (!QDir(dir).isEmpty() &&
        !confirmOverwrite(
            this, dir,
            tr("%1 is not empty: files of an export (tables, figures, manifest.json) already there "
               "will be replaced. Export into it?")
                .arg(QDir::toNativeSeparators(dir))))
        return false;
    // Exactly what `obsprop export --figures` writes: the core's reports, tables and the figure code.
    session_->exportAll(dir);
    status_->setText(tr("Exporting every table and figure to %1…").arg(dir));
    return true;
}

QString MainWindow::recoveryFile() {
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    QDir().mkpath(dir);
    return dir + QStringLiteral("/recovery.obsprop");
}

void MainWindow::writeRecovery() {
    if (!session_->isOpen() || !session_->isDirty()) return;
    storeViewState();
    QSaveFile f(recoveryFile());
    if (f.open(QIODevice::WriteOnly)) {
        f.write(session_->serializeProject());
        f.commit();
    }
}

void MainWindow::offerRecovery() {
    const QString f = recoveryFile();
    if (!QFileInfo::exists(f) || quiet()) return;
    const auto answer = QMessageBox::question(this, tr("Restore unsaved work?"),
                                              tr("ObsProp Explorer did not close normally last time. Restore "
                                                 "the unsaved project it was working on?"),
                                              QMessageBox::Yes | QMessageBox::Discard, QMessageBox::Yes);
    if (answer == QMessageBox::Yes) {
        restoringRecovery_ = true;
        session_->openProject(f);
    } else {
        QFile::remove(f);
    }
}

HeadRef MainWindow::selectedHead() const {
    return selection_->current();
}

void MainWindow::selectHead(HeadRef h) {
    selection_->select(h);
}

void MainWindow::nextHead() {
    selection_->step(1);
}

void MainWindow::toggleOverlay() {
    if (!DebugOverlay::supported()) {
        status_->setText(tr("The debug overlay needs an OpenGL display (not available on this platform)."));
        return;
    }
    if (!overlay_) {
        overlay_ = new DebugOverlay(session_, watchdog_, this);
        overlay_->setGeometry(centralWidget()->geometry());
        overlay_->show();
        overlay_->raise();
        return;
    }
    overlay_->setVisible(!overlay_->isVisible());
    if (overlay_->isVisible()) overlay_->raise();
}

void MainWindow::resizeEvent(QResizeEvent* e) {
    QMainWindow::resizeEvent(e);
    if (overlay_) overlay_->setGeometry(centralWidget()->geometry());
}

void MainWindow::dragEnterEvent(QDragEnterEvent* e) {
    if (e->mimeData()->hasUrls()) e->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* e) {
    const auto urls = e->mimeData()->urls();
    if (!urls.isEmpty() && urls.first().isLocalFile()) openPath(urls.first().toLocalFile());
}

void MainWindow::setProjectPanelWanted(bool shown) {
    projectDockWanted_ = shown;
    QSettings().setValue(QStringLiteral("window/projectPanel"), shown);
}

bool MainWindow::eventFilter(QObject* watched, QEvent* e) {
    // The dock's own close button (not a hide of ours, which sends no close event).
    if (watched == projectDock_ && e->type() == QEvent::Close) setProjectPanelWanted(false);
    return QMainWindow::eventFilter(watched, e);
}

void MainWindow::closeEvent(QCloseEvent* e) {
    if (!confirmDiscard()) {
        e->ignore();
        return;
    }
    QSettings s;
    s.setValue(QStringLiteral("window/geometry"), saveGeometry());
    s.setValue(QStringLiteral("window/state"), saveState());
    QFile::remove(recoveryFile()); // a clean exit leaves nothing to recover
    session_->jobs().cancelAll();
    QMainWindow::closeEvent(e);
}

} // namespace obsprop::ui
