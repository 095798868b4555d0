// The page shown while no project is open, in place of the analysis views: open the bundled demo, a model
// folder or a project, or one of the recent ones. Everything is reachable from the keyboard (Tab between the
// buttons and the list, Enter or Space to open); the page only asks, the main window opens.
#pragma once

#include <QStringList>
#include <QWidget>

class QCommandLinkButton;
class QLabel;
class QListWidget;

namespace obsprop::ui {

class WelcomePage : public QWidget {
    Q_OBJECT
  public:
    explicit WelcomePage(QWidget* parent = nullptr);

    // Newest first; paths that no longer exist are listed greyed and cannot be opened.
    void setRecent(const QStringList& paths);
    void setDemoAvailable(bool available, const QString& reason = {});

    QCommandLinkButton* demoButton() const { return demo_; }
    QCommandLinkButton* modelButton() const { return model_; }
    QCommandLinkButton* projectButton() const { return project_; }
    QListWidget* recentList() const { return recent_; }

  Q_SIGNALS:
    void openDemoRequested();
    void openModelFolderRequested();
    void openProjectRequested();
    void openRecentRequested(const QString& path);

  private:
    QCommandLinkButton* demo_ = nullptr;
    QCommandLinkButton* model_ = nullptr;
    QCommandLinkButton* project_ = nullptr;
    QListWidget* recent_ = nullptr;
    QLabel* noRecent_ = nullptr;
};

} // namespace obsprop::ui
