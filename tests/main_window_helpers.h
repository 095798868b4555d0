// What the explorer window suites share: their includes, helpers and a fixture with a tiny model (the
// model folder in dir_, openWithSubj opening it with one observable and waiting for its heatmap).
#pragma once

#include "test_models.h"
#include "test_paths.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QCommandLinkButton>
#include <QDockWidget>
#include <QFileDialog>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTextBrowser>
#include <QtTest>

#include "figures/qcp.h"
#include "io/tokenizer.h"
#include "project/project.h"
#include "session/bundled_data.h"
#include "session/recent_files.h"
#include "session/session.h"
#include "views/attention_view.h"
#include "views/confirm_overwrite.h"
#include "views/corpus_view.h"
#include "views/debias_view.h"
#include "views/export_dialog.h"
#include "views/heads_view.h"
#include "views/heatmap_widget.h"
#include "views/main_window.h"
#include "views/manual_window.h"
#include "views/paths_view.h"
#include "views/project_panel.h"
#include "views/prompts_view.h"
#include "views/welcome_page.h"

using namespace obsprop::ui;

namespace main_window_test {

inline QJsonObject cliFeatures(const QStringList& args) {
    QProcess p;
    p.start(test_paths::binary("/app/obsprop"), QStringList{QStringLiteral("features")} + args);
    p.waitForFinished(60000);
    return QJsonDocument::fromJson(p.readAllStandardOutput()).object();
}

inline void typeObservable(MainWindow& w, const QString& text) {
    auto* input = w.projectPanel()->observableInput();
    input->clear();
    QTest::keyClicks(input, text);
    QTest::keyClick(input, Qt::Key_Return);
}

// Copies a folder's files (not recursive: a model folder is flat).
inline bool copyFolder(const QString& from, const QString& to) {
    if (!QDir().mkpath(to)) return false;
    for (const QFileInfo& f : QDir(from).entryInfoList(QDir::Files))
        if (!QFile::copy(f.absoluteFilePath(), to + QLatin1Char('/') + f.fileName())) return false;
    return true;
}

inline QString demoModel() {
    return QFileInfo(bundledDemoProject()).absolutePath() + QStringLiteral("/../models/demo");
}

// `obsprop project create --model MODEL ARGS... --out FILE`, as a user would write the project.
inline bool createProject(const QString& model, const QString& file, const QStringList& args) {
    QProcess p;
    p.start(
        test_paths::binary("/app/obsprop"),
        QStringList{QStringLiteral("project"), QStringLiteral("create"), QStringLiteral("--model"), model} +
            args + QStringList{QStringLiteral("--out"), file});
    return p.waitForFinished(60000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
}

inline QByteArray contents(const QString& file) {
    QFile f(file);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace main_window_test

using namespace main_window_test;

struct MainWindowFixture {
    test_models::TinyModel t_ = test_models::make_tiny(obsprop::tools::Family::GPT2, 31, 512);
    QString dir_;

    // Opens the tiny model, adds subj and waits for its heatmap.
    bool openWithSubj(MainWindow& w) {
        QSignalSpy opened(&w, &MainWindow::modelOpened);
        w.openPath(dir_);
        if (!opened.wait(30000)) return false;
        w.session()->addObservable(QStringLiteral("subj"), QStringLiteral("#10 - #20"));
        return QTest::qWaitFor([&] { return w.headsView()->matrix(QStringLiteral("norm: subj")) != nullptr; },
                               30000);
    }

    // Settings and recovery files of tests stay apart from the user's.
    void setUpFixture() {
        QCoreApplication::setOrganizationName(QStringLiteral("ObsPropTests"));
        QStandardPaths::setTestModeEnabled(true);
        dir_ = t_.dir->filePath(QStringLiteral("model"));
        QFile::remove(MainWindow::recoveryFile());
    }
};
