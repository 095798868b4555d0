// Tests of obsprop::io::Tokenizer: GPT-2's real vocabulary against independently computed ids, the
// tokenizer.json loader against the vocab.json + merges.txt loader, hand-built BPE and WordLevel
// tokenizers, the pre-tokeniser, NFC, error messages, long inputs and concurrent use.
//
// GPT-2's vocabulary is fetched at set-up time (it is not committed): run scripts/fetch-test-data.
#include "io/tokenizer.h"
#include "io/tokenizer_detail.h"
#include "test_paths.h"

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include <sys/resource.h>
#include <sys/stat.h>

using obsprop::io::Tokenizer;
using obsprop::io::TokenizerError;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kGpt2Dir = test_paths::data_path() / "gpt2-vocab";
constexpr int kEndOfText = 50256;

std::string str(const QByteArray& b) {
    return std::string(b.constData(), static_cast<std::size_t>(b.size()));
}
QList<int> qlist(const std::vector<int>& v) {
    return QList<int>(v.begin(), v.end());
}

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    QVERIFY2(out.good(), path.c_str());
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The GPT-2 table. Expected ids come from the npm package gpt-3-encoder 1.1.4, a JavaScript port of
// OpenAI's GPT-2 encoder whose split pattern is GPT-2's with the `u` flag (so \p{L} and \p{N} are
// Unicode-aware), produced inside its unpacked tarball (`npm pack gpt-3-encoder@1.1.4`) with
//   node -e 'const {encode} = require("./package/Encoder.js");
//            console.log(JSON.stringify(encode(process.argv[1])))' "TEXT"
// That encoder does not know <|endoftext|>; for those rows the expectation is Hugging Face's: the text
// split at each <|endoftext|>, the parts encoded as above and joined by 50256. Non-ASCII rows were
// checked by looking the ids up in encoder.json (e.g. "café" = c|af|Ã©, " naïve" = ĠnaÃ¯ve).
// Characters where JavaScript's \s differs from Unicode White_Space (U+0085, U+FEFF) are kept out of this
// table; preTokenize covers them.
void add_gpt2_rows() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QList<int>>("ids");
    const auto row = [](const char* name, const char* text, QList<int> ids) {
        QTest::newRow(name) << QByteArray(text) << ids;
    };
    // clang-format off
    row("hello world", "Hello world", {15496, 995});
    row("pronoun she", " she", {673});
    row("pronoun he", " he", {339});
    row("pronoun her", " her", {607});
    row("pronoun him", " him", {683});
    row("contraction I'm", "I'm", {40, 1101});
    row("contraction don't", "don't", {9099, 470});
    row("contraction they'll", "they'll", {9930, 1183});
    row("contractions 've 're 'd", "we've, you're, she'd", {732, 1053, 11, 345, 821, 11, 673, 1549});
    row("apostrophe-s alone", "'s", {338});
    row("possessives", "Mary's dog's toy", {24119, 338, 3290, 338, 13373});
    row("uppercase 'S is no contraction", "JOHN'S CAR", {47118, 6, 50, 17368});
    row("doubled apostrophe", "it''s", {270, 7061, 82});
    row("space before 's", "the cat 's", {1169, 3797, 705, 82});
    row("apostrophe after punctuation", "?'s ('twas)", {8348, 82, 19203, 4246, 292, 8});
    row("digits", "1234567890", {10163, 2231, 30924, 3829});
    row("numbers with separators", "In 2023, pi was 3.14 and 1,000,000 people",
        {818, 1160, 1954, 11, 31028, 373, 513, 13, 1415, 290, 352, 11, 830, 11, 830, 661});
    row("two spaces between words", "a  b", {64, 220, 275});
    row("three spaces between words", "a   b", {64, 220, 220, 275});
    row("trailing spaces", "end   ", {437, 220, 220, 220});
    row("only spaces", "   ", {220, 220, 220});
    row("tabs", "tab\tseparated\t\tvalues", {8658, 197, 25512, 515, 197, 197, 27160});
    row("newlines and indentation", "line one\nline two\n\n  indented",
        {1370, 530, 198, 1370, 734, 628, 220, 773, 4714});
    row("only newlines", "\n\n\n", {628, 198});
    row("crlf", "one\r\ntwo\r\n", {505, 201, 198, 11545, 201, 198});
    row("code", "    def f(x):\n        return x * 2\n",
        {220, 220, 220, 825, 277, 7, 87, 2599, 198, 220, 220, 220, 220, 220, 220, 220, 1441, 2124, 1635, 362,
         198});
    row("accented latin", "café naïve résumé", {66, 1878, 2634, 41492, 40560, 16345, 2634});
    row("german and nordic", "Ångström Straße Øresund",
        {127, 227, 782, 2536, 9101, 76, 15195, 39683, 68, 6184, 246, 411, 917});
    row("greek and cyrillic", "Ελληνικά και русский",
        {138, 243, 39377, 39377, 138, 115, 26180, 29945, 43000, 138, 105, 7377, 118, 17394, 29945, 220, 21169,
         35072, 21727, 21727, 31583, 18849, 140, 117});
    row("japanese", "日本語のテキスト", {33768, 98, 17312, 105, 45739, 252, 5641, 24336, 25084, 43302});
    row("chinese mixed with english", "中文 和 English", {40792, 23877, 229, 10263, 240, 234, 3594});
    row("korean", "한국어 문장", {47991, 250, 166, 113, 255, 168, 244, 112, 31619, 105, 116, 168, 252, 98});
    row("emoji", "emoji 😀 and 👍🏽!", {368, 31370, 30325, 222, 290, 50169, 235, 8582, 237, 121, 0});
    row("flag emoji", "🇺🇸🇫🇷", {8582, 229, 118, 8582, 229, 116, 8582, 229, 104, 8582, 229, 115});
    row("combining accent (not normalised)", "cafe\u0301", {66, 8635, 136, 223});
    row("superscript and fractions", "x² + y½ = Ⅳ", {87, 31185, 1343, 331, 23141, 796, 2343, 227, 96});
    row("arabic-indic digits", "٣٤٥ and ०१२",
        {149, 96, 149, 97, 149, 98, 290, 220, 24231, 99, 24231, 100, 24231, 101});
    row("no-break and em spaces", "a\u00a0b\u2003c", {64, 1849, 65, 447, 225, 66});
    row("typographic quotes and dashes", "He said “hello” — then left…",
        {1544, 531, 564, 250, 31373, 447, 251, 851, 788, 1364, 1399});
    row("url", "https://example.com/path?q=1&r=2",
        {5450, 1378, 20688, 13, 785, 14, 6978, 30, 80, 28, 16, 5, 81, 28, 17});
    row("symbols", "$100 & 50% off #hashtag @user",
        {3, 3064, 1222, 2026, 4, 572, 1303, 17831, 12985, 2488, 7220});
    row("punctuation runs", "Hello!!! What?!... (yes) [no] {maybe}",
        {15496, 10185, 1867, 12248, 986, 357, 8505, 8, 685, 3919, 60, 1391, 25991, 92});
    row("long word", "supercalifragilisticexpialidocious",
        {16668, 9948, 361, 22562, 346, 396, 501, 42372, 498, 312, 32346});
    row("leading space before digits", " 42", {5433});
    row("empty string", "", {});
    row("study: subject prompt", "<|endoftext|>So, Mary really is a great friend, isn't",
        {50256, 2396, 11, 5335, 1107, 318, 257, 1049, 1545, 11, 2125, 470});
    row("study: object prompt", "<|endoftext|>What do I think about John? Well, to be honest, I love",
        {50256, 2061, 466, 314, 892, 546, 1757, 30, 3894, 11, 284, 307, 5508, 11, 314, 1842});
    row("study: occupation prompt", "<|endoftext|>My friend Jennifer is an excellent",
        {50256, 3666, 1545, 16348, 318, 281, 6275});
    row("study: present prompt", "<|endoftext|>This is a present for Chloe. Tomorrow, I'm gonna give it to",
        {50256, 1212, 318, 257, 1944, 329, 29476, 13, 25939, 11, 314, 1101, 8066, 1577, 340, 284});
    row("study: hate prompt", "<|endoftext|>When it comes to Arnold, I gotta say, I really hate",
        {50256, 2215, 340, 2058, 284, 21418, 11, 314, 17753, 910, 11, 314, 1107, 5465});
    row("endoftext inside text", "first<|endoftext|>second", {11085, 50256, 12227});
    row("endoftext twice", "<|endoftext|><|endoftext|>", {50256, 50256});
    row("endoftext then space", "<|endoftext|> Hello", {50256, 18435});
    row("endoftext at end", "The end.<|endoftext|>", {464, 886, 13, 50256});
    row("endoftext partial is plain text", "<|endoftext|", {27, 91, 437, 1659, 5239, 91});
    // clang-format on
}

