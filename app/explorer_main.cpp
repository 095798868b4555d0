// obsprop-explorer: the desktop program.
#include "analyses/engine_status.h"

#include <cstdio>
#include <cstdlib>

#include <QApplication>
#include <QCommandLineParser>
#include <QPixmap>
#include <QTabWidget>
#include <QThread>
#include <QTimer>

#include "session/session.h"
#include "views/main_window.h"

int main(int argc, char** argv) {
    // LibTorch's OpenMP workers must not spin while waiting: on a 2-core machine spinning workers take
    // the core the GUI thread needs. Set before the OpenMP runtime starts (the user's setting wins).
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("ObsProp"));
    QApplication::setApplicationName(QStringLiteral("ObsProp Explorer"));
    QApplication::setApplicationVersion(QStringLiteral(OBSPROP_VERSION_STRING));
    QApplication::setDesktopFileName(QStringLiteral("org.obsprop.Explorer"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Observable propagation explorer for Transformer language models"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("path"),
                                 QStringLiteral("A Hugging Face model folder or a .obsprop project"));
    QCommandLineOption overlay(QStringLiteral("debug-overlay"),
                               QStringLiteral("Start with the debug overlay shown (F12)"));
    parser.addOption(overlay);
    QCommandLineOption tab(QStringLiteral("tab"), QStringLiteral("Show this tab first (0 = Heads)"),
                           QStringLiteral("index"));
    QCommandLineOption head(QStringLiteral("head"), QStringLiteral("Select this head once open, e.g. 1.2"),
                            QStringLiteral("L.H"));
    parser.addOption(tab);
    parser.addOption(head);
    QCommandLineOption shot(QStringLiteral("screenshot"),
                            QStringLiteral("Save a PNG of the window once the path has opened, then quit"),
                            QStringLiteral("file.png"));
    QCommandLineOption size(QStringLiteral("size"), QStringLiteral("Window size WxH (e.g. for screenshots)"),
                            QStringLiteral("WxH"));
    parser.addOption(shot);
    parser.addOption(size);
    parser.process(app);

    // One core stays with the GUI thread; LibTorch gets the rest (at least one).
    obsprop::analyses::configure_engine(std::max(1, QThread::idealThreadCount() - 1), /*count_memory=*/true);

    obsprop::ui::MainWindow w;
    if (parser.isSet(size)) {
        const auto wh = parser.value(size).split(QLatin1Char('x'));
        if (wh.size() == 2) w.resize(wh[0].toInt(), wh[1].toInt());
    }
    if (parser.isSet(shot)) {
        const QString file = parser.value(shot);
        w.setProperty("quietErrors", true);
        // Once opened, wait until the background analyses have finished, then grab the window.
        auto grabAndQuit = [&w, file] {
            auto* poll = new QTimer(&w);
            poll->setInterval(150);
            QObject::connect(poll, &QTimer::timeout, &w, [&w, file, poll] {
                if (w.session()->jobs().running() > 0) return;
                poll->stop();
                QTimer::singleShot(400, &w, [&w, file] {
                    const bool ok = w.grab().save(file);
                    QApplication::exit(ok ? 0 : 1);
                });
            });
            poll->start();
        };
        QObject::connect(&w, &obsprop::ui::MainWindow::modelOpened, &w, grabAndQuit);
        QObject::connect(&w, &obsprop::ui::MainWindow::openFailed, &w, grabAndQuit);
        if (parser.positionalArguments().isEmpty()) grabAndQuit();
    }
    if (parser.isSet(tab) || parser.isSet(head)) {
        QObject::connect(&w, &obsprop::ui::MainWindow::modelOpened, &w, [&w, &parser, &tab, &head] {
            if (parser.isSet(tab)) w.tabs()->setCurrentIndex(parser.value(tab).toInt());
            const auto lh = parser.value(head).split(QLatin1Char('.'));
            if (lh.size() == 2) w.selectHead({lh[0].toInt(), lh[1].toInt()});
        });
    }
    w.show();
    if (parser.isSet(overlay)) w.toggleOverlay();
    if (!parser.positionalArguments().isEmpty()) w.openPath(parser.positionalArguments().first());
    return app.exec();
}
