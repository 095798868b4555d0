// safetensors writer and the f16 / bf16 bit conversions. See safetensors_writer.h.
#include "io/safetensors_writer.h"

#include "io/atomic_file.h"

#include <nlohmann/json.hpp>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <stdexcept>
#include <system_error>

namespace obsprop::io {

namespace fs = std::filesystem;

static_assert(std::endian::native == std::endian::little, "the writer assumes a little-endian host");

// ------------------------------------------------------------------------------------- conversions

std::uint16_t f32_to_f16(float f) {
    const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
    const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
    const std::uint32_t ax = x & 0x7fffffffu;

    if (ax >= 0x7f800000u) {                          // inf or NaN
        if (ax == 0x7f800000u) return sign | 0x7c00u; // inf
        // NaN: keep the top payload bits, force the quiet bit so it cannot turn into inf.
        return static_cast<std::uint16_t>(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    }
    // 65520 = halfway between 65504 (largest finite half, odd mantissa) and 65536: ties go up to inf.
    if (ax >= 0x477ff000u) return sign | 0x7c00u;
    if (ax >= 0x38800000u) { // result is a normal half (>= 2^-14)
        // Rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits to nearest even;
        // a carry out of the mantissa correctly bumps the exponent.
        const std::uint32_t odd = (ax >> 13) & 1u;
        const std::uint32_t r = ax - (112u << 23) + 0x0fffu + odd;
        return static_cast<std::uint16_t>(sign | (r >> 13));
    }
    // Result is subnormal (units of 2^-24) or zero. 2^-25 exactly ties to 0 (even).
    if (ax <= 0x33000000u) return sign;
    const std::uint32_t e = ax >> 23;                     // 102..112 here
    const std::uint32_t m = (ax & 0x7fffffu) | 0x800000u; // value = m * 2^(e - 150)
    const std::uint32_t shift = 126u - e;                 // value / 2^-24 = m >> shift, 14..24
    std::uint32_t q = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1u);
    const std::uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) ++q; // q == 0x400 is the smallest normal: still right
    return static_cast<std::uint16_t>(sign | q);
}

float f16_to_f32(std::uint16_t h) {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    const std::uint32_t exp = (h >> 10) & 0x1fu;
    std::uint32_t mant = h & 0x3ffu;
    std::uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13); // inf, or NaN with its payload
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    } else if (mant == 0) {
        bits = sign; // signed zero
    } else {
        // Subnormal: mant * 2^-24. Normalise so the leading 1 sits at bit 10.
        std::uint32_t e = 113; // exponent of 2^-14, biased for float
        while (!(mant & 0x400u)) {
            mant <<= 1;
            --e;
        }
        bits = sign | (e << 23) | ((mant & 0x3ffu) << 13);
    }
    return std::bit_cast<float>(bits);
}

std::uint16_t f32_to_bf16(float f) {
    const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) { // NaN: truncate the payload, keep it quiet
        return static_cast<std::uint16_t>((x >> 16) | 0x0040u);
    }
    // Round to nearest even on the low 16 bits; overflow carries into inf, as it should.
    const std::uint32_t r = x + 0x7fffu + ((x >> 16) & 1u);
    return static_cast<std::uint16_t>(r >> 16);
}

float bf16_to_f32(std::uint16_t b) {
    return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

float round_to_storage(float v, DType storage) {
    switch (storage) {
    case DType::F32:
        return v;
    case DType::F16:
        return f16_to_f32(f32_to_f16(v));
    case DType::BF16:
        return bf16_to_f32(f32_to_bf16(v));
    default:
        throw std::invalid_argument(std::string("round_to_storage: cannot store floats as ") +
                                    dtype_name(storage));
    }
}

// -------------------------------------------------------------------------------------------- writer

namespace {

bool writable(DType t) {
    return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::U8 || t == DType::BOOL;
}

std::string tmp_path_of(const fs::path& p) {
    return temporary_for(p).string();
}

} // namespace

std::uint64_t writable_numel(const TensorLayout& t) {
    std::uint64_t n = 1;
    for (auto d : t.shape) {
        if (d < 0) throw std::invalid_argument("tensor '" + t.name + "': negative dimension");
        if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n)) {
            throw std::invalid_argument("tensor '" + t.name + "': shape too large");
        }
    }
    return n;
}

SafetensorsWriter::SafetensorsWriter(const fs::path& path, std::vector<TensorLayout> layout,
                                     const std::map<std::string, std::string>& metadata)
    : path_(path), tmp_(tmp_path_of(path)), layout_(std::move(layout)) {
    using nlohmann::json;
    // The header is assembled by hand so that tensors appear in the order given.
    std::string header = "{";
    if (!metadata.empty()) header += "\"__metadata__\":" + json(metadata).dump();
    std::set<std::string> seen;
    std::uint64_t offset = 0;
    for (const auto& t : layout_) {
        if (t.name == "__metadata__") throw std::invalid_argument("a tensor cannot be called '__metadata__'");
        if (!seen.insert(t.name).second) throw std::invalid_argument("tensor '" + t.name + "' given twice");
        if (!writable(t.dtype)) {
            throw std::invalid_argument("tensor '" + t.name + "': cannot write dtype " + dtype_name(t.dtype));
        }
        const std::uint64_t n = writable_numel(t);
        std::uint64_t bytes = 0;
        if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(dtype_size(t.dtype)), &bytes)) {
            throw std::invalid_argument("tensor '" + t.name + "': shape too large");
        }
        numel_.push_back(n);
        if (header.size() > 1) header += ',';
        header += json(t.name).dump() + ":{\"dtype\":\"" + dtype_name(t.dtype) +
                  "\",\"shape\":" + json(t.shape).dump() + ",\"data_offsets\":[" + std::to_string(offset) +
                  "," + std::to_string(offset + bytes) + "]}";
        offset += bytes;
    }
    header += '}';
    header.append((8 - header.size() % 8) % 8, ' '); // data starts 8-byte aligned, like HF
    header_bytes_ = header.size();
    data_bytes_ = offset;

    std::error_code ec;
    if (path_.has_parent_path()) fs::create_directories(path_.parent_path(), ec);
    out_ = std::fopen(tmp_.c_str(), "wb");
    if (!out_) throw std::runtime_error(tmp_.string() + ": cannot create: " + std::strerror(errno));
    std::setvbuf(out_, nullptr, _IOFBF, 1 << 20);
    unsigned char len[8];
    for (int i = 0; i < 8; ++i)
        len[i] = static_cast<unsigned char>(header_bytes_ >> (8 * i));
    try {
        write_bytes(len, 8);
        write_bytes(header.data(), header.size());
    } catch (...) {
        abandon();
        throw;
    }
    while (current_ < layout_.size() && numel_[current_] == 0)
        ++current_;
}

