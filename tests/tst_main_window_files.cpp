// The explorer window and the user's files: the welcome page, new/open/save (byte-identical), the demo
// opened read-only, a project whose model moved (Locate Model) or changed, observables that do not parse
// for the model, and confirmation before a file is replaced.
#include "main_window_helpers.h"
#include "test_paths.h"

class TestMainWindowFiles : public QObject, public MainWindowFixture {
    Q_OBJECT

  private Q_SLOTS:
    void initTestCase() { setUpFixture(); }

    // New Project: a fresh untitled project on the same model; with unsaved changes the user is asked, and
    // Cancel keeps everything.
    void newProjectAsksBeforeDiscarding() {
        MainWindow w;
        w.show();
        QSignalSpy opened(&w, &MainWindow::modelOpened);
        w.openPath(dir_);
        QVERIFY(opened.wait(30000));
        w.session()->addObservable(QStringLiteral("subj"), QStringLiteral("#10 - #20"));
        QVERIFY(w.session()->isDirty());
        auto answer = [](QMessageBox::StandardButton b) {
            QTimer::singleShot(200, [b] {
                auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
                QVERIFY(box);
                box->button(b)->click();
            });
        };
        answer(QMessageBox::Cancel);
        w.newProject();
        QCOMPARE(w.session()->observables().size(), 1);
        QVERIFY(w.session()->isDirty());
        answer(QMessageBox::Discard);
        w.newProject();
        QVERIFY(opened.wait(30000));
        QVERIFY(w.session()->observables().isEmpty());
        QVERIFY(!w.session()->isDirty());
        QVERIFY(w.session()->projectFile().isEmpty());
        QCOMPARE(w.currentModel(), QFileInfo(dir_).absoluteFilePath());
        QVERIFY(w.windowTitle().startsWith(QStringLiteral("Untitled")));
    }

    // Opening a project and saving it without an edit writes the same bytes, and the window is never marked
    // modified on the way (opening, computing, autosaving the view state).
    void openThenSaveIsByteIdentical() {
        QTemporaryDir tmp;
        const QString file = tmp.filePath(QStringLiteral("p.obsprop"));
        QVERIFY(createProject(dir_, file,
                              {QStringLiteral("--observable"), QStringLiteral("subj=#10 - #20"),
                               QStringLiteral("--ln-dataset"), QStringLiteral("subj=object")}));
        QFile in(file);
        QVERIFY(in.open(QIODevice::ReadOnly));
        const QByteArray before = in.readAll();
        in.close();
        MainWindow w;
        w.setProperty("quietErrors", true);
        QSignalSpy dirty(w.session(), &Session::dirtyChanged);
        QSignalSpy opened(&w, &MainWindow::modelOpened);
        w.openPath(file);
        QVERIFY(opened.wait(30000));
        QTRY_VERIFY_WITH_TIMEOUT(w.headsView()->matrix(QStringLiteral("norm: subj")) != nullptr, 30000);
        QTRY_VERIFY_WITH_TIMEOUT(w.session()->jobs().running() == 0, 30000);
        w.writeRecovery(); // autosave stores the view state: not an edit
        QVERIFY(!w.isWindowModified());
        for (const auto& args : dirty)
            QVERIFY(!args.at(0).toBool());
        QCOMPARE(w.session()->observableLnDataset(QStringLiteral("subj")), QStringLiteral("object"));
        QVERIFY(w.saveProjectTo(file));
        QVERIFY(in.open(QIODevice::ReadOnly));
        QCOMPARE(in.readAll(), before);
    }

