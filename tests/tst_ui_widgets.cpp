// Building blocks of the explorer: the layer × head heatmap, the background job tracker, the welcome page and
// the recent files it lists, the Preferences dialog.
#include <QApplication>
#include <QCommandLinkButton>
#include <QListWidget>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStyle>
#include <QTemporaryDir>
#include <QtTest>

#include <thread>

#include "analyses/engine_status.h"
#include "figures/qcp.h"
#include "session/job_tracker.h"
#include "session/recent_files.h"
#include "views/export_dialog.h"
#include "views/heatmap_widget.h"
#include "views/preferences_dialog.h"
#include "views/theme.h"
#include "views/welcome_page.h"

using obsprop::ui::HeadMatrix;
using obsprop::ui::HeatmapWidget;
using obsprop::ui::JobTracker;
using obsprop::ui::ProgressFn;
using obsprop::ui::WelcomePage;

namespace {
HeadMatrix sample(bool diverging) {
    HeadMatrix m;
    m.title = QStringLiteral("test");
    m.quantity = QStringLiteral("norm");
    m.layers = 3;
    m.heads = 4;
    for (int i = 0; i < 12; ++i)
        m.values.push_back(diverging ? i - 5.5 : 0.1 * i * i);
    m.diverging = diverging;
    return m;
}
} // namespace

