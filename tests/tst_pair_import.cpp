// Importing prompt pairs in the explorer's project panel, on the demo model: the dataset appears, an
// analysis runs on it (the demo's subject prompts as pairs give exactly the template dataset's attribution),
// a bad file is refused with its file, line and problem shown, and undo removes the dataset.
#include "test_paths.h"

#include <QApplication>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>

#include "session/session.h"
#include "session_fixture.h"
#include "views/project_panel.h"

using namespace obsprop::ui;

namespace {

constexpr int kTimeout = 120000;
const QString kDemo = test_paths::source("/resources/models/demo");
const QString kSubjectPairs = test_paths::source("/resources/datasets/subject-pairs.csv");

QStringList listed(const QListWidget* list) {
    QStringList out;
    for (int i = 0; i < list->count(); ++i)
        out << list->item(i)->text();
    return out;
}

} // namespace

class TestPairImport : public QObject {
    Q_OBJECT
    Session* s_ = nullptr;
    ProjectPanel* panel_ = nullptr;
    QString chosen_;

    AttributionResults attribution(const QString& dataset) {
        QSignalSpy ready(s_, &Session::attributionReady);
        s_->computeAttribution(QStringLiteral("test"), dataset, QStringLiteral("patching"));
        return ready.wait(kTimeout) ? qvariant_cast<AttributionResults>(ready.last().at(0))
                                    : AttributionResults{};
    }
    // Clicks "Import Pairs…", the file chooser answering `file`.
    bool clickImport(const QString& file) {
        chosen_ = file;
        auto* button = panel_->findChild<QPushButton*>(QStringLiteral("importPairs"));
        if (!button) return false;
        QTest::mouseClick(button, Qt::LeftButton);
        return true;
    }

  private Q_SLOTS:
    void initTestCase() {
        s_ = new Session;
        QVERIFY(session_fixture::open(*s_, kDemo, kTimeout));
        QCOMPARE(s_->addObservable(QStringLiteral("subj"), QStringLiteral("\" she\" - \" he\"")), QString());
        panel_ = new ProjectPanel(s_);
        panel_->setFileChooser([this] { return chosen_; });
        panel_->resize(360, 700);
        panel_->show();
        QVERIFY(QTest::qWaitForWindowExposed(panel_));
    }
    void cleanupTestCase() {
        delete panel_;
        delete s_;
    }

    void importRunUndo() {
        const int steps = s_->undoStack()->count();
        panel_->pairsNameInput()->setText(QStringLiteral("mine"));
        QVERIFY(clickImport(kSubjectPairs));
        QVERIFY2(!panel_->datasetError()->isVisible(), qPrintable(panel_->datasetError()->text()));
        QCOMPARE(s_->datasetNames(), (QStringList{"subject", "object", "occupation", "mine"}));
        QCOMPARE(listed(panel_->datasetList()), s_->datasetNames());
        QCOMPARE(panel_->datasetList()->item(3)->toolTip(), QStringLiteral("30 prompt pairs (imported)"));
        QVERIFY(s_->isPairDataset(QStringLiteral("mine")));
        QCOMPARE(s_->undoStack()->count(), steps + 1);
        QCOMPARE(s_->undoStack()->undoText(), QStringLiteral("Import Dataset “mine”"));
        QVERIFY(s_->isDirty());
        // The dataset is offered to the views and analyses run on it: the subject prompts as pairs give the
        // template dataset's attribution exactly.
        QCOMPARE(panel_->lnDatasetBox()->findText(QStringLiteral("mine")), 3);
        const AttributionResults pairs = attribution(QStringLiteral("mine"));
        const AttributionResults tmpl = attribution(QStringLiteral("subject"));
        QCOMPARE(pairs.pairs, 30);
        QCOMPARE(tmpl.pairs, 30);
        QCOMPARE(pairs.maps.size(), tmpl.maps.size());
        for (std::size_t o = 0; o < pairs.maps.size(); ++o)
            QCOMPARE(pairs.maps[o].values, tmpl.maps[o].values);
        // A pair dataset is not edited as templates.
        QVERIFY(s_->setDatasetText(QStringLiteral("mine"), QStringLiteral("template: [NAME] x\nmale: Bob"))
                    .contains(QStringLiteral("holds prompt pairs imported from a file")));
        QVERIFY(s_->datasetText(QStringLiteral("mine"))
                    .startsWith(QStringLiteral("pair: <|endoftext|>So, Jennifer")));

        // Undo removes it (from the recipe and the panel); redo brings it back.
        s_->undoStack()->undo();
        QCOMPARE(s_->datasetNames(), (QStringList{"subject", "object", "occupation"}));
        QCOMPARE(listed(panel_->datasetList()), s_->datasetNames());
        s_->undoStack()->redo();
        QCOMPARE(listed(panel_->datasetList()), (QStringList{"subject", "object", "occupation", "mine"}));
        s_->undoStack()->undo();
    }

    // Bad input: nothing is added, no undo step, and the panel shows the file, line and problem.
    void errorsShown() {
        QTemporaryDir tmp;
        const QString bad = tmp.filePath(QStringLiteral("bad.csv"));
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("clean,corrupt\nShe runs,He runs\nShe walks,\n");
        f.close();
        const int steps = s_->undoStack()->count();
        QVERIFY(clickImport(bad));
        QVERIFY(panel_->datasetError()->isVisible());
        QCOMPARE(panel_->datasetError()->text(), bad + QStringLiteral(":3: the corrupted prompt is empty"));
        QCOMPARE(s_->undoStack()->count(), steps);
        QCOMPARE(s_->datasetNames(), (QStringList{"subject", "object", "occupation"}));

        // A name in use (the file's own name when none is typed).
        const QString subject = tmp.filePath(QStringLiteral("subject.jsonl"));
        QFile g(subject);
        QVERIFY(g.open(QIODevice::WriteOnly));
        g.write("{\"clean\": \"She runs\", \"corrupt\": \"He runs\"}\n");
        g.close();
        QVERIFY(clickImport(subject));
        QCOMPARE(panel_->datasetError()->text(),
                 subject +
                     QStringLiteral(": a dataset named 'subject' already exists; give the imported pairs "
                                    "another name"));
        // Typing another name imports it; the error goes away.
        panel_->pairsNameInput()->setText(QStringLiteral("runs"));
        QVERIFY(clickImport(subject));
        QVERIFY(!panel_->datasetError()->isVisible());
        QCOMPARE(s_->datasetNames().last(), QStringLiteral("runs"));
        QCOMPARE(panel_->pairsNameInput()->text(), QString());
        s_->undoStack()->undo();
    }
};

QTEST_MAIN(TestPairImport)
#include "tst_pair_import.moc"