// A tokenizer.json equivalent to GPT-2's, built from vocab.json + merges.txt.
json gpt2_tokenizer_json(bool array_merges) {
    json vocab = json::parse(read_file(kGpt2Dir / "vocab.json"));
    json merges = json::array();
    std::istringstream lines(read_file(kGpt2Dir / "merges.txt"));
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line.starts_with("#version")) continue;
        const auto space = line.find(' ');
        if (array_merges)
            merges.push_back(json::array({line.substr(0, space), line.substr(space + 1)}));
        else
            merges.push_back(line);
    }
    const json byte_level = {
        {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
    return {{"version", "1.0"},
            {"truncation", nullptr},
            {"padding", nullptr},
            {"added_tokens", json::array({{{"id", kEndOfText},
                                           {"content", "<|endoftext|>"},
                                           {"single_word", false},
                                           {"lstrip", false},
                                           {"rstrip", false},
                                           {"normalized", true},
                                           {"special", true}}})},
            {"normalizer", nullptr},
            {"pre_tokenizer", byte_level},
            {"post_processor", byte_level},
            {"decoder", byte_level},
            {"model",
             {{"type", "BPE"},
              {"dropout", nullptr},
              {"unk_token", nullptr},
              {"continuing_subword_prefix", ""},
              {"end_of_word_suffix", ""},
              {"fuse_unk", false},
              {"byte_fallback", false},
              {"vocab", vocab},
              {"merges", merges}}}};
}

// Deterministic pseudo-random text mixing every character class the pre-tokeniser distinguishes.
std::vector<std::string> random_texts(int count) {
    // clang-format off
    const std::vector<std::string> pool = {
        "a", "b", "e", "k", "s", "t", "Z", "0", "7", " ", " ", " ", "\t", "\n", "\r", ",", ".", "!", "?", "'",
        "'s", "'ll", "'ve", "\"", "(", "-", "_", "#", "é", "ß", "Ω", "ж", "日", "本", "한", "😀", "👍🏽", "\u0301",
        "\u00a0", "\u2003", "\u3000", "²", "½", "Ⅳ", "٣", "’", "—", "…", "<|endoftext|>", "endoftext"};
    // clang-format on
    std::mt19937 rng(12345);
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i) {
        std::string s;
        const int n = static_cast<int>(rng() % 40);
        for (int k = 0; k < n; ++k)
            s += pool[rng() % pool.size()];
        out.push_back(s);
    }
    return out;
}