    // The Debias and Corpus tabs' choices travel with the project: saved when changed, set again when the
    // project opens (without running anything).
    void debiasAndCorpusChoicesAreKept() {
        QTemporaryDir tmp;
        const QString file = tmp.filePath(QStringLiteral("p.obsprop"));
        QVERIFY(createProject(dir_, file,
                              {QStringLiteral("--observable"), QStringLiteral("subj=#10 - #20"),
                               QStringLiteral("--observable"), QStringLiteral("obj=#30 - #40")}));
        const QString corpus = tmp.filePath(QStringLiteral("c.txt"));
        bool normalize = false;
        {
            MainWindow w;
            w.setProperty("quietErrors", true);
            QSignalSpy opened(&w, &MainWindow::modelOpened);
            w.openPath(file);
            QVERIFY(opened.wait(30000));
            QTRY_VERIFY_WITH_TIMEOUT(w.session()->jobs().running() == 0, 30000);
            DebiasView* d = w.debiasView();
            // As the user does it: a choice picked, a text typed, a box clicked.
            auto choose = [](QComboBox* box, const char* text) {
                const int i = box->findText(QString::fromUtf8(text));
                QVERIFY(i >= 0);
                box->setCurrentIndex(i);
                Q_EMIT box->activated(i);
            };
            auto type = [](QLineEdit* e, const QString& text) {
                e->setText(text);
                Q_EMIT e->textEdited(text);
            };
            choose(d->raiseBox(), "obj");
            choose(d->lowerBox(), "subj");
            choose(d->featureBox(), "subj");
            choose(d->datasetBox(), "object");
            d->candidatesBox()->setValue(3);
            type(d->alphaEdit(), QStringLiteral("-2, 2"));
            normalize = !d->normalizeBox()->isChecked();
            d->normalizeBox()->click();
            d->positionBox()->setCurrentText(QStringLiteral("last"));
            CorpusView* c = w.corpusView();
            choose(c->observableBox(), "obj");
            type(c->fileEdit(), corpus);
            type(c->prefixEdit(), QStringLiteral("<|endoftext|>"));
            c->topBox()->setValue(7);
            c->contextBox()->setValue(3);
            QVERIFY(w.saveProjectTo(file));
        }
        const auto saved = obsprop::project::load_project(file.toStdString());
        QCOMPARE(saved.view.at("debias").at("candidates").get<int>(), 3);
        QCOMPARE(saved.view.at("corpus").at("top").get<int>(), 7);

        MainWindow w;
        w.setProperty("quietErrors", true);
        QSignalSpy opened(&w, &MainWindow::modelOpened);
        w.openPath(file);
        QVERIFY(opened.wait(30000));
        DebiasView* d = w.debiasView();
        QCOMPARE(d->raiseBox()->currentText(), QStringLiteral("obj"));
        QCOMPARE(d->lowerBox()->currentText(), QStringLiteral("subj"));
        QCOMPARE(d->featureBox()->currentText(), QStringLiteral("subj"));
        QCOMPARE(d->datasetBox()->currentText(), QStringLiteral("object"));
        QCOMPARE(d->candidatesBox()->value(), 3);
        QCOMPARE(d->alphaEdit()->text(), QStringLiteral("-2, 2"));
        QCOMPARE(d->normalizeBox()->isChecked(), normalize);
        QCOMPARE(d->positionBox()->currentText(), QStringLiteral("last"));
        QVERIFY(!d->results()); // restored, not run
        CorpusView* c = w.corpusView();
        QCOMPARE(c->observable(), QStringLiteral("obj"));
        QCOMPARE(c->corpusFile(), corpus);
        QCOMPARE(c->prefixEdit()->text(), QStringLiteral("<|endoftext|>"));
        QCOMPARE(c->topBox()->value(), 7);
        QCOMPARE(c->contextBox()->value(), 3);
        QVERIFY(!c->results());
        QTRY_VERIFY_WITH_TIMEOUT(w.session()->jobs().running() == 0, 30000);
    }

