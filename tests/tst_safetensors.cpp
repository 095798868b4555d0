// safetensors reader/writer, f16/bf16 conversions and hostile files.
#include "safetensors_test_util.h"

#include <QElapsedTimer>

class TestSafetensors : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    int counter_ = 0;
    fs::path fresh(const char* stem) {
        return fs::path(tmp_.path().toStdString()) / (std::string(stem) + std::to_string(++counter_));
    }

  private Q_SLOTS:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    void dtypeNames() {
        const std::pair<const char*, int> all[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2},
                                                   {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
                                                   {"U8", 1},  {"BOOL", 1}};
        for (const auto& [name, size] : all) {
            DType t{};
            QVERIFY(io::parse_dtype(name, t));
            QCOMPARE(QString(io::dtype_name(t)), QString(name));
            QCOMPARE(int(io::dtype_size(t)), size);
            QVERIFY(!io::parse_dtype(QString(name).toLower().toStdString(), t)); // case-sensitive
        }
    }

    // --------------------------------------------------------------------------------- conversions

    void halfBits_data() {
        QTest::addColumn<DType>("storage");
        QTest::addColumn<float>("value");
        QTest::addColumn<quint16>("bits");
        QTest::addColumn<float>("decoded");
        const float sub = std::ldexp(1.0f, -24);
        const DType F16 = DType::F16, BF16 = DType::BF16;
        auto row = [](DType t, const char* n, float v, quint16 b, float d) {
            QTest::newRow(n) << t << v << b << d;
        };
        row(F16, "f16: one", 1.0f, 0x3c00, 1.0f);
        row(F16, "f16: minus two", -2.0f, 0xc000, -2.0f);
        row(F16, "f16: largest finite 65504", 65504.0f, 0x7bff, 65504.0f);
        row(F16, "f16: 65519 rounds down to 65504", 65519.0f, 0x7bff, 65504.0f);
        row(F16, "f16: 65520 ties up to inf", 65520.0f, 0x7c00, kInf);
        row(F16, "f16: -1e10 overflows to -inf", -1e10f, 0xfc00, -kInf);
        row(F16, "f16: smallest subnormal 2^-24", sub, 0x0001, sub);
        row(F16, "f16: 2^-25 ties to zero (even)", std::ldexp(1.0f, -25), 0x0000, 0.0f);
        row(F16, "f16: just above 2^-25 rounds up", std::nextafter(std::ldexp(1.0f, -25), 1.0f), 0x0001, sub);
        row(F16, "f16: 1.5 * 2^-24 ties up to even", 1.5f * sub, 0x0002, 2 * sub);
        row(F16, "f16: 2.5 * 2^-24 ties down to even", 2.5f * sub, 0x0002, 2 * sub);
        row(F16, "f16: largest subnormal", 1023 * sub, 0x03ff, 1023 * sub);
        row(F16, "f16: 1023.5 * 2^-24 rounds into smallest normal", 1023.5f * sub, 0x0400,
            std::ldexp(1.0f, -14));
        row(F16, "f16: smallest normal 2^-14", std::ldexp(1.0f, -14), 0x0400, std::ldexp(1.0f, -14));
        row(F16, "f16: 1 + 2^-11 ties down to 1", 1.0f + std::ldexp(1.0f, -11), 0x3c00, 1.0f);
        row(F16, "f16: 1 + 3 * 2^-11 ties up", 1.0f + 3 * std::ldexp(1.0f, -11), 0x3c02,
            1.0f + std::ldexp(1.0f, -9));
        row(F16, "f16: just above a tie rounds up", 1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20),
            0x3c01, 1.0f + std::ldexp(1.0f, -10));
        row(F16, "f16: one third", 1.0f / 3.0f, 0x3555, 0.333251953125f);
        row(F16, "f16: 1e-10 underflows to zero", 1e-10f, 0x0000, 0.0f);
        row(F16, "f16: plus inf", kInf, 0x7c00, kInf);
        row(F16, "f16: minus inf", -kInf, 0xfc00, -kInf);
        row(F16, "f16: negative zero", -0.0f, 0x8000, -0.0f);
        row(F16, "f16: NaN stays quiet NaN", kNaN, 0x7e00, kNaN);
        row(F16, "f16: negative NaN keeps its sign", -kNaN, 0xfe00, -kNaN);
        row(F16, "f16: signalling NaN with low payload becomes quiet, not inf",
            std::bit_cast<float>(0x7f800001u), 0x7e00, kNaN);
        row(BF16, "bf16: one", 1.0f, 0x3f80, 1.0f);
        row(BF16, "bf16: minus two", -2.0f, 0xc000, -2.0f);
        row(BF16, "bf16: pi truncates", 3.14159265f, 0x4049, 3.140625f);
        row(BF16, "bf16: 1 + 2^-8 ties down to 1", 1.0f + std::ldexp(1.0f, -8), 0x3f80, 1.0f);
        row(BF16, "bf16: 1 + 3 * 2^-8 ties up", 1.0f + 3 * std::ldexp(1.0f, -8), 0x3f82,
            1.0f + std::ldexp(1.0f, -6));
        row(BF16, "bf16: just above a tie rounds up", 1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20),
            0x3f81, 1.0f + std::ldexp(1.0f, -7));
        row(BF16, "bf16: 65504 rounds to 65536", 65504.0f, 0x4780, 65536.0f);
        row(BF16, "bf16: largest finite", std::bit_cast<float>(0x7f7f0000u), 0x7f7f,
            std::bit_cast<float>(0x7f7f0000u));
        row(BF16, "bf16: FLT_MAX rounds to inf", std::numeric_limits<float>::max(), 0x7f80, kInf);
        row(BF16, "bf16: smallest subnormal 2^-133", std::ldexp(1.0f, -133), 0x0001, std::ldexp(1.0f, -133));
        row(BF16, "bf16: float denorm_min rounds to zero", std::numeric_limits<float>::denorm_min(), 0x0000,
            0.0f);
        row(BF16, "bf16: plus inf", kInf, 0x7f80, kInf);
        row(BF16, "bf16: minus inf", -kInf, 0xff80, -kInf);
        row(BF16, "bf16: negative zero", -0.0f, 0x8000, -0.0f);
        row(BF16, "bf16: NaN stays quiet NaN", kNaN, 0x7fc0, kNaN);
        row(BF16, "bf16: negative NaN keeps its sign", -kNaN, 0xffc0, -kNaN);
        row(BF16, "bf16: signalling NaN with low payload becomes quiet, not inf",
            std::bit_cast<float>(0x7f800001u), 0x7fc0, kNaN);
    }
    void halfBits() {
        QFETCH(DType, storage);
        QFETCH(float, value);
        QFETCH(quint16, bits);
        QFETCH(float, decoded);
        const bool f16 = storage == DType::F16;
        QCOMPARE(f16 ? io::f32_to_f16(value) : io::f32_to_bf16(value), bits);
        QVERIFY(same_bits(f16 ? io::f16_to_f32(bits) : io::bf16_to_f32(bits), decoded));
        QVERIFY(same_bits(io::round_to_storage(value, storage), decoded));
    }

    void nanAndBadStorage() {
        QVERIFY(std::isnan(io::f16_to_f32(0x7c01))); // NaN with the smallest payload is not inf
        QVERIFY(std::signbit(io::f16_to_f32(0xfe00)) && std::isnan(io::bf16_to_f32(0xffc1)));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, io::round_to_storage(1.0f, DType::I32));
    }

    void f16ExhaustiveRoundTrip() {
        // Every finite half decodes to a float that encodes back to the same bits.
        for (std::uint32_t h = 0; h < 0x10000; ++h) {
            if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue; // NaN payloads are only kept quiet
            QCOMPARE(io::f32_to_f16(io::f16_to_f32(std::uint16_t(h))), std::uint16_t(h));
        }
    }

    // ------------------------------------------------------------------------------ write and read

    void roundTrip_data() {
        QTest::addColumn<DType>("storage");
        QTest::newRow("F32") << DType::F32;
        QTest::newRow("F16") << DType::F16;
        QTest::newRow("BF16") << DType::BF16;
    }
    void roundTrip() {
        QFETCH(DType, storage);
        std::vector<std::pair<std::string, io::HostTensor>> ts;
        ts.push_back({"special",
                      {{2, 7},
                       {1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24), kInf, -kInf, kNaN, 0.0f, -0.0f, 1e-8f,
                        1.0f / 3.0f, 70000.0f, 1.0f + std::ldexp(1.0f, -11), -3.14159265f}}});
        io::HostTensor m{{7, 13}, {}};
        for (int i = 0; i < 91; ++i)
            m.values.push_back(std::sin(0.37f * i) * float(i));
        ts.push_back({"layer.0.matrix", m});
        ts.push_back({"scalar", {{}, {42.5f}}});
        ts.push_back({"empty", {{0, 5}, {}}});
        ts.push_back({"odd", {{3}, {0.1f, 0.2f, 0.3f}}});
        const fs::path p = fresh("roundtrip") += ".safetensors";
        io::write_safetensors(p, ts, storage, {{"format", "pt"}, {"note", "round trip"}});
        QVERIFY(!fs::exists(p.string() + ".tmp"));

        auto f = io::SafetensorsFile::open(p);
        QCOMPARE(f->metadata().at("format"), std::string("pt"));
        QCOMPARE(f->metadata().at("note"), std::string("round trip"));
        QCOMPARE(f->names(),
                 (std::vector<std::string>{"empty", "layer.0.matrix", "odd", "scalar", "special"}));
        for (const auto& [name, t] : ts) {
            const auto& v = f->get(name);
            QCOMPARE(v.dtype, storage);
            QCOMPARE(v.shape, t.shape);
            QCOMPARE(v.nbytes, t.values.size() * io::dtype_size(storage));
            QCOMPARE(v.file, p);
            const auto got = decode(v);
            for (std::size_t i = 0; i < got.size(); ++i) {
                if (!same_bits(got[i], io::round_to_storage(t.values[i], storage)))
                    QFAIL(qPrintable(QString("%1[%2]: %3").arg(name.c_str()).arg(i).arg(got[i])));
            }
        }
        QCOMPARE(f->get("scalar").numel(), 1);
        QCOMPARE(f->get("empty").numel(), 0);
    }

    void headerLayout() {
        const fs::path p = fresh("layout") += ".safetensors";
        io::write_safetensors(p, {{"zeta", {{1}, {1}}}, {"alpha", {{2}, {1, 2}}}, {"mid", {{3}, {1, 2, 3}}}},
                              DType::F32, {{"format", "pt"}});
        const QByteArray bytes = read_all(p);
        quint64 n = 0;
        for (int i = 7; i >= 0; --i)
            n = (n << 8) | quint8(bytes[i]);
        QCOMPARE(n % 8, quint64(0)); // data buffer 8-byte aligned, as HF writes it
        QCOMPARE(quint64(bytes.size()), 8 + n + 24);
        const QByteArray header = bytes.mid(8, int(n));
        QVERIFY(header.trimmed().endsWith('}'));
        QVERIFY(header.endsWith(' ') || header.endsWith('}'));
        // Tensors in the order given, back to back from offset 0.
        QVERIFY(header.indexOf("\"zeta\"") < header.indexOf("\"alpha\""));
        QVERIFY(header.indexOf("\"alpha\"") < header.indexOf("\"mid\""));
        const json h = json::parse(header.toStdString());
        QCOMPARE(h["zeta"]["data_offsets"], json::array({0, 4}));
        QCOMPARE(h["alpha"]["data_offsets"], json::array({4, 12}));
        QCOMPARE(h["mid"]["data_offsets"], json::array({12, 24}));
        QCOMPARE(h["__metadata__"]["format"], "pt");
        const fs::path again = fresh("layout") += ".safetensors"; // deterministic
        io::write_safetensors(again,
                              {{"zeta", {{1}, {1}}}, {"alpha", {{2}, {1, 2}}}, {"mid", {{3}, {1, 2, 3}}}},
                              DType::F32, {{"format", "pt"}});
        QCOMPARE(read_all(again), bytes);
    }

    void writerRejects_data() {
        QTest::addColumn<WriteFn>("write");
        const io::HostTensor t{{2}, {1, 2}};
        auto row = [](const char* n, WriteFn f) { QTest::newRow(n) << f; };
        row("storage I32", [=](auto& p) { io::write_safetensors(p, {{"a", t}}, DType::I32); });
        row("too few values for the shape", [](auto& p) {
            io::write_safetensors(p, {{"a", {{3}, {1, 2}}}}, DType::F32);
        });
        row("same name twice", [=](auto& p) { io::write_safetensors(p, {{"a", t}, {"a", t}}, DType::F32); });
        row("tensor named __metadata__", [=](auto& p) {
            io::write_safetensors(p, {{"__metadata__", t}}, DType::F32);
        });
        row("negative dimension", [](auto& p) { io::write_safetensors(p, {{"a", {{-2}, {}}}}, DType::F32); });
        auto stream = [](DType dt, std::size_t n) {
            return [=](const fs::path& p) {
                const float vals[4] = {1, 300, 0, 0};
                io::SafetensorsWriter w(p, {{"m", {2}, dt}});
                w.append(vals, n);
                w.finish();
            };
        };
        row("streaming: U8 value 300", stream(DType::U8, 2));
        row("streaming: finish before all values", stream(DType::F32, 1));
        row("streaming: more values than tensors", stream(DType::F32, 4));
    }
    void writerRejects() {
        QFETCH(WriteFn, write);
        const fs::path p = fresh("reject") += ".safetensors";
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, write(p));
        QVERIFY(!fs::exists(p));
        QVERIFY(!fs::exists(p.string() + ".tmp"));
    }

    // ------------------------------------------------------------------------ hostile single files

    void corruptFile_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("message");
        const QByteArray f32x4 = R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
        auto row = [](const char* n, const QByteArray& b, const char* m) {
            QTest::newRow(n) << b << QString(m);
        };
        row("sanity: a valid file opens", raw_file(f32x4, 16), "");
        row("empty file", QByteArray(), "file is empty");
        row("truncated: 5 bytes", QByteArray(5, '\x01'),
            "file is only 5 bytes, shorter than the 8-byte header length");
        row("header length past end of file", raw_file("{}", 0, 100),
            "header length 100 runs past the end of the file");
        row("header length 2^63", raw_file("{}", 0, qint64(1) << 62).replace(7, 1, "\x80"),
            "header length 9223372036854775808 is absurd");
        row("header length just over 100 MB", raw_file("{}", 0, 100000001), "is absurd (more than 100 MB)");
        row("header is not JSON", raw_file(R"({"w": {"dtype": )", 0), "header is not valid JSON");
        row("header has invalid UTF-8", raw_file("{\"\xff\xfe\":1}", 0), "header is not valid JSON");
        row("header is a JSON array", raw_file("[1, 2, 3]", 0),
            "header is not a JSON object (it is an array)");
        row("header is null", raw_file("null    ", 0), "header is not a JSON object (it is null)");
        row("entry is not an object", raw_file(R"({"w": 5})", 0), "tensor 'w': entry is not a JSON object");
        row("entry without dtype", one(R"("shape":[1],"data_offsets":[0,4])", 4),
            "tensor 'w': missing 'dtype'");
        row("dtype is a number", one(R"("dtype":4,"shape":[1],"data_offsets":[0,4])", 4),
            "tensor 'w': 'dtype' is not a string");
        row("unknown dtype F8_E4M3", one(R"("dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1])", 1),
            "tensor 'w': unknown dtype 'F8_E4M3'");
        row("entry without shape", one(R"("dtype":"F32","data_offsets":[0,4])", 4),
            "tensor 'w': missing 'shape' array");
        row("negative dimension", one(R"("dtype":"F32","shape":[2,-1],"data_offsets":[0,0])", 0),
            "tensor 'w': shape[1] is not a non-negative integer");
        row("fractional dimension", one(R"("dtype":"F32","shape":[2.5],"data_offsets":[0,10])", 10),
            "tensor 'w': shape[0] is not a non-negative integer");
        row("dimension given as a string", one(R"("dtype":"U8","shape":["4"],"data_offsets":[0,4])", 4),
            "tensor 'w': shape[0] is not a non-negative integer");
        row("element count overflows",
            one(R"("dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0])", 0),
            "tensor 'w': shape [4294967296,4294967296] is too large (element count overflows)");
        row("byte count overflows",
            one(R"("dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0])", 0),
            "tensor 'w': shape [4611686018427387904] is too large");
        row("dimension beyond int64",
            one(R"("dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,0])", 0),
            "is too large (element count overflows)");
        row("missing data_offsets", one(R"("dtype":"F32","shape":[1])", 4),
            "tensor 'w': 'data_offsets' must be [begin, end] with non-negative integers");
        row("three data_offsets", one(R"("dtype":"F32","shape":[1],"data_offsets":[0,4,8])", 8),
            "tensor 'w': 'data_offsets' must be [begin, end]");
        row("negative offset", one(R"("dtype":"F32","shape":[1],"data_offsets":[-4,0])", 8),
            "tensor 'w': 'data_offsets' must be [begin, end]");
        row("begin after end", one(R"("dtype":"F32","shape":[1],"data_offsets":[8,4])", 16),
            "tensor 'w': data_offsets begin 8 is after end 4");
        row("end past the data buffer", one(R"("dtype":"F32","shape":[8],"data_offsets":[0,32])", 16),
            "tensor 'w': data_offsets end 32 is past the end of the data buffer (16 bytes)");
        row("dtype x shape differs from span",
            one(R"("dtype":"F32","shape":[2,3],"data_offsets":[0,20])", 24),
            "tensor 'w': F32 of shape [2, 3] needs 24 bytes but data_offsets span 20");
        row("overlapping spans",
            raw_file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                     R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                     24),
            "tensor 'b': bytes [8, 24) overlap tensor 'a' at [0, 16)");
        row("span nested inside another",
            raw_file(R"({"big":{"dtype":"U8","shape":[32],"data_offsets":[0,32]},)"
                     R"("c":{"dtype":"U8","shape":[4],"data_offsets":[20,24]},)"
                     R"("a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
                     32),
            "tensor 'a': bytes [4, 8) overlap tensor 'big' at [0, 32)");
        row("same tensor name twice",
            raw_file(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                     R"("w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                     2),
            "tensor 'w': appears more than once in the header");
        row("__metadata__ is an array", raw_file(R"({"__metadata__":["pt"]})", 0),
            "'__metadata__' is not an object of strings");
        row("__metadata__ value is a number", raw_file(R"({"__metadata__":{"format":1}})", 0),
            "'__metadata__' value of 'format' is not a string (it is a number)");
        const QByteArray deep = QByteArray(100000, '[') + QByteArray(100000, ']');
        row("header nested 100000 arrays deep (no stack overflow)", raw_file("{\"w\":" + deep + "}", 0),
            "header is not valid JSON: JSON nested more than 64 levels deep");
        row("header number out of range", raw_file(R"({"w":{"dtype":"F32","shape":[1e999]}})", 0),
            "header is not valid JSON: [json.exception.out_of_range.406] number overflow");
        QByteArray dims = "4294967296";
        for (int i = 0; i < 20000; ++i)
            dims += ",4294967296";
        row("shape quoted in a message is cut short",
            one("\"dtype\":\"U8\",\"shape\":[" + dims + "],\"data_offsets\":[0,0]", 0),
            "tensor 'w': shape [4294967296,4294967296,4294967296,4294967296,4294967296,4294967296,"
            "4294967296... is too large");
    }
    void corruptFile() {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, message);
        const fs::path p = fresh("hostile") += ".safetensors";
        write_all(p, bytes);
        const QString got = format_error([&] { io::SafetensorsFile::open(p); });
        if (message.isEmpty()) {
            QCOMPARE(got, QString("no exception"));
            return;
        }
        QVERIFY2(got.startsWith(QString::fromStdString(p.string()) + ": "), qPrintable(got));
        QVERIFY2(got.contains(message), qPrintable(got));
    }

    // A header with many entries parses in linear time (it used to take seconds for 25 000 tensors and
    // minutes for 100 000), and a repeated name among them is still found.
    // The header check is linear in the number of tensors (it used to be quadratic: 100 000 tensors took
    // 42 s). Measured as a ratio between two sizes in the same run, so a loaded machine or a sanitizer
    // build cannot fail it: 8 times the tensors must take well under 64 times as long (best of 3 each).
    void manyTensorsParseLinearly() {
        const auto header_of = [](int n) {
            QByteArray header = "{";
            for (int i = 0; i < n; ++i) {
                if (i) header += ',';
                header += "\"t" + QByteArray::number(i) +
                          "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" +
                          QByteArray::number(4 * i) + ',' + QByteArray::number(4 * i + 4) + "]}";
            }
            return header;
        };
        const auto best_ms = [](const std::function<void()>& open) {
            double best = 1e300;
            for (int rep = 0; rep < 3; ++rep) {
                QElapsedTimer timer;
                timer.start();
                open();
                best = std::min(best, timer.nsecsElapsed() / 1e6);
            }
            return best;
        };
        double ms[2] = {0, 0}, dup_ms[2] = {0, 0};
        const int sizes[2] = {5000, 40000};
        for (int k = 0; k < 2; ++k) {
            const int n = sizes[k];
            const QByteArray header = header_of(n);
            const fs::path good = fresh("many") += ".safetensors", dup = fresh("manydup") += ".safetensors";
            write_all(good, raw_file(header + "}", 4 * n));
            write_all(dup,
                      raw_file(header + R"(,"t0":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4 * n));
            ms[k] = best_ms([&] {
                const auto f = io::SafetensorsFile::open(good);
                QCOMPARE(f->names().size(), std::size_t(n));
                QCOMPARE(decode(f->get("t" + std::to_string(n - 1))).size(), std::size_t(1));
            });
            dup_ms[k] = best_ms([&] {
                const QString got = format_error([&] { io::SafetensorsFile::open(dup); });
                QCOMPARE(got, QString::fromStdString(dup.string()) +
                                  ": tensor 't0': appears more than once in the header");
            });
        }
        qInfo("headers of 5 000 and 40 000 tensors: %.1f ms and %.1f ms (with a duplicate: %.1f ms, %.1f ms)",
              ms[0], ms[1], dup_ms[0], dup_ms[1]);
        QVERIFY2(ms[1] < 24 * ms[0], "opening grows faster than linearly with the number of tensors");
        QVERIFY2(dup_ms[1] < 24 * dup_ms[0], "the duplicate check grows faster than linearly");
    }

    void randomCorruptionNeverCrashes() {
        // Flip, truncate and overwrite bytes of a real file: open() either succeeds with views that lie
        // inside the file, or throws FormatError. Never a crash, hang or other exception (run under ASan).
        auto spec = small_spec(tools::Family::GPT2);
        spec.n_layers = 1, spec.vocab = 257;
        const fs::path dir = fresh("fuzz");
        tools::write_checkpoint_streaming(spec, dir);
        const QByteArray good = read_all(dir / "model.safetensors");
        std::mt19937 rng(5);
        int rejected = 0;
        for (int trial = 0; trial < 3000; ++trial) {
            QByteArray b = good;
            const int header_end = 8 + int(b[0] & 0xff) + 256 * int(b[1] & 0xff);
            for (int k = 0, n = 1 + int(rng() % 4); k < n; ++k) {
                const int at = int(rng() % std::uint32_t(trial % 2 ? header_end : b.size()));
                b[at] = "0123456789[]{},:\"-eE. \x00\xff"[rng() % 24];
            }
            if (trial % 7 == 0) b.truncate(int(rng() % std::uint32_t(b.size())));
            const fs::path p = dir / "mutant.safetensors";
            write_all(p, b);
            try {
                auto f = io::SafetensorsFile::open(p);
                for (const auto& n : f->names()) {
                    const auto& v = f->get(n);
                    QVERIFY(v.nbytes == std::size_t(v.numel()) * io::dtype_size(v.dtype));
                    QVERIFY(v.nbytes <= f->file_size());
                }
            } catch (const io::FormatError&) {
                ++rejected;
            }
        }
        QVERIFY(rejected > 1000);
    }

    void copyOnWriteAndRelease() {
        // 64 KiB tensor: several whole pages inside it whatever the header length.
        io::HostTensor t{{16384}, {}};
        for (int i = 0; i < 16384; ++i)
            t.values.push_back(float(i));
        const fs::path p = fresh("cow") += ".safetensors";
        io::write_safetensors(p, {{"head", {{3}, {1, 2, 3}}}, {"big", t}}, DType::F32);
        const QByteArray before = read_all(p);
        auto f = io::SafetensorsFile::open(p);
        const auto& v = f->get("big");
        float* writable = reinterpret_cast<float*>(const_cast<std::byte*>(v.data));
        float x = -1.0f;
        std::memcpy(writable + 8000, &x, 4); // a private page: neither crashes nor reaches the file
        QCOMPARE(read_all(p), before);
        f->release(v); // drops the page; it comes back from the file
        const auto after = decode(v);
        for (int i = 0; i < 16384; ++i)
            QCOMPARE(after[std::size_t(i)], float(i));
        f->release(f->get("head")); // smaller than a page: nothing to drop, no harm
        QCOMPARE(decode(f->get("head")), (std::vector<float>{1, 2, 3}));
    }

    // ----------------------------------------------------------------------------------- checkpoints

    void checkpointErrors_data() {
        // setup: which files exist ("s1" = shard 1 holding a, "s2" = shard 2 holding b, "s2+a" = shard 2
        // holding b and a, "bad-s2" = a broken shard 2, "single" = model.safetensors holding a); index:
        // the index.json text (S1/S2 stand for the shard names); lookup: a tensor to get afterwards;
        // where: the path the message must start with.
        QTest::addColumn<QString>("setup");
        QTest::addColumn<QString>("index");
        QTest::addColumn<QString>("lookup");
        QTest::addColumn<QString>("where");
        QTest::addColumn<QString>("message");
        auto row = [](const char* n, const char* setup, const char* index, const char* lookup,
                      const char* where, const char* m) {
            QTest::newRow(n) << QString(setup) << QString(index) << QString(lookup) << QString(where)
                             << QString(m);
        };
        const char* two = R"({"weight_map": {"a": "S1", "b": "S2"}})";
        row("directory missing", "missing", "", "", "dir", "checkpoint directory does not exist");
        row("path is a file", "file", "", "", "dir", "not a directory");
        row("neither weights file nor index", "", "", "", "dir",
            "neither model.safetensors nor model.safetensors.index.json found");
        row("index is not JSON", "", R"({"weight_map": {"a": )", "", "index", "not valid JSON");
        row("index is an array", "", "[]", "", "index", "not a JSON object");
        row("index without weight_map", "", R"({"metadata": {"total_size": 8}})", "", "index",
            "missing 'weight_map' object");
        row("weight_map value not a string", "", R"({"weight_map": {"a": 1}})", "", "index",
            "tensor 'a': shard name is not a string");
        row("shard path leaves the directory", "", R"({"weight_map": {"a": "../a.safetensors"}})", "",
            "index", "tensor 'a': shard '../a.safetensors' is not a file name inside");
        row("shard file missing", "s1", two, "", "index",
            "tensor 'b': shard file 'model-00002-of-00002.safetensors' does not exist");
        row("tensor absent from its shard", "s1 s2", R"({"weight_map": {"a": "S1", "b": "S2", "c": "S2"}})",
            "", "s2", "tensor 'c': listed in model.safetensors.index.json but absent from this shard");
        row("tensor in two shards", "s1 s2+a", two, "", "dir",
            "tensor 'a': present in two shards, 'model-00001-of-00002.safetensors' and "
            "'model-00002-of-00002.safetensors'");
        row("tensor twice in weight_map", "s1 s2", R"({"weight_map": {"a": "S1", "b": "S2", "a": "S2"}})", "",
            "index", "tensor 'a': listed more than once in weight_map");
        row("weights file is a FIFO (must not hang)", "fifo", "", "", "single", "not a regular file");
        row("index is a FIFO (must not hang)", "index-fifo", "", "", "index", "not a regular file (a FIFO)");
        const QString deep = QString(100000, '[') + QString(100000, ']');
        QTest::newRow("index nested 100000 arrays deep")
            << QString() << "{\"weight_map\": {\"a\": " + deep + "}}" << QString() << QString("index")
            << QString("not valid JSON: JSON nested more than 64 levels deep");
        row("corrupt shard", "s1 bad-s2", two, "", "s2", "header length 4096 runs past the end of the file");
        row("sharded: absent tensor lookup", "s1 s2", two, "nope", "dir",
            "tensor 'nope': not in this checkpoint");
        row("single file: absent tensor lookup", "single", "", "nope", "dir",
            "tensor 'nope': not in this checkpoint");
        row("single file: absent tensor in the file", "single", "", "file:nope", "single",
            "tensor 'nope': not in this file");
    }
    void checkpointErrors() {
        QFETCH(QString, setup);
        QFETCH(QString, index);
        QFETCH(QString, lookup);
        QFETCH(QString, where);
        QFETCH(QString, message);
        const fs::path dir = fresh("ckpt"), idx = dir / "model.safetensors.index.json";
        const fs::path s1 = dir / "model-00001-of-00002.safetensors",
                       s2 = dir / "model-00002-of-00002.safetensors";
        const io::HostTensor t{{2}, {1, 2}};
        const QStringList parts = setup.split(' ', Qt::SkipEmptyParts);
        if (setup != "missing") fs::create_directories(dir);
        if (parts.contains("file")) write_all(dir / "file", "x");
        if (parts.contains("fifo")) QCOMPARE(::mkfifo((dir / "model.safetensors").c_str(), 0600), 0);
        if (parts.contains("index-fifo")) QCOMPARE(::mkfifo(idx.c_str(), 0600), 0);
        if (parts.contains("s1")) io::write_safetensors(s1, {{"a", t}}, DType::F32);
        if (parts.contains("s2")) io::write_safetensors(s2, {{"b", t}}, DType::F32);
        if (parts.contains("s2+a")) io::write_safetensors(s2, {{"b", t}, {"a", t}}, DType::F32);
        if (parts.contains("bad-s2")) write_all(s2, raw_file("{}", 0, 4096));
        if (parts.contains("single"))
            io::write_safetensors(dir / "model.safetensors", {{"a", t}}, DType::F32);
        if (!index.isEmpty()) {
            index.replace("S1", "model-00001-of-00002.safetensors")
                .replace("S2", "model-00002-of-00002.safetensors");
            write_all(idx, index.toUtf8());
        }
        const fs::path target = setup == "file" ? dir / "file" : dir;
        const QString got = format_error([&] {
            auto c = io::Checkpoint::open(target);
            if (lookup == "nope") c.get("nope");
            if (lookup == "file:nope") c.files().front()->get("nope");
        });
        const fs::path named = where == "dir"     ? target
                               : where == "index" ? idx
                               : where == "s2"    ? s2
                                                  : dir / "model.safetensors";
        QVERIFY2(got.startsWith(QString::fromStdString(named.string()) + ": "), qPrintable(got));
        QVERIFY2(got.contains(message), qPrintable(got));
    }

    void shardedCheckpoint_data() {
        QTest::addColumn<tools::Family>("family");
        QTest::addColumn<DType>("storage");
        QTest::addColumn<int>("shards");
        QTest::newRow("gpt2 f32 single file") << tools::Family::GPT2 << DType::F32 << 1;
        QTest::newRow("gpt2 f16 3 shards") << tools::Family::GPT2 << DType::F16 << 3;
        QTest::newRow("gpt_neo bf16 2 shards") << tools::Family::GPTNeo << DType::BF16 << 2;
        QTest::newRow("gpt_neox f32 5 shards") << tools::Family::GPTNeoX << DType::F32 << 5;
    }
    void shardedCheckpoint() {
        QFETCH(tools::Family, family);
        QFETCH(DType, storage);
        QFETCH(int, shards);
        auto spec = small_spec(family);
        spec.storage = storage, spec.shards = shards, spec.buffers = true, spec.lm_head = true;
        const auto g = tools::generate(spec);
        const fs::path dir = fresh("sharded");
        tools::write_checkpoint(g, spec, dir);
        QCOMPARE(fs::exists(dir / "model.safetensors.index.json"), shards > 1);

        const auto c = io::Checkpoint::open(dir);
        QCOMPARE(int(c.files().size()), shards);
        std::uint64_t data_bytes = 0, file_bytes = 0;
        for (const auto& f : c.files()) {
            QCOMPARE(f->metadata().at("format"), std::string("pt"));
            file_bytes += fs::file_size(f->path());
        }
        QCOMPARE(c.total_bytes(), file_bytes);
        QCOMPARE(c.names().size(), g.tensors.size());
        for (const auto& [name, t] : g.tensors) {
            QVERIFY2(c.contains(name), name.c_str());
            const auto& v = c.get(name);
            QCOMPARE(v.dtype, g.dtypes.at(name));
            QCOMPARE(v.shape, t.shape);
            QCOMPARE(c.file_of(name).path(), v.file);
            data_bytes += v.nbytes;
            const auto got = decode(v);
            QVERIFY2(std::equal(got.begin(), got.end(), t.values.begin(), same_bits), name.c_str());
        }
        if (shards > 1) {
            std::ifstream in(dir / "model.safetensors.index.json");
            const json idx = json::parse(in);
            QCOMPARE(idx["metadata"]["total_size"].get<std::uint64_t>(), data_bytes);
            QCOMPARE(idx["weight_map"].size(), g.tensors.size());
            QCOMPARE(idx["weight_map"].value(g.tensors.front().first, ""),
                     "model-00001-of-0000" + std::to_string(shards) + ".safetensors");
        }
    }

    // ------------------------------------------------------------------------------------ generator
};

QTEST_APPLESS_MAIN(TestSafetensors)
#include "tst_safetensors.moc"