// A small byte-level BPE, checked by hand. Merge ranks: "Ġ a" (0) before "a b" (1), so " ab" is Ġa|b
// then Ġab, while "ab" alone is a|b -> ab. Added tokens cover special/non-special and every flag.
const char* kTinyBpe = R"json({
  "version": "1.0",
  "added_tokens": [
    {"id": 10, "content": "<sep>", "single_word": false, "lstrip": false, "rstrip": false,
     "normalized": false, "special": true},
    {"id": 11, "content": "ba", "single_word": true, "lstrip": false, "rstrip": false,
     "normalized": true, "special": false},
    {"id": 12, "content": "<L>", "single_word": false, "lstrip": true, "rstrip": false,
     "normalized": false, "special": false},
    {"id": 13, "content": "<R>", "single_word": false, "lstrip": false, "rstrip": true,
     "normalized": false, "special": false},
    {"id": 20, "content": "<pad>", "special": true}
  ],
  "normalizer": null,
  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
    {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]},
  "post_processor": null,
  "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
  "model": {"type": "BPE", "dropout": null, "unk_token": null, "fuse_unk": false, "byte_fallback": false,
    "vocab": {"a": 0, "b": 1, "c": 2, "Ġ": 3, "ab": 4, "abc": 5, "Ġa": 6, "Ġab": 7, "!": 8, "Ċ": 9},
    "merges": ["Ġ a", "a b", "ab c", ["Ġa", "b"]]}
})json";

const char* kTinyWordLevel = R"json({
  "added_tokens": [{"id": 9, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": false, "special": true}],
  "normalizer": null,
  "pre_tokenizer": {"type": "Whitespace"},
  "decoder": null,
  "model": {"type": "WordLevel", "unk_token": "[UNK]",
    "vocab": {"[UNK]": 0, "hello": 1, "world": 2, "!": 3, ",": 4, "naïve": 5, "x_y": 6, "\u0027": 7, "s": 8}}
})json"; // \u0027 is an apostrophe: a literal one inside a raw string confuses moc

} // namespace

class TestTokenizer : public QObject {
    Q_OBJECT

    std::optional<Tokenizer> gpt2_; // from vocab.json + merges.txt
    QByteArray gpt2_problem_;

    bool require_gpt2() {
        if (gpt2_) return true;
        QTest::qFail(gpt2_problem_.constData(), __FILE__, __LINE__);
        return false;
    }

    static Tokenizer load_json(const QTemporaryDir& dir, const std::string& text) {
        const fs::path path = fs::path(dir.path().toStdString()) / "tokenizer.json";
        write_file(path, text);
        return Tokenizer::from_tokenizer_json(path);
    }

  private Q_SLOTS:
    void initTestCase() {
        try {
            gpt2_ = Tokenizer::from_vocab_merges(kGpt2Dir / "vocab.json", kGpt2Dir / "merges.txt");
        } catch (const TokenizerError& e) {
            gpt2_problem_ = QByteArray("GPT-2 vocabulary not usable (") + e.what() +
                            "). Run scripts/fetch-test-data to fetch tests/data/gpt2-vocab.";
        }
    }

    void gpt2Encode_data() { add_gpt2_rows(); }
    void gpt2Encode() {
        QFETCH(QByteArray, text);
        QFETCH(QList<int>, ids);
        if (!require_gpt2()) return;
        QCOMPARE(qlist(gpt2_->encode(str(text))), ids);
    }

    void gpt2RoundTrip_data() { add_gpt2_rows(); }
    void gpt2RoundTrip() {
        QFETCH(QByteArray, text);
        QFETCH(QList<int>, ids);
        if (!require_gpt2()) return;
        QCOMPARE(QByteArray::fromStdString(gpt2_->decode(std::vector<int>(ids.begin(), ids.end()))), text);
        QCOMPARE(QByteArray::fromStdString(gpt2_->decode(gpt2_->encode(str(text)))), text);
    }

    void gpt2Vocabulary() {
        if (!require_gpt2()) return;
        const Tokenizer& t = *gpt2_;
        QCOMPARE(t.vocab_size(), 50257);
        QCOMPARE(t.model_type(), std::string("BPE"));
        QVERIFY(t.byte_level());
        QCOMPARE(t.token_text(673), std::string(" she"));
        QCOMPARE(t.token_string(673), std::string("Ġshe"));
        QCOMPARE(t.token_to_id("Ġshe"), std::optional<int>(673));
        QCOMPARE(t.token_to_id(" she"), std::optional<int>());
        QCOMPARE(t.token_text(198), std::string("\n"));
        QCOMPARE(t.token_text(kEndOfText), std::string("<|endoftext|>"));
        QVERIFY(t.is_special(kEndOfText));
        QVERIFY(!t.is_special(673));
        QCOMPARE(t.added_token_ids(), std::vector<int>{kEndOfText});
        QCOMPARE(t.encode_to_strings("Hello world"), (std::vector<std::string>{"Hello", "Ġworld"}));
        QVERIFY(!t.has_id(-1));
        QVERIFY(!t.has_id(50257));
        QVERIFY_THROWS_EXCEPTION(TokenizerError, t.token_text(50257));
        QVERIFY_THROWS_EXCEPTION(TokenizerError, t.decode({15496, 99999}));
    }