    // An observable of the project that is several tokens of this model does not stop the project from
    // opening: the panel lists it marked, with the error; the analyses leave it out; Save keeps it as
    // written; Remove drops it.
    void invalidObservableIsKeptAndShown() {
        QTemporaryDir tmp;
        const QString file = tmp.filePath(QStringLiteral("p.obsprop"));
        QVERIFY(
            createProject(dir_, file, {QStringLiteral("--observable"), QStringLiteral("subj=#10 - #20")}));
        const std::string word = " zqxjvkw";
        QVERIFY(obsprop::io::Tokenizer::from_directory(dir_.toStdString()).encode_continuation(word).size() >
                1);
        const QString bad = QString::fromStdString("\"" + word + "\" - #3");
        QFile f(file);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QJsonObject doc = QJsonDocument::fromJson(f.readAll()).object();
        f.close();
        QJsonArray obs = doc[QStringLiteral("observables")].toArray();
        obs.append(
            QJsonObject{{QStringLiteral("name"), QStringLiteral("bad")}, {QStringLiteral("expr"), bad}});
        doc[QStringLiteral("observables")] = obs;
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(QJsonDocument(doc).toJson());
        f.close();

        MainWindow w;
        w.setProperty("quietErrors", true);
        QSignalSpy opened(&w, &MainWindow::modelOpened);
        w.openPath(file);
        QVERIFY(opened.wait(30000));
        QTRY_VERIFY_WITH_TIMEOUT(w.headsView()->matrix(QStringLiteral("norm: subj")) != nullptr, 30000);
        QCOMPARE(w.session()->observables().size(), 1);
        const auto invalid = w.session()->invalidObservables();
        QCOMPARE(invalid.size(), 1);
        QVERIFY2(invalid[0].error.contains(QStringLiteral("tokens (")), qPrintable(invalid[0].error));
        auto* list = w.projectPanel()->findChild<QListWidget*>(QStringLiteral("observables"));
        QVERIFY(list);
        QCOMPARE(list->count(), 2);
        QCOMPARE(list->item(1)->text(), QStringLiteral("⚠ bad = ") + bad);
        QVERIFY(list->item(1)->toolTip().contains(invalid[0].error));
        list->setCurrentRow(1);
        auto* error = w.projectPanel()->findChild<QLabel*>(QStringLiteral("observableError"));
        QVERIFY(error && !error->isHidden() && error->text().contains(invalid[0].error));
        QVERIFY(w.headsView()->matrix(QStringLiteral("norm: bad")) == nullptr);

        const QString copy = tmp.filePath(QStringLiteral("copy.obsprop"));
        QTRY_VERIFY_WITH_TIMEOUT(w.session()->jobs().running() == 0, 30000);
        QVERIFY(w.saveProjectTo(copy));
        const auto saved = obsprop::project::load_project(copy.toStdString());
        QCOMPARE(saved.observables.size(), std::size_t(2));
        QCOMPARE(QString::fromStdString(saved.observables[1].expr), bad);

        w.session()->removeObservable(QStringLiteral("bad"));
        QVERIFY(w.session()->invalidObservables().isEmpty());
        QCOMPARE(list->count(), 1);
        QCOMPARE(w.session()->observables().size(), 1);
        QTRY_VERIFY_WITH_TIMEOUT(w.session()->jobs().running() == 0, 30000);
    }

    // The bundled demo is found from the build tree (<build>/share/obsprop links to resources/) and is never
    // overwritten: saving it is refused, Save asks where to keep a copy (not beside the demo), and the copy
    // names the demo model from its new place.
    void demoSavesACopy() {
        const QString demo = bundledDemoProject();
        QVERIFY2(demo.endsWith(QStringLiteral("/projects/demo.obsprop")), qPrintable(demo));
        QVERIFY(isReadOnlyProject(demo));
        QFile in(demo);
        QVERIFY(in.open(QIODevice::ReadOnly));
        const QByteArray before = in.readAll();
        in.close();
        MainWindow w;
        w.setProperty("quietErrors", true);
        w.show();
        QSignalSpy opened(&w, &MainWindow::modelOpened);
        QVERIFY(w.openDemo());
        QVERIFY(opened.wait(30000));
        QCOMPARE(QFileInfo(w.session()->projectFile()).canonicalFilePath(),
                 QFileInfo(demo).canonicalFilePath());
        QVERIFY(w.projectIsReadOnly());
        QVERIFY2(w.windowTitle().contains(QStringLiteral("read-only")), qPrintable(w.windowTitle()));
        QCOMPARE(w.session()->addObservable(QStringLiteral("extra"), QStringLiteral("\" she\"")), QString());
        QVERIFY(w.session()->isDirty());
        QVERIFY(!w.saveProjectTo(demo));
        QVERIFY(w.session()->isDirty());

        QTemporaryDir tmp;
        const QString copy = tmp.filePath(QStringLiteral("my-demo.obsprop"));
        QString suggested;
        bool answered = false;
        QTimer::singleShot(300, &w, [&] {
            auto* d = qobject_cast<QFileDialog*>(QApplication::activeModalWidget());
            if (!d) {
                if (QApplication::activeModalWidget()) QApplication::activeModalWidget()->close();
                return;
            }
            suggested = d->selectedFiles().value(0);
            // Typed into the name field, as a user would (selectFile() leaves a focused field alone).
            auto* name = d->findChild<QLineEdit*>(QStringLiteral("fileNameEdit"));
            if (!name) return d->reject();
            name->setText(copy);
            static_cast<QDialog*>(d)->accept(); // QFileDialog's own accept() is protected
            answered = true;
        });
        QVERIFY(w.save());
        QVERIFY(answered);
        QVERIFY2(suggested.endsWith(QStringLiteral("/demo.obsprop")), qPrintable(suggested));
        QVERIFY2(QFileInfo(suggested).absolutePath() != QFileInfo(demo).absolutePath(),
                 qPrintable(suggested));
        QCOMPARE(w.session()->projectFile(), copy);
        QVERIFY(!w.projectIsReadOnly());
        QVERIFY(!w.session()->isDirty());
        QVERIFY(in.open(QIODevice::ReadOnly));
        QCOMPARE(in.readAll(), before);
        const auto saved = obsprop::project::load_project(copy.toStdString());
        QCOMPARE(saved.observables.size(), size_t{5});
        QVERIFY(
            std::filesystem::is_regular_file(saved.resolved_model_path(copy.toStdString()) / "config.json"));
        QTRY_VERIFY_WITH_TIMEOUT(w.session()->jobs().running() == 0, 60000);
    }

