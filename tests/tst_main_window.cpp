// The explorer window as a user drives it: open a model, add observables (with inline errors), the
// heatmap equals the CLI's numbers, clicking selects a head everywhere, projects save and restore the
// view state, steering, exports, the attention tab, About and --help.
#include "main_window_helpers.h"
#include "test_paths.h"

class TestMainWindow : public QObject, public MainWindowFixture {
    Q_OBJECT

  private Q_SLOTS:
    void initTestCase() { setUpFixture(); }

    void openAnalyseSaveRestore() {
        MainWindow w;
        w.setProperty("quietErrors", true);
        w.show();
        QSignalSpy opened(&w, &MainWindow::modelOpened);
        w.openPath(dir_);
        QVERIFY(opened.wait(30000));
        QCOMPARE(w.currentModel(), QFileInfo(dir_).absoluteFilePath());

        // A malformed expression is reported inline and nothing is added.
        typeObservable(w, QStringLiteral("bad = #10 -"));
        QVERIFY(w.projectPanel()->errorLabel()->isVisible());
        QVERIFY(w.projectPanel()->errorLabel()->text().contains(QStringLiteral("column")));
        QCOMPARE(w.projectPanel()->observableList()->count(), 0);

        QSignalSpy features(w.session(), &Session::featuresReady);
        typeObservable(w, QStringLiteral("subj = #10 - #20"));
        QVERIFY(!w.projectPanel()->errorLabel()->isVisible());
        typeObservable(w, QStringLiteral("obj = 0.5*#7 + 0.5*#99 - #3"));
        QCOMPARE(w.projectPanel()->observableList()->count(), 2);
        QTRY_VERIFY_WITH_TIMEOUT(w.headsView()->matrix(QStringLiteral("norm: obj")) != nullptr, 30000);
        QVERIFY(w.windowTitle().contains(QStringLiteral("[*]")));
        QVERIFY(w.isWindowModified());

        // The heatmap holds n_layers × n_heads cells equal to `obsprop features` with the same settings.
        w.headsView()->setQuantity(0, QStringLiteral("norm: subj"));
        auto* map = qobject_cast<QCPColorMap*>(w.headsView()->heatmap(0)->plot()->plottable(0));
        QCOMPARE(map->data()->keySize() * map->data()->valueSize(), t_.spec.n_layers * t_.spec.n_heads);
        const auto cli = cliFeatures({QStringLiteral("--model"), dir_, QStringLiteral("--observable"),
                                      QStringLiteral("subj=#10 - #20"), QStringLiteral("--ln"),
                                      w.session()->lnMode(), QStringLiteral("--json")});
        const auto heads = cli[QStringLiteral("heads")].toArray();
        QCOMPARE(heads.size(), t_.spec.n_layers * t_.spec.n_heads);
        for (const auto& hv : heads) {
            auto h = hv.toObject();
            const double want = h[QStringLiteral("norm")].toArray()[0].toDouble();
            const double got =
                map->data()->cell(h[QStringLiteral("head")].toInt(), h[QStringLiteral("layer")].toInt());
            QVERIFY2(std::abs(got - want) <= 1e-6 * (1 + std::abs(want)),
                     qPrintable(QStringLiteral("%1 vs %2").arg(got).arg(want)));
        }

        // Clicking a cell selects the head in the window, both heatmaps and the table.
        QSignalSpy changed(&w, &MainWindow::headChanged);
        auto* plot = w.headsView()->heatmap(0)->plot();
        plot->replot();
        const QPoint cell(int(plot->xAxis->coordToPixel(3)), int(plot->yAxis->coordToPixel(1)));
        QTest::mouseClick(plot, Qt::LeftButton, {}, cell);
        QCOMPARE(changed.count(), 1);
        QCOMPARE(w.selectedHead(), (HeadRef{1, 3}));
        auto* table = w.headsView()->table();
        QCOMPARE(table->model()->data(table->currentIndex().siblingAtColumn(0)).toString(),
                 QStringLiteral("1.3"));

        // The Paths view's choices: a beam search on the object pairs.
        w.pathsView()->setMethod(PathsView::Method::PathPatching);
        w.pathsView()->datasetBox()->setCurrentText(QStringLiteral("object"));
        w.pathsView()->beamWidthBox()->setValue(5);

        // Save, then open in a fresh window: observables, selected head, Paths choices (and their search) and
        // the dirty state come back.
        const QString proj = t_.dir->filePath(QStringLiteral("saved.obsprop"));
        QVERIFY(w.saveProjectTo(proj));
        QVERIFY(!w.isWindowModified());
        MainWindow w2;
        w2.setProperty("quietErrors", true);
        QSignalSpy opened2(&w2, &MainWindow::modelOpened);
        w2.openPath(proj);
        QVERIFY(opened2.wait(30000));
        QCOMPARE(w2.projectPanel()->observableList()->count(), 2);
        QCOMPARE(w2.selectedHead(), (HeadRef{1, 3}));
        QCOMPARE(w2.pathsView()->method(), PathsView::Method::PathPatching);
        QCOMPARE(w2.pathsView()->datasetBox()->currentText(), QStringLiteral("object"));
        QCOMPARE(w2.pathsView()->beamWidthBox()->value(), 5);
        QTRY_VERIFY_WITH_TIMEOUT(w2.pathsView()->results() && w2.pathsView()->results()->patching, 30000);
        QCOMPARE(w2.pathsView()->results()->dataset, QStringLiteral("object"));
        QVERIFY(!w2.isWindowModified());

        // A malformed project: an error, and the open project stays as it was.
        const QString bad = t_.dir->filePath(QStringLiteral("bad.obsprop"));
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({"format": "obsprop-project", "version": 99})");
        f.close();
        QSignalSpy failed(&w2, &MainWindow::openFailed);
        w2.openPath(bad);
        QVERIFY(failed.wait(30000));
        QVERIFY(failed.first().first().toString().contains(QStringLiteral("newer ObsProp Explorer")));
        QCOMPARE(w2.session()->projectFile(), proj);
        QCOMPARE(w2.projectPanel()->observableList()->count(), 2);

        // Unsaved work is written to the recovery file, which a clean save removes.
        typeObservable(w2, QStringLiteral("third = #5"));
        QVERIFY(w2.isWindowModified());
        w2.writeRecovery();
        QFile rec(MainWindow::recoveryFile());
        QVERIFY(rec.open(QIODevice::ReadOnly));
        const auto recovered = QJsonDocument::fromJson(rec.readAll()).object();
        QCOMPARE(recovered[QStringLiteral("observables")].toArray().size(), 3);
        rec.close();
        QVERIFY(w2.saveProjectTo(proj));
        QVERIFY(!QFile::exists(MainWindow::recoveryFile()));
    }