    void gpt2DecodeKeepsBytes() {
        if (!require_gpt2()) return;
        // "😀" is F0 9F 98 80; GPT-2 splits it across tokens: decoding a part gives raw, invalid bytes.
        const std::vector<int> ids = gpt2_->encode("😀");
        QVERIFY(ids.size() >= 2);
        std::string joined;
        for (int id : ids)
            joined += gpt2_->token_text(id);
        QCOMPARE(joined, std::string("😀"));
        QCOMPARE(gpt2_->token_text(ids.front()).substr(0, 1), std::string("\xF0"));
        // Invalid UTF-8 in the input survives the round trip too.
        const std::string bad = "ok\xFF\xFE then \xC3";
        QCOMPARE(gpt2_->decode(gpt2_->encode(bad)), bad);
    }

    void gpt2TokenizerJsonMatches_data() {
        QTest::addColumn<bool>("array_merges");
        QTest::addColumn<bool>("nfc");
        QTest::newRow("string merges (classic tokenizer.json)") << false << false;
        QTest::newRow("array merges (tokenizers >= 0.20)") << true << false;
        QTest::newRow("Pythia-style NFC normalizer") << false << true;
    }
    void gpt2TokenizerJsonMatches() {
        QFETCH(bool, array_merges);
        QFETCH(bool, nfc);
        if (!require_gpt2()) return;
        json j = gpt2_tokenizer_json(array_merges);
        if (nfc) j["normalizer"] = {{"type", "NFC"}};
        QTemporaryDir dir;
        const Tokenizer t = load_json(dir, j.dump());
        QCOMPARE(t.vocab_size(), gpt2_->vocab_size());
        QVERIFY(t.is_special(kEndOfText));
        std::vector<std::string> texts = random_texts(400);
        texts.push_back(read_file(test_paths::source_path() / "core/io/tokenizer.h"));
        for (const std::string& s : texts) {
            const std::string expected_input = nfc ? obsprop::io::detail::nfc(s) : s;
            QCOMPARE(qlist(t.encode(s)), qlist(gpt2_->encode(expected_input)));
        }
        if (nfc) QCOMPARE(qlist(t.encode("cafe\u0301")), (QList<int>{66, 1878, 2634})); // = "café"
    }

    void pythiaStyleAddedTokens() {
        if (!require_gpt2()) return;
        // GPT-NeoX adds runs of spaces as non-special, normalized tokens next to its NFC normalizer.
        json j = gpt2_tokenizer_json(false);
        j["normalizer"] = {{"type", "NFC"}};
        j["added_tokens"][0]["normalized"] = false;
        j["added_tokens"].push_back({{"id", 50257},
                                     {"content", "  "},
                                     {"single_word", false},
                                     {"lstrip", false},
                                     {"rstrip", false},
                                     {"normalized", true},
                                     {"special", false}});
        QTemporaryDir dir;
        const Tokenizer t = load_json(dir, j.dump());
        QCOMPARE(t.vocab_size(), 50258);
        QVERIFY(t.is_added(50257) && !t.is_special(50257));
        QCOMPARE(qlist(t.encode("a  b")), (QList<int>{64, 50257, 65}));
        QCOMPARE(qlist(t.encode("<|endoftext|>a   b")), (QList<int>{kEndOfText, 64, 50257, 275}));
        QCOMPARE(t.decode(t.encode("a  b")), std::string("a  b"));
    }

    void addPrefixSpace_data() {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QList<int>>("ids");
        // node: encode(" Hello world") = [18435, 995], encode(" So, Mary") = [1406, 11, 5335]
        QTest::newRow("prefix added") << QByteArray("Hello world") << QList<int>{18435, 995};
        QTest::newRow("already starts with a space") << QByteArray(" Hello world") << QList<int>{18435, 995};
        QTest::newRow("prefix added after an added token")
            << QByteArray("<|endoftext|>So, Mary") << QList<int>{kEndOfText, 1406, 11, 5335};
        QTest::newRow("empty") << QByteArray() << QList<int>{};
    }
    void addPrefixSpace() {
        QFETCH(QByteArray, text);
        QFETCH(QList<int>, ids);
        if (!require_gpt2()) return;
        json j = gpt2_tokenizer_json(false);
        j["pre_tokenizer"] = {
            {"type", "Sequence"},
            {"pretokenizers", json::array({{{"type", "ByteLevel"}, {"add_prefix_space", true}}})}};
        QTemporaryDir dir;
        const Tokenizer t = load_json(dir, j.dump());
        QCOMPARE(qlist(t.encode(str(text))), ids);
    }

