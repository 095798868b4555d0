#include "views/manual_window.h"

#include <QDesktopServices>
#include <QDialogButtonBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QPushButton>
#include <QTextBrowser>
#include <QUrl>
#include <QVBoxLayout>

namespace obsprop::ui {

ManualWindow::ManualWindow(const QString& file, QWidget* parent) : QDialog(parent) {
    setWindowTitle(tr("ObsProp Explorer Manual"));
    setAttribute(Qt::WA_DeleteOnClose);
    resize(900, 700);
    auto* lay = new QVBoxLayout(this);
    auto* bar = new QHBoxLayout;
    auto* back = new QPushButton(tr("&Back"), this);
    auto* forward = new QPushButton(tr("&Forward"), this);
    auto* home = new QPushButton(tr("&Contents"), this);
    bar->addWidget(back);
    bar->addWidget(forward);
    bar->addWidget(home);
    bar->addStretch(1);
    lay->addLayout(bar);
    browser_ = new QTextBrowser(this);
    browser_->setOpenLinks(false); // local documents here, the web in the desktop's browser
    lay->addWidget(browser_, 1);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    lay->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::close);

    const QUrl start = QUrl::fromLocalFile(QFileInfo(file).absoluteFilePath());
    connect(browser_, &QTextBrowser::anchorClicked, this, [this](const QUrl& url) {
        if (url.isLocalFile() || url.isRelative()) {
            const QUrl target = browser_->source().resolved(url);
            if (target.toLocalFile().endsWith(QLatin1String(".md")))
                browser_->setSource(target, QTextDocument::MarkdownResource);
            else if (!url.fragment().isEmpty() && url.path().isEmpty())
                browser_->scrollToAnchor(url.fragment());
            else
                QDesktopServices::openUrl(target); // an image or a file the browser cannot show
        } else {
            QDesktopServices::openUrl(url);
        }
    });
    connect(back, &QPushButton::clicked, browser_, &QTextBrowser::backward);
    connect(forward, &QPushButton::clicked, browser_, &QTextBrowser::forward);
    connect(home, &QPushButton::clicked, this,
            [this, start] { browser_->setSource(start, QTextDocument::MarkdownResource); });
    connect(browser_, &QTextBrowser::backwardAvailable, back, &QWidget::setEnabled);
    connect(browser_, &QTextBrowser::forwardAvailable, forward, &QWidget::setEnabled);
    back->setEnabled(false);
    forward->setEnabled(false);
    browser_->setSource(start, QTextDocument::MarkdownResource);
}

} // namespace obsprop::ui
