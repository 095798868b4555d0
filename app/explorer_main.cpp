// obsprop-explorer: the desktop program.
#include "analyses/engine_status.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>

#include <QApplication>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QPixmap>
#include <QTabWidget>
#include <QThread>
#include <QTimer>

#include "session/session.h"
#include "views/main_window.h"

namespace {

void name_application() {
    QCoreApplication::setOrganizationName(QStringLiteral("ObsProp"));
    QCoreApplication::setApplicationName(QStringLiteral("ObsProp Explorer"));
    QCoreApplication::setApplicationVersion(QStringLiteral(OBSPROP_VERSION_STRING));
}

struct Options {
    QCommandLineOption overlay{QStringLiteral("debug-overlay"),
                               QStringLiteral("Start with the debug overlay shown (F12)")};
    QCommandLineOption tab{QStringLiteral("tab"), QStringLiteral("Show this tab first (0 = Heads)"),
                           QStringLiteral("index")};
    QCommandLineOption head{QStringLiteral("head"), QStringLiteral("Select this head once open, e.g. 1.2"),
                            QStringLiteral("L.H")};
    QCommandLineOption shot{QStringLiteral("screenshot"),
                            QStringLiteral("Save a PNG of the window once the path has opened, then quit"),
                            QStringLiteral("file.png")};
    QCommandLineOption size{QStringLiteral("size"), QStringLiteral("Window size WxH (e.g. for screenshots)"),
                            QStringLiteral("WxH")};

    void add_to(QCommandLineParser& parser) const {
        parser.setApplicationDescription(
            QStringLiteral("Observable propagation explorer for Transformer language models"));
        parser.addHelpOption();
        parser.addVersionOption();
        parser.addPositionalArgument(QStringLiteral("path"),
                                     QStringLiteral("A Hugging Face model folder or a .obsprop project"));
        for (const auto* o : {&overlay, &tab, &head, &shot, &size})
            parser.addOption(*o);
    }
};

} // namespace

int main(int argc, char** argv) {
    // LibTorch's OpenMP workers must not spin while waiting: on a 2-core machine spinning workers take
    // the core the GUI thread needs. Set before the OpenMP runtime starts (the user's setting wins).
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    const Options options;
    // --help and --version need no display: answer them before a GUI application connects to one.
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help" || a == "--help-all" || a == "-v" || a == "--version") {
            QCoreApplication core(argc, argv);
            name_application();
            QCommandLineParser parser;
            options.add_to(parser);
            parser.process(core); // prints and exits
            return 0;
        }
    }
    QApplication app(argc, argv);
    name_application();
    QApplication::setDesktopFileName(QStringLiteral("org.obsprop.Explorer"));

    QCommandLineParser parser;
    options.add_to(parser);
    const auto& [overlay, tab, head, shot, size] =
        std::tie(options.overlay, options.tab, options.head, options.shot, options.size);
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
