// obsprop-explorer: the desktop program.
#include "analyses/engine_status.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>

#include <QApplication>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QIcon>
#include <QListWidget>
#include <QPixmap>
#include <QPushButton>
#include <QTabWidget>
#include <QTableView>
#include <QThread>
#include <QTimer>

#include "session/bundled_data.h"
#include "session/session.h"
#include "views/main_window.h"
#include "views/preferences_dialog.h"
#include "views/prompts_view.h"
#include "views/theme.h"

namespace {

// The application id: the desktop file's name, the AppStream id and the icon's name.
constexpr const char* kAppId = "org.obsprop.explorer";

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
    QCommandLineOption prompt{QStringLiteral("prompt"),
                              QStringLiteral("Select this row of the Prompts view once listed (its tokens "
                                             "appear below the table)"),
                              QStringLiteral("row")};
    QCommandLineOption token{QStringLiteral("token"),
                             QStringLiteral("With --prompt: pick this token of the selected prompt"),
                             QStringLiteral("index")};
    QCommandLineOption runTab{QStringLiteral("run"),
                              QStringLiteral("Once open, start the shown tab's analysis (its Run button: the "
                                             "Debias and Corpus tabs)")};
    QCommandLineOption shot{QStringLiteral("screenshot"),
                            QStringLiteral("Save a PNG of the window once the path has opened and every "
                                           "analysis has finished, then quit (exit status 1 when the path "
                                           "could not be opened or an analysis failed)"),
                            QStringLiteral("file.png")};
    QCommandLineOption size{QStringLiteral("size"), QStringLiteral("Window size WxH (e.g. for screenshots)"),
                            QStringLiteral("WxH")};
    QCommandLineOption theme{
        QStringLiteral("theme"),
        QStringLiteral("Colour theme for this run: system, light or dark (default: the one "
                       "chosen in Preferences)"),
        QStringLiteral("name")};
    QCommandLineOption demo{
        QStringLiteral("demo"),
        QStringLiteral("Open the bundled demo project (read-only: Save asks where to keep "
                       "your copy)")};

