// The obsprop command-line tool, run as a user runs it: JSON contracts and clean failures.
#include "test_models.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

namespace tools = obsprop::tools;

namespace {

struct Run {
    int code = -1;
    bool crashed = false;
    QByteArray out, err;
    QJsonObject json() const { return QJsonDocument::fromJson(out).object(); }
};

Run runCli(const QStringList& args) {
    QProcess p;
    p.start(QStringLiteral(OBSPROP_BINARY_DIR "/app/obsprop"), args);
    Run r;
    if (!p.waitForFinished(120000)) {
        p.kill();
        p.waitForFinished();
    }
    r.crashed = p.exitStatus() != QProcess::NormalExit;
    r.code = p.exitCode();
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

QString gpt2Vocab() {
    return QStringLiteral(OBSPROP_TEST_DATA "/gpt2-vocab");
}

} // namespace

class TestCli : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    QString model_;   // tiny GPT-2 with the generator's own tokenizer
    QString gpt2tok_; // tiny GPT-2-shaped model with GPT-2's real vocabulary files
    tools::GeneratedCheckpoint gen_;

  private Q_SLOTS:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        auto s = tools::preset("tiny", tools::Family::GPT2);
        s.seed = 21;
        gen_ = tools::generate(s);
        model_ = tmp_.filePath(QStringLiteral("tiny"));
        tools::write_checkpoint(gen_, s, model_.toStdString());