    // A multiplier set in the explorer gives the same numbers as `obsprop steer` with the same settings.
    void steeringMatchesCli() {
        MainWindow w;
        w.setProperty("quietErrors", true);
        QSignalSpy opened(&w, &MainWindow::modelOpened);
        w.openPath(dir_);
        QVERIFY(opened.wait(30000));
        QVERIFY(w.session()->addObservable(QStringLiteral("subj"), QStringLiteral("#10 - #20")).isEmpty());
        QVERIFY(w.session()
                    ->addObservable(QStringLiteral("obj"), QStringLiteral("0.5*#7 + 0.5*#99 - #3"))
                    .isEmpty());
        SteeringVectorSpec v;
        v.name = QStringLiteral("head 1.2");
        v.observable = QStringLiteral("subj");
        v.path = {{1, 2}};
        v.normalize = true;
        v.alpha = 40;
        SteeringResults exact;
        connect(w.session(), &Session::steeringReady, this, [&](const SteeringResults& r) {
            if (r.exact) exact = r;
        });
        w.session()->setSteeringDataset(QStringLiteral("subject"));
        w.session()->addSteeringVector(v);
        QTRY_VERIFY_WITH_TIMEOUT(exact.exact, 30000);
        QProcess p;
        p.start(test_paths::binary("/app/obsprop"),
                {QStringLiteral("steer"), QStringLiteral("--model"), dir_, QStringLiteral("--observable"),
                 QStringLiteral("subj=#10 - #20"), QStringLiteral("--observable"),
                 QStringLiteral("obj=0.5*#7 + 0.5*#99 - #3"), QStringLiteral("--head"), QStringLiteral("1.2"),
                 QStringLiteral("--alpha"), QStringLiteral("40"), QStringLiteral("--normalize"),
                 QStringLiteral("--dataset"), QStringLiteral("subject"), QStringLiteral("--ln"),
                 w.session()->lnMode(), QStringLiteral("--json")});
        QVERIFY(p.waitForFinished(60000));
        const auto obs = QJsonDocument::fromJson(p.readAllStandardOutput())
                             .object()[QStringLiteral("observables")]
                             .toArray();
        QCOMPARE(obs.size(), 2);
        for (int k = 0; k < 2; ++k) {
            const auto o = obs[k].toObject();
            QVERIFY(std::abs(o[QStringLiteral("mean_change")].toDouble() - exact.meanChange[k]) <
                    1e-5 * (1 + std::abs(exact.meanChange[k])));
            QVERIFY(std::abs(o[QStringLiteral("predicted")].toDouble() - exact.predicted[k]) <
                    1e-5 * (1 + std::abs(exact.predicted[k])));
        }
    }

