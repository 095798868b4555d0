// The explorer window as a user drives it: open a model, add observables (with inline errors), the
// heatmap equals the CLI's numbers, clicking selects a head everywhere, projects save and restore the
// view state, a broken project shows an error and keeps the current work, unsaved work is autosaved.
#include "test_models.h"

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
#include <QtTest>

#include "figures/qcp.h"
#include "io/tokenizer.h"
#include "project/project.h"
#include "session/bundled_data.h"
#include "session/recent_files.h"
#include "session/session.h"
#include "views/attention_view.h"
#include "views/confirm_overwrite.h"
#include "views/export_dialog.h"
#include "views/heads_view.h"
#include "views/heatmap_widget.h"
#include "views/main_window.h"
#include "views/paths_view.h"
#include "views/project_panel.h"
#include "views/prompts_view.h"
#include "views/welcome_page.h"

using namespace obsprop::ui;

namespace {

QJsonObject cliFeatures(const QStringList& args) {
    QProcess p;
    p.start(QStringLiteral(OBSPROP_BINARY_DIR "/app/obsprop"),
            QStringList{QStringLiteral("features")} + args);
    p.waitForFinished(60000);
    return QJsonDocument::fromJson(p.readAllStandardOutput()).object();
}

void typeObservable(MainWindow& w, const QString& text) {
    auto* input = w.projectPanel()->observableInput();
    input->clear();
    QTest::keyClicks(input, text);
    QTest::keyClick(input, Qt::Key_Return);
}

// Copies a folder's files (not recursive: a model folder is flat).
bool copyFolder(const QString& from, const QString& to) {
    if (!QDir().mkpath(to)) return false;
    for (const QFileInfo& f : QDir(from).entryInfoList(QDir::Files))
        if (!QFile::copy(f.absoluteFilePath(), to + QLatin1Char('/') + f.fileName())) return false;
    return true;
}

QString demoModel() {
    return QFileInfo(bundledDemoProject()).absolutePath() + QStringLiteral("/../models/demo");
}

QByteArray contents(const QString& file) {
    QFile f(file);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT
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

  private Q_SLOTS:
    void initTestCase() {
        QCoreApplication::setOrganizationName(QStringLiteral("ObsPropTests"));
        QStandardPaths::setTestModeEnabled(true);
        dir_ = t_.dir->filePath(QStringLiteral("model"));
        QFile::remove(MainWindow::recoveryFile());
    }

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
        p.start(QStringLiteral(OBSPROP_BINARY_DIR "/app/obsprop"),
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
        QProcess p;
        p.start(QStringLiteral(OBSPROP_BINARY_DIR "/app/obsprop"),
                {QStringLiteral("project"), QStringLiteral("create"), QStringLiteral("--model"), dir_,
                 QStringLiteral("--observable"), QStringLiteral("subj=#10 - #20"),
                 QStringLiteral("--ln-dataset"), QStringLiteral("subj=object"), QStringLiteral("--out"),
                 file});
        QVERIFY(p.waitForFinished(60000) && p.exitCode() == 0);
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

    // An observable of the project that is several tokens of this model does not stop the project from
    // opening: the panel lists it marked, with the error; the analyses leave it out; Save keeps it as
    // written; Remove drops it.
    void invalidObservableIsKeptAndShown() {
        QTemporaryDir tmp;
        const QString file = tmp.filePath(QStringLiteral("p.obsprop"));
        QProcess p;
        p.start(QStringLiteral(OBSPROP_BINARY_DIR "/app/obsprop"),
                {QStringLiteral("project"), QStringLiteral("create"), QStringLiteral("--model"), dir_,
                 QStringLiteral("--observable"), QStringLiteral("subj=#10 - #20"), QStringLiteral("--out"),
                 file});
        QVERIFY(p.waitForFinished(60000) && p.exitCode() == 0);
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

    // --help and --version answer without a display (no platform plugin is loaded for them).
    void helpWithoutDisplay() {
        for (const char* arg : {"--help", "--version"}) {
            QProcess p;
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            env.remove(QStringLiteral("DISPLAY"));
            env.remove(QStringLiteral("WAYLAND_DISPLAY"));
            env.remove(QStringLiteral("QT_QPA_PLATFORM"));
            p.setProcessEnvironment(env);
            p.start(QStringLiteral(OBSPROP_BINARY_DIR "/app/obsprop-explorer"), {QString::fromLatin1(arg)});
            QVERIFY(p.waitForFinished(30000));
            QCOMPARE(p.exitStatus(), QProcess::NormalExit);
            QCOMPARE(p.exitCode(), 0);
            const QString out = QString::fromUtf8(p.readAllStandardOutput());
            QVERIFY2(out.contains(QLatin1String(arg[2] == 'h' ? "--screenshot" : "ObsProp Explorer")),
                     qPrintable(out));
        }
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
            p.start(QStringLiteral(OBSPROP_BINARY_DIR "/app/obsprop-explorer"), args);
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
        QProcess p;
        p.start(QStringLiteral(OBSPROP_BINARY_DIR "/app/obsprop"),
                {QStringLiteral("project"), QStringLiteral("create"), QStringLiteral("--model"), dir_,
                 QStringLiteral("--observable"), QStringLiteral("subj=#10 - #20"), QStringLiteral("--out"),
                 file});
        QVERIFY(p.waitForFinished(60000) && p.exitCode() == 0);
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

    // The Attention tab comes after the existing tabs (their --tab indices stay), with a mnemonic no other
    // tab or menu uses; it follows the window's head selection, Copy as Command gives its command, and its
    // choices are saved with the project's view state.
    void attentionTabFollowsTheWindow() {
        MainWindow w;
        w.setProperty("quietErrors", true);
        QVERIFY(openWithSubj(w));
        QStringList tabs;
        for (int i = 0; i < w.tabs()->count(); ++i)
            tabs << w.tabs()->tabText(i);
        QCOMPARE(tabs,
                 (QStringList{QStringLiteral("&Heads"), QStringLiteral("&Coupling"), QStringLiteral("S&VD"),
                              QStringLiteral("&Paths"), QStringLiteral("S&teering"),
                              QStringLiteral("P&rompts"), QStringLiteral("&Attention")}));
        QCOMPARE(w.tabs()->widget(6), static_cast<QWidget*>(w.attentionView()));
        auto mnemonic = [](const QString& text) {
            return text.at(text.indexOf(QLatin1Char('&')) + 1).toLower();
        };
        QStringList others = tabs.mid(0, 6);
        for (auto* a : w.menuBar()->actions())
            others << a->text();
        for (const QString& o : others)
            QVERIFY2(mnemonic(o) != mnemonic(tabs[6]), qPrintable(o));

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
        QProcess p;
        p.start(QStringLiteral(OBSPROP_BINARY_DIR "/app/obsprop"),
                {QStringLiteral("project"), QStringLiteral("create"), QStringLiteral("--model"), before,
                 QStringLiteral("--observable"), QStringLiteral("subj=\" she\" - \" he\""),
                 QStringLiteral("--out"), file});
        QVERIFY(p.waitForFinished(60000) && p.exitCode() == 0);
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

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