    void preTokenize_data() {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QStringList>("pieces");
        const auto row = [](const char* name, const char* text, QStringList pieces) {
            QTest::newRow(name) << QByteArray(text) << pieces;
        };
        row("runs of spaces keep one for the next word", "Hello  world\n\n",
            {"Hello", " ", " world", "\n\n"});
        row("contractions", "I'm here's", {"I", "'m", " here", "'s"});
        row("space joins digits", " 42abc", {" 42", "abc"});
        row("space and tab before a word", "a \tb", {"a", " ", "\t", "b"});
        row("combining mark is not a letter", "e\u0301t", {"e", "\u0301", "t"});
        row("no-break space is not absorbed", "a\u00a0b", {"a", "\u00a0", "b"});
        row("U+0085 is White_Space", "a\u0085\u0085b", {"a", "\u0085", "\u0085", "b"});
        row("U+FEFF is not White_Space", "a\ufeff\ufeffb", {"a", "\ufeff\ufeff", "b"});
        row("letter and other numbers", "Ⅳ½ x", {"Ⅳ½", " x"});
        row("added token kept whole", "x<|endoftext|>y", {"x", "<|endoftext|>", "y"});
        row("symbols after a space", " ?!'s", {" ?!'", "s"});
    }
    void preTokenize() {
        QFETCH(QByteArray, text);
        QFETCH(QStringList, pieces);
        if (!require_gpt2()) return;
        QStringList got;
        for (const std::string& p : gpt2_->pre_tokenize(str(text)))
            got << QString::fromStdString(p);
        QCOMPARE(got, pieces);
    }

    void nfc_data() {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QByteArray>("expected");
        // Expectations from Python: unicodedata.normalize("NFC", input).
        QTest::newRow("ascii unchanged") << QByteArray("plain text") << QByteArray("plain text");
        QTest::newRow("precomposed unchanged")
            << QByteArray("café Straße 日本") << QByteArray("café Straße 日本");
        QTest::newRow("e + combining acute") << QByteArray("e\u0301") << QByteArray("\u00e9");
        QTest::newRow("hangul jamo") << QByteArray("\u1100\u1161\u11a8") << QByteArray("\uac01");
        QTest::newRow("angstrom sign (singleton)") << QByteArray("\u212b") << QByteArray("\u00c5");
        QTest::newRow("marks reordered") << QByteArray("a\u0307\u0323") << QByteArray("\u1ea1\u0307");
        QTest::newRow("marks in order") << QByteArray("a\u0323\u0307") << QByteArray("\u1ea1\u0307");
        QTest::newRow("composition exclusion") << QByteArray("\u0958") << QByteArray("\u0915\u093c");
        QTest::newRow("two-step composition") << QByteArray("\u00c5\u0301") << QByteArray("\u01fa");
        QTest::newRow("blocked mark")
            << QByteArray("Ka\u0308\u0301\u0327") << QByteArray("K\u00e4\u0327\u0301");
        QTest::newRow("non-starter decomposition") << QByteArray("\u0344") << QByteArray("\u0308\u0301");
        QTest::newRow("invalid byte kept, blocks composition") << QByteArray("a\xff"
                                                                             "\u0301")
                                                               << QByteArray("a\xff"
                                                                             "\u0301");
    }
    void nfc() {
        QFETCH(QByteArray, input);
        QFETCH(QByteArray, expected);
        QCOMPARE(QByteArray::fromStdString(obsprop::io::detail::nfc(str(input))), expected);
    }

    void tinyBpe_data() {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QList<int>>("ids");
        QTest::newRow("merges in rank order: abc") << QByteArray("abc") << QList<int>{5};
        QTest::newRow("lower rank wins: space abc") << QByteArray(" abc") << QList<int>{7, 2};
        QTest::newRow("chained merges: space ab") << QByteArray(" ab") << QList<int>{7};
        QTest::newRow("partial merge: space ac") << QByteArray(" ac") << QList<int>{6, 2};
        QTest::newRow("merge on the right: aab") << QByteArray("aab") << QList<int>{0, 4};
        QTest::newRow("special token inside a word") << QByteArray("ab<sep>c") << QList<int>{4, 10, 2};
        QTest::newRow("adjacent special tokens") << QByteArray("<sep><sep>") << QList<int>{10, 10};
        QTest::newRow("special token between spaces")
            << QByteArray("a <sep> b") << QList<int>{0, 3, 10, 3, 1};
        QTest::newRow("single_word token standing alone")
            << QByteArray("a ba b") << QList<int>{0, 3, 11, 3, 1};
        QTest::newRow("single_word token inside a word is text") << QByteArray("abab") << QList<int>{4, 4};
        QTest::newRow("single_word token before punctuation") << QByteArray("ba!") << QList<int>{11, 8};
        QTest::newRow("lstrip takes the spaces before") << QByteArray("a  <L>b") << QList<int>{0, 12, 1};
        QTest::newRow("rstrip takes the spaces after") << QByteArray("a<R>  b") << QList<int>{0, 13, 1};
        QTest::newRow("newline") << QByteArray("a\nb") << QList<int>{0, 9, 1};
        QTest::newRow("unknown bytes dropped without unk_token") << QByteArray("a?b") << QList<int>{0, 1};
    }
    void tinyBpe() {
        QFETCH(QByteArray, text);
        QFETCH(QList<int>, ids);
        QTemporaryDir dir;
        QCOMPARE(qlist(load_json(dir, kTinyBpe).encode(str(text))), ids);
    }

    void tinyBpeVocabulary() {
        QTemporaryDir dir;
        const Tokenizer t = load_json(dir, kTinyBpe);
        QCOMPARE(t.vocab_size(), 21);
        QVERIFY(!t.has_id(15));
        QVERIFY_THROWS_EXCEPTION(TokenizerError, t.token_string(15));
        QVERIFY(t.is_special(10) && t.is_special(20));
        QVERIFY(!t.is_special(11) && t.is_added(11) && !t.is_added(4));
        QCOMPARE(t.added_token_ids(), (std::vector<int>{10, 11, 12, 13, 20}));
        QCOMPARE(t.token_to_id("<sep>"), std::optional<int>(10));
        QCOMPARE(t.token_to_id("Ġab"), std::optional<int>(7));
        QCOMPARE(t.token_to_id("zzz"), std::optional<int>());
        QCOMPARE(t.token_text(7), std::string(" ab"));
        QCOMPARE(t.token_string(7), std::string("Ġab"));
        QCOMPARE(t.decode({0, 3, 10, 3, 1}), std::string("a <sep> b"));
        QCOMPARE(t.decode({7, 2, 9, 20}), std::string(" abc\n<pad>"));
    }

