// The explorer on a real X display (run under xvfb-run by scripts/test): open the demo project, show the
// ImGui debug overlay with F12, and grab the window as a user would see it.
#include "test_paths.h"

#include <QImage>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "session/session.h"
#include "views/debug_overlay.h"
#include "views/heads_view.h"
#include "views/main_window.h"

using namespace obsprop::ui;

class TestScreenshot : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase() {
        QCoreApplication::setOrganizationName(QStringLiteral("ObsPropTests"));
        QStandardPaths::setTestModeEnabled(true);
        QVERIFY2(QGuiApplication::platformName() == QLatin1String("xcb"),
                 "this test needs an X display: run it under xvfb-run (scripts/test does)");
    }

    void demoProjectWithOverlay() {
        MainWindow w;
        w.setProperty("quietErrors", true);
        w.resize(1280, 800);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QSignalSpy opened(&w, &MainWindow::modelOpened);
        w.openPath(test_paths::source("/resources/projects/demo.obsprop"));
        QVERIFY(opened.wait(60000));
        QTRY_VERIFY_WITH_TIMEOUT(w.headsView()->matrix(QStringLiteral("norm: subj")) != nullptr, 60000);
        QTRY_COMPARE_WITH_TIMEOUT(w.session()->jobs().running(), 0, 60000);

        w.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&w));
        QTest::keyClick(&w, Qt::Key_F12);
        QVERIFY(w.overlay());
        QVERIFY(w.overlay()->isVisible());
        QTRY_VERIFY_WITH_TIMEOUT(w.overlay()->framesDrawn() > 0, 10000);

        const QImage shot = w.grab().toImage();
        QTemporaryDir tmp;
        const QString file = tmp.filePath(QStringLiteral("explorer.png"));
        QVERIFY(shot.save(file));
        QVERIFY(QFileInfo(file).size() > 20000);
        // Not a blank window: many distinct colours (heatmap, text, overlay).
        QSet<QRgb> colours;
        for (int y = 0; y < shot.height(); y += 7)
            for (int x = 0; x < shot.width(); x += 7)
                colours.insert(shot.pixel(x, y));
        QVERIFY2(colours.size() > 50, qPrintable(QString::number(colours.size())));

        w.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&w));
        QTest::keyClick(&w, Qt::Key_F12);
        QTRY_VERIFY(!w.overlay()->isVisible());
    }
};

QTEST_MAIN(TestScreenshot)
#include "tst_screenshot.moc"
