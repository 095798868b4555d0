// Pair datasets: the CSV and JSONL readers (good files, every malformed class with its exact message, the
// limits), the slot rule (on token lists, and on GPT-2's real vocabulary), and the project round trip.
#include "test_paths.h"

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>

#include <sys/stat.h>

#include "io/tokenizer.h"
#include "project/pair_import.h"
#include "project/project.h"

namespace pj = obsprop::project;
using nlohmann::json;

namespace {

std::filesystem::path write(const QTemporaryDir& dir, const std::string& name, const std::string& text) {
    const std::filesystem::path p = dir.filePath(QString::fromStdString(name)).toStdString();
    std::ofstream(p, std::ios::binary) << text;
    return p;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

Q_DECLARE_METATYPE(std::string)

class TestPairDatasets : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void csvGood() {
        // A byte order mark, CRLF and LF, columns in any order, quoted commas, doubled quotes, a line break
        // inside a quoted field, an empty label, empty lines between records, no final line end.
        const std::string text = "\xEF\xBB\xBF"
                                 "label,clean,corrupt\r\n"
                                 "swap,\"<|endoftext|>So, Jane is\",\"<|endoftext|>So, John is\"\r\n"
                                 "\r\n"
                                 "\"quoted, with comma\",\"She said \"\"hi\"\"\",\"He said \"\"hi\"\"\"\n"
                                 ",\"two\nlines\",\"two\nwords\"\n"
                                 "\n"
                                 "é,Zoë rit,Noé rit";
        const auto pairs = pj::parse_pairs_csv(text, "p.csv");
        QCOMPARE(pairs.size(), std::size_t(4));
        QCOMPARE(pairs[0], (pj::PromptPair{"<|endoftext|>So, Jane is", "<|endoftext|>So, John is", "swap"}));
        QCOMPARE(pairs[1], (pj::PromptPair{"She said \"hi\"", "He said \"hi\"", "quoted, with comma"}));
        QCOMPARE(pairs[2], (pj::PromptPair{"two\nlines", "two\nwords", ""}));
        QCOMPARE(pairs[3], (pj::PromptPair{"Zoë rit", "Noé rit", "é"}));
        // Without a label column; spaces inside prompts are kept as written (they are tokens).
        const auto two = pj::parse_pairs_csv("corrupt , clean\n He likes, She likes\n", "p.csv");
        QCOMPARE(two.size(), std::size_t(1));
        QCOMPARE(two[0], (pj::PromptPair{" She likes", " He likes", ""}));
    }

    void csvMalformed_data() {
        QTest::addColumn<std::string>("text");
        QTest::addColumn<QString>("message");
        QTest::newRow("empty file") << std::string()
                                    << "p.csv:1: the file is empty (a CSV pair file starts with the header "
                                       "row clean,corrupt[,label])";
        QTest::newRow("header only") << std::string("clean,corrupt\r\n")
                                     << "p.csv: no pairs after the header row";
        QTest::newRow("unknown column")
            << std::string("clean,corrupt,prompt\na,b,c\n")
            << "p.csv:1: unknown column \"prompt\" (the columns are clean, corrupt "
               "and an optional label)";
        QTest::newRow("missing column") << std::string("clean,label\na,b\n")
                                        << "p.csv:1: missing column 'corrupt' (the header row is "
                                           "clean,corrupt[,label])";
        QTest::newRow("column twice")
            << std::string("clean,corrupt,clean\n") << "p.csv:1: column 'clean' appears twice";
        QTest::newRow("too few fields") << std::string("clean,corrupt\na,b\nc\n")
                                        << "p.csv:3: the row has 1 fields, the header 2 (quote a field that "
                                           "holds a comma)";
        QTest::newRow("too many fields") << std::string("clean,corrupt\nJane, she, he,x\n")
                                         << "p.csv:2: the row has 4 fields, the header 2 (quote a field that "
                                            "holds a comma)";
        QTest::newRow("empty clean") << std::string("clean,corrupt\na,b\n,b\n")
                                     << "p.csv:3: the clean prompt is empty";
        QTest::newRow("empty corrupt")
            << std::string("clean,corrupt\r\na,\"\"\r\n") << "p.csv:2: the corrupted prompt is empty";
        QTest::newRow("same prompts") << std::string("clean,corrupt\nsame,same\n")
                                      << "p.csv:2: the clean and corrupted prompts are the same text";
        QTest::newRow("unclosed quote")
            << std::string("clean,corrupt\na,b\n\"open,b\nmore\n") << "p.csv:3: a quoted field is not closed";
        QTest::newRow("text after quote")
            << std::string("clean,corrupt\n\"a\"x,b\n")
            << "p.csv:2: text after the closing quote of a field (a quote inside "
               "a quoted field is written \"\")";
        QTest::newRow("bare quote")
            << std::string("clean,corrupt\na,b\"c\n")
            << "p.csv:2: a quote inside an unquoted field (quote the whole field, and "
               "write each quote in it as \"\")";
        QTest::newRow("bare CR")
            << std::string("clean,corrupt\ra,b\n")
            << "p.csv:1: a carriage return that does not end a line (lines end with CRLF "
               "or LF)";
        QTest::newRow("invalid UTF-8")
            << std::string("clean,corrupt\na,b\nJ\xE9r\xF4me,b\n")
            << "p.csv:3: invalid UTF-8 (byte 0xE9 at byte 2 of the line); save the "
               "file as UTF-8";
        QTest::newRow("overlong UTF-8")
            << std::string("clean,corrupt\n\xC0\xAF,b\n")
            << "p.csv:2: invalid UTF-8 (byte 0xC0 at byte 1 of the line); save the "
               "file as UTF-8";
        QTest::newRow("surrogate")
            << std::string("clean,corrupt\na\xED\xA0\x80,b\n")
            << "p.csv:2: invalid UTF-8 (byte 0xED at byte 2 of the line); save the file "
               "as UTF-8";
        QTest::newRow("line too long") << "clean,corrupt\na," + std::string(pj::kMaxPairLineBytes, 'x') + "\n"
                                       << "p.csv:2: the line is longer than 1048576 bytes";
    }
    void csvMalformed() {
        QFETCH(std::string, text);
        QFETCH(QString, message);
        QCOMPARE(QString::fromStdString(error_of([&] { pj::parse_pairs_csv(text, "p.csv"); })), message);
    }

    void jsonlGood() {
        const std::string text =
            "{\"clean\": \"She runs\", \"corrupt\": \"He runs\", \"label\": \"verb\"}\r\n"
            "\n"
            "   \n"
            "{\"corrupt\": \"B\\u00e9\", \"clean\": \"A\\n\\\"q\\\"\", \"label\": null}\n"
            "{\"clean\":\"x y\",\"corrupt\":\"x z\"}";
        const auto pairs = pj::parse_pairs_jsonl(text, "p.jsonl");
        QCOMPARE(pairs.size(), std::size_t(3));
        QCOMPARE(pairs[0], (pj::PromptPair{"She runs", "He runs", "verb"}));
        QCOMPARE(pairs[1], (pj::PromptPair{"A\n\"q\"", "Bé", ""}));
        QCOMPARE(pairs[2], (pj::PromptPair{"x y", "x z", ""}));
    }

    void jsonlMalformed_data() {
        QTest::addColumn<std::string>("text");
        QTest::addColumn<QString>("message");
        const std::string ok = "{\"clean\": \"a\", \"corrupt\": \"b\"}\n";
        QTest::newRow("empty file")
            << std::string("\n\n")
            << "p.jsonl: no pairs (a JSONL pair file has one {\"clean\", \"corrupt\"} "
               "object a line)";
        QTest::newRow("not JSON")
            << ok + "{\"clean\": \"a\",\n"
            << "p.jsonl:2: not valid JSON (column 15: syntax error while parsing object key - "
               "unexpected end of input; expected string literal)";
        QTest::newRow("array")
            << ok + ok + "[\"a\", \"b\"]\n"
            << "p.jsonl:3: expected a JSON object {\"clean\": ..., \"corrupt\": ...}, not an "
               "array";
        QTest::newRow("unknown field")
            << ok + "{\"clean\": \"a\", \"corrupt\": \"b\", \"prompt\": \"c\"}"
            << "p.jsonl:2: unknown field \"prompt\" (the fields are clean, corrupt "
               "and an optional label)";
        QTest::newRow("missing field")
            << std::string("{\"clean\": \"a\"}\n") << "p.jsonl:1: missing field 'corrupt'";
        QTest::newRow("not a string") << std::string("{\"clean\": \"a\", \"corrupt\": 5}\n")
                                      << "p.jsonl:1: field 'corrupt' must be a string, not a number";
        QTest::newRow("label not a string")
            << std::string("{\"clean\": \"a\", \"corrupt\": \"b\", \"label\": [1]}")
            << "p.jsonl:1: field 'label' must be a string, not an array";
        QTest::newRow("duplicate key")
            << std::string("{\"clean\": \"a\", \"clean\": \"c\", \"corrupt\": \"b\"}")
            << "p.jsonl:1: field \"clean\" appears twice";
        QTest::newRow("empty clean") << "\n" + ok + "{\"clean\": \"\", \"corrupt\": \"b\"}\n"
                                     << "p.jsonl:3: the clean prompt is empty";
        QTest::newRow("empty corrupt") << std::string("{\"clean\": \"a\", \"corrupt\": \"\"}")
                                       << "p.jsonl:1: the corrupted prompt is empty";
        QTest::newRow("same") << std::string("{\"clean\": \"a\", \"corrupt\": \"a\"}")
                              << "p.jsonl:1: the clean and corrupted prompts are the same text";
        QTest::newRow("nested too deep") << std::string("{\"clean\": [[[[[\"a\"]]]]], \"corrupt\": \"b\"}")
                                         << "p.jsonl:1: JSON nested more than 4 levels deep";
        QTest::newRow("invalid UTF-8") << ok + "{\"clean\": \"\xFF\", \"corrupt\": \"b\"}"
                                       << "p.jsonl:2: invalid UTF-8 (byte 0xFF at byte 12 of the line); save "
                                          "the file as UTF-8";
    }
    void jsonlMalformed() {
        QFETCH(std::string, text);
        QFETCH(QString, message);
        QCOMPARE(QString::fromStdString(error_of([&] { pj::parse_pairs_jsonl(text, "p.jsonl"); })), message);
    }

    void files() {
        QTemporaryDir dir;
        const std::string good = "clean,corrupt\nShe,He\n";
        QCOMPARE(pj::read_pair_file(write(dir, "a.CSV", good)).size(), std::size_t(1));
        QCOMPARE(pj::read_pair_file(write(dir, "a.jsonl", "{\"clean\":\"a\",\"corrupt\":\"b\"}")).size(),
                 std::size_t(1));
        const auto txt = write(dir, "a.txt", good);
        QCOMPARE(error_of([&] { pj::read_pair_file(txt); }),
                 txt.string() + ": not a pair file: the name must end in .csv or .jsonl (the format is read "
                                "from it)");
        const auto missing = std::filesystem::path(dir.path().toStdString()) / "missing.csv";
        QCOMPARE(error_of([&] { pj::read_pair_file(missing); }), missing.string() + ": file not found");
        const auto folder = std::filesystem::path(dir.path().toStdString()) / "folder.csv";
        std::filesystem::create_directory(folder);
        QCOMPARE(error_of([&] { pj::read_pair_file(folder); }),
                 folder.string() + ": is a directory, expected a file");
        const auto fifo = std::filesystem::path(dir.path().toStdString()) / "fifo.jsonl";
        QCOMPARE(mkfifo(fifo.c_str(), 0600), 0);
        QVERIFY(
            error_of([&] { pj::read_pair_file(fifo); }).starts_with(fifo.string() + ": not a regular file"));
        const auto big = write(dir, "big.csv", good);
        std::filesystem::resize_file(big, pj::kMaxPairFileBytes + 1); // sparse: nothing is written
        QVERIFY2(error_of([&] { pj::read_pair_file(big); }).starts_with(big.string() + ": "),
                 error_of([&] { pj::read_pair_file(big); }).c_str());
        QVERIFY(error_of([&] { pj::read_pair_file(big); }).find("67108864") != std::string::npos);
        // More pairs than the limit: refused at the first one too many.
        std::string many;
        for (std::size_t i = 0; i <= pj::kMaxPairs; ++i)
            many += "{\"clean\":\"a\",\"corrupt\":\"b\"}\n";
        const auto lots = write(dir, "many.jsonl", many);
        QCOMPARE(error_of([&] { pj::read_pair_file(lots); }),
                 lots.string() + ":100001: more than 100000 pairs (the most a pair file may hold)");
    }

    void importNames() {
        QTemporaryDir dir;
        const auto f = write(dir, "p.csv", "clean,corrupt\nShe,He\n");
        const auto existing = std::vector<pj::Dataset>{pj::study_subject_dataset()};
        const auto d = pj::import_pair_dataset("mine", f, existing);
        QCOMPARE(d.name, std::string("mine"));
        QVERIFY(d.is_pairs());
        QCOMPARE(d.validate(), std::string());
        QCOMPARE(error_of([&] { pj::import_pair_dataset("subject", f, existing); }),
                 f.string() +
                     ": a dataset named 'subject' already exists; give the imported pairs another name");
        QCOMPARE(error_of([&] { pj::import_pair_dataset("a/b", f, existing); }),
                 f.string() + ": dataset name \"a/b\" is not usable in file names: it contains '/'");
        QCOMPARE(pj::split_pairs_option("x=a=b.csv"),
                 std::make_pair(std::string("x"), std::string("a=b.csv")));
        QCOMPARE(error_of([] { pj::split_pairs_option("=a.csv"); }),
                 std::string("'=a.csv' is not NAME=FILE (a dataset name, '=', a .csv or .jsonl file)"));
    }

    void slotRule() {
        using V = std::vector<int>;
        auto slots = [](const V& a, const V& b) {
            const auto s = pj::pair_slots(a, b);
            return s ? std::make_pair(s->clean, s->corrupt) : std::make_pair(-9, -9);
        };
        QCOMPARE(slots({1, 2, 3, 4}, {1, 7, 3, 4}), std::make_pair(1, 1));    // one token swapped
        QCOMPARE(slots({1, 2, 9, 3, 4}, {1, 7, 3, 4}), std::make_pair(2, 1)); // two tokens for one
        QCOMPARE(slots({1, 2, 3, 4, 5}, {1, 7, 3, 8, 5}),
                 std::make_pair(3, 3));                                 // two changes: the span of both
        QCOMPARE(slots({1, 2, 3}, {1, 2, 3, 4}), std::make_pair(2, 3)); // a token added at the end
        QCOMPARE(slots({1, 3}, {1, 2, 3}), std::make_pair(0, 1));       // inserted: the token before
        QCOMPARE(slots({5, 1}, {1}), std::make_pair(-9, -9));    // an insertion at the start: no slot in {1}
        QCOMPARE(slots({1, 2}, {1, 2}), std::make_pair(-9, -9)); // the same tokens
        QCOMPARE(pj::pair_slots({1, 2, 9, 3}, {1, 7, 3})->begin, 1);
    }

    // Checked by hand against GPT-2's vocabulary (the ids below are GPT-2's).
    void slotWithGpt2Tokens() {
        const QString dir = test_paths::data("/gpt2-vocab");
        QVERIFY2(QFile::exists(dir + QStringLiteral("/vocab.json")), "run scripts/fetch-test-data");
        const auto tok = obsprop::io::Tokenizer::from_directory(dir.toStdString());
        pj::Dataset d;
        d.name = "mine";
        d.prompt_pairs = {
            {"<|endoftext|>So, Jennifer really is a great friend, isn't",
             "<|endoftext|>So, John really is a great friend, isn't", "names"},
            {"The nurse said that", "The programmer said that", ""},
            {"I met Clara yesterday", "I met Bartholomew yesterday", "a longer name"},
            {"Paris is in", "Paris is not in", "inserted"},
        };
        auto ps = pj::expand(d);
        QCOMPARE(ps.size(), std::size_t(8));
        pj::tokenize(ps, tok, d);
        QCOMPARE(pj::pairs(d), (std::vector<std::pair<int, int>>{{0, 1}, {2, 3}, {4, 5}, {6, 7}}));
        // Pair 0: <|endoftext|> So , ␣Jennifer ...: the name is token 3 in both, as in the template dataset.
        QCOMPARE(ps[0].ids[0], 50256);
        QCOMPARE(ps[0].name_position, 3);
        QCOMPARE(ps[1].name_position, 3);
        QCOMPARE(tok.token_text(ps[0].ids[3]), std::string(" Jennifer"));
        QCOMPARE(tok.token_text(ps[1].ids[3]), std::string(" John"));
        QCOMPARE(ps[0].name, std::string(" Jennifer"));
        QCOMPARE(ps[0].label, std::string("names"));
        QCOMPARE(ps[1].gender, pj::Gender::Male);
        QCOMPARE(ps[1].template_index, 0);
        {
            // The template dataset's name slots are the same positions.
            pj::Dataset t{
                "t", {"<|endoftext|>So, [NAME] really is a great friend, isn't"}, {"Jennifer"}, {"John"}, {}};
            auto tp = pj::expand(t);
            pj::tokenize(tp, tok, t);
            QCOMPARE(tp[0].ids, ps[0].ids);
            QCOMPARE(tp[1].ids, ps[1].ids);
            QCOMPARE(tp[0].name_position, ps[0].name_position);
            QCOMPARE(tp[1].name_position, ps[1].name_position);
        }
        // Pair 1: The ␣nurse ␣said ␣that / The ␣programmer ...: slot 1.
        QCOMPARE(ps[2].ids, (std::vector<int>{464, 15849, 531, 326}));
        QCOMPARE(ps[3].ids, (std::vector<int>{464, 24292, 531, 326}));
        QCOMPARE(ps[2].name_position, 1);
        QCOMPARE(ps[3].name_position, 1);
        // Pair 2: ␣Clara is one token, ␣Bartholomew several: the slot is each name's last token.
        QCOMPARE(tok.encode_to_strings("I met Clara yesterday"),
                 (std::vector<std::string>{"I", "Ġmet", "ĠClara", "Ġyesterday"}));
        QCOMPARE(tok.encode_to_strings("I met Bartholomew yesterday"),
                 (std::vector<std::string>{"I", "Ġmet", "ĠBarth", "ol", "omew", "Ġyesterday"}));
        QCOMPARE(ps[4].name_position, 2);
        QCOMPARE(ps[5].name_position, 4);
        QCOMPARE(ps[4].name, std::string(" Clara"));
        QCOMPARE(ps[5].name, std::string(" Bartholomew"));
        // Pair 3: Paris ␣is ␣in / Paris ␣is ␣not ␣in: the clean span is empty, its slot the token before.
        QCOMPARE(ps[6].name_position, 1);
        QCOMPARE(ps[7].name_position, 2);
        QCOMPARE(ps[6].name, std::string());
        QCOMPARE(ps[7].name, std::string(" not"));

        // Prompts that differ only by tokens added in front have no slot: ␣world / Hello ␣world.
        pj::Dataset front{"front", {}, {}, {}, {{" world", "Hello world", ""}}};
        auto fp = pj::expand(front);
        QCOMPARE(error_of([&] { pj::tokenize(fp, tok, front); }),
                 std::string("dataset 'front', pair 0 (\" world\" / \"Hello world\"): one prompt only "
                             "adds tokens before the other's first token, so the other has no slot"));
        pj::Dataset twice{"twice", {}, {}, {}, {{"<|endoftext|>", "<|endoftext|><|endoftext|>", ""}}};
        auto tw = pj::expand(twice);
        pj::tokenize(tw, tok, twice); // the second is one token more: its slot is its last token
        QCOMPARE(tw[0].name_position, 0);
        QCOMPARE(tw[1].name_position, 1);
    }

    void projectRoundTrip() {
        QTemporaryDir dir;
        pj::Project p;
        p.model_path = "model";
        p.datasets = {pj::study_subject_dataset()};
        const auto file = std::filesystem::path(dir.path().toStdString()) / "p.obsprop";
        pj::save_project(p, file);
        // Without pair datasets the file stays version 1, which older explorers read.
        QCOMPARE(json::parse(std::ifstream(file))["version"].get<int>(), 1);
        pj::Dataset d;
        d.name = "mine";
        d.prompt_pairs = {{"She, \"she\"\nsaid", "He said", "note"}, {"a", "b", ""}};
        p.datasets.push_back(d);
        pj::save_project(p, file);
        const json j = json::parse(std::ifstream(file));
        QCOMPARE(j["version"].get<int>(), 2);
        // (moc reads raw strings holding \" wrongly: an ordinary string)
        const std::string written =
            "{\"name\":\"mine\",\"pairs\":[{\"clean\":\"She, \\\"she\\\"\\nsaid\","
            "\"corrupt\":\"He said\",\"label\":\"note\"},{\"clean\":\"a\",\"corrupt\":\"b\"}]}";
        QCOMPARE(j["datasets"][1].dump(), written);
        const auto back = pj::load_project(file);
        QCOMPARE(back.datasets.size(), std::size_t(2));
        QCOMPARE(back.datasets[1].prompt_pairs, d.prompt_pairs);
        QVERIFY(back.datasets[0].prompt_pairs.empty());
        QCOMPARE(pj::serialize(back), pj::serialize(p));
    }

    void projectMalformed_data() {
        QTest::addColumn<std::string>("text");
        QTest::addColumn<QString>("message");
        const std::string head = R"({"format":"obsprop-project","version":2,"datasets":[{"name":"d",)";
        QTest::newRow("pairs not a list") << head + R"("pairs":{}}]})"
                                          << "p.obsprop: field 'datasets[].pairs' must be a list of {clean, "
                                             "corrupt, label} objects";
        QTest::newRow("pair not an object")
            << head + R"("pairs":["a"]}]})"
            << "p.obsprop: field 'datasets[].pairs' must be a list of {clean, "
               "corrupt, label} objects, not \"a\"";
        QTest::newRow("clean not a string")
            << head + R"("pairs":[{"clean":1,"corrupt":"b"}]}]})"
            << "p.obsprop: field 'datasets[].pairs[].clean' has the wrong type";
        QTest::newRow("unknown pair field") << head + R"("pairs":[{"clean":"a","corrupt":"b","x":1}]}]})"
                                            << "p.obsprop: field 'datasets[].pairs[].x' is not a field of a "
                                               "prompt pair (clean, corrupt, label)";
        QTest::newRow("missing corrupt") << head + R"("pairs":[{"clean":"a","corrupt":"b"},{"clean":"a"}]}]})"
                                         << "p.obsprop: dataset 'd', pair 1: the corrupted prompt is empty";
        QTest::newRow("same prompts")
            << head + R"("pairs":[{"clean":"a","corrupt":"a"}]}]})"
            << "p.obsprop: dataset 'd', pair 0: the clean and corrupted prompts are "
               "the same text";
        QTest::newRow("pairs and templates")
            << head +
                   R"("templates":["[NAME] x"],"male_names":["Bob"],"pairs":[{"clean":"a","corrupt":"b"}]}]})"
            << "p.obsprop: dataset 'd' has both prompt pairs and templates or names (it is one or the other)";
        QTest::newRow("version 3")
            << std::string(R"({"format":"obsprop-project","version":3})")
            << "p.obsprop: written by a newer ObsProp Explorer (project version 3, this "
               "one reads up to 2)";
    }
    void projectMalformed() {
        QFETCH(std::string, text);
        QFETCH(QString, message);
        QCOMPARE(QString::fromStdString(error_of([&] { pj::from_json(json::parse(text), "p.obsprop"); })),
                 message);
    }
};

QTEST_APPLESS_MAIN(TestPairDatasets)
#include "tst_pair_datasets.moc"