    void add_to(QCommandLineParser& parser) const {
        parser.setApplicationDescription(
            QStringLiteral("Observable propagation explorer for Transformer language models"));
        parser.addHelpOption();
        parser.addVersionOption();
        parser.addPositionalArgument(QStringLiteral("path"),
                                     QStringLiteral("A Hugging Face model folder or a .obsprop project"));
        for (const auto* o : {&demo, &overlay, &tab, &head, &prompt, &token, &runTab, &shot, &size, &theme})
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
    QApplication::setDesktopFileName(QString::fromLatin1(kAppId));
    // The installed theme icon when there is one, else the same artwork built into the program.
    QApplication::setWindowIcon(QIcon::fromTheme(QString::fromLatin1(kAppId),
                                                 QIcon(QStringLiteral(":/icons/org.obsprop.explorer.svg"))));

    QCommandLineParser parser;
    options.add_to(parser);
    const auto& [overlay, tab, head, prompt, token, shot, size] =
        std::tie(options.overlay, options.tab, options.head, options.prompt, options.token, options.shot,
                 options.size);
    parser.process(app);
    QString path = parser.positionalArguments().value(0);
    if (parser.isSet(options.demo)) {
        if (!path.isEmpty()) {
            std::fprintf(stderr,
                         "obsprop-explorer: error: --demo opens the demo project; give no path with it\n");
            return 2;
        }
        path = obsprop::ui::bundledDemoProject();
        if (path.isEmpty()) {
            std::fprintf(stderr,
                         "obsprop-explorer: error: the demo project is not installed (looked for "
                         "projects/demo.obsprop in %s)\n",
                         qPrintable(obsprop::ui::bundledDataDirs().join(QStringLiteral(", "))));
            return 1;
        }
    }

    const QString theme =
        parser.isSet(options.theme) ? parser.value(options.theme) : obsprop::ui::savedTheme();
    if (theme != QLatin1String("system") && !obsprop::ui::applyTheme(theme)) {
        std::fprintf(stderr, "obsprop-explorer: error: unknown theme '%s' (the themes are: %s)\n",
                     qPrintable(theme), qPrintable(obsprop::ui::themeNames().join(QStringLiteral(", "))));
        return 2;
    }

    // Threads and memory budget as saved in Preferences (automatic by default).
    obsprop::ui::applyEngineSettings(/*startup=*/true);

    obsprop::ui::MainWindow w;
    if (parser.isSet(size)) {
        const auto wh = parser.value(size).split(QLatin1Char('x'));
        if (wh.size() == 2) w.resize(wh[0].toInt(), wh[1].toInt());
    }
    QString failure; // with --screenshot: the first error, reported on stderr and in the exit status
    if (parser.isSet(shot)) {
        const QString file = parser.value(shot);
        w.setProperty("quietErrors", true);
        // Once opened, wait until the background analyses have finished, then grab the window.
        auto grabAndQuit = [&w, file, &failure] {
            auto* poll = new QTimer(&w);
            poll->setInterval(150);
            QObject::connect(poll, &QTimer::timeout, &w, [&w, file, poll, &failure] {
                if (w.session()->jobs().running() > 0) return;
                poll->stop();
                QTimer::singleShot(400, &w, [&w, file, poll, &failure] {
                    if (w.session()->jobs().running() > 0) return poll->start(); // one started meanwhile
                    const bool ok = w.grab().save(file);
                    if (!ok)
                        std::fprintf(stderr, "obsprop-explorer: error: could not write %s\n",
                                     qPrintable(file));
                    if (!failure.isEmpty())
                        std::fprintf(stderr, "obsprop-explorer: error: %s\n", qPrintable(failure));
                    QApplication::exit(ok && failure.isEmpty() ? 0 : 1);
                });
            });
            poll->start();
        };
        auto fail = [&failure](const QString& e) {
            if (failure.isEmpty()) failure = e;
        };
        QObject::connect(&w, &obsprop::ui::MainWindow::openFailed, &w, fail);
        QObject::connect(w.session(), &obsprop::ui::Session::jobFailed, &w,
                         [fail](const QString&, const QString& e) { fail(e); });
        QObject::connect(&w, &obsprop::ui::MainWindow::modelOpened, &w, grabAndQuit);
        QObject::connect(&w, &obsprop::ui::MainWindow::openFailed, &w, grabAndQuit);
        if (path.isEmpty()) grabAndQuit();
    }
    if (parser.isSet(tab) || parser.isSet(head) || parser.isSet(options.runTab)) {
        const bool start = parser.isSet(options.runTab);
        QObject::connect(&w, &obsprop::ui::MainWindow::modelOpened, &w, [&w, &parser, &tab, &head, start] {
            if (parser.isSet(tab)) w.tabs()->setCurrentIndex(parser.value(tab).toInt());
            const auto lh = parser.value(head).split(QLatin1Char('.'));
            if (lh.size() == 2) w.selectHead({lh[0].toInt(), lh[1].toInt()});
            if (!start) return;
            auto* page = w.tabs()->currentWidget();
            auto* button = page ? page->findChild<QPushButton*>(QStringLiteral("runAnalysis")) : nullptr;
            if (!button) {
                std::fprintf(stderr,
                             "obsprop-explorer: error: --run: the shown tab has no analysis to run\n");
                return;
            }
            // After the views have taken the opened project (their boxes filled, their Run enabled).
            QTimer::singleShot(200, button, &QPushButton::click);
        });
    }
    if (parser.isSet(prompt)) {
        const int row = parser.value(prompt).toInt(),
                  k = parser.isSet(token) ? parser.value(token).toInt() : -1;
        QObject::connect(
            w.session(), &obsprop::ui::Session::promptsReady, &w,
            [&w, row, k] {
                auto* view = w.promptsView();
                if (view->table()->currentIndex().row() == row) return; // already selected
                view->table()->selectRow(row);
                if (k >= 0 && k < view->tokenList()->count()) view->tokenList()->setCurrentRow(k);
            },
            Qt::QueuedConnection); // after the view has taken the rows
    }
    w.show();
    if (parser.isSet(overlay)) w.toggleOverlay();
    if (!path.isEmpty()) w.openPath(path);
    return app.exec();
}
