// The explorer's main window: a project panel, the analysis views in tabs, a status bar with progress and
// cancel for the running job, menus and shortcuts, project files with a dirty marker, autosave to a
// recovery file and an offer to restore it after a crash. All computation happens in the Session's jobs.
#pragma once

#include <QMainWindow>
#include <QString>
#include <functional>

#include "results/results.h"

class QLabel;
class QProgressBar;
class QPushButton;
class QTabWidget;
class QTimer;
class QMenu;
class QAction;
class QDockWidget;
class QStackedWidget;

namespace obsprop::ui {

class Session;
class ProjectPanel;
class HeadsView;
class CouplingView;
class SvdView;
class PathsView;
class SteeringPanel;
class PromptsView;
class AttentionView;
class DebiasView;
class CorpusView;
class DebugOverlay;
class StallWatchdog;
class HeadSelection;
class WelcomePage;

class MainWindow : public QMainWindow {
    Q_OBJECT
  public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // A model folder or a .obsprop project, opened in the background. Errors are shown, never fatal,
    // and the current work stays open.
    void openPath(const QString& path);
    // The bundled demo project (see session/bundled_data.h); false, with a message, when it is not installed.
    bool openDemo();
    // The open project's file must not be overwritten (the bundled demo, or no write access): Save acts as
    // Save As, suggesting the user's documents folder.
    bool projectIsReadOnly() const;
    QString currentModel() const;
    // The About box's text: version, model families, the Qt and LibTorch versions.
    QString aboutText() const;
    Session* session() const { return session_; }
    HeadsView* headsView() const { return heads_; }
    CouplingView* couplingView() const { return coupling_; }
    SvdView* svdView() const { return svd_; }
    PathsView* pathsView() const { return paths_; }
    SteeringPanel* steeringPanel() const { return steering_; }
    PromptsView* promptsView() const { return prompts_; }
    AttentionView* attentionView() const { return attention_; }
    DebiasView* debiasView() const { return debias_; }
    CorpusView* corpusView() const { return corpus_; }
    ProjectPanel* projectPanel() const { return panel_; }
    QTabWidget* tabs() const { return tabs_; }
    HeadRef selectedHead() const;
    HeadSelection* selection() const { return selection_; }
    StallWatchdog* watchdog() const { return watchdog_; }
    DebugOverlay* overlay() const { return overlay_; }
    // The page shown instead of the views while no project is open (main_window_files.cpp).
    WelcomePage* welcomePage() const { return welcome_; }
    bool isWelcomeShown() const;
    QAction* locateModelAction() const { return locateModel_; }
    QAction* exportFigureAction() const { return exportFigure_; }
    // Where the file dialogs come from: a model folder or a project file. Tests replace them.
    enum class Choice { ModelFolder, Project };
    using PathChooser = std::function<QString(Choice what, const QString& title, const QString& start)>;
    void setPathChooser(PathChooser chooser) { chooser_ = std::move(chooser); }

    // F12: shows or hides the ImGui debug overlay (created on first use, only on a real GL platform).
    void toggleOverlay();

    bool saveProjectTo(const QString& file); // false (with a message) on failure or a read-only file
    bool save();   // File ▸ Save: to the project's file, or as Save As when it has none or is read-only
    bool saveAs(); // File ▸ Save As: asks for a file
    bool exportAll(const QString& dir); // tables (as `obsprop export`) plus figures; blocks only on drawing

    // Where unsaved work is written every few seconds while the project is dirty.
    static QString recoveryFile();
    void writeRecovery();

    // Unsaved changes: asks to save, discard or cancel (true when it is fine to go on).
    bool confirmDiscard();
    QString jobText(const QString& channel) const; // a job channel in the user's words
    void showAbout();
    void showManual();

  public Q_SLOTS:
    void selectHead(obsprop::ui::HeadRef h);
    void nextHead();
    // File ▸ New Project: a fresh, untitled project on the current model (or a chosen model folder).
    void newProject();
    // File ▸ Export Figure: the figure dialog for the current tab (non-modal; figureExported reports).
    void exportFigure();
    // Edit ▸ Copy as Command: the current tab's command line to the clipboard.
    void copyCommand();
    // File ▸ Locate Model…: points the project whose model folder is missing (or the open project, whose
    // model may have changed) at a folder the user picks, and reopens it there, keeping its contents and
    // unsaved edits; the project is then modified (Save records the new folder).
    void locateModel();

  public:
    QString currentCommand() const;

  Q_SIGNALS:
    void modelOpened(const QString& dir);
    void openFailed(const QString& message);
    void headChanged(obsprop::ui::HeadRef h);
    void figureExported(const QString& file, bool ok); // after Export Figure…

  protected:
    void resizeEvent(QResizeEvent* e) override;
    void dragEnterEvent(QDragEnterEvent* e) override;
    void dropEvent(QDropEvent* e) override;
    void closeEvent(QCloseEvent* e) override;
    bool eventFilter(QObject* watched, QEvent* e) override; // the Project dock's close button

  private:
    // main_window_files.cpp: the welcome page, Locate Model, which file actions apply now.
    void buildWelcome();
    void updateFileActions();
    void onModelMissing(const QString& file, const QString& dir, const QString& message);
    QString choosePath(Choice what, const QString& title, const QString& start = {});
    bool currentTabHasFigure() const;

    void buildMenus();
    void buildStatusBar();
    void onOpened();
    void updateTitle();
    void updateRecentMenu(const QString& added = {});
    void chooseModelFolder();
    void chooseProject();
    void chooseExportAll();
    void storeViewState();
    void restoreViewState();
    void offerRecovery();
    void showError(const QString& title, const QString& message);
    bool quiet() const;

    Session* session_ = nullptr;
    ProjectPanel* panel_ = nullptr;
    QTabWidget* tabs_ = nullptr;
    HeadsView* heads_ = nullptr;
    CouplingView* coupling_ = nullptr;
    SvdView* svd_ = nullptr;
    PathsView* paths_ = nullptr;
    SteeringPanel* steering_ = nullptr;
    PromptsView* prompts_ = nullptr;
    AttentionView* attention_ = nullptr;
    DebiasView* debias_ = nullptr;
    CorpusView* corpus_ = nullptr;
    QLabel* status_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QPushButton* cancel_ = nullptr;
    QMenu* recentMenu_ = nullptr;
    QAction* copyCommand_ = nullptr;
    QTimer* autosave_ = nullptr;
    HeadSelection* selection_ = nullptr;
    bool restoringRecovery_ = false;
    StallWatchdog* watchdog_ = nullptr;
    DebugOverlay* overlay_ = nullptr;
    // main_window_files.cpp
    QStackedWidget* central_ = nullptr; // the welcome page or the tabs
    WelcomePage* welcome_ = nullptr;
    QDockWidget* projectDock_ = nullptr;
    void setProjectPanelWanted(bool shown);
    bool projectDockWanted_ = true; // View ▸ Project Panel (remembered); shown only while a project is open
    QAction* locateModel_ = nullptr;
    QAction* exportFigure_ = nullptr;
    QString missingProject_; // a project that did not open because its model folder is gone
    PathChooser chooser_;
};

} // namespace obsprop::ui
