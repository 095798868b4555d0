// Help ▸ Manual: the bundled manual (README and docs, Markdown) in a browser window of its own, offline,
// with back/forward and links between the documents; web links open in the desktop's browser.
#pragma once

#include <QDialog>

class QTextBrowser;

namespace obsprop::ui {

class ManualWindow : public QDialog {
    Q_OBJECT
  public:
    // `file`: the manual's README.md (bundledManual()).
    explicit ManualWindow(const QString& file, QWidget* parent = nullptr);
    QTextBrowser* browser() const { return browser_; }

  private:
    QTextBrowser* browser_ = nullptr;
};

} // namespace obsprop::ui
