// The explorer's Corpus view shows the core's corpus report: the same numbers as `obsprop corpus --json`
// and its CSV, every histogram bin, the baselines table, each example's context tokens coloured by their
// scores; Run works in the background with progress, Cancel stops it, a bad file is said in the view.
#include "cli_run.h"
#include "json_close.h"
#include "test_models.h"
#include "test_paths.h"

#include <QFile>
#include <QLineEdit>
#include <QProcess>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTextBrowser>
#include <QtTest>

#include <cmath>

#include "analyses/tables.h"
#include "figures/qcp.h"
#include "session/session.h"
#include "session_fixture.h"
#include "views/corpus_view.h"
#include "views/paths_view.h"

using namespace obsprop::ui;
using cli_run::cli;

namespace {

constexpr int kTimeout = 120000;

void write(const QString& path, const QByteArray& text) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(text);
}

} // namespace

class TestCorpusView : public QObject {
    Q_OBJECT
    test_models::TinyModel t_ = test_models::make_tiny(obsprop::tools::Family::GPT2, 11);
    Session* s_ = nullptr;
    CorpusView* v_ = nullptr;
    QTemporaryDir dir_;
    QString corpus_;

    QString model() const { return t_.dir->filePath(QStringLiteral("model")); }

  private Q_SLOTS:
    void initTestCase() {
        s_ = new Session(this);
        QVERIFY(session_fixture::openWithPair(*s_, model(), kTimeout));
        v_ = new CorpusView(s_);
        corpus_ = dir_.filePath(QStringLiteral("c.txt"));
        write(corpus_, "The cat sat on the mat and looked at the door.\n\nShe said he would come back "
                       "tomorrow with flowers.\n\nRain.\n");
    }
    void cleanupTestCase() {
        delete v_;
        s_->jobs().waitForDone();
    }