    void exportAllWritesFiguresAndTables() {
        MainWindow w;
        w.setProperty("quietErrors", true);
        QVERIFY(openWithSubj(w));
        QTemporaryDir out;
        QSignalSpy done(w.session(), &Session::exportFinished);
        QVERIFY(w.exportAll(out.path()));
        QVERIFY(done.wait(60000));
        for (const char* f : {"heatmap_norm_subj.png", "heatmap_norm_subj.svg", "heatmap_norm_subj.pdf",
                              "dataset_subject.csv", "features.csv", "manifest.json"})
            QVERIFY2(QFileInfo(out.filePath(QLatin1String(f))).size() > 0, f);
    }

    // Export Figure asks for file, format, size and resolution; a PNG has size × dpi/96 pixels, SVG and PDF
    // are written too, and a bad file name is refused inside the dialog.
    void exportFigureDialog() {
        MainWindow w;
        w.setProperty("quietErrors", true);
        w.show();
        QVERIFY(openWithSubj(w));
        QTemporaryDir out;
        QSignalSpy exported(&w, &MainWindow::figureExported);
        auto run = [&](const QString& file, QSize size, int dpi, int figure) -> ExportFigureDialog* {
            w.exportFigure();
            ExportFigureDialog* d = nullptr; // closed dialogs may wait for deletion
            for (auto* c : w.findChildren<ExportFigureDialog*>())
                d = c->isVisible() ? c : d;
            if (!d) return nullptr;
            d->setFile(file);
            d->setFigureSize(size);
            d->setDpi(dpi);
            if (figure > 0) d->findChildren<QComboBox*>().first()->setCurrentIndex(figure);
            d->accept();
            return d;
        };
        QVERIFY(run(out.filePath(QStringLiteral("map.png")), QSize(400, 300), 144, 1));
        QTRY_COMPARE(exported.count(), 1);
        QVERIFY(exported.last().at(1).toBool());
        const QImage img(out.filePath(QStringLiteral("map.png")));
        QCOMPARE(img.size(), QSize(600, 450));
        for (const char* ext : {"svg", "pdf"}) {
            QVERIFY(run(out.filePath(QStringLiteral("map.") + QLatin1String(ext)), QSize(500, 400), 96, 0));
            QTRY_VERIFY(QFileInfo(out.filePath(QStringLiteral("map.") + QLatin1String(ext))).size() > 500);
        }
        // A suffix that does not match the format, or a missing folder: the dialog stays open with the
        // reason.
        auto* d = run(out.filePath(QStringLiteral("nowhere/x.png")), QSize(400, 300), 96, 0);
        QVERIFY(d && d->isVisible());
        bool said = false;
        for (auto* l : d->findChildren<QLabel*>())
            said |= l->isVisible() && l->text().contains(QStringLiteral("does not exist"));
        QVERIFY(said);
        if (const QString shots = qEnvironmentVariable("OBSPROP_VIEW_SHOTS"); !shots.isEmpty())
            d->grab().save(shots + QStringLiteral("/export-dialog.png"));
        d->reject();
        QCOMPARE(exported.count(), 3);
    }