    // `--demo` opens the bundled demo from the build tree; with --screenshot the exit status says whether the
    // path opened and every analysis finished.
    void demoFromTheCommandLine() {
        QTemporaryDir tmp;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        env.insert(QStringLiteral("XDG_CONFIG_HOME"),
                   tmp.filePath(QStringLiteral("config"))); // no recent files
        env.insert(QStringLiteral("XDG_DATA_HOME"), tmp.filePath(QStringLiteral("data")));
        auto run = [&](const QStringList& args) {
            QProcess p;
            p.setProcessEnvironment(env);
            p.start(test_paths::binary("/app/obsprop-explorer"), args);
            if (!p.waitForFinished(180000)) return -1;
            return p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
        };
        const QString shot = tmp.filePath(QStringLiteral("demo.png"));
        QCOMPARE(run({QStringLiteral("--demo"), QStringLiteral("--screenshot"), shot,
                      QStringLiteral("--size"), QStringLiteral("900x600")}),
                 0);
        QVERIFY(QImage(shot).width() > 0);
        QCOMPARE(run({QStringLiteral("--demo"), dir_}), 2);
        QCOMPARE(run({tmp.filePath(QStringLiteral("missing")), QStringLiteral("--screenshot"),
                      tmp.filePath(QStringLiteral("missing.png"))}),
                 1);
    }

    // A project whose model folder changed after it was saved opens with a visible warning (the session says
    // so once, the status bar keeps it); saving records the model as it is now.
    void changedModelIsWarnedAbout() {
        QTemporaryDir tmp;
        const QString file = tmp.filePath(QStringLiteral("p.obsprop"));
        QVERIFY(
            createProject(dir_, file, {QStringLiteral("--observable"), QStringLiteral("subj=#10 - #20")}));
        auto pr = obsprop::project::load_project(file.toStdString());
        pr.model_fingerprint = "xxh3v2:0000000000000000"; // as if the weights had changed since
        obsprop::project::save_project(pr, file.toStdString());
        MainWindow w;
        w.setProperty("quietErrors", true);
        QSignalSpy changed(w.session(), &Session::modelChanged);
        QSignalSpy opened(&w, &MainWindow::modelOpened);
        w.openPath(file);
        QVERIFY(opened.wait(30000));
        QTRY_COMPARE_WITH_TIMEOUT(changed.size(), 1, 10000);
        QVERIFY2(changed.at(0).at(0).toString().contains(
                     QStringLiteral("has changed since the project was saved")),
                 qPrintable(changed.at(0).at(0).toString()));
        QVERIFY(w.saveProjectTo(file));
        QVERIFY(obsprop::project::fingerprint_matches(
            obsprop::project::load_project(file.toStdString()).model_fingerprint, dir_.toStdString()));
        MainWindow again;
        again.setProperty("quietErrors", true);
        QSignalSpy changed2(again.session(), &Session::modelChanged);
        QSignalSpy opened2(&again, &MainWindow::modelOpened);
        again.openPath(file);
        QVERIFY(opened2.wait(30000));
        QTest::qWait(200);
        QCOMPARE(changed2.size(), 0);
        QTRY_VERIFY_WITH_TIMEOUT(again.session()->jobs().running() == 0, 30000);
        QTRY_VERIFY_WITH_TIMEOUT(w.session()->jobs().running() == 0, 30000);
    }

