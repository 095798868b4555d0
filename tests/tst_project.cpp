// Project files and prompt datasets.
#include "test_paths.h"

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <sstream>

#include <sys/stat.h>

#include "io/safetensors_writer.h"
#include "io/tokenizer.h"
#include "project/project.h"

namespace pj = obsprop::project;
using nlohmann::json;

namespace {

std::string read_all(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

pj::Project sample() {
    pj::Project p;
    p.model_path = "../models/demo";
    p.model_fingerprint = "xxh3:0000000000000001";
    p.observables = {{"subj", "\" she\" - \" he\"", {}}, {"obj", "\" her\" - \" him\"", {}}};
    p.datasets = {pj::study_subject_dataset()};
    p.settings.ln_mode = "exact";
    p.settings.rho = 12.5;
    pj::SteeringPreset s;
    s.name = "top head";
    s.observable = "subj";
    s.path = {{3, 1}};
    s.multiplier = -40.25;
    pj::SteeringPreset m = s;
    m.name = "through an MLP";
    m.path = {{1, pj::SteeringPreset::kMlpNode}, {3, 1}};
    p.steering = {s, m};
    p.view = {{"selected_head", {3, 1}}, {"sliders", {{"top head", -40.25}}}};
    return p;
}

} // namespace

class TestProject : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void roundTripIsByteIdentical() {
        QTemporaryDir tmp;
        const std::filesystem::path a = tmp.filePath(QStringLiteral("a.obsprop")).toStdString();
        const std::filesystem::path b = tmp.filePath(QStringLiteral("b.obsprop")).toStdString();
        pj::save_project(sample(), a);
        auto loaded = pj::load_project(a);
        pj::save_project(loaded, b);
        QCOMPARE(read_all(a), read_all(b));
        QVERIFY(!std::filesystem::exists(a.string() + ".tmp"));
        // Every field survived.
        QCOMPARE(loaded.observables.size(), std::size_t(2));
        QCOMPARE(loaded.observables[1].expr, std::string("\" her\" - \" him\""));
        QCOMPARE(*loaded.settings.rho, 12.5);
        QCOMPARE(loaded.steering.at(0).path.at(0), std::make_pair(3, 1));
        QCOMPARE(loaded.steering.at(0).multiplier, -40.25);
        QCOMPARE(loaded.steering.at(1).path.at(0), std::make_pair(1, pj::SteeringPreset::kMlpNode));
        QVERIFY(read_all(a).find("\"mlp\"") != std::string::npos); // written as [1, "mlp"]
        QCOMPARE(loaded.view["selected_head"][1].get<int>(), 1);
        QCOMPARE(loaded.datasets.at(0).templates.size(), std::size_t(3));
        // Keys are written sorted, so files diff cleanly.
        const std::string text = read_all(a);
        QVERIFY(text.find("\"datasets\"") < text.find("\"format\""));
        QVERIFY(text.find("\"format\"") < text.find("\"model\""));
    }

    void tolerantDefaults() {
        auto p = pj::from_json(json::parse(R"({"format":"obsprop-project","version":1})"));
        QVERIFY(p.model_path.empty());
        QCOMPARE(p.settings.ln_mode, std::string("approx"));
        QVERIFY(!p.settings.rho);
        QCOMPARE(p.settings.svd_top_k, 5);
        QVERIFY(p.view.is_object());
        // Unknown fields (from a later minor addition) are ignored.
        p = pj::from_json(json::parse(R"({"format":"obsprop-project","version":1,"future":{"x":1}})"));
        QVERIFY(p.observables.empty());
    }