    // Help ▸ About names the versions the program runs with.
    void aboutNamesVersions() {
        MainWindow w;
        const QString text = w.aboutText();
        QVERIFY2(text.contains(QStringLiteral("Qt %1").arg(QString::fromLatin1(qVersion()))),
                 qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("LibTorch 1.")), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("Gemma 3")), qPrintable(text));
        bool found = false;
        for (auto* a : w.menuBar()->actions())
            found = found || a->text().remove(QLatin1Char('&')) == QLatin1String("Help");
        QVERIFY(found);
    }

    // Edit ▸ Undo/Redo step through recipe edits made in the window, named after them; the standard
    // shortcuts exist without a desktop theme and no two actions share one.
    void editMenuUndoAndShortcuts() {
        MainWindow w;
        w.setProperty("quietErrors", true);
        w.show();
        QVERIFY(openWithSubj(w));
        auto* undo = w.findChild<QAction*>(QStringLiteral("undo"));
        auto* redo = w.findChild<QAction*>(QStringLiteral("redo"));
        QVERIFY(undo && redo);
        typeObservable(w, QStringLiteral("obj = #7 - #3"));
        QCOMPARE(w.session()->observables().size(), 2);
        QCOMPARE(undo->text(), QStringLiteral("&Undo Add Observable “obj”"));
        undo->trigger();
        QCOMPARE(w.session()->observables().size(), 1);
        QCOMPARE(w.projectPanel()->observableList()->count(), 1);
        QVERIFY(redo->isEnabled());
        redo->trigger();
        QCOMPARE(w.projectPanel()->observableList()->count(), 2);

        QHash<QString, QString> owner;
        for (QAction* a : w.findChildren<QAction*>()) {
            if (a->objectName() == QLatin1String("saveAs") || a->objectName() == QLatin1String("undo") ||
                a->objectName() == QLatin1String("redo") || a->objectName() == QLatin1String("preferences") ||
                a->objectName() == QLatin1String("manual"))
                QVERIFY2(!a->shortcuts().isEmpty(), qPrintable(a->objectName()));
            if (a->shortcutContext() == Qt::WidgetShortcut) continue; // a table's Ctrl+C, say
            for (const QKeySequence& k : a->shortcuts()) {
                const QString key = k.toString();
                QVERIFY2(!owner.contains(key) || owner[key] == a->text(),
                         qPrintable(key + QStringLiteral(": ") + owner.value(key) + QStringLiteral(" / ") +
                                    a->text()));
                owner[key] = a->text();
            }
        }
        QTRY_VERIFY_WITH_TIMEOUT(w.session()->jobs().running() == 0, 30000);
    }

    // Help ▸ Manual shows the bundled manual offline, and its links lead to the other documents.
    void manualOpensAndFollowsLinks() {
        MainWindow w;
        auto* manual = w.findChild<QAction*>(QStringLiteral("manual"));
        QVERIFY(manual);
        manual->trigger();
        auto* win = w.findChild<ManualWindow*>(QStringLiteral("manualWindow"));
        QVERIFY(win && win->isVisible());
        QVERIFY(win->browser()->toPlainText().contains(QStringLiteral("ObsProp Explorer")));
        Q_EMIT win->browser()->anchorClicked(QUrl(QStringLiteral("docs/scaling.md")));
        QVERIFY2(win->browser()->source().path().endsWith(QStringLiteral("docs/scaling.md")),
                 qPrintable(win->browser()->source().toString()));
        QVERIFY(win->browser()->toPlainText().contains(QStringLiteral("How far one machine goes")));
        QVERIFY(win->browser()->isBackwardAvailable());
        win->close();
    }

    // --help and --version answer without a display (no platform plugin is loaded for them).
    void helpWithoutDisplay() {
        for (const char* arg : {"--help", "--version"}) {
            QProcess p;
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            env.remove(QStringLiteral("DISPLAY"));
            env.remove(QStringLiteral("WAYLAND_DISPLAY"));
            env.remove(QStringLiteral("QT_QPA_PLATFORM"));
            p.setProcessEnvironment(env);
            p.start(test_paths::binary("/app/obsprop-explorer"), {QString::fromLatin1(arg)});
            QVERIFY(p.waitForFinished(30000));
            QCOMPARE(p.exitStatus(), QProcess::NormalExit);
            QCOMPARE(p.exitCode(), 0);
            const QString out = QString::fromUtf8(p.readAllStandardOutput());
            QVERIFY2(out.contains(QLatin1String(arg[2] == 'h' ? "--screenshot" : "ObsProp Explorer")),
                     qPrintable(out));
        }
    }

    // --theme names an unknown theme: a usage error naming it and the themes there are.
    void unknownThemeIsAUsageError() {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        p.setProcessEnvironment(env);
        p.start(test_paths::binary("/app/obsprop-explorer"),
                {QStringLiteral("--theme"), QStringLiteral("purple")});
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitCode(), 2);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(
            err.split(QLatin1Char('\n'))
                .contains(QStringLiteral(
                    "obsprop-explorer: error: unknown theme 'purple' (the themes are: system, light, dark)")),
            qPrintable(err));
    }

    // The Project dock can be closed (its close button) and brought back (View ▸ Project Panel); the choice
    // survives the window's own updates and is remembered.
    void projectPanelClosesAndReturns() {
        MainWindow w;
        w.setProperty("quietErrors", true);
        w.show();
        QVERIFY(openWithSubj(w));
        auto* dock = w.findChild<QDockWidget*>(QStringLiteral("projectDock"));
        auto* toggle = w.findChild<QAction*>(QStringLiteral("toggleProjectPanel"));
        QVERIFY(dock && toggle);
        QVERIFY(dock->isVisible() && toggle->isEnabled() && toggle->isChecked());
        QVERIFY(dock->close()); // what its title bar's close button does
        QVERIFY(!dock->isVisible());
        w.tabs()->setCurrentIndex(1); // the window updates its actions: the panel stays closed
        w.tabs()->setCurrentIndex(0);
        QVERIFY(!dock->isVisible());
        QCOMPARE(QSettings().value(QStringLiteral("window/projectPanel")).toBool(), false);
        toggle->trigger();
        QVERIFY(dock->isVisible());
        QCOMPARE(QSettings().value(QStringLiteral("window/projectPanel")).toBool(), true);
        QTRY_VERIFY_WITH_TIMEOUT(w.session()->jobs().running() == 0, 30000);
    }

    // The Attention and Corpus tabs come after the existing tabs (their --tab indices stay); every tab and
    // menu has its own mnemonic; the tab follows the window's head selection, Copy as Command gives its
    // command, and its choices are saved with the project's view state.
    void attentionTabFollowsTheWindow() {
        MainWindow w;
        w.setProperty("quietErrors", true);
        QVERIFY(openWithSubj(w));
        QStringList tabs;
        for (int i = 0; i < w.tabs()->count(); ++i)
            tabs << w.tabs()->tabText(i);
        QCOMPARE(tabs,
                 (QStringList{QStringLiteral("Hea&ds"), QStringLiteral("&Coupling"), QStringLiteral("&SVD"),
                              QStringLiteral("&Paths"), QStringLiteral("S&teering"),
                              QStringLiteral("P&rompts"), QStringLiteral("&Attention"),
                              QStringLiteral("De&bias"), QStringLiteral("C&orpus")}));
        QCOMPARE(w.tabs()->widget(6), static_cast<QWidget*>(w.attentionView()));
        auto mnemonic = [](const QString& text) {
            return text.at(text.indexOf(QLatin1Char('&')) + 1).toLower();
        };
        QStringList all = tabs;
        for (auto* a : w.menuBar()->actions())
            all << a->text();
        QSet<QChar> seen;
        for (const QString& o : all) {
            QVERIFY2(o.contains(QLatin1Char('&')), qPrintable(o));
            QVERIFY2(!seen.contains(mnemonic(o)), qPrintable(QStringLiteral("%1 repeats a mnemonic").arg(o)));
            seen.insert(mnemonic(o));
        }

        QVERIFY(w.attentionView()->placeholderText().contains(QStringLiteral("Select a head")));
        w.selectHead({1, 3});
        QTRY_VERIFY_WITH_TIMEOUT(w.attentionView()->results().has_value(), 30000);
        QCOMPARE(w.attentionView()->results()->head, (HeadRef{1, 3}));
        w.attentionView()->datasetBox()->setCurrentText(QStringLiteral("object"));
        w.attentionView()->promptBox()->setCurrentIndex(2);
        w.tabs()->setCurrentWidget(w.attentionView());
        const QString command = w.currentCommand();
        QVERIFY2(command.startsWith(QStringLiteral("obsprop attention ")) &&
                     command.contains(QStringLiteral("--head 1.3 --prompt 2 --observable-of subj")) &&
                     command.contains(QStringLiteral("--dataset object")),
                 qPrintable(command));

        QTemporaryDir tmp;
        const QString proj = tmp.filePath(QStringLiteral("attention.obsprop"));
        QVERIFY(w.saveProjectTo(proj));
        MainWindow w2;
        w2.setProperty("quietErrors", true);
        QSignalSpy opened(&w2, &MainWindow::modelOpened);
        w2.openPath(proj);
        QVERIFY(opened.wait(30000));
        QCOMPARE(w2.tabs()->currentWidget(), static_cast<QWidget*>(w2.attentionView()));
        QCOMPARE(w2.attentionView()->dataset(), QStringLiteral("object"));
        QCOMPARE(w2.attentionView()->prompt(), 2);
        QTRY_VERIFY_WITH_TIMEOUT(w2.attentionView()->results().has_value(), 30000);
        QCOMPARE(w2.attentionView()->results()->head, (HeadRef{1, 3}));
        QCOMPARE(w2.attentionView()->results()->dataset, QStringLiteral("object"));
        QCOMPARE(w2.attentionView()->results()->prompt, 2);
    }

    // Redefining an observable under its name asks first; once replaced, no view shows a number of the old
    // definition, and the new numbers are the CLI's for the new definition.
    void redefiningAnObservableDropsItsOldNumbers() {
        MainWindow w;
        w.setProperty("quietErrors", true);
        QVERIFY(openWithSubj(w));
        const std::vector<double> old = w.headsView()->matrix(QStringLiteral("norm: subj"))->values;
        typeObservable(w, QStringLiteral("subj = #20 - #11"));
        QMessageBox* ask = nullptr;
        QTRY_VERIFY((ask = w.projectPanel()->findChild<QMessageBox*>(QStringLiteral("replaceObservable"))) !=
                    nullptr);
        QCOMPARE(w.session()->observables().first().second,
                 QStringLiteral("#10 - #20")); // nothing changed yet
        QSignalSpy recipe(w.session(), &Session::recipeChanged);
        ask->button(QMessageBox::Yes)->click();
        QCOMPARE(recipe.count(), 1);
        // At once: the old numbers are gone from the Heads view (the heatmap shows no cell of them).
        QVERIFY(w.headsView()->matrix(QStringLiteral("norm: subj")) == nullptr);
        QVERIFY(w.headsView()->heatmap(0)->matrix().values != old);
        QVERIFY(!w.promptsView()->results().has_value()); // the prompts' values of the old definition too
        QTRY_VERIFY_WITH_TIMEOUT(w.headsView()->matrix(QStringLiteral("norm: subj")) != nullptr, 30000);
        const auto cli = cliFeatures({QStringLiteral("--model"), dir_, QStringLiteral("--observable"),
                                      QStringLiteral("subj=#20 - #11"), QStringLiteral("--ln"),
                                      w.session()->lnMode(), QStringLiteral("--json")});
        const HeadMatrix* now = w.headsView()->matrix(QStringLiteral("norm: subj"));
        for (const auto& hv : cli[QStringLiteral("heads")].toArray()) {
            const auto h = hv.toObject();
            const double want = h[QStringLiteral("norm")].toArray()[0].toDouble();
            QVERIFY(std::abs(now->at(h[QStringLiteral("layer")].toInt(), h[QStringLiteral("head")].toInt()) -
                             want) <= 1e-6 * (1 + std::abs(want)));
        }
        QVERIFY(now->values != old);
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