        QVERIFY2(QFile::exists(gpt2Vocab() + QStringLiteral("/vocab.json")),
                 "GPT-2's vocabulary is missing: run scripts/fetch-test-data");
        auto s2 = tools::preset("tiny", tools::Family::GPT2);
        s2.vocab = 50257, s2.d_model = 16, s2.n_heads = 2, s2.d_mlp = 32, s2.n_layers = 1;
        gpt2tok_ = tmp_.filePath(QStringLiteral("gpt2tok"));
        tools::write_checkpoint(tools::generate(s2), s2, gpt2tok_.toStdString());
        QFile::remove(gpt2tok_ + QStringLiteral("/tokenizer.json"));
        QVERIFY(QFile::copy(gpt2Vocab() + QStringLiteral("/vocab.json"),
                            gpt2tok_ + QStringLiteral("/vocab.json")));
        QVERIFY(QFile::copy(gpt2Vocab() + QStringLiteral("/merges.txt"),
                            gpt2tok_ + QStringLiteral("/merges.txt")));
    }

    void info() {
        auto r =
            runCli({QStringLiteral("info"), QStringLiteral("--model"), model_, QStringLiteral("--json")});
        QCOMPARE(r.code, 0);
        auto j = r.json();
        QCOMPARE(j[QStringLiteral("family")].toString(), QStringLiteral("gpt2"));
        QCOMPARE(j[QStringLiteral("n_layers")].toInt(), 2);
        QCOMPARE(j[QStringLiteral("n_heads")].toInt(), 4);
        QCOMPARE(j[QStringLiteral("d_model")].toInt(), 64);
        QCOMPARE(j[QStringLiteral("d_head")].toInt(), 16);
        QCOMPARE(j[QStringLiteral("d_mlp")].toInt(), 256);
        QCOMPARE(j[QStringLiteral("d_vocab")].toInt(), 512);
        QCOMPARE(j[QStringLiteral("n_ctx")].toInt(), 64);
    }

    void tokenizeGpt2_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QList<int>>("ids");
        QTest::newRow("Hello world") << QStringLiteral("Hello world") << QList<int>{15496, 995};
        QTest::newRow("she") << QStringLiteral(" she") << QList<int>{673};
        QTest::newRow("him") << QStringLiteral(" him") << QList<int>{683};
        QTest::newRow("endoftext prompt") << QStringLiteral("<|endoftext|>So") << QList<int>{50256, 2396};
    }
    void tokenizeGpt2() {
        QFETCH(QString, text);
        QFETCH(QList<int>, ids);
        auto r = runCli({QStringLiteral("tokenize"), QStringLiteral("--model"), gpt2tok_,
                         QStringLiteral("--json"), text});
        QCOMPARE(r.code, 0);
        QList<int> got;
        for (const auto& v : r.json()[QStringLiteral("ids")].toArray())
            got << v.toInt();
        QCOMPARE(got, ids);
        QCOMPARE(r.json()[QStringLiteral("tokens")].toArray().size(), ids.size());
    }

    // The CLI's logits equal the independent naive reference on the same checkpoint.
    void logitsMatchReference() {
        const QString prompt = QStringLiteral("<|endoftext|>the cat sat");
        auto tok = runCli({QStringLiteral("tokenize"), QStringLiteral("--model"), model_,
                           QStringLiteral("--json"), prompt});
        QCOMPARE(tok.code, 0);
        std::vector<int> ids;
        for (const auto& v : tok.json()[QStringLiteral("ids")].toArray())
            ids.push_back(v.toInt());
        QCOMPARE(ids.front(), 511); // <|endoftext|> is the generator's last id

        auto r =
            runCli({QStringLiteral("logits"), QStringLiteral("--model"), model_, QStringLiteral("--prompt"),
                    prompt, QStringLiteral("--top"), QStringLiteral("5"), QStringLiteral("--json")});
        QCOMPARE(r.code, 0);
        auto j = r.json();
        auto last = j[QStringLiteral("last")].toArray();
        QCOMPARE(last.size(), 512);
        auto ref = obsprop::naive::run(gen_.config, test_models::to_naive(gen_), ids);
        for (int v = 0; v < 512; ++v)
            QVERIFY(std::abs(last[v].toDouble() - ref.logits.back()[v]) <
                    1e-4 * (1 + std::abs(ref.logits.back()[v])));
        auto top = j[QStringLiteral("top")].toArray();
        QCOMPARE(top.size(), 5);
        double prev = 1e300;
        for (const auto& e : top) {
            auto o = e.toObject();
            const double logit = o[QStringLiteral("logit")].toDouble();
            QVERIFY(logit <= prev);
            QCOMPARE(logit, last[o[QStringLiteral("id")].toInt()].toDouble());
            prev = logit;
        }
        // Nothing outside the top 5 is larger than the fifth.
        for (const auto& v : last)
            QVERIFY(v.toDouble() <= top[0].toObject()[QStringLiteral("logit")].toDouble());
    }

    void failures_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        const QString missing = QStringLiteral("/nonexistent/model");
        QTest::newRow("missing folder")
            << QStringList{QStringLiteral("info"), QStringLiteral("--model"), missing}
            << QStringLiteral("config.json");
        QTest::newRow("empty prompt")
            << QStringList{QStringLiteral("logits"), QStringLiteral("--model"), QStringLiteral("@TINY"),
                           QStringLiteral("--prompt"), QString()}
            << QStringLiteral("empty");
        QTest::newRow("prompt longer than the context")
            << QStringList{QStringLiteral("logits"), QStringLiteral("--model"), QStringLiteral("@TINY"),
                           QStringLiteral("--prompt"), QStringLiteral("word ").repeated(80)}
            << QStringLiteral("exceeds the model's context");
        QTest::newRow("negative top")
            << QStringList{QStringLiteral("logits"),   QStringLiteral("--model"), QStringLiteral("@TINY"),
                           QStringLiteral("--prompt"), QStringLiteral("x"),       QStringLiteral("--top"),
                           QStringLiteral("-3")}
            << QStringLiteral("--top");
        QTest::newRow("unknown architecture")
            << QStringList{QStringLiteral("info"), QStringLiteral("--model"), QStringLiteral("@FALCON")}
            << QStringLiteral("unsupported model_type 'falcon'");
        QTest::newRow("truncated weights")
            << QStringList{QStringLiteral("info"), QStringLiteral("--model"), QStringLiteral("@TRUNC")}
            << QStringLiteral("model.safetensors");
        QTest::newRow("config does not match weights")
            << QStringList{QStringLiteral("info"), QStringLiteral("--model"), QStringLiteral("@WIDE")}
            << QStringLiteral("but the configuration needs");
    }
    void failures() {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        // Broken copies of the tiny model, made on demand.
        auto variant = [&](const QString& name, const std::function<void(const QString&)>& breakIt) {
            const QString dir = tmp_.filePath(name);
            if (!QDir(dir).exists()) {
                QDir().mkpath(dir);
                for (const auto& f : QDir(model_).entryList(QDir::Files))
                    QFile::copy(model_ + QLatin1Char('/') + f, dir + QLatin1Char('/') + f);
                breakIt(dir);
            }
            return dir;
        };
        auto edit_config = [](const QString& dir, const std::function<void(nlohmann::json&)>& f) {
            const std::string p = (dir + QStringLiteral("/config.json")).toStdString();
            nlohmann::json j = nlohmann::json::parse(std::ifstream(p));
            f(j);
            std::ofstream(p) << j.dump(2);
        };
        for (auto& a : args) {
            if (a == QStringLiteral("@TINY")) a = model_;
            if (a == QStringLiteral("@FALCON"))
                a = variant(QStringLiteral("falcon"), [&](const QString& d) {
                    edit_config(d, [](auto& j) { j["model_type"] = "falcon"; });
                });
            if (a == QStringLiteral("@WIDE"))
                a = variant(QStringLiteral("wide"),
                            [&](const QString& d) { edit_config(d, [](auto& j) { j["n_inner"] = 128; }); });
            if (a == QStringLiteral("@TRUNC"))
                a = variant(QStringLiteral("trunc"), [](const QString& d) {
                    QFile f(d + QStringLiteral("/model.safetensors"));
                    QVERIFY(f.resize(f.size() / 2));
                });
        }
        auto r = runCli(args);
        QVERIFY2(!r.crashed, r.err.constData());
        QCOMPARE(r.code, 1);
        QVERIFY(r.out.isEmpty());
        const QString err = QString::fromUtf8(r.err);
        QVERIFY2(err.startsWith(QStringLiteral("obsprop: error: ")), qPrintable(err));
        QVERIFY2(err.contains(message), qPrintable(err));
    }

    void usageErrorsExitNonZero() {
        auto r = runCli({QStringLiteral("info")});
        QVERIFY(!r.crashed);
        QVERIFY(r.code != 0);
        r = runCli({QStringLiteral("frobnicate")});
        QVERIFY(!r.crashed);
        QVERIFY(r.code != 0);
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