    void runShowsTheCoreReport() {
        QVERIFY(!v_->runButton()->isEnabled()); // no head yet
        v_->setSelectedHead({1, 2});
        QVERIFY(v_->runButton()->isEnabled());
        QCOMPARE(v_->observable(), QStringLiteral("subj"));
        v_->fileEdit()->setText(corpus_);
        v_->prefixEdit()->setText(QStringLiteral("<|endoftext|>"));
        v_->topBox()->setValue(6);
        v_->contextBox()->setValue(3);
        QSignalSpy ready(s_, &Session::corpusReady);
        v_->runButton()->click();
        QVERIFY(v_->cancelButton()->isEnabled());
        QVERIFY(ready.wait(kTimeout));
        QTRY_VERIFY(v_->runButton()->isEnabled());
        QVERIFY(v_->results().has_value());
        const auto& r = v_->results()->report;

        const QStringList args = {QStringLiteral("corpus"),
                                  QStringLiteral("--model"),
                                  model(),
                                  QStringLiteral("--observable"),
                                  QStringLiteral("subj=#10 - #20"),
                                  QStringLiteral("--head"),
                                  QStringLiteral("1.2"),
                                  QStringLiteral("--corpus"),
                                  corpus_,
                                  QStringLiteral("--prefix"),
                                  QStringLiteral("<|endoftext|>"),
                                  QStringLiteral("--top"),
                                  QStringLiteral("6"),
                                  QStringLiteral("--context"),
                                  QStringLiteral("3")};
        const auto json = cli(args + QStringList{QStringLiteral("--json")});
        QVERIFY2(json.code == 0, json.err.constData());
        QVERIFY(json_close::same(nlohmann::json::parse(obsprop::analyses::to_json(r).dump()),
                                 nlohmann::json::parse(json.out.toStdString())));
        // Copy as Command: the command line, run through the shell, prints the same report.
        QString command = v_->command();
        QVERIFY(command.startsWith(QStringLiteral("obsprop corpus ")));
        command.replace(0, 7, test_paths::binary("/app/obsprop"));
        QProcess sh;
        sh.start(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), command + QStringLiteral(" --json")});
        QVERIFY(sh.waitForFinished(kTimeout));
        QCOMPARE(sh.exitCode(), 0);
        QVERIFY(json_close::same(nlohmann::json::parse(obsprop::analyses::to_json(r).dump()),
                                 nlohmann::json::parse(sh.readAllStandardOutput().toStdString())));
        const auto csv = cli(args + QStringList{QStringLiteral("--csv")});
        QCOMPARE(v_->examplesCsv().toUtf8(), csv.out);

        // The histogram: one bar a bin, at the bin's centre, as high as its count.
        QCOMPARE(v_->plot()->plottableCount(), 1);
        auto* bars = qobject_cast<QCPBars*>(v_->plot()->plottable(0));
        QVERIFY(bars);
        QCOMPARE(bars->data()->size(), static_cast<int>(r.hist_counts.size()));
        for (int i = 0; i < bars->data()->size(); ++i) {
            const auto it = bars->data()->at(i);
            QCOMPARE(it->value, static_cast<double>(r.hist_counts[static_cast<std::size_t>(i)]));
            QVERIFY(std::abs(it->key - (r.hist_lo + (i + 0.5) * r.hist_width)) <
                    1e-9 * (1 + std::abs(it->key)));
        }
        // The baselines table: the core's table, cell for cell.
        const auto t = obsprop::analyses::baselines_table(r);
        QCOMPARE(v_->baselines()->rowCount(), 3);
        QCOMPARE(v_->baselines()->columnCount(), static_cast<int>(t.columns.size()));
        QCOMPARE(v_->baselines()->item(2, 0)->text(), QStringLiteral("probe"));
        for (std::size_t i = 0; i < t.rows.size(); ++i)
            QCOMPARE(v_->baselines()->item(static_cast<int>(i), 8)->text(),
                     QString::number(r.vectors[i].r2, 'g', 6)); // the r2 column
        // The examples: every context token on its colour, the strongest positive fully red.
        double scale = 0;
        int spans = 0;
        for (const auto& e : r.examples) {
            spans += static_cast<int>(e.tokens.size());
            for (double s : e.scores)
                scale = std::max(scale, std::abs(s));
        }
        const QString html = v_->examples()->toHtml();
        QCOMPARE(v_->examples()->document()->toPlainText().count(QStringLiteral("score ")),
                 static_cast<int>(r.examples.size()));
        QVERIFY(html.contains(QStringLiteral("background-color")));
        QCOMPARE(CorpusView::scoreColour(scale, scale), QColor(220, 40, 40, 200));
        QCOMPARE(CorpusView::scoreColour(-scale, scale), QColor(40, 90, 220, 200));
        QCOMPARE(CorpusView::scoreColour(0.5 * scale, scale).alpha(), 100);
        QVERIFY(spans > 0);
    }

    // A path typed in the Paths view, sent with Score on Corpus: the view scores its feature as
    // `obsprop corpus --path` does, and Copy as Command says --path.
    void pathFromThePathsViewIsScored() {
        PathsView paths(s_);
        connect(&paths, &PathsView::corpusRequested, v_, &CorpusView::setPath);
        paths.pathEdit()->setText(QStringLiteral("mlp0 -> 1.2"));
        QPushButton* score = nullptr;
        for (auto* b : paths.findChildren<QPushButton*>())
            if (b->text() == QStringLiteral("Score on Corpus")) score = b;
        QVERIFY(score);
        score->click();
        const std::vector<HeadRef> want = {HeadRef::mlp(0), HeadRef{1, 2}};
        QCOMPARE(v_->selectedPath(), want);
        QSignalSpy ready(s_, &Session::corpusReady);
        v_->runButton()->click();
        QVERIFY(ready.wait(kTimeout));
        QTRY_VERIFY(v_->runButton()->isEnabled());
        QVERIFY(v_->results().has_value());
        const auto& r = v_->results()->report;
        QCOMPARE(r.hook, std::string("blocks.0.hook_resid_mid"));
        QVERIFY(v_->statusText().startsWith(QStringLiteral("Path mlp0 → 1.2, feature of subj")));
        const auto json =
            cli({QStringLiteral("corpus"), QStringLiteral("--model"), model(), QStringLiteral("--observable"),
                 QStringLiteral("subj=#10 - #20"), QStringLiteral("--path"), QStringLiteral("mlp0 -> 1.2"),
                 QStringLiteral("--corpus"), corpus_, QStringLiteral("--prefix"),
                 QStringLiteral("<|endoftext|>"), QStringLiteral("--top"), QStringLiteral("6"),
                 QStringLiteral("--context"), QStringLiteral("3"), QStringLiteral("--json")});
        QVERIFY2(json.code == 0, json.err.constData());
        const auto want_json = nlohmann::json::parse(obsprop::analyses::to_json(r).dump());
        QVERIFY(json_close::same(want_json, nlohmann::json::parse(json.out.toStdString())));
        QString command = v_->command();
        QVERIFY2(command.contains(QStringLiteral("--path 'mlp0 -> 1.2'")), qPrintable(command));
        command.replace(0, 7, test_paths::binary("/app/obsprop"));
        QProcess sh;
        sh.start(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), command + QStringLiteral(" --json")});
        QVERIFY(sh.waitForFinished(kTimeout));
        QCOMPARE(sh.exitCode(), 0);
        QVERIFY(json_close::same(want_json, nlohmann::json::parse(sh.readAllStandardOutput().toStdString())));
        // A head selected afterwards replaces the path.
        v_->setSelectedHead({1, 2});
        QCOMPARE(v_->selectedPath(), (std::vector<HeadRef>{HeadRef{1, 2}}));
    }

    void errorsAreShown() {
        v_->fileEdit()->setText(dir_.filePath(QStringLiteral("none.txt")));
        QSignalSpy failed(s_, &Session::jobFailed);
        v_->run();
        QVERIFY(failed.wait(kTimeout));
        QTRY_VERIFY(v_->statusText().contains(QStringLiteral("none.txt: no such file")));
        QVERIFY(!v_->results().has_value());
        QTRY_VERIFY(v_->runButton()->isEnabled());
    }

    void cancelStops() {
        const QString big = dir_.filePath(QStringLiteral("big.txt"));
        QByteArray text;
        for (int i = 0; i < 3000; ++i)
            text += "She said that he would come back tomorrow with flowers for everyone.\n\n";
        write(big, text);
        v_->fileEdit()->setText(big);
        QSignalSpy progress(&s_->jobs(), &JobTracker::progress);
        QSignalSpy finished(&s_->jobs(), &JobTracker::finished);
        v_->run();
        QVERIFY(progress.wait(kTimeout));
        v_->cancelButton()->click();
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty(), kTimeout);
        QCOMPARE(finished.last().at(1).toBool(), false);
        QTRY_VERIFY(v_->statusText() == QStringLiteral("Cancelled."));
        QVERIFY(!v_->results().has_value());
        QVERIFY(v_->runButton()->isEnabled());
    }
};

QTEST_MAIN(TestCorpusView)
#include "tst_corpus_view.moc"