SafetensorsWriter::~SafetensorsWriter() {
    if (!finished_) abandon();
}

void SafetensorsWriter::abandon() noexcept {
    if (out_) std::fclose(out_);
    out_ = nullptr;
    std::error_code ec;
    fs::remove(tmp_, ec);
    finished_ = true;
}

void SafetensorsWriter::write_bytes(const void* p, std::size_t n) {
    if (n && std::fwrite(p, 1, n, out_) != n) {
        throw std::runtime_error(tmp_.string() + ": write failed: " + std::strerror(errno));
    }
}

void SafetensorsWriter::append(const float* values, std::size_t n) {
    if (finished_) throw std::logic_error("SafetensorsWriter::append after finish");
    try {
        while (n > 0) {
            if (current_ >= layout_.size()) {
                throw std::invalid_argument(path_.string() + ": more values than the tensors hold");
            }
            const TensorLayout& t = layout_[current_];
            const std::size_t esize = dtype_size(t.dtype);
            const std::uint64_t left = numel_[current_] - filled_;
            const std::size_t take =
                static_cast<std::size_t>(std::min<std::uint64_t>({left, n, std::uint64_t{1} << 16}));
            buf_.resize(take * esize);
            unsigned char* b = buf_.data();
            switch (t.dtype) {
            case DType::F32:
                std::memcpy(b, values, take * 4);
                break;
            case DType::F16:
            case DType::BF16:
                for (std::size_t i = 0; i < take; ++i) {
                    const std::uint16_t h =
                        t.dtype == DType::F16 ? f32_to_f16(values[i]) : f32_to_bf16(values[i]);
                    std::memcpy(b + 2 * i, &h, 2);
                }
                break;
            case DType::U8:
                for (std::size_t i = 0; i < take; ++i) {
                    const float v = values[i];
                    if (!(v >= 0.0f && v <= 255.0f) || v != std::floor(v)) {
                        throw std::invalid_argument("tensor '" + t.name + "': U8 value out of range");
                    }
                    b[i] = static_cast<unsigned char>(v);
                }
                break;
            default: // BOOL
                for (std::size_t i = 0; i < take; ++i)
                    b[i] = values[i] != 0.0f ? 1 : 0;
                break;
            }
            write_bytes(b, buf_.size());
            values += take;
            n -= take;
            filled_ += take;
            if (filled_ == numel_[current_]) {
                filled_ = 0;
                ++current_;
                while (current_ < layout_.size() && numel_[current_] == 0)
                    ++current_;
            }
        }
    } catch (...) {
        abandon();
        throw;
    }
}

void SafetensorsWriter::finish() {
    if (finished_) throw std::logic_error("SafetensorsWriter::finish called twice or after a failure");
    if (current_ != layout_.size()) {
        const std::string name = layout_[current_].name;
        abandon();
        throw std::invalid_argument(path_.string() + ": tensor '" + name + "' was not given all its values");
    }
    const bool flushed = std::fflush(out_) == 0;
    const int err = errno;
    const bool closed = std::fclose(out_) == 0;
    out_ = nullptr;
    if (!flushed || !closed) {
        abandon();
        throw std::runtime_error(tmp_.string() + ": write failed: " + std::strerror(flushed ? errno : err));
    }
    commit_file(tmp_, path_); // flushed to disk, renamed into place, the temporary removed on failure
    finished_ = true;
}

void write_safetensors(const fs::path& path, const std::vector<std::pair<std::string, HostTensor>>& tensors,
                       DType storage, const std::map<std::string, std::string>& metadata) {
    if (storage != DType::F32 && storage != DType::F16 && storage != DType::BF16) {
        throw std::invalid_argument(std::string("write_safetensors: storage must be F32, F16 or BF16, not ") +
                                    dtype_name(storage));
    }
    std::vector<TensorLayout> layout;
    layout.reserve(tensors.size());
    for (const auto& [name, t] : tensors) {
        TensorLayout l{name, t.shape, storage};
        const std::uint64_t n = writable_numel(l);
        if (n != t.values.size()) {
            throw std::invalid_argument("tensor '" + name + "': shape needs " + std::to_string(n) +
                                        " values but " + std::to_string(t.values.size()) + " were given");
        }
        layout.push_back(std::move(l));
    }
    SafetensorsWriter w(path, std::move(layout), metadata);
    for (const auto& kv : tensors)
        w.append(kv.second.values.data(), kv.second.values.size());
    w.finish();
}

} // namespace obsprop::io