    // Without a project the window shows the welcome page (no views, no project panel); each of its actions
    // opens, the page then gives way to the views, and what was opened heads the recent list.
    void welcomePageUntilAProjectOpens() {
        QSettings().remove(QStringLiteral("recent/paths"));
        MainWindow w;
        w.setProperty("quietErrors", true);
        w.show();
        QVERIFY(w.isWelcomeShown());
        QVERIFY(w.welcomePage()->isVisible());
        QVERIFY(!w.findChild<QDockWidget*>(QStringLiteral("projectDock"))->isVisible());
        QVERIFY(!w.exportFigureAction()->isEnabled());
        QVERIFY(w.welcomePage()->demoButton()->isEnabled());
        QVERIFY(!w.welcomePage()->recentList()->isVisible()); // nothing opened yet

        // Open a model folder (the folder dialog answered by the test).
        w.setPathChooser([this](MainWindow::Choice what, const QString&, const QString&) {
            return what == MainWindow::Choice::ModelFolder ? dir_ : QString();
        });
        QSignalSpy opened(&w, &MainWindow::modelOpened);
        QTest::keyClick(w.welcomePage()->modelButton(), Qt::Key_Space);
        QVERIFY(opened.wait(30000));
        QVERIFY(!w.isWelcomeShown());
        QVERIFY(w.tabs()->isVisible());
        QVERIFY(w.findChild<QDockWidget*>(QStringLiteral("projectDock"))->isVisible());
        const QString model = QFileInfo(dir_).absoluteFilePath();
        QCOMPARE(recentPaths().value(0), model);
        QCOMPARE(w.welcomePage()->recentList()->item(0)->data(Qt::UserRole).toString(), model);
        QTRY_VERIFY_WITH_TIMEOUT(w.session()->jobs().running() == 0, 30000);

        // A saved project, then a path that no longer exists: both listed, the missing one greyed.
        QTemporaryDir tmp;
        const QString proj = tmp.filePath(QStringLiteral("welcome.obsprop"));
        QVERIFY(w.saveProjectTo(proj));
        addRecentPath(tmp.filePath(QStringLiteral("gone.obsprop")));

        // A fresh window lists them; Enter on the project's entry opens it.
        MainWindow again;
        again.setProperty("quietErrors", true);
        again.show();
        QVERIFY(again.isWelcomeShown());
        auto* list = again.welcomePage()->recentList();
        QCOMPARE(list->count(), 3);
        QCOMPARE(list->item(0)->data(Qt::UserRole).toString(), tmp.filePath(QStringLiteral("gone.obsprop")));
        QVERIFY(!(list->item(0)->flags() & Qt::ItemIsEnabled));
        QCOMPARE(list->item(1)->data(Qt::UserRole).toString(), proj);
        QVERIFY(list->item(1)->flags() & Qt::ItemIsEnabled);
        list->setFocus();
        list->setCurrentRow(1);
        QSignalSpy opened2(&again, &MainWindow::modelOpened);
        QTest::keyClick(list, Qt::Key_Return);
        QVERIFY(opened2.wait(30000));
        QCOMPARE(again.session()->projectFile(), proj);
        QCOMPARE(recentPaths().value(0), proj);
        QTRY_VERIFY_WITH_TIMEOUT(again.session()->jobs().running() == 0, 30000);

        // Open a project through its button, and the demo through its own.
        MainWindow third;
        third.setProperty("quietErrors", true);
        third.setPathChooser([&proj](MainWindow::Choice what, const QString&, const QString&) {
            return what == MainWindow::Choice::Project ? proj : QString();
        });
        third.show();
        QSignalSpy opened3(&third, &MainWindow::modelOpened);
        third.welcomePage()->projectButton()->click();
        QVERIFY(opened3.wait(30000));
        QCOMPARE(third.session()->projectFile(), proj);
        QTRY_VERIFY_WITH_TIMEOUT(third.session()->jobs().running() == 0, 30000);
        MainWindow fourth;
        fourth.setProperty("quietErrors", true);
        fourth.show();
        QSignalSpy opened4(&fourth, &MainWindow::modelOpened);
        fourth.welcomePage()->demoButton()->click();
        QVERIFY(opened4.wait(30000));
        QCOMPARE(QFileInfo(fourth.session()->projectFile()).canonicalFilePath(),
                 QFileInfo(bundledDemoProject()).canonicalFilePath());
        QVERIFY(!fourth.isWelcomeShown());
        QTRY_VERIFY_WITH_TIMEOUT(fourth.session()->jobs().running() == 0, 60000);
    }

