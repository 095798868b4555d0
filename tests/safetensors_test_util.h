// Helpers shared by the safetensors and checkpoint-generator test suites.
#pragma once

#include <QtTest>

#include <QFile>
#include <QTemporaryDir>

#include <nlohmann/json.hpp>

#include "checkpoint_gen.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <random>

#include <sys/stat.h>

namespace io = obsprop::io;
namespace tools = obsprop::tools;
namespace fs = std::filesystem;

using io::DType;
using nlohmann::json;

Q_DECLARE_METATYPE(io::DType)
Q_DECLARE_METATYPE(tools::Family)
using WriteFn = std::function<void(const fs::path&)>;
using SpecEdit = std::function<void(tools::CheckpointSpec&)>;
Q_DECLARE_METATYPE(WriteFn)
Q_DECLARE_METATYPE(SpecEdit)

namespace test_util {

inline const float kInf = std::numeric_limits<float>::infinity();
inline const float kNaN = std::numeric_limits<float>::quiet_NaN();

inline bool same_bits(float a, float b) {
    return (std::isnan(a) && std::isnan(b) && std::signbit(a) == std::signbit(b)) ||
           std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
}

inline std::vector<float> decode(const io::TensorView& t) {
    std::vector<float> out(static_cast<std::size_t>(t.numel()));
    for (std::size_t i = 0; i < out.size(); ++i) {
        std::uint16_t h = 0;
        if (t.dtype == DType::F16 || t.dtype == DType::BF16) std::memcpy(&h, t.data + 2 * i, 2);
        if (t.dtype == DType::F32)
            std::memcpy(&out[i], t.data + 4 * i, 4);
        else if (t.dtype == DType::F16)
            out[i] = io::f16_to_f32(h);
        else if (t.dtype == DType::BF16)
            out[i] = io::bf16_to_f32(h);
        else
            out[i] = float(std::to_integer<unsigned>(t.data[i])); // U8, BOOL
    }
    return out;
}

// A safetensors file built byte by byte: declared header length (default: the real one), header, data.
inline QByteArray raw_file(const QByteArray& header, int data_bytes, qint64 declared = -1) {
    const quint64 n = declared >= 0 ? quint64(declared) : quint64(header.size());
    QByteArray out;
    for (int i = 0; i < 8; ++i)
        out.append(char((n >> (8 * i)) & 0xff));
    return out + header + QByteArray(data_bytes, '\0');
}

// A file holding one tensor 'w' whose header entry has the given JSON fields.
inline QByteArray one(const char* fields, int data_bytes) {
    return raw_file(QByteArray(R"({"w":{)") + fields + "}}", data_bytes);
}

inline QByteArray read_all(const fs::path& p) {
    QFile f(QString::fromStdString(p.string()));
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

inline void write_all(const fs::path& p, const QByteArray& bytes) {
    QFile f(QString::fromStdString(p.string()));
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(f.write(bytes), qint64(bytes.size()));
}

inline QString format_error(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const io::FormatError& e) {
        return QString::fromStdString(e.what());
    } catch (const std::exception& e) {
        return "wrong exception type: " + QString::fromStdString(e.what());
    }
    return "no exception";
}

// "name [d0,d1] DTYPE" for every tensor, sorted: a readable fingerprint of a checkpoint's layout.
inline QString entry(const std::string& name, const std::vector<std::int64_t>& shape, DType t) {
    QStringList dims;
    for (auto d : shape)
        dims << QString::number(d);
    return QString::fromStdString(name) + " [" + dims.join(',') + "] " + io::dtype_name(t);
}

// Every key of the JSON object `expected` is in `actual` with the same value.
inline void expect_subset(const json& actual, const char* expected) {
    const json want = json::parse(expected);
    for (const auto& [k, v] : want.items()) {
        const QString where = QString::fromStdString(
            k + ": " + (actual.contains(k) ? actual[k].dump() : "missing") + ", expected " + v.dump());
        QVERIFY2(actual.contains(k) && actual[k] == v, qPrintable(where));
    }
}

inline tools::CheckpointSpec small_spec(tools::Family f) {
    tools::CheckpointSpec s;
    s.family = f;
    s.n_layers = 2, s.n_heads = 2, s.d_model = 8, s.d_mlp = 32, s.vocab = 300, s.n_ctx = 16,
    s.window_size = 4;
    s.rotary_pct = 0.5; // d_head 4 -> 2 rotary dims, 1 inv_freq
    return s;
}

} // namespace test_util
using namespace test_util;