    void wordLevel_data() {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QList<int>>("ids");
        QTest::newRow("words and punctuation") << QByteArray("hello, world!") << QList<int>{1, 4, 2, 3};
        QTest::newRow("unknown word") << QByteArray("hello there") << QList<int>{1, 0};
        QTest::newRow("apostrophe splits a word") << QByteArray("world's") << QList<int>{2, 7, 8};
        QTest::newRow("punctuation run is one piece") << QByteArray("hello!!") << QList<int>{1, 0};
        QTest::newRow("unicode letters are word characters") << QByteArray("naïve") << QList<int>{5};
        QTest::newRow("underscore is a word character") << QByteArray("x_y") << QList<int>{6};
        QTest::newRow("whitespace dropped") << QByteArray("  hello\t\nworld  ") << QList<int>{1, 2};
        QTest::newRow("special token") << QByteArray("hello[SEP]world") << QList<int>{1, 9, 2};
        QTest::newRow("empty") << QByteArray("") << QList<int>{};
    }
    void wordLevel() {
        QFETCH(QByteArray, text);
        QFETCH(QList<int>, ids);
        QTemporaryDir dir;
        QCOMPARE(qlist(load_json(dir, kTinyWordLevel).encode(str(text))), ids);
    }

    void wordLevelDetails() {
        QTemporaryDir dir;
        const Tokenizer t = load_json(dir, kTinyWordLevel);
        QCOMPARE(t.model_type(), std::string("WordLevel"));
        QVERIFY(!t.byte_level());
        QCOMPARE(t.vocab_size(), 10);
        QCOMPARE(t.decode({1, 4, 2, 3}), std::string("hello , world !")); // null decoder: joined by spaces
        QCOMPARE(t.token_text(5), std::string("naïve"));
        QVERIFY(t.is_special(9));
        // WhitespaceSplit keeps punctuation attached.
        json j = json::parse(kTinyWordLevel);
        j["pre_tokenizer"] = {{"type", "WhitespaceSplit"}};
        const Tokenizer ws = load_json(dir, j.dump());
        QCOMPARE(qlist(ws.encode("hello world's\tx_y")), (QList<int>{1, 0, 6}));
        // Without a usable unk_token an unknown word is an error, not a silent drop.
        j["model"]["unk_token"] = "<missing>";
        const Tokenizer strict = load_json(dir, j.dump());
        QCOMPARE(qlist(strict.encode("hello")), (QList<int>{1}));
        QVERIFY_THROWS_EXCEPTION(TokenizerError, strict.encode("hello there"));
    }