    // A project whose model folder moved does not open but says so; Locate Model points it at the folder's
    // new place: the results appear, the project is modified and saving records the new folder. Locating a
    // folder that holds another model warns that it is not the project's model.
    void locateMovedModel() {
        QTemporaryDir tmp;
        const QString before = tmp.filePath(QStringLiteral("models/demo")),
                      after = tmp.filePath(QStringLiteral("elsewhere/demo-moved"));
        QVERIFY(copyFolder(demoModel(), before));
        const QString file = tmp.filePath(QStringLiteral("study.obsprop"));
        QVERIFY(createProject(before, file,
                              {QStringLiteral("--observable"), QStringLiteral("subj=\" she\" - \" he\"")}));
        const QByteArray saved = contents(file);
        QVERIFY(QDir().mkpath(tmp.filePath(QStringLiteral("elsewhere"))));
        QVERIFY(QDir().rename(before, after));

        MainWindow w;
        w.setProperty("quietErrors", true);
        w.show();
        QSignalSpy missing(w.session(), &Session::modelMissing);
        QSignalSpy failed(&w, &MainWindow::openFailed);
        w.openPath(file);
        QVERIFY(missing.wait(30000));
        QCOMPARE(missing.at(0).at(0).toString(), file);
        QCOMPARE(QDir::cleanPath(missing.at(0).at(1).toString()), QDir::cleanPath(before));
        QCOMPARE(failed.size(), 1);
        QVERIFY(w.isWelcomeShown());
        QVERIFY(w.locateModelAction()->isEnabled());
        QCOMPARE(contents(file), saved); // nothing written

        QString asked;
        w.setPathChooser([&](MainWindow::Choice what, const QString& title, const QString&) {
            asked = title;
            return what == MainWindow::Choice::ModelFolder ? after : QString();
        });
        QSignalSpy opened(&w, &MainWindow::modelOpened);
        QSignalSpy changed(w.session(), &Session::modelChanged);
        w.locateModelAction()->trigger();
        QVERIFY(asked.contains(QStringLiteral("study.obsprop")));
        QVERIFY(opened.wait(30000));
        QCOMPARE(w.currentModel(), QFileInfo(after).absoluteFilePath());
        QCOMPARE(w.session()->projectFile(), file);
        QVERIFY(!w.isWelcomeShown());
        QVERIFY(w.session()->isDirty()); // the model path changed
        QCOMPARE(w.session()->observables().size(), 1);
        QTRY_VERIFY_WITH_TIMEOUT(w.headsView()->matrix(QStringLiteral("norm: subj")) != nullptr, 30000);
        QVERIFY(!w.headsView()->emptyHint()->isVisible());
        QTest::qWait(100);
        QCOMPARE(changed.size(), 0);     // the same model, moved
        QCOMPARE(contents(file), saved); // still nothing written until Save
        QVERIFY(w.save());
        const auto reread = obsprop::project::load_project(file.toStdString());
        QCOMPARE(
            QDir::cleanPath(QString::fromStdString(reread.resolved_model_path(file.toStdString()).string())),
            QDir::cleanPath(QFileInfo(after).absoluteFilePath()));
        QCOMPARE(reread.observables.size(), std::size_t{1});

        // Another model in the chosen folder: it opens, with the warning that it is not the project's model.
        w.session()->addObservable(QStringLiteral("extra"), QStringLiteral("#10 - #20")); // an unsaved edit
        w.setPathChooser([this](MainWindow::Choice, const QString&, const QString&) { return dir_; });
        QSignalSpy opened2(&w, &MainWindow::modelOpened);
        w.locateModel();
        QVERIFY(opened2.wait(30000));
        QTRY_COMPARE_WITH_TIMEOUT(changed.size(), 1, 10000);
        QVERIFY2(changed.at(0).at(0).toString().contains(
                     QStringLiteral("is not the model the project was saved with")),
                 qPrintable(changed.at(0).at(0).toString()));
        QCOMPARE(w.session()->observables().size(), 2); // the unsaved edit is kept
        QVERIFY(w.session()->isDirty());
        QTRY_VERIFY_WITH_TIMEOUT(w.session()->jobs().running() == 0, 60000);
    }

