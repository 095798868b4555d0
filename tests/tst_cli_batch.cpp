// `obsprop batch`, run as a script runs it: every answer equals what the one-shot command prints (its exit
// code, its stdout parsed as JSON or kept as text, its stderr), in order with the requests' ids; a bad
// request is answered with an error and the batch goes on; a model folder stays loaded from one request to
// the next until its files change.
#include "test_paths.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "checkpoint_gen.h"

namespace fs = std::filesystem;
namespace tools = obsprop::tools;
using nlohmann::json;

namespace {

const QString kObsprop = test_paths::binary("/app/obsprop");
const QString kDemoModel = test_paths::source("/resources/models/demo");
const QString kDemoProject = test_paths::source("/resources/projects/demo.obsprop");

struct Run {
    int code = -1;
    QByteArray out, err;
};

Run runCli(const QStringList& args, const QByteArray& input = {}) {
    QProcess p;
    p.start(kObsprop, args);
    p.write(input);
    p.closeWriteChannel();
    Run r;
    if (!p.waitForFinished(300000)) {
        p.kill();
        p.waitForFinished();
    }
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

json request(const json& id, const QStringList& args) {
    json words = json::array();
    for (const auto& a : args)
        words.push_back(a.toStdString());
    return {{"id", id}, {"args", words}};
}

// One JSON value per line of a batch's output.
std::vector<json> answers(const QByteArray& out) {
    std::vector<json> all;
    for (const auto& line : out.split('\n'))
        if (!line.isEmpty()) all.push_back(json::parse(line.toStdString()));
    return all;
}

// What a batch answer holds for a one-shot run: its stdout parsed when it is JSON, else the text.
json outputOf(const QByteArray& out) {
    const std::string text = out.toStdString();
    return json::accept(text) ? json::parse(text) : json(text);
}

// The answer equals the one-shot command's exit code, output and stderr.
void compareToOneShot(const json& answer, const QStringList& args) {
    const Run one = runCli(args);
    const QString what = args.join(QLatin1Char(' '));
    QVERIFY2(answer.at("exit") == one.code,
             qPrintable(what + QStringLiteral(": ") + QString::fromUtf8(one.err)));
    QVERIFY2(answer.at("error") == one.err.toStdString(),
             qPrintable(what + QStringLiteral(": ") + QString::fromStdString(answer.dump())));
    QVERIFY2(answer.at("output") == outputOf(one.out), qPrintable(what));
}

// A batch the test talks to request by request.
class Batch {
  public:
    Batch() { p_.start(kObsprop, {QStringLiteral("batch")}); }
    ~Batch() {
        if (p_.state() != QProcess::NotRunning) {
            p_.kill();
            p_.waitForFinished();
        }
    }
    json ask(const json& req) {
        p_.write(QByteArray::fromStdString(req.dump() + "\n"));
        while (!p_.canReadLine())
            if (!p_.waitForReadyRead(300000)) return json();
        return json::parse(p_.readLine().toStdString());
    }
    int finish() {
        p_.closeWriteChannel();
        p_.waitForFinished(60000);
        return p_.exitStatus() == QProcess::NormalExit ? p_.exitCode() : -1;
    }

  private:
    QProcess p_;
};

json lastLogits(const json& logitsOutput) {
    return logitsOutput.at("last");
}

} // namespace

class TestCliBatch : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    QString tiny_;

