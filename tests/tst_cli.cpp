// The obsprop command-line tool, run as a user runs it: JSON contracts and clean failures.
#include "test_models.h"
#include "test_paths.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <limits>
#include <tuple>

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
    p.start(test_paths::binary("/app/obsprop"), args);
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
    return test_paths::data("/gpt2-vocab");
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

    // Runtime errors exit with 1, usage errors with 2; both print "obsprop: error: ..." on stderr only.
    void failures_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::addColumn<int>("code");
        const QString missing = QStringLiteral("/nonexistent/model");
        QTest::newRow("missing folder")
            << QStringList{QStringLiteral("info"), QStringLiteral("--model"), missing}
            << QStringLiteral("config.json") << 1;
        QTest::newRow("empty prompt")
            << QStringList{QStringLiteral("logits"), QStringLiteral("--model"), QStringLiteral("@TINY"),
                           QStringLiteral("--prompt"), QString()}
            << QStringLiteral("empty") << 2;
        QTest::newRow("prompt longer than the context")
            << QStringList{QStringLiteral("logits"), QStringLiteral("--model"), QStringLiteral("@TINY"),
                           QStringLiteral("--prompt"), QStringLiteral("word ").repeated(80)}
            << QStringLiteral("exceeds the model's context") << 1;
        QTest::newRow("negative top")
            << QStringList{QStringLiteral("logits"),   QStringLiteral("--model"), QStringLiteral("@TINY"),
                           QStringLiteral("--prompt"), QStringLiteral("x"),       QStringLiteral("--top"),
                           QStringLiteral("-3")}
            << QStringLiteral("--top") << 2;
        QTest::newRow("unknown architecture")
            << QStringList{QStringLiteral("info"), QStringLiteral("--model"), QStringLiteral("@FALCON")}
            << QStringLiteral("unsupported model_type 'falcon'") << 1;
        QTest::newRow("truncated weights")
            << QStringList{QStringLiteral("info"), QStringLiteral("--model"), QStringLiteral("@TRUNC")}
            << QStringLiteral("model.safetensors") << 1;
        QTest::newRow("config does not match weights")
            << QStringList{QStringLiteral("info"), QStringLiteral("--model"), QStringLiteral("@WIDE")}
            << QStringLiteral("but the configuration needs") << 1;
        QTest::newRow("checkpoint with one more layer than its config")
            << QStringList{QStringLiteral("info"), QStringLiteral("--model"), QStringLiteral("@SHORT")}
            << QStringLiteral("checkpoint has tensor 'transformer.h.1.") << 1;
        // NaN weights never print null numbers with exit 0: the error names the tensor.
        QTest::newRow("NaN weights: logits")
            << QStringList{QStringLiteral("logits"),   QStringLiteral("--model"), QStringLiteral("@NAN"),
                           QStringLiteral("--prompt"), QStringLiteral("the cat"), QStringLiteral("--json")}
            << QStringLiteral(
                   "obsprop: error: the logits at the last position are not finite (512 of 512 are NaN "
                   "or infinite); the checkpoint's tensor 'transformer.h.0.attn.c_proj.weight' "
                   "holds NaN\n")
            << 1;
        QTest::newRow("NaN weights: features")
            << QStringList{QStringLiteral("features"),       QStringLiteral("--model"),
                           QStringLiteral("@NAN"),           QStringLiteral("--observable"),
                           QStringLiteral("subj=#10 - #20"), QStringLiteral("--ln"),
                           QStringLiteral("none"),           QStringLiteral("--json")}
            << QStringLiteral(
                   "obsprop: error: the feature norm of head 0.0 for observable 'subj' is NaN; the "
                   "checkpoint's tensor 'transformer.h.0.attn.c_proj.weight' holds NaN\n")
            << 1;
    }
    void failures() {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        QFETCH(int, code);
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
            if (a == QStringLiteral("@SHORT"))
                a = variant(QStringLiteral("short"),
                            [&](const QString& d) { edit_config(d, [](auto& j) { j["n_layer"] = 1; }); });
            if (a == QStringLiteral("@NAN"))
                a = variant(QStringLiteral("nan"), [&](const QString& d) {
                    auto g = gen_;
                    for (auto& [name, t] : g.tensors)
                        if (name == "transformer.h.0.attn.c_proj.weight")
                            t.values[0] = std::numeric_limits<float>::quiet_NaN();
                    auto s = tools::preset("tiny", tools::Family::GPT2);
                    s.seed = 21;
                    tools::write_checkpoint(g, s, d.toStdString());
                });
            if (a == QStringLiteral("@TRUNC"))
                a = variant(QStringLiteral("trunc"), [](const QString& d) {
                    QFile f(d + QStringLiteral("/model.safetensors"));
                    QVERIFY(f.resize(f.size() / 2));
                });
        }
        auto r = runCli(args);
        QVERIFY2(!r.crashed, r.err.constData());
        QCOMPARE(r.code, code);
        QVERIFY(r.out.isEmpty());
        const QString err = QString::fromUtf8(r.err);
        QVERIFY2(err.startsWith(QStringLiteral("obsprop: error: ")), qPrintable(err));
        QVERIFY2(err.contains(message), qPrintable(err));
    }

    // Usage errors: exit code 2 and one line "obsprop: error: <message>" on stderr naming the argument.
    void usageErrors_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message"); // the start of the message (after the prefix)
        const auto L = [](const char* s) { return QString::fromUtf8(s); };
        const QStringList steer{L("steer"), L("--model"), L("@TINY"), L("--observable"), L("subj=#10 - #20")};
        const QStringList feat{L("features"), L("--model"), L("@TINY"), L("--observable"),
                               L("subj=#10 - #20")};
        QTest::newRow("no subcommand") << QStringList{} << L("A subcommand is required");
        QTest::newRow("unknown subcommand")
            << QStringList{L("frobnicate")}
            << L("unknown subcommand 'frobnicate' of 'obsprop' (the subcommands are: info, tokenize, logits, "
                 "features, attribute, couple, svd, head, attention, corpus, paths, dataset, steer, debias, "
                 "project, export, batch)");
        QTest::newRow("unknown nested subcommand")
            << QStringList{L("project"), L("frob")}
            << L("unknown subcommand 'frob' of 'obsprop project' (the subcommands are: create, validate)");
        QTest::newRow("unknown option") << QStringList{L("info"), L("--model"), L("@TINY"), L("--frob")}
                                        << L("The following argument was not expected: --frob");
        QTest::newRow("missing option") << QStringList{L("info")} << L("--model is required");
        QTest::newRow("missing value") << QStringList{L("info"), L("--model")} << L("--model");
        QTest::newRow("--json with --csv")
            << feat + QStringList{L("--json"), L("--csv")} << L("--json excludes --csv");
        QTest::newRow("negative head") << steer + QStringList{L("--head"), L("-1.0"), L("--alpha"), L("1")}
                                       << L("--head '-1.0': expected one head L.H, two non-negative integers "
                                            "(e.g. 1.4)");
        QTest::newRow("head with junk")
            << steer + QStringList{L("--head"), L("1.2x")} << L("--head '1.2x': expected one head L.H");
        QTest::newRow("head layer out of range") << steer + QStringList{L("--head"), L("5.0")}
                                                 << L("--head '5.0': no layer 5 (the model has layers 0..1)");
        QTest::newRow("head out of range") << steer + QStringList{L("--head"), L("1.4")}
                                           << L("--head '1.4': no head 1.4 (the model has heads 0..3 in each "
                                                "layer)");
        QTest::newRow("negative layer") << steer + QStringList{L("--head"), L("1.0"), L("--layer"), L("-5")}
                                        << L("--layer: '-5' is not a layer index (0, 1, ...)");
        QTest::newRow("layer out of range")
            << steer + QStringList{L("--head"), L("1.0"), L("--layer"), L("7")}
            << L("--layer 7: no such layer (the model has layers 0..1)");
        QTest::newRow("dangling arrow")
            << steer + QStringList{L("--path"), L("0.1 ->")}
            << L("--path: path '0.1 ->', column 7: the path ends with a separator: a node (L.H or mlpL) must "
                 "follow it");
        QTest::newRow("leading arrow") << steer + QStringList{L("--path"), L("-> 0.1")}
                                       << L("--path: path '-> 0.1', column 1: expected a node");
        QTest::newRow("path out of order")
            << steer + QStringList{L("--path"), L("1.0 -> 0.1")}
            << L("--path '1.0 -> 0.1': path 1.0 -> 0.1: nodes must be in strictly "
                 "increasing layers");
        QTest::newRow("compare dangling")
            << QStringList{L("paths"), L("--model"),   L("@TINY"), L("--observable"),
                           L("#1"),    L("--compare"), L("0.1 >")}
            << L("--compare: path '0.1 >'");
        QTest::newRow("compare from the embeddings")
            << QStringList{L("paths"), L("--model"),   L("@TINY"),       L("--observable"),
                           L("#1"),    L("--compare"), L("embed -> 1.0")}
            << L("--compare 'embed -> 1.0': path node embed: the embedding is a node in path patching only");
        QTest::newRow("steer from the embeddings")
            << steer + QStringList{L("--vector"), L("obs=subj;path=embed -> 1.0;alpha=1")}
            << L("--vector 'obs=subj;path=embed -> 1.0;alpha=1': path 'embed -> 1.0': path node embed: the "
                 "embedding is a node in path patching only");
        QTest::newRow("embed without beam")
            << QStringList{L("paths"), L("--model"), L("@TINY"), L("--observable"), L("#1"), L("--embed")}
            << L("--embed goes with --beam (the path search by patching)");
        QTest::newRow("tokens without beam")
            << QStringList{L("paths"), L("--model"), L("@TINY"), L("--observable"), L("#1"), L("--tokens")}
            << L("--tokens goes with --beam (the path search by patching)");
        QTest::newRow("compare a head at a token")
            << QStringList{L("paths"), L("--model"),   L("@TINY"),          L("--observable"),
                           L("#1"),    L("--compare"), L("0.1@name -> 1.0")}
            << L("--compare '0.1@name -> 1.0': path node 0.1@name: a head at one source token is a node in "
                 "path patching only (its feature vector is head 0.1's at every token)");
        QTest::newRow("duplicate observable")
            << QStringList{L("features"), L("--model"),      L("@TINY"),      L("--observable"),
                           L("a=#1"),     L("--observable"), L("a = #2 - #3")}
            << L("--observable 'a = #2 - #3': an observable named 'a' was already given (each needs its own "
                 "name, e.g. 'b = ...')");
        QTest::newRow("duplicate unnamed observable")
            << QStringList{L("features"), L("--model"),      L("@TINY"), L("--observable"),
                           L("#1"),       L("--observable"), L("#1")}
            << L("--observable '#1': an observable named '#1' was already given");
        QTest::newRow("deep observable")
            << QStringList{L("features"), L("--model"), L("@TINY"), L("--observable"),
                           QString(100000, QLatin1Char('(')) + L("#1")}
            << QStringLiteral("--observable '") + QString(60, QLatin1Char('(')) +
                   L("…': column 65: "
                     "parentheses nested more than 64 deep");
        QTest::newRow("overflowing observable")
            << QStringList{L("features"), L("--model"), L("@TINY"), L("--observable"), L("1e300*#1")}
            << L("--observable '1e300*#1': column 7: weight of #1 is too large "
                 "(1e+300; at most 1e15 in magnitude)");
        QTest::newRow("alpha NaN") << steer + QStringList{L("--head"), L("1.0"), L("--alpha"), L("nan")}
                                   << L("--alpha: 'nan' is not a finite number");
        QTest::newRow("alpha inf") << steer + QStringList{L("--head"), L("1.0"), L("--alpha"), L("inf")}
                                   << L("--alpha: 'inf' is not a finite number");
        QTest::newRow("alpha absurd") << steer + QStringList{L("--head"), L("1.0"), L("--alpha"), L("1e308")}
                                      << L("--alpha: '1e308' is absurd (at most 1e+06 in magnitude)");
        QTest::newRow("vector alpha NaN")
            << steer + QStringList{L("--vector"), L("obs=subj;path=1.0;alpha=nan")}
            << L("--vector 'obs=subj;path=1.0;alpha=nan': alpha: nan is not a finite number");
        QTest::newRow("vector negative layer")
            << steer + QStringList{L("--vector"), L("obs=subj;path=1.0;layer=-5")}
            << L("--vector 'obs=subj;path=1.0;layer=-5': layer: expected a layer index");
        QTest::newRow("vector head out of range")
            << steer + QStringList{L("--vector"), L("obs=subj;path=3.0;alpha=1")}
            << L("--vector 'obs=subj;path=3.0;alpha=1': path '3.0': no layer 3");
        QTest::newRow("vector unknown observable")
            << steer + QStringList{L("--vector"), L("obs=nope;path=1.0;alpha=1")}
            << L("--vector 'obs=nope;path=1.0;alpha=1': obs 'nope': no observable of that name (there are: "
                 "'subj')");
        const QStringList debias{L("debias"),         L("--model"),      L("@TINY"),      L("--observable"),
                                 L("subj=#10 - #20"), L("--observable"), L("obj=#7 - #3")};
        QTest::newRow("debias same observable")
            << debias + QStringList{L("--raise"), L("subj"), L("--lower"), L("subj")}
            << L("--raise and --lower are both 'subj': give two different observables");
        QTest::newRow("debias unknown observable")
            << debias + QStringList{L("--raise"), L("subj"), L("--lower"), L("nope")}
            << L("--lower 'nope': no observable of that name (there are: 'subj', 'obj')");
        QTest::newRow("debias unknown feature")
            << debias +
                   QStringList{L("--raise"), L("subj"), L("--lower"), L("obj"), L("--feature-of"), L("x")}
            << L("--feature-of 'x': no observable of that name");
        QTest::newRow("debias no lower")
            << debias + QStringList{L("--raise"), L("subj")} << L("--lower is required");
        QTest::newRow("debias alpha NaN")
            << debias + QStringList{L("--raise"), L("subj"), L("--lower"), L("obj"), L("--alpha"), L("1,nan")}
            << L("--alpha: 'nan' is not a finite number");
        QTest::newRow("debias alpha absurd")
            << debias + QStringList{L("--raise"), L("subj"), L("--lower"), L("obj"), L("--alpha=-2e6")}
            << L("--alpha: '-2e6' is absurd (at most 1e+06 in magnitude)");
        QTest::newRow("debias no candidates")
            << debias +
                   QStringList{L("--raise"), L("subj"), L("--lower"), L("obj"), L("--candidates"), L("0")}
            << L("--candidates: Value 0 not in range 1 to 100000");
        QTest::newRow("debias layer")
            << debias + QStringList{L("--raise"), L("subj"), L("--lower"), L("obj"), L("--layer"), L("7")}
            << L("--layer 7: no such layer");
        QTest::newRow("rho NaN") << feat + QStringList{L("--ln"), L("approx"), L("--rho"), L("nan")}
                                 << L("--rho: ");
        QTest::newRow("unknown feature-of")
            << QStringList{L("svd"),  L("--model"),      L("@TINY"), L("--observable"),
                           L("a=#1"), L("--feature-of"), L("b")}
            << L("--feature-of 'b': no observable of that name (there are: 'a')");
        QTest::newRow("unknown pair") << feat + QStringList{L("--pair"), L("subj,nope")}
                                      << L("--pair 'nope': no observable of that name (there are: 'subj')");
        QTest::newRow("unknown dataset")
            << QStringList{L("dataset"), L("--model"),   L("@TINY"), L("--observable"),
                           L("#1"),      L("--dataset"), L("nope")}
            << L("--dataset: no dataset named 'nope'");
        QTest::newRow("unknown ln-dataset observable")
            << feat + QStringList{L("--ln-dataset"), L("nope=d")}
            << L("--ln-dataset nope=d: no observable named 'nope'");
    }
    void usageErrors() {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        args.replaceInStrings(QStringLiteral("@TINY"), model_);
        auto r = runCli(args);
        QVERIFY2(!r.crashed, r.err.constData());
        QVERIFY2(r.out.isEmpty(), r.out.constData());
        const QString err = QString::fromUtf8(r.err);
        QVERIFY2(err.startsWith(QStringLiteral("obsprop: error: ") + message), qPrintable(err));
        QVERIFY2(err.endsWith(QLatin1Char('\n')) && err.count(QLatin1Char('\n')) == 1, qPrintable(err));
        QCOMPARE(r.code, 2);
    }

    void helpAndVersionExitZero() {
        auto r = runCli({QStringLiteral("--help")});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains("features"));
        r = runCli({QStringLiteral("--version")});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.startsWith("obsprop "));
        r = runCli({QStringLiteral("steer"), QStringLiteral("--help")});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains("--alpha"));
    }

    // obsprop itself never loads LibTorch (nor Qt): --help, --version, info, tokenize and project validate
    // answer without the engine; every other command is handed to obsprop-engine, and without it fails
    // with an error that says so.
    void frontEndWithoutTheEngine() {
        QProcess ldd;
        ldd.start(QStringLiteral("ldd"), {test_paths::binary("/app/obsprop")});
        QVERIFY(ldd.waitForFinished());
        const QByteArray libs = ldd.readAllStandardOutput();
        QVERIFY2(libs.contains("libc.so") && !libs.contains("libtorch") && !libs.contains("libc10") &&
                     !libs.contains("libQt"),
                 libs.constData());

        QTemporaryDir alone;
        const QString front = alone.filePath(QStringLiteral("obsprop"));
        QVERIFY(QFile::copy(test_paths::binary("/app/obsprop"), front));
        auto run = [&front](const QStringList& args) {
            QProcess p;
            p.start(front, args);
            p.waitForFinished(120000);
            return std::make_tuple(p.exitCode(), p.readAllStandardOutput(), p.readAllStandardError());
        };
        auto [code, out, err] = run({QStringLiteral("--version")});
        QCOMPARE(code, 0);
        QVERIFY(out.startsWith("obsprop "));
        std::tie(code, out, err) =
            run({QStringLiteral("info"), QStringLiteral("--model"), model_, QStringLiteral("--json")});
        QCOMPARE(code, 0);
        QCOMPARE(QJsonDocument::fromJson(out).object()[QStringLiteral("n_layers")].toInt(), 2);
        std::tie(code, out, err) =
            run({QStringLiteral("tokenize"), QStringLiteral("--model"), model_, QStringLiteral("the cat")});
        QCOMPARE(code, 0);
        // A usage error is found before the engine is needed.
        std::tie(code, out, err) =
            run({QStringLiteral("features"), QStringLiteral("--ln"), QStringLiteral("nope")});
        QCOMPARE(code, 2);
        std::tie(code, out, err) = run({QStringLiteral("features"), QStringLiteral("--model"), model_,
                                        QStringLiteral("--observable"), QStringLiteral("#1")});
        QCOMPARE(code, 1);
        QVERIFY(out.isEmpty());
        QVERIFY2(err.startsWith("obsprop: error: this command needs obsprop-engine, which is missing: ") &&
                     err.contains(QDir(QDir(alone.path()).canonicalPath())
                                      .filePath(QStringLiteral("obsprop-engine"))
                                      .toUtf8()),
                 err.constData());
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