    // Export Figure into an existing file asks first; declining keeps the old file byte for byte and the
    // dialog open, agreeing replaces it. Export All into a folder that is not empty asks too. Tabs with no
    // figure disable Export Figure and say why.
    void overwriteIsConfirmed() {
        MainWindow w;
        w.setProperty("quietErrors", true);
        w.show();
        QVERIFY(openWithSubj(w));
        QTemporaryDir out;
        const QString target = out.filePath(QStringLiteral("map.png"));
        const QByteArray old("not really a PNG, but the user's file");
        {
            QFile f(target);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(old);
        }
        QStringList asked;
        bool agree = false;
        setOverwriteAnswer([&](const QString& path, const QString&) {
            asked << path;
            return agree;
        });
        QSignalSpy exported(&w, &MainWindow::figureExported);
        auto run = [&]() -> ExportFigureDialog* {
            w.exportFigure();
            ExportFigureDialog* d = nullptr;
            for (auto* c : w.findChildren<ExportFigureDialog*>())
                d = c->isVisible() ? c : d;
            if (!d) return nullptr;
            d->setFile(target);
            d->accept();
            return d;
        };
        auto* d = run();
        QVERIFY(d);
        QCOMPARE(asked, QStringList{QFileInfo(target).absoluteFilePath()});
        QVERIFY(d->isVisible()); // still open: the user may pick another name
        QTest::qWait(50);
        QCOMPARE(exported.count(), 0);
        QCOMPARE(contents(target), old);
        agree = true;
        d->accept();
        QTRY_COMPARE(exported.count(), 1);
        QVERIFY(exported.last().at(1).toBool());
        QCOMPARE(asked.size(), 2);
        QVERIFY(!QImage(target).isNull());

        // Export All into a folder that already holds files: declined, nothing is written.
        agree = false;
        const QByteArray png = contents(target);
        QVERIFY(!w.exportAll(out.path()));
        QCOMPARE(asked.size(), 3);
        QTest::qWait(100);
        QCOMPARE(contents(target), png);
        QVERIFY(!QFileInfo::exists(out.filePath(QStringLiteral("manifest.json"))));
        setOverwriteAnswer({});

        // The Prompts and Paths tabs show tables: Export Figure is disabled with the reason.
        QVERIFY(w.exportFigureAction()->isEnabled());
        w.tabs()->setCurrentWidget(w.promptsView());
        QVERIFY(!w.exportFigureAction()->isEnabled());
        QVERIFY(w.exportFigureAction()->toolTip().contains(QStringLiteral("Export All")));
        w.tabs()->setCurrentWidget(w.pathsView());
        QVERIFY(!w.exportFigureAction()->isEnabled());
        w.exportFigure(); // as a shortcut would: no box, the status bar says why
        QVERIFY(w.findChildren<QMessageBox*>().isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(w.session()->jobs().running() == 0, 30000);
    }
};

QTEST_MAIN(TestMainWindowFiles)
#include "tst_main_window_files.moc"