  private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        auto s = tools::preset("tiny", tools::Family::GPT2);
        s.seed = 41;
        tiny_ = tmp_.filePath(QStringLiteral("tiny"));
        tools::write_checkpoint(tools::generate(s), s, tiny_.toStdString());
    }

    // A batch of commands on the demo model and project (and a generated model), text and JSON, each
    // answered exactly as the command alone answers, in the order asked, with the ids given.
    void answersEqualTheOneShotCommands() {
        const QString M = QStringLiteral("--model"), P = QStringLiteral("--project"),
                      J = QStringLiteral("--json");
        const QList<QStringList> commands{
            {QStringLiteral("info"), M, kDemoModel, J},
            {QStringLiteral("info"), M, kDemoModel},       // text, aligned to the left...
            {QStringLiteral("features"), P, kDemoProject}, // ...then a table aligned to the right
            {QStringLiteral("tokenize"), M, kDemoModel, J, QStringLiteral("<|endoftext|>So, Jane really is")},
            {QStringLiteral("features"), P, kDemoProject, J},
            {QStringLiteral("features"), P, kDemoProject, QStringLiteral("--csv"), QStringLiteral("--ln"),
             QStringLiteral("exact")},
            {QStringLiteral("attribute"), P, kDemoProject, QStringLiteral("--dataset"),
             QStringLiteral("subject"), J},
            {QStringLiteral("couple"), P, kDemoProject, J},
            {QStringLiteral("svd"), P, kDemoProject, QStringLiteral("--top-k"), QStringLiteral("2"), J},
            {QStringLiteral("head"), P, kDemoProject, QStringLiteral("--head"), QStringLiteral("1.4")},
            {QStringLiteral("logits"), M, kDemoModel, QStringLiteral("--prompt"),
             QStringLiteral("So, Jane is"), QStringLiteral("--top"), QStringLiteral("3"), J},
            {QStringLiteral("project"), QStringLiteral("validate"), kDemoProject, J},
            {QStringLiteral("features"), M, tiny_, QStringLiteral("--observable"),
             QStringLiteral("s=#10 - #20"), QStringLiteral("--ln"), QStringLiteral("none"), J},
            {QStringLiteral("logits"), M, tiny_, QStringLiteral("--prompt"), QStringLiteral("the cat"), J},
        };
        QByteArray input;
        for (int i = 0; i < commands.size(); ++i)
            input +=
                QByteArray::fromStdString(request(json("r" + std::to_string(i)), commands[i]).dump() + "\n");
        const Run batch = runCli({QStringLiteral("batch")}, input);
        QCOMPARE(batch.code, 0);
        QVERIFY2(batch.err.isEmpty(), batch.err.constData());
        const auto got = answers(batch.out);
        QCOMPARE(got.size(), static_cast<std::size_t>(commands.size()));
        for (int i = 0; i < commands.size(); ++i) {
            QCOMPARE(got[i].at("id"), json("r" + std::to_string(i)));
            QCOMPARE(got[i].size(), std::size_t{4}); // id, exit, output, error
            QCOMPARE(got[i].at("exit"), json(0));
            compareToOneShot(got[i], commands[i]);
        }
        // JSON output is answered as JSON, text as text.
        QVERIFY(got[0].at("output").is_object());
        QCOMPARE(got[0].at("output").at("n_layers"), json(4));
        QVERIFY(got[1].at("output").is_string());
        QVERIFY(got[4].at("output").at("heads").is_array());
    }

    // Bad requests are answered with exit 2 (or the command's own 1) and the error, in order; the batch goes
    // on to the end of its input and exits 0.
    void badRequestsAreAnswered() {
        const QByteArray input = "this is not json\n"
                                 "[1, 2]\n"
                                 "{\"id\": \"no args\"}\n"
                                 "\n"
                                 "{\"id\": 4, \"args\": [\"info\", 5]}\n"
                                 "{\"id\": 5, \"args\": [\"frobnicate\"]}\n"
                                 "{\"id\": 6, \"args\": []}\n"
                                 "{\"id\": 7, \"args\": [\"info\", \"--model\", \"/nonexistent/model\"]}\n"
                                 "{\"id\": 8, \"args\": [\"batch\"]}\n"
                                 "{\"args\": [\"--version\"]}\n"
                                 "{\"id\": 11, \"args\": [\"info\"], \"args\": [\"--version\"]}\n";
        const Run batch = runCli({QStringLiteral("batch")}, input);
        QCOMPARE(batch.code, 0);
        const auto got = answers(batch.out);
        QCOMPARE(got.size(), std::size_t{10}); // the empty line asks nothing
        const auto refused = [&](std::size_t i, const json& id, const std::string& error) {
            QCOMPARE(got[i].at("id"), id);
            QCOMPARE(got[i].at("exit"), json(2));
            QCOMPARE(got[i].at("output"), json(""));
            const std::string e = got[i].at("error");
            QVERIFY2(e.starts_with("obsprop: error: " + error) && e.ends_with("\n"), e.c_str());
        };
        refused(0, nullptr, "the request on line 1: not a JSON object");
        refused(1, nullptr,
                "the request on line 2: expected a JSON object {\"id\": ..., \"args\": [...]}, not an array");
        refused(2, "no args",
                "the request on line 3: \"args\" must be an array of the words given to obsprop");
        refused(3, 4, "the request on line 5: \"args\" must hold strings only");
        // Command lines that fail are answered as the command alone answers.
        QCOMPARE(got[4].at("id"), json(5));
        compareToOneShot(got[4], {QStringLiteral("frobnicate")});
        QCOMPARE(got[4].at("exit"), json(2));
        QCOMPARE(got[5].at("id"), json(6));
        compareToOneShot(got[5], {});
        QCOMPARE(got[6].at("id"), json(7));
        compareToOneShot(got[6], {QStringLiteral("info"), QStringLiteral("--model"),
                                  QStringLiteral("/nonexistent/model")});
        QCOMPARE(got[6].at("exit"), json(1));
        refused(7, 8, "a batch request cannot start another batch");
        // A request without an id is answered with a null id.
        QCOMPARE(got[8].at("id"), json(nullptr));
        QCOMPARE(got[8].at("exit"), json(0));
        compareToOneShot(got[8], {QStringLiteral("--version")});
        refused(9, nullptr, "the request on line 11: \"args\" is given twice");
    }

    // Each answer is written as soon as its request is done (a script can wait for it before asking more),
    // and a model folder read by one request serves the next ones while its files are unchanged: here the
    // weights file is swapped for another model's, of the same size, with the old modification time, and the
    // batch still answers with the model it has loaded; once the time changes, it reads the folder again.
    void modelFolderStaysLoadedUntilItChanges() {
        auto s = tools::preset("tiny", tools::Family::GPT2);
        s.seed = 42;
        const QString other = tmp_.filePath(QStringLiteral("other"));
        tools::write_checkpoint(tools::generate(s), s, other.toStdString());
        const QString model = tmp_.filePath(QStringLiteral("swapped"));
        s.seed = 41;
        tools::write_checkpoint(tools::generate(s), s, model.toStdString());

        const QStringList logits{
            QStringLiteral("logits"),   QStringLiteral("--model"),     model,
            QStringLiteral("--prompt"), QStringLiteral("the cat sat"), QStringLiteral("--json")};
        const json first = outputOf(runCli(logits).out);
        Batch batch;
        const json a1 = batch.ask(request(1, logits));
        QCOMPARE(a1.at("exit"), json(0));
        QCOMPARE(lastLogits(a1.at("output")), lastLogits(first));

        const fs::path weights = fs::path(model.toStdString()) / "model.safetensors";
        const auto time = fs::last_write_time(weights);
        QCOMPARE(fs::file_size(weights), fs::file_size(fs::path(other.toStdString()) / "model.safetensors"));
        fs::rename(fs::path(other.toStdString()) / "model.safetensors", weights); // a new file in its place
        fs::last_write_time(weights, time);
        const json second = outputOf(runCli(logits).out);
        QVERIFY(lastLogits(second) != lastLogits(first)); // the folder holds another model now

        const json a2 = batch.ask(request(2, logits));
        QCOMPARE(a2.at("id"), json(2));
        QCOMPARE(lastLogits(a2.at("output")), lastLogits(first)); // kept: the folder looks unchanged

        fs::last_write_time(weights, time + std::chrono::seconds(1));
        const json a3 = batch.ask(request(3, logits));
        QCOMPARE(a3.at("id"), json(3));
        QCOMPARE(lastLogits(a3.at("output")), lastLogits(second)); // read again
        QCOMPARE(batch.finish(), 0);
    }

    void helpDescribesBatch() {
        const Run top = runCli({QStringLiteral("--help")});
        QCOMPARE(top.code, 0);
        QVERIFY2(top.out.contains("\n  batch "), top.out.constData());
        const Run help = runCli({QStringLiteral("batch"), QStringLiteral("--help")});
        QCOMPARE(help.code, 0);
        QVERIFY2(help.out.contains("\"args\"") && help.out.contains("\"exit\""), help.out.constData());
    }
};

QTEST_APPLESS_MAIN(TestCliBatch)
#include "tst_cli_batch.moc"
