#include "views/welcome_page.h"

#include <QCommandLinkButton>
#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QVBoxLayout>

namespace obsprop::ui {

namespace {
constexpr int kColumnWidth = 640;
constexpr int kPathRole = Qt::UserRole;
} // namespace

WelcomePage::WelcomePage(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("welcomePage"));
    auto* column = new QWidget(this);
    column->setMaximumWidth(kColumnWidth);
    auto* lay = new QVBoxLayout(column);
    lay->setSpacing(8);

    auto* title = new QLabel(tr("<h1>ObsProp Explorer</h1>"), column);
    auto* intro = new QLabel(
        tr("Write a behaviour of a language model as an observable, such as "
           "the logit difference \" she\" - \" he\", and see which attention heads carry it: feature "
           "norms, attribution, coupling, SVD, paths and steering."),
        column);
    intro->setWordWrap(true);
    lay->addWidget(title);
    lay->addWidget(intro);
    lay->addSpacing(12);

    demo_ = new QCommandLinkButton(tr("Open the &demo project"),
                                   tr("A small GPT-2 trained on a pronoun task, with observables and "
                                      "datasets ready."),
                                   column);
    model_ =
        new QCommandLinkButton(tr("Open a &model folder…"),
                               tr("A Hugging Face checkpoint folder: config.json, safetensors weights and "
                                  "the tokenizer."),
                               column);
    project_ = new QCommandLinkButton(tr("Open a &project…"), tr("An .obsprop file saved earlier."), column);
    demo_->setObjectName(QStringLiteral("welcomeDemo"));
    model_->setObjectName(QStringLiteral("welcomeModel"));
    project_->setObjectName(QStringLiteral("welcomeProject"));
    for (auto* b : {demo_, model_, project_})
        lay->addWidget(b);
    lay->addSpacing(12);

    auto* recentTitle = new QLabel(tr("<b>&Recent</b>"), column);
    recent_ = new QListWidget(column);
    recent_->setObjectName(QStringLiteral("recentList"));
    recent_->setAccessibleName(tr("Recent projects and model folders"));
    recent_->setUniformItemSizes(true);
    recent_->setSpacing(2);
    recent_->setTextElideMode(Qt::ElideMiddle);
    recentTitle->setBuddy(recent_);
    noRecent_ = new QLabel(tr("Projects and model folders you open will be listed here."), column);
    noRecent_->setForegroundRole(QPalette::PlaceholderText);
    lay->addWidget(recentTitle);
    lay->addWidget(recent_);
    lay->addWidget(noRecent_);

    // The column in the middle, a little above the centre.
    auto* row = new QHBoxLayout;
    row->addStretch(1);
    row->addWidget(column, 4);
    row->addStretch(1);
    auto* outer = new QVBoxLayout(this);
    outer->addStretch(1);
    outer->addLayout(row);
    outer->addStretch(2);

    setFocusProxy(demo_);
    setTabOrder(demo_, model_);
    setTabOrder(model_, project_);
    setTabOrder(project_, recent_);

    connect(demo_, &QAbstractButton::clicked, this, &WelcomePage::openDemoRequested);
    connect(model_, &QAbstractButton::clicked, this, &WelcomePage::openModelFolderRequested);
    connect(project_, &QAbstractButton::clicked, this, &WelcomePage::openProjectRequested);
    connect(recent_, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
        if (item->flags() & Qt::ItemIsEnabled) Q_EMIT openRecentRequested(item->data(kPathRole).toString());
    });
    setRecent({});
}

void WelcomePage::setRecent(const QStringList& paths) {
    recent_->clear();
    for (const QString& p : paths) {
        const QFileInfo fi(p);
        auto* item = new QListWidgetItem(
            tr("%1   —   %2").arg(fi.fileName(), QDir::toNativeSeparators(fi.absolutePath())), recent_);
        item->setData(kPathRole, p);
        item->setToolTip(QDir::toNativeSeparators(p));
        if (!fi.exists()) { // greyed: a disconnected drive may come back
            item->setFlags(item->flags() & ~Qt::ItemIsEnabled);
            item->setToolTip(tr("%1 (not found)").arg(QDir::toNativeSeparators(p)));
        }
    }
    if (recent_->count() > 0) {
        recent_->setCurrentRow(0);
        // Every entry in view (there are at most eight), no scroll bar.
        const int row = recent_->sizeHintForRow(0) + 2 * recent_->spacing();
        recent_->setFixedHeight(row * recent_->count() + 2 * recent_->frameWidth() + recent_->spacing());
    }
    recent_->setVisible(!paths.isEmpty());
    noRecent_->setVisible(paths.isEmpty());
}

void WelcomePage::setDemoAvailable(bool available, const QString& reason) {
    demo_->setEnabled(available);
    demo_->setToolTip(available ? QString() : reason);
}

} // namespace obsprop::ui