    void malformed_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("message");
        QTest::newRow("not an object") << "[]"
                                       << "must be a JSON object";
        QTest::newRow("foreign json") << R"({"hello": 1})"
                                      << "not an ObsProp project";
        QTest::newRow("newer version") << R"({"format":"obsprop-project","version":7})"
                                       << "written by a newer ObsProp Explorer";
        QTest::newRow("zero version") << R"({"format":"obsprop-project","version":0})"
                                      << "'version' must be a positive integer";
        QTest::newRow("observables not a list")
            << R"({"format":"obsprop-project","version":1,"observables":{}})"
            << "'observables' must be a list";
        QTest::newRow("empty expression")
            << R"({"format":"obsprop-project","version":1,"observables":[{"name":"a","expr":""}]})"
            << "observable 'a' has an empty expression";
        QTest::newRow("expr wrong type")
            << R"({"format":"obsprop-project","version":1,"observables":[{"name":"a","expr":5}]})"
            << "'observables[].expr' has the wrong type";
        QTest::newRow("template without slot")
            << R"({"format":"obsprop-project","version":1,"datasets":[{"name":"d","templates":["hi"],"male_names":["Bob"]}]})"
            << "has no [NAME] placeholder";
        QTest::newRow("bad ln mode")
            << R"({"format":"obsprop-project","version":1,"settings":{"ln_mode":"fancy"}})"
            << "ln_mode must be none, approx or exact";
        QTest::newRow("negative rho") << R"({"format":"obsprop-project","version":1,"settings":{"rho":-1}})"
                                      << "rho must be a positive number";
        QTest::newRow("bad path entry")
            << R"({"format":"obsprop-project","version":1,"steering":[{"name":"s","path":[[1]]}]})"
            << "each path entry must be [layer, head]";
        QTest::newRow("view not object") << R"({"format":"obsprop-project","version":1,"view":3})"
                                         << "field 'view' must be a JSON object";
    }
    void malformed() {
        QFETCH(QString, text);
        QFETCH(QString, message);
        try {
            pj::from_json(json::parse(text.toStdString()), "p.obsprop");
            QFAIL("expected a ProjectError");
        } catch (const pj::ProjectError& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(message), e.what());
            QVERIFY(QString::fromUtf8(e.what()).startsWith(QStringLiteral("p.obsprop: ")));
        }
    }

    // Hostile values: each refused with exactly this message (after "p.obsprop: ").
    void hostile_data() {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("message");
        const QByteArray head = R"({"format":"obsprop-project","version":1,)";
        const QByteArray obs = R"("observables":[{"name":"subj","expr":"she"}],)";
        const auto preset = [&](const char* fields) {
            return head + obs + R"("steering":[{"name":"s","observable":"subj",)" + fields + "}]}";
        };
        const auto observable = [&](const QByteArray& name) {
            return head + R"("observables":[{"name":)" + name + R"(,"expr":"she"}]})";
        };
        const auto dataset = [&](const QByteArray& name) {
            return head + R"("datasets":[{"name":)" + name +
                   R"(,"templates":["[NAME] x"],"male_names":["Bob"]}]})";
        };
        QTest::newRow("version 2^32 + 1 (used to wrap to 1)")
            << QByteArray(R"({"format":"obsprop-project","version":4294967297})")
            << "field 'version' = 4294967297 is out of range";
        QTest::newRow("svd_top_k 2^64 - 1")
            << head + R"("settings":{"svd_top_k":18446744073709551615}})"
            << "field 'settings.svd_top_k' = 18446744073709551615 is out of range";
        QTest::newRow("path layer 2^32 + 1 (used to wrap to 1)")
            << preset(R"("path":[[4294967297,0]])")
            << "steering preset 's': each path entry must be [layer, head] with non-negative integers or "
               "[layer, \"mlp\"], not [4294967297,0]";
        QTest::newRow("path head 99.99") << preset(R"("path":[[0,99.99]])")
                                         << "steering preset 's': each path entry must be [layer, head] with "
                                            "non-negative integers or [layer, \"mlp\"], not [0,99.99]";
        QTest::newRow("path entry [0, \"mlq\"]")
            << preset(R"("path":[[0,"mlq"]])")
            << "steering preset 's': each path entry must be [layer, head] with non-negative integers or "
               "[layer, \"mlp\"], not [0,\"mlq\"]";
        QTest::newRow("head field 99.99") << preset(R"("path":[[0,1]],"head":99.99)")
                                          << "steering preset 's': 'head' is not a field of a steering "
                                             "preset (a single head is a 'path' of "
                                             "one [layer, head] entry)";
        QTest::newRow("layer 2^32 + 1") << preset(R"("path":[[0,1]],"layer":4294967297)")
                                        << "field 'steering[].layer' = 4294967297 is out of range";
        QTest::newRow("layer -2") << preset(R"("path":[[0,1]],"layer":-2)")
                                  << "steering preset 's': 'layer' must be -1 (the path's first layer) or a "
                                     "layer index";
        QTest::newRow("missing observable")
            << head + obs + R"("steering":[{"name":"s","observable":"obj","path":[[0,1]]}]})"
            << "steering preset 's': observable 'obj' is not in the project";
        QTest::newRow("preset without observable")
            << head + obs + R"("steering":[{"name":"s","path":[[0,1]]}]})"
            << "steering preset 's': observable '' is not in the project";
        QTest::newRow("duplicate observable names")
            << head + R"("observables":[{"name":"a","expr":"she"},{"name":"a","expr":"he"}]})"
            << "observable name 'a' is used twice";
        QTest::newRow("duplicate dataset names")
            << head + R"("datasets":[{"name":"d","templates":["[NAME] x"],"male_names":["Bob"]},)"
                      R"({"name":"d","templates":["[NAME] y"],"male_names":["Al"]}]})"
            << "dataset name 'd' is used twice";
        QTest::newRow("observable name with /")
            << observable(R"("a/b")")
            << R"(observable name "a/b" is not usable in file names: it contains '/')";
        QTest::newRow("observable name with \\")
            << observable("\"a\\\\b\"")
            << "observable name \"a\\\\b\" is not usable in file names: it contains '\\'";
        QTest::newRow("observable name ..")
            << observable(R"("..")") << R"(observable name ".." is not usable in file names: it is '..')";
        QTest::newRow("observable name .")
            << observable(R"(".")") << R"(observable name "." is not usable in file names: it is '.')";
        QTest::newRow("observable name with NUL")
            << observable("\"a\\u0000b\"")
            << "observable name \"a\\u0000b\" is not usable in file names: it contains a control character";
        QTest::newRow("observable name -rf")
            << observable(R"("-rf")")
            << R"(observable name "-rf" is not usable in file names: it starts with '-')";
        QTest::newRow("observable name of 101 bytes")
            << observable("\"" + QByteArray(101, 'x') + "\"")
            << "observable name \"" + QString(56, 'x') +
                   "... is not usable in file names: it is longer than 100 bytes";
        QTest::newRow("observable without a name") << observable(R"("")") << "every observable needs a name";
        QTest::newRow("dataset name with /")
            << dataset(R"("../d")") << R"(dataset name "../d" is not usable in file names: it contains '/')";
        QTest::newRow("dataset without a name") << dataset("null") << "every dataset needs a name";
    }
    void hostile() {
        QFETCH(QByteArray, text);
        QFETCH(QString, message);
        try {
            pj::from_json(json::parse(text.toStdString()), "p.obsprop");
            QFAIL("expected a ProjectError");
        } catch (const pj::ProjectError& e) {
            QCOMPARE(QString::fromUtf8(e.what()), QStringLiteral("p.obsprop: ") + message);
        }
    }

    // Names and references are checked when a project is written too, so a bad file is never produced.
    void saveRefusesWhatLoadRefuses() {
        QTemporaryDir tmp;
        const std::filesystem::path f = tmp.filePath(QStringLiteral("p.obsprop")).toStdString();
        auto p = sample();
        p.observables[0].name = "he/she";
        p.steering[0].observable = "he/she";
        try {
            pj::save_project(p, f);
            QFAIL("expected a ProjectError");
        } catch (const pj::ProjectError& e) {
            QCOMPARE(QString::fromUtf8(e.what()),
                     QString::fromStdString(f.string()) +
                         R"(: observable name "he/she" is not usable in file names: it contains '/')");
        }
        QVERIFY(!std::filesystem::exists(f));
        p = sample();
        p.steering[0].observable = "gone";
        QVERIFY_THROWS_EXCEPTION(pj::ProjectError, pj::save_project(p, f));
        QVERIFY(!std::filesystem::exists(f));
    }

    // A project file that is a FIFO, or nests 100 000 levels deep, is refused at once.
    void hostileFiles() {
        QTemporaryDir tmp;
        const std::filesystem::path fifo = tmp.filePath(QStringLiteral("fifo.obsprop")).toStdString();
        const std::filesystem::path deep = tmp.filePath(QStringLiteral("deep.obsprop")).toStdString();
        QCOMPARE(::mkfifo(fifo.c_str(), 0600), 0);
        std::ofstream(deep) << R"({"format":"obsprop-project","version":1,"view":{"a":)"
                            << std::string(100000, '[') << std::string(100000, ']') << "}}";
        QElapsedTimer timer;
        timer.start();
        const auto error = [](const std::filesystem::path& f) {
            try {
                pj::load_project(f);
            } catch (const pj::ProjectError& e) {
                return QString::fromUtf8(e.what());
            }
            return QString("no error");
        };
        QCOMPARE(error(fifo), QString::fromStdString(fifo.string()) + ": not a regular file (a FIFO)");
        QCOMPARE(error(deep), QString::fromStdString(deep.string()) +
                                  ": not valid JSON (JSON nested more than 64 levels deep)");
        // A view built in memory (as the explorer does) is held to the same depth before it is saved.
        json view = json::object();
        json* cur = &view;
        for (int i = 0; i < 100000; ++i) {
            (*cur)["a"] = json::object();
            cur = &(*cur)["a"];
        }
        pj::Project p;
        p.view = std::move(view);
        try {
            pj::save_project(p, tmp.filePath(QStringLiteral("v.obsprop")).toStdString());
            QFAIL("expected a ProjectError");
        } catch (const pj::ProjectError& e) {
            QVERIFY2(QString::fromUtf8(e.what()).endsWith("field 'view' is nested more than 63 levels deep"),
                     e.what());
        }
        // fingerprint_model reads config.json and the weights' headers: FIFOs there do not block either.
        const std::filesystem::path model = tmp.filePath(QStringLiteral("model")).toStdString();
        std::filesystem::create_directory(model);
        QCOMPARE(::mkfifo((model / "config.json").c_str(), 0600), 0);
        try {
            pj::fingerprint_model(model);
            QFAIL("expected a ProjectError");
        } catch (const pj::ProjectError& e) {
            QCOMPARE(QString::fromUtf8(e.what()), QString::fromStdString((model / "config.json").string()) +
                                                      ": not a regular file (a FIFO)");
        }
        std::filesystem::remove(model / "config.json");
        std::ofstream(model / "config.json") << "{}";
        QCOMPARE(::mkfifo((model / "model.safetensors").c_str(), 0600), 0);
        QVERIFY_THROWS_EXCEPTION(pj::ProjectError, pj::fingerprint_model(model));
        QVERIFY(timer.elapsed() < 2000);
    }

    void badFiles() {
        QTemporaryDir tmp;
        const std::filesystem::path f = tmp.filePath(QStringLiteral("x.obsprop")).toStdString();
        std::ofstream(f) << "{ \"format\": ";
        try {
            pj::load_project(f);
            QFAIL("expected a ProjectError");
        } catch (const pj::ProjectError& e) {
            QVERIFY(QString::fromUtf8(e.what()).contains(QStringLiteral("not valid JSON")));
        }
        // A save that cannot happen leaves the existing file as it was.
        pj::save_project(sample(), f);
        const std::string before = read_all(f);
        QVERIFY_THROWS_EXCEPTION(
            pj::ProjectError,
            pj::save_project(sample(), tmp.filePath(QStringLiteral("no/such/dir/p.obsprop")).toStdString()));
        QCOMPARE(read_all(f), before);
    }

    void relativeModelPath() {
        pj::Project p;
        p.model_path = "../models/demo";
        QCOMPARE(p.resolved_model_path("/data/projects/a.obsprop").string(),
                 std::string("/data/models/demo"));
        p.model_path = "/abs/model";
        QCOMPARE(p.resolved_model_path("/data/projects/a.obsprop").string(), std::string("/abs/model"));
    }

    void fingerprint() {
        QTemporaryDir tmp;
        const std::filesystem::path d = tmp.path().toStdString();
        std::ofstream(d / "config.json") << R"({"model_type":"gpt2"})";
        auto weights = [&](float last) {
            obsprop::io::write_safetensors(d / "model.safetensors", {{"w", {{4}, {1, 2, 3, last}}}},
                                           obsprop::io::DType::F32);
        };
        weights(4);
        const auto a = pj::fingerprint_model(d);
        QCOMPARE(pj::fingerprint_model(d), a);
        QVERIFY(QString::fromStdString(a).startsWith(QStringLiteral("xxh3v2:")));
        weights(5);
        QVERIFY(pj::fingerprint_model(d) != a);
        std::ofstream(d / "model.safetensors") << "12345679"; // not a safetensors file: named
        QVERIFY_THROWS_EXCEPTION(pj::ProjectError, pj::fingerprint_model(d));
        QVERIFY_THROWS_EXCEPTION(pj::ProjectError, pj::fingerprint_model(d / "missing"));
    }

    void datasetExpansionAndPairs() {
        auto d = pj::study_subject_dataset();
        auto ps = pj::expand(d);
        QCOMPARE(ps.size(), std::size_t(3 * 20));
        QCOMPARE(ps[0].text, std::string("<|endoftext|>So, Jennifer really is a great friend, isn't"));
        QCOMPARE(ps[10].name, std::string("John"));
        QVERIFY(ps[10].gender == pj::Gender::Male);
        auto pairs = pj::pairs(d);
        QCOMPARE(pairs.size(), std::size_t(30));
        for (auto [f, m] : pairs) {
            QVERIFY(ps[f].gender == pj::Gender::Female);
            QVERIFY(ps[m].gender == pj::Gender::Male);
            QCOMPARE(ps[f].template_index, ps[m].template_index);
        }
    }

    void nameSlotWithGpt2Tokens() {
        const QString dir = test_paths::data("/gpt2-vocab");
        QVERIFY2(QFile::exists(dir + QStringLiteral("/vocab.json")), "run scripts/fetch-test-data");
        auto tok = obsprop::io::Tokenizer::from_directory(dir.toStdString());
        auto d = pj::study_object_dataset();
        auto ps = pj::expand(d);
        pj::tokenize(ps, tok);
        for (const auto& p : ps) {
            // The slot holds the name's last token: decoding up to it ends with the name.
            std::vector<int> upto(p.ids.begin(), p.ids.begin() + p.name_position + 1);
            const std::string text = tok.decode(upto);
            QVERIFY2(text.size() >= p.name.size() &&
                         text.compare(text.size() - p.name.size(), p.name.size(), p.name) == 0,
                     p.text.c_str());
        }
        // "<|endoftext|>What do I think about Jennifer?" -> the name is token 6.
        QCOMPARE(ps[0].ids[0], 50256);
        QCOMPARE(tok.token_text(ps[0].ids[ps[0].name_position]), std::string(" Jennifer"));
    }
};

QTEST_APPLESS_MAIN(TestProject)
#include "tst_project.moc"
