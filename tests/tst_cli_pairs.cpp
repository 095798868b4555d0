// Pair datasets on the command line: `project create --pairs NAME=FILE`, `dataset` listing the pairs with
// their slots, and analyses on them. The demo's subject prompts written as pairs
// (resources/datasets/subject-pairs.csv, the template dataset's pairs in its order) must give exactly the
// template dataset's attribution.
#include "test_paths.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include "cli_run.h"

#include "project/project.h"

namespace {

using cli_run::cli;
using cli_run::Run;

const QString kDemo = test_paths::source("/resources/models/demo");
const QString kSubjectPairs = test_paths::source("/resources/datasets/subject-pairs.csv");
const QString kObjectPairs = test_paths::source("/resources/datasets/object-pairs.jsonl");

} // namespace

class TestCliPairs : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        project_ = tmp_.filePath(QStringLiteral("pairs.obsprop"));
        const Run r = cli({"project", "create", "--model", kDemo, "--observable", "subj=\" she\" - \" he\"",
                           "--observable", "obj=\" her\" - \" him\"", "--pairs", "mine=" + kSubjectPairs,
                           "--pairs", "objp=" + kObjectPairs, "--out", project_});
        QVERIFY2(r.code == 0, r.err.constData());
        QCOMPARE(r.out, QByteArray("wrote " + project_.toUtf8() + " (2 observables, 5 datasets)\n"));
    }

    void projectHoldsThePairs() {
        const auto p = obsprop::project::load_project(project_.toStdString());
        QCOMPARE(p.datasets.size(), std::size_t(5));
        QCOMPARE(p.datasets[3].name, std::string("mine"));
        QCOMPARE(p.datasets[3].prompt_pairs.size(), std::size_t(30));
        QCOMPARE(p.datasets[3].prompt_pairs[0].label, std::string("Jennifer -> John"));
        QCOMPARE(p.datasets[4].prompt_pairs.size(), std::size_t(5));
        const Run v = cli({"project", "validate", project_});
        QVERIFY2(v.code == 0, v.err.constData());
        QVERIFY2(v.out.endsWith("ok (2 observables, 5 datasets)\n"), v.out.constData());
    }

    // `dataset` lists each pair's clean and corrupted prompt with its slot; for the subject prompts written
    // as pairs, the slots, tokens and values are the template dataset's.
    void datasetListsSlots() {
        const Run pairs = cli({"dataset", "--project", project_, "--dataset", "mine", "--json"});
        QVERIFY2(pairs.code == 0, pairs.err.constData());
        const Run tmpl = cli({"dataset", "--project", project_, "--dataset", "subject", "--json"});
        QVERIFY2(tmpl.code == 0, tmpl.err.constData());
        const QJsonArray p = pairs.array(), t = tmpl.array();
        QCOMPARE(p.size(), 60);
        QCOMPARE(t.size(), 60);
        const QJsonObject first = p[0].toObject();
        QCOMPARE(first.keys(), (QStringList{"index", "label", "pair", "side", "slot", "span", "text",
                                            "tokens", "value_obj", "value_subj"}));
        QCOMPARE(first["side"].toString(), QStringLiteral("clean"));
        QCOMPARE(p[1].toObject()["side"].toString(), QStringLiteral("corrupt"));
        QCOMPARE(first["label"].toString(), QStringLiteral("Jennifer -> John"));
        for (int k = 0; k < 30; ++k) {
            const int tpl = k / 10, i = k % 10; // template tpl, the i-th female and male names
            const QJsonObject clean = p[2 * k].toObject(), corrupt = p[2 * k + 1].toObject();
            const QJsonObject female = t[tpl * 20 + i].toObject(), male = t[tpl * 20 + 10 + i].toObject();
            QCOMPARE(clean["pair"].toInt(), k);
            QCOMPARE(clean["text"].toString(), female["text"].toString());
            QCOMPARE(corrupt["text"].toString(), male["text"].toString());
            QCOMPARE(clean["tokens"].toString(), female["tokens"].toString());
            QCOMPARE(clean["slot"].toInt(), female["name_position"].toInt());
            QCOMPARE(corrupt["slot"].toInt(), male["name_position"].toInt());
            // The span is the name's tokens, as the tokenizer writes them.
            QVERIFY2(clean["span"].toString().contains(female["name"].toString().left(2)),
                     qPrintable(clean["span"].toString()));
            // The same prompt, run in float32 in batches of other prompts (other padding): equal up to
            // float32 rounding.
            const auto close = [](double x, double y) { return std::abs(x - y) <= 1e-5 * (1 + std::abs(y)); };
            QVERIFY(close(clean["value_subj"].toDouble(), female["value_subj"].toDouble()));
            QVERIFY(close(corrupt["value_obj"].toDouble(), male["value_obj"].toDouble()));
        }
        // The text listing has the same columns.
        const Run text = cli({"dataset", "--project", project_, "--dataset", "objp", "--csv"});
        QVERIFY2(text.code == 0, text.err.constData());
        QVERIFY2(text.out.startsWith("index,pair,side,span,text,slot,label,value_subj,value_obj,tokens\n"),
                 text.out.constData());
        QCOMPARE(text.out.count('\n'), 11); // the header, 5 pairs × 2 prompts
    }

    // The same pairs as the template dataset's, in the same order: the same attribution, number for number.
    void attributionMatchesTemplates() {
        for (const char* method : {"patching", "gradient"}) {
            const Run pairs =
                cli({"attribute", "--project", project_, "--dataset", "mine", "--method", method, "--json"});
            QVERIFY2(pairs.code == 0, pairs.err.constData());
            const Run tmpl = cli(
                {"attribute", "--project", project_, "--dataset", "subject", "--method", method, "--json"});
            QVERIFY2(tmpl.code == 0, tmpl.err.constData());
            const QJsonArray a = pairs.array(), b = tmpl.array();
            QCOMPARE(a.size(), 32);                                         // one row per head of the demo
            QCOMPARE(QJsonDocument(a).toJson(), QJsonDocument(b).toJson()); // every number, to the last digit
        }
    }

    // Steering at the slot and path patching run on a pair dataset; path patching uses the pairs whose
    // prompts have the same number of tokens and says how many (the "pairs" column).
    void otherAnalyses() {
        const Run steer = cli({"steer", "--project", project_, "--vector", "obs=subj;path=1.4;alpha=10",
                               "--dataset", "objp", "--json"});
        QVERIFY2(steer.code == 0, steer.err.constData());
        const Run listing = cli({"dataset", "--project", project_, "--dataset", "objp", "--json"});
        int aligned = 0;
        for (int k = 0; k < 5; ++k)
            aligned += listing.array()[2 * k].toObject()["tokens"].toString().count(QLatin1Char('|')) ==
                       listing.array()[2 * k + 1].toObject()["tokens"].toString().count(QLatin1Char('|'));
        QCOMPARE(aligned, 4); // " Bar th ol om ew" against " Jane"
        const Run beam = cli({"paths", "--project", project_, "--feature-of", "obj", "--beam", "--dataset",
                              "objp", "--beam-width", "2", "--max-length", "2", "--json"});
        QVERIFY2(beam.code == 0, beam.err.constData());
        QVERIFY(!beam.array().isEmpty());
        for (const auto& row : beam.array())
            QCOMPARE(row.toObject()["pairs"].toInt(), 4);
        // Attribution reads the last position: pairs of any lengths take part.
        const Run at = cli({"attribute", "--project", project_, "--dataset", "objp", "--json"});
        QVERIFY2(at.code == 0, at.err.constData());
        QCOMPARE(at.array().size(), 32);
    }

    void errors_data() {
        QTest::addColumn<QStringList>("pairs");
        QTest::addColumn<int>("code");
        QTest::addColumn<QString>("message");
        const QString bad = test_paths::source("/tests/data/pairs-missing.csv");
        QTest::newRow("no =")
            << QStringList{"--pairs", "mine"} << 2
            << "obsprop: error: --pairs 'mine' is not NAME=FILE (a dataset name, '=', a .csv or "
               ".jsonl file)\n";
        QTest::newRow("study name")
            << QStringList{"--pairs", "subject=" + kSubjectPairs} << 2
            << "obsprop: error: --pairs: a dataset named 'subject' already exists (the "
               "datasets are: subject, object, occupation)\n";
        QTest::newRow("given twice")
            << QStringList{"--pairs", "a=" + kObjectPairs, "--pairs", "a=" + kObjectPairs} << 2
            << "obsprop: error: --pairs: a dataset named 'a' already exists (the datasets "
               "are: subject, object, occupation, a)\n";
        QTest::newRow("bad name")
            << QStringList{"--pairs", "a/b=" + kObjectPairs} << 2
            << "obsprop: error: --pairs: dataset name \"a/b\" is not usable in file names: "
               "it contains '/'\n";
        QTest::newRow("missing file")
            << QStringList{"--pairs", "m=" + bad} << 1 << "obsprop: error: " + bad + ": file not found\n";
    }
    void errors() {
        QFETCH(QStringList, pairs);
        QFETCH(int, code);
        QFETCH(QString, message);
        const Run r = cli(QStringList{"project", "create", "--model", kDemo} + pairs +
                          QStringList{"--out", tmp_.filePath(QStringLiteral("x.obsprop"))});
        QCOMPARE(QString::fromUtf8(r.err), message);
        QCOMPARE(r.code, code);
        QVERIFY(!QFile::exists(tmp_.filePath(QStringLiteral("x.obsprop"))));
    }

    // A malformed file: exit 1, the file, line and problem.
    void malformedFile() {
        const QString f = tmp_.filePath(QStringLiteral("bad.csv"));
        QFile out(f);
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write("clean,corrupt\r\nShe runs,He runs\r\n,He walks\r\n");
        out.close();
        Run r = cli({"project", "create", "--model", kDemo, "--pairs", "bad=" + f, "--out",
                     tmp_.filePath(QStringLiteral("y.obsprop"))});
        QCOMPARE(r.code, 1);
        QCOMPARE(QString::fromUtf8(r.err), "obsprop: error: " + f + ":3: the clean prompt is empty\n");
        // A pair without a slot for this tokenizer is named with its file.
        const QString g = tmp_.filePath(QStringLiteral("front.jsonl"));
        QFile out2(g);
        QVERIFY(out2.open(QIODevice::WriteOnly));
        out2.write("{\"clean\": \"<|endoftext|>\", \"corrupt\": \"<|endoftext|><|endoftext|>\"}\n"
                   "{\"clean\": \"she\", \"corrupt\": \"<|endoftext|>she\"}\n");
        out2.close();
        r = cli({"project", "create", "--model", kDemo, "--pairs", "front=" + g, "--out",
                 tmp_.filePath(QStringLiteral("y.obsprop"))});
        QCOMPARE(r.code, 1);
        QCOMPARE(
            QString::fromUtf8(r.err),
            "obsprop: error: " + g +
                ": dataset 'front', pair 1 (\"she\" / \"<|endoftext|>she\"): one prompt only adds tokens "
                "before the other's first token, so the other has no slot\n");
    }

  private:
    QTemporaryDir tmp_;
    QString project_;
};

QTEST_GUILESS_MAIN(TestCliPairs)
#include "tst_cli_pairs.moc"