    void loadErrors_data() {
        QTest::addColumn<QByteArray>("content"); // empty: the file is not created
        QTest::addColumn<QString>("message");
        const auto bpe = [](const char* model_fields) {
            return QByteArray(R"({"model": {"type": "BPE", )") + model_fields + "}}";
        };
        QTest::newRow("missing file") << QByteArray() << QString("file not found");
        QTest::newRow("invalid JSON") << QByteArray(R"({"model": )") << QString("invalid JSON");
        QTest::newRow("top level is not an object")
            << QByteArray("[1, 2]") << QString("not a tokenizer.json");
        QTest::newRow("no model section") << QByteArray("{}") << QString(R"(no "model" section)");
        QTest::newRow("unknown model type") << QByteArray(R"({"model": {"type": "Unigram", "vocab": []}})")
                                            << QString(R"(unsupported model type "Unigram")");
        QTest::newRow("BPE without vocab")
            << bpe(R"("merges": [])") << QString(R"(BPE model has no "vocab")");
        QTest::newRow("BPE without merges")
            << bpe(R"("vocab": {"a": 0})") << QString(R"(BPE model has no "merges")");
        QTest::newRow("WordLevel without vocab") << QByteArray(R"({"model": {"type": "WordLevel"}})")
                                                 << QString(R"(WordLevel model has no "vocab")");
        QTest::newRow("vocab id not a number") << bpe(R"("vocab": {"a": "x"}, "merges": [])")
                                               << QString(R"(vocabulary entry "a" has an invalid id)");
        QTest::newRow("merge of an unknown token") << bpe(R"("vocab": {"a": 0, "ab": 1}, "merges": ["a b"])")
                                                   << QString(R"("b" is not in the vocabulary)");
        QTest::newRow("merged token not in vocab") << bpe(R"("vocab": {"a": 0, "b": 1}, "merges": ["a b"])")
                                                   << QString(R"("ab" is not in the vocabulary)");
        QTest::newRow("malformed merge") << bpe(R"("vocab": {"a": 0}, "merges": ["abc"])")
                                         << QString("is not two tokens separated by a space");
        QTest::newRow("dropout") << bpe(R"("vocab": {}, "merges": [], "dropout": 0.1)")
                                 << QString("BPE dropout 0.1 is not supported");
        QTest::newRow("unsupported normalizer")
            << QByteArray(R"({"normalizer": {"type": "BertNormalizer"}, "model": {"type": "BPE", "vocab": {},
                             "merges": []}})")
            << QString(R"(unsupported normalizer type "BertNormalizer")");
        QTest::newRow("unsupported pre_tokenizer")
            << QByteArray(
                   R"({"pre_tokenizer": {"type": "UnicodeScripts"}, "model": {"type": "BPE", "vocab": {},
                             "merges": []}})")
            << QString(R"(unsupported pre_tokenizer type "UnicodeScripts")");
        QTest::newRow("pre_tokenizer after ByteLevel")
            << QByteArray(R"({"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "ByteLevel"},
                             {"type": "Whitespace"}]}, "model": {"type": "BPE", "vocab": {}, "merges": []}})")
            << QString("ByteLevel must come last");
        QTest::newRow("unsupported decoder")
            << QByteArray(R"({"decoder": {"type": "WordPiece"}, "model": {"type": "BPE", "vocab": {},
                             "merges": []}})")
            << QString(R"(unsupported decoder type "WordPiece")");
        QTest::newRow("added token without content")
            << QByteArray(
                   R"({"added_tokens": [{"id": 3}], "model": {"type": "BPE", "vocab": {}, "merges": []}})")
            << QString(R"(added_tokens[0] has no "content" string)");
        // Hostile files: nesting, numbers and ids that used to overflow the stack, escape as
        // json::out_of_range or allocate gigabytes.
        const QByteArray deep = QByteArray(100000, '[') + QByteArray(100000, ']');
        const QString too_deep = QString("invalid JSON: JSON nested more than 64 levels deep");
        QTest::newRow("vocab id nested 100000 deep")
            << bpe(R"("vocab": {"a": )" + deep + R"(}, "merges": [])") << too_deep;
        QTest::newRow("merge nested 100000 deep")
            << bpe(R"("vocab": {"a": 0}, "merges": [)" + deep + "]") << too_deep;
        const QByteArray seq = QByteArray(R"({"type": "Sequence", "normalizers": [)").repeated(50000) +
                               "null" + QByteArray("]}").repeated(50000);
        QTest::newRow("Sequence normalizers nested 50000 deep")
            << QByteArray(R"({"model": {"type": "BPE", "vocab": {}, "merges": []}, "normalizer": )" + seq +
                          "}")
            << too_deep;
        QTest::newRow("vocab id too large for a double")
            << bpe(R"("vocab": {"a": 1e999}, "merges": [])")
            << QString("invalid JSON: [json.exception.out_of_range.406] number overflow parsing '1e999'");
        QTest::newRow("vocab id nested 40 deep: quoted briefly")
            << bpe(R"("vocab": {"a": )" + QByteArray(40, '[') + "1" + QByteArray(40, ']') +
                   R"(}, "merges": [])")
            << QString(R"(vocabulary entry "a" has an invalid id )") + QString(40, '[') + "1" +
                   QString(36, ']') + "...";
        QTest::newRow("vocab id 2e8 among 3 tokens")
            << bpe(R"("vocab": {"a": 0, "b": 1, "ab": 200000000}, "merges": [])")
            << QString(R"(vocabulary entry "ab" has id 200000000, far beyond the 3 tokens the file defines )"
                       "(ids below 262150 are accepted)");
        QTest::newRow("added token id 2^30")
            << QByteArray(R"({"added_tokens": [{"id": 1073741824, "content": "<x>"}], "model": {"type": "BPE",
                             "vocab": {"a": 0}, "merges": []}})")
            << QString(R"(added token "<x>" has id 1073741824, far beyond the 2 tokens the file defines)");
        QTest::newRow("vocab id 2^64 - 1")
            << bpe(R"("vocab": {"a": 18446744073709551615}, "merges": [])")
            << QString(R"(vocabulary entry "a" has an invalid id 18446744073709551615)");
        QTest::newRow("empty vocabulary (found by fuzzing)")
            << QByteArray(R"({"model": {"vocab": {}, "unk": "[UNC]"}})")
            << QString("the tokenizer defines no tokens (an empty vocabulary)");
        QTest::newRow("tokenizer.json is a FIFO (must not block)")
            << QByteArray("fifo") << QString("not a regular file (a FIFO)");
    }
    void loadErrors() {
        QFETCH(QByteArray, content);
        QFETCH(QString, message);
        QTemporaryDir dir;
        const fs::path path = fs::path(dir.path().toStdString()) / "tokenizer.json";
        if (content == "fifo")
            QCOMPARE(::mkfifo(path.c_str(), 0600), 0);
        else if (!content.isEmpty())
            write_file(path, str(content));
        try {
            Tokenizer::from_tokenizer_json(path);
            QFAIL("no TokenizerError thrown");
        } catch (const TokenizerError& e) {
            const QString what = QString::fromUtf8(e.what());
            QVERIFY2(what.contains(QString::fromStdString(path.string())),
                     qPrintable("no file name in: " + what));
            QVERIFY2(what.contains(message), qPrintable("unexpected message: " + what));
        }
    }

    // vocab.json + merges.txt get the same guards: regular files only, ids bounded before tables are sized.
    void hostileVocabMerges() {
        QTemporaryDir dir;
        const fs::path root(dir.path().toStdString()), vocab = root / "vocab.json",
                                                       merges = root / "merges.txt";
        const auto expect_error = [&](const QString& message) {
            QElapsedTimer timer;
            timer.start();
            try {
                Tokenizer::from_vocab_merges(vocab, merges);
                QFAIL("no TokenizerError thrown");
            } catch (const TokenizerError& e) {
                QCOMPARE(QString::fromUtf8(e.what()), message);
            }
            QVERIFY(timer.elapsed() < 2000);
        };
        QCOMPARE(::mkfifo(vocab.c_str(), 0600), 0);
        write_file(merges, "a b\n");
        expect_error(QString::fromStdString(vocab.string()) + ": not a regular file (a FIFO)");
        fs::remove(vocab);
        write_file(vocab, R"({"a": 0, "b": 1, "ab": 2})");
        fs::remove(merges);
        QCOMPARE(::mkfifo(merges.c_str(), 0600), 0);
        expect_error(QString::fromStdString(merges.string()) + ": not a regular file (a FIFO)");
        fs::remove(merges);
        write_file(merges, "a b\n");
        // An id of 2e8 in a tiny vocabulary used to allocate three tables of 2e8 entries (12.5 GB).
        write_file(vocab, R"({"a": 0, "b": 1, "ab": 200000000})");
        rusage before{};
        getrusage(RUSAGE_SELF, &before);
        expect_error(QString::fromStdString(vocab.string()) +
                     R"(: vocabulary entry "ab" has id 200000000, far beyond the 3 tokens the file defines )"
                     "(ids below 262150 are accepted)");
        rusage after{};
        getrusage(RUSAGE_SELF, &after);
        QVERIFY(after.ru_maxrss - before.ru_maxrss < 200 * 1024);
        // No tokens at all.
        write_file(vocab, "{}");
        expect_error(QString::fromStdString(vocab.string()) + ": the vocabulary is empty");
    }

    void fromDirectory() {
        QTemporaryDir dir;
        const fs::path root(dir.path().toStdString());
        const auto expect_error = [](const fs::path& d, const QString& part) {
            try {
                Tokenizer::from_directory(d);
                QFAIL("no TokenizerError thrown");
            } catch (const TokenizerError& e) {
                QVERIFY2(QString::fromUtf8(e.what()).contains(part), e.what());
            }
        };
        expect_error(root / "absent", "tokenizer directory not found");
        expect_error(root, "no tokenizer found: expected tokenizer.json, or vocab.json and merges.txt");

        write_file(root / "vocab.json", R"({"a": 0, "b": 1, "ab": 2, "<|endoftext|>": 3})");
        expect_error(root, "merges.txt");
        write_file(root / "merges.txt", "#version: 0.2\na b\nab\n");
        expect_error(root, "line 3 is not two tokens");
        write_file(root / "merges.txt", "#version: 0.2\r\na b\r\n");
        const Tokenizer vm = Tokenizer::from_directory(root);
        QCOMPARE(vm.source(), root / "vocab.json");
        QCOMPARE(qlist(vm.encode("ab<|endoftext|>ba")), (QList<int>{2, 3, 1, 0}));
        QVERIFY(vm.is_special(3));

        // tokenizer.json wins when both are present.
        write_file(root / "tokenizer.json", kTinyWordLevel);
        const Tokenizer tj = Tokenizer::from_directory(root);
        QCOMPARE(tj.model_type(), std::string("WordLevel"));
        QCOMPARE(tj.source(), root / "tokenizer.json");
    }

    void longInputs() {
        if (!require_gpt2()) return;
        // A long single word (one pre-token, no cache) must not take quadratic time.
        QElapsedTimer timer;
        timer.start();
        const std::string word(100000, 'a');
        const std::vector<int> ids = gpt2_->encode(word);
        const std::optional<int> aaaa = gpt2_->token_to_id("aaaa");
        QVERIFY(aaaa.has_value());
        QCOMPARE(ids, std::vector<int>(25000, *aaaa));
        QCOMPARE(gpt2_->decode(ids), word);
        for (const std::string& s :
             {std::string(100000, ' '), std::string(50000, '!') + "?", std::string(20000, '\n')})
            QCOMPARE(gpt2_->decode(gpt2_->encode(s)), s);
        // About a megabyte of ordinary text.
        std::string text;
        const std::string source = read_file(test_paths::source_path() / "core/io/tokenizer.cpp");
        while (text.size() < (1u << 20))
            text += source;
        const std::vector<int> text_ids = gpt2_->encode(text);
        QCOMPARE(gpt2_->decode(text_ids), text);
        qInfo("long inputs: %lld ms for ~1.5 MB (%zu tokens for the text)",
              static_cast<long long>(timer.elapsed()), text_ids.size());
        QVERIFY2(timer.elapsed() < 20000, "encoding long inputs is far too slow");
    }

    void concurrentEncode() {
        if (!require_gpt2()) return;
        const std::vector<std::string> texts = random_texts(300);
        std::vector<std::vector<int>> expected;
        for (const std::string& s : texts)
            expected.push_back(gpt2_->encode(s));
        // A fresh copy starts with an empty cache; two threads fill it at once.
        json j = gpt2_tokenizer_json(false);
        QTemporaryDir dir;
        const Tokenizer t = load_json(dir, j.dump());
        std::atomic<int> mismatches{0};
        const auto work = [&](int offset) {
            for (int round = 0; round < 3; ++round)
                for (std::size_t i = 0; i < texts.size(); ++i) {
                    const std::size_t k = (i + static_cast<std::size_t>(offset)) % texts.size();
                    if (t.encode(texts[k]) != expected[k]) ++mismatches;
                }
        };
        std::thread a(work, 0), b(work, 150);
        a.join();
        b.join();
        QCOMPARE(mismatches.load(), 0);
    }
};

QTEST_GUILESS_MAIN(TestTokenizer)
#include "tst_tokenizer.moc"
