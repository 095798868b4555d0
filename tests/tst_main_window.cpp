// The explorer window: opening a model folder in the background, and failing cleanly.
#include "checkpoint_gen.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTreeWidget>
#include <QtTest>

#include "main_window.h"

class TestMainWindow : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;

  private Q_SLOTS:
    void initTestCase() {
        QCoreApplication::setOrganizationName(QStringLiteral("ObsPropTests"));
        QStandardPaths::setTestModeEnabled(true);
    }

    void opensModelAndKeepsItOnError() {
        auto s = obsprop::tools::preset("tiny", obsprop::tools::Family::GPTNeo);
        const QString dir = tmp_.filePath(QStringLiteral("neo"));
        obsprop::tools::write_checkpoint(obsprop::tools::generate(s), s, dir.toStdString());

        obsprop::ui::MainWindow w;
        w.setProperty("quietErrors", true);
        w.show();
        QSignalSpy opened(&w, &obsprop::ui::MainWindow::modelOpened);
        QSignalSpy failed(&w, &obsprop::ui::MainWindow::openFailed);
        w.openPath(dir);
        // The call returns at once; the load finishes on a worker thread.
        QVERIFY(opened.wait(20000));
        QCOMPARE(w.currentModel(), QFileInfo(dir).absoluteFilePath());
        auto* tree = w.findChild<QTreeWidget*>();
        QVERIFY(tree);
        QMap<QString, QString> rows;
        for (int i = 0; i < tree->topLevelItemCount(); ++i)
            rows[tree->topLevelItem(i)->text(0)] = tree->topLevelItem(i)->text(1);
        QCOMPARE(rows.value(QStringLiteral("Family")), QStringLiteral("gpt_neo"));
        QCOMPARE(rows.value(QStringLiteral("Layers")), QString::number(s.n_layers));
        QCOMPARE(rows.value(QStringLiteral("Heads per layer")), QString::number(s.n_heads));
        QCOMPARE(rows.value(QStringLiteral("Local-attention layers")), QString::number(s.n_layers / 2));
        QVERIFY(w.windowTitle().contains(QStringLiteral("neo")));

        // A broken folder reports an error and leaves the open model in place.
        const QString bad = tmp_.filePath(QStringLiteral("broken"));
        QDir().mkpath(bad);
        QFile f(bad + QStringLiteral("/config.json"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("{\"model_type\": \"gpt2\", ");
        f.close();
        w.openPath(bad);
        QVERIFY(failed.wait(20000));
        QVERIFY(failed.first().first().toString().contains(QStringLiteral("invalid JSON")));
        QCOMPARE(w.currentModel(), QFileInfo(dir).absoluteFilePath());
        QCOMPARE(tree->topLevelItemCount(), int(rows.size()));
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
