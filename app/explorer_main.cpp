// obsprop-explorer: the desktop program.
#include "model/runtime.h"

#include <QApplication>
#include <QCommandLineParser>

#include "main_window.h"

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("ObsProp"));
    QApplication::setApplicationName(QStringLiteral("ObsProp Explorer"));
    QApplication::setApplicationVersion(QStringLiteral(OBSPROP_VERSION_STRING));
    QApplication::setDesktopFileName(QStringLiteral("org.obsprop.Explorer"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Observable propagation explorer for Transformer language models"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("path"), QStringLiteral("A Hugging Face model folder to open"));
    parser.process(app);

    // One core stays with the GUI thread; LibTorch gets the rest (at least one).
    obsprop::model::configure_threads(0);

    obsprop::ui::MainWindow w;
    w.show();
    if (!parser.positionalArguments().isEmpty()) w.openPath(parser.positionalArguments().first());
    return app.exec();
}