class TestUiWidgets : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase() {
        QCoreApplication::setOrganizationName(QStringLiteral("ObsPropTests"));
        QStandardPaths::setTestModeEnabled(true); // QSettings in a test folder, not the user's
    }

    void heatmapCellsAndClicks() {
        HeatmapWidget w;
        w.resize(500, 400);
        w.setMatrix(sample(false));
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        w.plot()->replot();
        auto* map = qobject_cast<QCPColorMap*>(w.plot()->plottable(0));
        QVERIFY(map);
        QCOMPARE(map->data()->keySize(), 4);
        QCOMPARE(map->data()->valueSize(), 3);
        for (int l = 0; l < 3; ++l)
            for (int h = 0; h < 4; ++h)
                QCOMPARE(map->data()->cell(h, l), 0.1 * (l * 4 + h) * (l * 4 + h));
        // The centre of cell (layer 2, head 1) maps back to it, and clicking it selects it.
        const QPoint centre(int(w.plot()->xAxis->coordToPixel(1)), int(w.plot()->yAxis->coordToPixel(2)));
        QCOMPARE(w.headAt(centre), qMakePair(2, 1));
        QSignalSpy clicked(&w, &HeatmapWidget::headClicked);
        QTest::mouseClick(w.plot(), Qt::LeftButton, {}, centre);
        QCOMPARE(clicked.count(), 1);
        QCOMPARE(clicked.first().at(0).toInt(), 2);
        QCOMPARE(clicked.first().at(1).toInt(), 1);
        QCOMPARE(w.headAt(QPoint(1, 1)), qMakePair(-1, -1));
    }

    void divergingMapIsCentredAtZero() {
        HeatmapWidget w;
        w.setMatrix(sample(true));
        auto* map = qobject_cast<QCPColorMap*>(w.plot()->plottable(0));
        QCOMPARE(map->dataRange().lower, -5.5);
        QCOMPARE(map->dataRange().upper, 5.5);
    }

    void exportFormatsAndCsv() {
        HeatmapWidget w;
        w.resize(400, 300);
        w.setMatrix(sample(false));
        QTemporaryDir tmp;
        for (const char* ext : {"png", "svg", "pdf"}) {
            const QString f = tmp.filePath(QStringLiteral("map.") + QLatin1String(ext));
            QVERIFY2(w.exportTo(f, 640, 480), ext);
            QVERIFY(QFileInfo(f).size() > 500);
        }
        QVERIFY(!w.exportTo(tmp.filePath(QStringLiteral("map.bmpx"))));
        const QStringList lines = sample(false).toCsv().split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 13);
        QCOMPARE(lines[0], QStringLiteral("layer,head,norm"));
        QCOMPARE(lines[7], QStringLiteral("1,2,%1").arg(0.1 * 6 * 6, 0, 'g', 17));
        QCOMPARE(lines[7].split(QLatin1Char(',')).at(2).toDouble(), 0.1 * 6 * 6);
    }

    void latestJobWins() {
        JobTracker jobs;
        QObject receiver;
        QStringList got;
        std::atomic<bool> release{false};
        jobs.start<int>(
            QStringLiteral("c"),
            [&](const ProgressFn& p) {
                while (!release.load()) {
                    if (!p(0.5, "waiting")) break;
                    std::this_thread::sleep_for(std::chrono::milliseconds(2));
                }
                return 1;
            },
            &receiver, [&](int v) { got << QString::number(v); });
        jobs.start<int>(
            QStringLiteral("c"), [](const ProgressFn&) { return 2; }, &receiver,
            [&](int v) { got << QString::number(v); });
        QTRY_COMPARE(jobs.running(), 0);
        QCOMPARE(got, QStringList{QStringLiteral("2")}); // the first was cancelled, its result dropped
        QCOMPARE(jobs.history().size(), std::size_t(2));
        QVERIFY(jobs.history().front().cancelled);
    }

    void cancelIsPromptAndFailuresReported() {
        JobTracker jobs;
        QObject receiver;
        QElapsedTimer t;
        bool doneCalled = false;
        jobs.start<int>(
            QStringLiteral("slow"),
            [](const ProgressFn& p) {
                for (int i = 0; i < 100000; ++i) {
                    if (!p(i / 100000.0, "spinning")) throw std::runtime_error("cancelled");
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
                }
                return 0;
            },
            &receiver, [&](int) { doneCalled = true; });
        QTest::qWait(30);
        t.start();
        jobs.cancel(QStringLiteral("slow"));
        QTRY_COMPARE_WITH_TIMEOUT(jobs.running(), 0, 2000);
        QVERIFY2(t.elapsed() < 200, qPrintable(QString::number(t.elapsed())));
        QVERIFY(!doneCalled);

        QString error;
        jobs.start<int>(
            QStringLiteral("bad"),
            [](const ProgressFn&) -> int { throw std::runtime_error("no such head 9.9"); }, &receiver,
            [](int) {}, [&](const QString& e) { error = e; });
        QTRY_COMPARE(error, QStringLiteral("no such head 9.9"));
    }

    void resultsNeverReachDeadReceivers() {
        JobTracker jobs;
        bool called = false;
        {
            QObject receiver;
            jobs.start<int>(
                QStringLiteral("x"),
                [](const ProgressFn&) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(50));
                    return 3;
                },
                &receiver, [&](int) { called = true; });
        }
        QTRY_COMPARE(jobs.running(), 0);
        QVERIFY(!called);
    }

    // The welcome page from the keyboard alone: Tab from button to button to the list, Space on a button,
    // Enter on an entry; an entry whose file is gone is greyed and opens nothing.
    void welcomePageByKeyboard() {
        QTemporaryDir tmp;
        const QString here = tmp.filePath(QStringLiteral("here.obsprop")),
                      gone = tmp.filePath(QStringLiteral("gone.obsprop"));
        QFile f(here);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.close();
        WelcomePage page;
        page.setRecent({gone, here});
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        page.activateWindow();
        page.setFocus();
        QCOMPARE(QApplication::focusWidget(), page.demoButton());
        QSignalSpy demo(&page, &WelcomePage::openDemoRequested),
            model(&page, &WelcomePage::openModelFolderRequested),
            project(&page, &WelcomePage::openProjectRequested),
            recent(&page, &WelcomePage::openRecentRequested);
        QTest::keyClick(QApplication::focusWidget(), Qt::Key_Space);
        QCOMPARE(demo.count(), 1);
        QTest::keyClick(QApplication::focusWidget(), Qt::Key_Tab);
        QCOMPARE(QApplication::focusWidget(), page.modelButton());
        QTest::keyClick(QApplication::focusWidget(), Qt::Key_Space);
        QCOMPARE(model.count(), 1);
        QTest::keyClick(QApplication::focusWidget(), Qt::Key_Tab);
        QCOMPARE(QApplication::focusWidget(), page.projectButton());
        QTest::keyClick(QApplication::focusWidget(), Qt::Key_Space);
        QCOMPARE(project.count(), 1);
        QTest::keyClick(QApplication::focusWidget(), Qt::Key_Tab);
        QCOMPARE(QApplication::focusWidget(), page.recentList());
        auto* list = page.recentList();
        QVERIFY(!(list->item(0)->flags() & Qt::ItemIsEnabled));
        QVERIFY(list->item(0)->toolTip().contains(QStringLiteral("not found")));
        list->setCurrentRow(1);
        QTest::keyClick(list, Qt::Key_Return);
        QCOMPARE(recent.count(), 1);
        QCOMPARE(recent.at(0).at(0).toString(), here);
        page.setRecent({});
        QVERIFY(!list->isVisible());
    }

    // Recent paths: newest first, no duplicates, at most eight.
    // Preferences: the memory budget typed in is saved, applied to models opened next, shown again, and 0
    // goes back to the automatic budget (here the environment's, so the figure is known).
    void preferencesMemoryBudget() {
        qputenv("OBSPROP_MEMORY_BUDGET", "3G");
        QSettings().remove(QStringLiteral("engine"));
        obsprop::ui::applyEngineSettings(false);
        {
            obsprop::ui::PreferencesDialog d;
            QCOMPARE(d.budgetBox()->value(), 0);
            QCOMPARE(d.budgetBox()->specialValueText(), QStringLiteral("Automatic (3072 MiB now)"));
            QCOMPARE(d.threadsBox()->value(), 0);
            d.show();
            QVERIFY(QTest::qWaitForWindowExposed(&d));
            d.budgetBox()->setFocus();
            d.budgetBox()->selectAll();
            QTest::keyClicks(d.budgetBox(), QStringLiteral("2048"));
            QCOMPARE(d.budgetBox()->value(), 2048);
            QTest::keyClick(&d, Qt::Key_Return); // OK
            QCOMPARE(d.result(), int(QDialog::Accepted));
        }
        QCOMPARE(QSettings().value(QStringLiteral("engine/memoryBudgetMiB")).toInt(), 2048);
        QCOMPARE(obsprop::analyses::weight_memory_budget(), 2048ull << 20);
        {
            obsprop::ui::PreferencesDialog d;
            QCOMPARE(d.budgetBox()->value(), 2048);
            // Showing the automatic figure does not drop the budget in force.
            QCOMPARE(obsprop::analyses::weight_memory_budget(), 2048ull << 20);
            d.budgetBox()->setValue(0);
            d.accept();
        }
        QCOMPARE(obsprop::analyses::weight_memory_budget(), 3ull << 30);
        {
            obsprop::ui::PreferencesDialog d; // Cancel keeps what is saved
            d.budgetBox()->setValue(100);
            d.reject();
        }
        QCOMPARE(obsprop::analyses::weight_memory_budget(), 3ull << 30);
        QCOMPARE(QSettings().value(QStringLiteral("engine/memoryBudgetMiB")).toInt(), 0);
        qunsetenv("OBSPROP_MEMORY_BUDGET");
    }

    // Preferences: the theme applies to the running program at once (Dark: a dark window colour and plots
    // drawn on it; System: the palette the program started with, exactly), and the export size and
    // resolution are what Export Figure starts with next.
    void preferencesThemeAndExportDefaults() {
        QSettings().remove(QStringLiteral("appearance"));
        QSettings().remove(QStringLiteral("export"));
        const QPalette original = QApplication::palette();
        const QString originalStyle = QApplication::style()->name();
        HeatmapWidget map;
        {
            obsprop::ui::PreferencesDialog d;
            QCOMPARE(d.themeBox()->currentData().toString(), QStringLiteral("system"));
            QCOMPARE(d.exportWidthBox()->value(), 0); // as on screen
            d.themeBox()->setCurrentIndex(d.themeBox()->findData(QStringLiteral("dark")));
            d.exportWidthBox()->setValue(800);
            d.exportHeightBox()->setValue(600);
            d.exportDpiBox()->setValue(150);
            d.accept();
        }
        QCOMPARE(obsprop::ui::savedTheme(), QStringLiteral("dark"));
        QVERIFY(QApplication::palette().color(QPalette::Window).lightness() < 80);
        QVERIFY(QApplication::palette().color(QPalette::WindowText).lightness() > 180);
        QCOMPARE(QApplication::style()->name().toLower(), QStringLiteral("fusion"));
        QCoreApplication::processEvents();
        QCOMPARE(map.plot()->xAxis->tickLabelColor(),
                 QApplication::palette().color(QPalette::Text)); // plots follow
        {
            obsprop::ui::ExportFigureDialog e({QStringLiteral("figure")}, QSize(300, 200));
            QCOMPARE(e.figureSize(), QSize(800, 600));
            QCOMPARE(e.dpi(), 150);
        }
        {
            obsprop::ui::PreferencesDialog d;
            QCOMPARE(d.themeBox()->currentData().toString(), QStringLiteral("dark"));
            QCOMPARE(d.exportHeightBox()->value(), 600);
            d.themeBox()->setCurrentIndex(d.themeBox()->findData(QStringLiteral("system")));
            d.exportWidthBox()->setValue(0); // back to the plot's size on screen
            d.accept();
        }
        QCOMPARE(QApplication::palette(), original);
        QCOMPARE(QApplication::style()->name(), originalStyle);
        {
            obsprop::ui::ExportFigureDialog e({QStringLiteral("figure")}, QSize(300, 200));
            QCOMPARE(e.figureSize(), QSize(300, 200));
        }
        QVERIFY(!obsprop::ui::applyTheme(QStringLiteral("purple")));
    }

    void recentPathsAreBounded() {
        QSettings().remove(QStringLiteral("recent/paths"));
        for (int i = 0; i < 12; ++i)
            obsprop::ui::addRecentPath(QStringLiteral("/p%1").arg(i));
        obsprop::ui::addRecentPath(QStringLiteral("/p9"));
        const QStringList r = obsprop::ui::recentPaths();
        QCOMPARE(r.size(), obsprop::ui::kMaxRecentPaths);
        QCOMPARE(r.first(), QStringLiteral("/p9"));
        QCOMPARE(r.at(1), QStringLiteral("/p11"));
        QCOMPARE(r.count(QStringLiteral("/p9")), 1);
        obsprop::ui::removeRecentPath(QStringLiteral("/p9"));
        QCOMPARE(obsprop::ui::recentPaths().first(), QStringLiteral("/p11"));
        QSettings().remove(QStringLiteral("recent/paths"));
    }
};

QTEST_MAIN(TestUiWidgets)
#include "tst_ui_widgets.moc"
