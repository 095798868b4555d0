// The explorer's main window: opens a model folder (menu, drag and drop, command line) and shows
// what it holds. Loading runs on a worker thread; the window never waits for it.
#pragma once

#include <QMainWindow>
#include <QString>

class QLabel;
class QTreeWidget;
class QProgressBar;

namespace obsprop::ui {

class MainWindow : public QMainWindow {
    Q_OBJECT
  public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // Opens a Hugging Face model folder in the background. Errors are shown, never fatal.
    void openPath(const QString& path);
    QString currentModel() const { return modelDir_; }

  Q_SIGNALS:
    void modelOpened(const QString& dir);
    void openFailed(const QString& message);

  protected:
    void dragEnterEvent(QDragEnterEvent* e) override;
    void dropEvent(QDropEvent* e) override;
    void closeEvent(QCloseEvent* e) override;

  private:
    void buildMenus();
    void chooseModelFolder();
    void updateRecentMenu();
    void showSummary(const QString& dir, const QStringList& rows);

    QTreeWidget* summary_ = nullptr;
    QLabel* statusLabel_ = nullptr;
    QProgressBar* progress_ = nullptr;
    class QMenu* recentMenu_ = nullptr;
    QString modelDir_;
    int generation_ = 0;
};

}  // namespace obsprop::ui
