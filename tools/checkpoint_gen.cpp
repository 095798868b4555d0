// Random Hugging Face checkpoints. See checkpoint_gen.h.
#include "checkpoint_gen.h"

#include "byte_level_bpe.h"
#include "checkpoint_plan.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numbers>
#include <stdexcept>
#include <system_error>

namespace obsprop::tools {

namespace fs = std::filesystem;
using detail::Init;
using detail::Plan;
using io::DType;
using io::TensorLayout;
using nlohmann::json;

// --------------------------------------------------------------------------------------------- spec

namespace {
constexpr Family kFamilies[] = {Family::GPT2,    Family::GPTNeo, Family::GPTNeoX, Family::Llama,
                                Family::Mistral, Family::Qwen2,  Family::Qwen3,   Family::Gemma,
                                Family::Gemma2,  Family::Gemma3};
}

bool parse_family(const std::string& s, Family& out) {
    for (Family f : kFamilies) {
        if (s == family_name(f)) {
            out = f;
            return true;
        }
    }
    return false;
}

std::vector<std::string> family_names() {
    std::vector<std::string> out;
    for (Family f : kFamilies)
        out.emplace_back(family_name(f));
    return out;
}

bool is_llama_style(Family f) {
    return f != Family::GPT2 && f != Family::GPTNeo && f != Family::GPTNeoX;
}

bool is_gemma(Family f) {
    return f == Family::Gemma || f == Family::Gemma2 || f == Family::Gemma3;
}

int CheckpointSpec::d_head() const {
    return is_llama_style(family) && head_dim > 0 ? head_dim : d_model / n_heads;
}

double CheckpointSpec::rope_theta_value() const {
    if (rope_theta > 0) return rope_theta;
    return family == Family::Gemma3 ? 1e6 : 10000.0; // HF configuration defaults
}

int CheckpointSpec::sliding_window_value() const {
    if (sliding_window > 0) return sliding_window;
    return family == Family::Gemma2 || family == Family::Gemma3 ? 4096 : 0;
}

double CheckpointSpec::query_pre_attn_scalar_value() const {
    return query_pre_attn_scalar > 0 ? query_pre_attn_scalar : double(d_head());
}

int CheckpointSpec::rotary_dims() const {
    return static_cast<int>(d_head() * rotary_pct);
}

double CheckpointSpec::weight_std() const {
    return scale > 0 ? scale : 1.0 / std::sqrt(double(d_model));
}

std::string CheckpointSpec::activation_name() const {
    if (!activation.empty()) return activation;
    if (is_gemma(family)) return "gelu_pytorch_tanh";
    if (is_llama_style(family)) return "silu";
    return family == Family::GPTNeoX ? "gelu" : "gelu_new";
}

void CheckpointSpec::validate() const {
    auto bad = [](const std::string& why) { throw std::invalid_argument("checkpoint spec: " + why); };
    if (n_layers < 1) bad("n_layers must be at least 1");
    if (n_heads < 1) bad("n_heads must be at least 1");
    if (d_model < 1) bad("d_model must be at least 1");
    if (d_model % n_heads != 0 && !is_llama_style(family)) {
        bad("d_model " + std::to_string(d_model) + " is not divisible by n_heads " + std::to_string(n_heads));
    }
    if (d_mlp < 0) bad("d_mlp must be >= 0 (0 means 4 * d_model)");
    if (vocab < 257) bad("vocab must be at least 257 (256 byte tokens + <|endoftext|>)");
    if (n_ctx < 1) bad("n_ctx must be at least 1");
    if (window_size < 1) bad("window_size must be at least 1");
    if (!(rotary_pct >= 0.0 && rotary_pct <= 1.0)) bad("rotary_pct must be in [0, 1]");
    if (family == Family::GPTNeoX && rotary_dims() % 2 != 0) {
        bad("rotary dims int(d_head * rotary_pct) = " + std::to_string(rotary_dims()) + " must be even");
    }
    if (!(rotary_base > 0.0) || !std::isfinite(rotary_base)) bad("rotary_base must be positive");
    if (!(ln_eps > 0.0) || !std::isfinite(ln_eps)) bad("ln_eps must be positive");
    if (storage != DType::F32 && storage != DType::F16 && storage != DType::BF16) {
        bad(std::string("storage must be F32, F16 or BF16, not ") + io::dtype_name(storage));
    }
    if (shards < 1 || shards > 99999) bad("shards must be between 1 and 99999");
    if (!(scale >= 0.0) || !std::isfinite(scale)) bad("scale must be >= 0 (0 picks 1/sqrt(d_model))");
    if (is_llama_style(family)) detail::validate_llama_style(*this);
    // Guard the element counts (the embedding and attention masks are the largest tensors).
    const double biggest =
        std::max({double(vocab) * d_model, double(mlp_dim()) * d_model, buffers ? double(n_ctx) * n_ctx : 0.0,
                  double(n_ctx) * d_model, double(n_heads) * d_head() * d_model});
    if (biggest > 4e12) bad("shape is too large");
}

CheckpointSpec preset(const std::string& name, Family family) {
    CheckpointSpec s;
    if (name == "tiny" && is_llama_style(family)) {
        detail::llama_style_preset(name, family, s);
    } else if (name != "tiny" && detail::llama_style_preset(name, family, s)) {
        // a real Llama-style model's shape
    } else if (name == "tiny") {
        s.family = family;
        s.n_layers = 2, s.n_heads = 4, s.d_model = 64, s.d_mlp = 256, s.vocab = 512, s.n_ctx = 64;
        s.window_size = 16;
    } else if (name == "gpt2-small") {
        s.family = Family::GPT2;
        s.n_layers = 12, s.n_heads = 12, s.d_model = 768, s.d_mlp = 3072, s.vocab = 50257, s.n_ctx = 1024;
        s.prefix = false;
    } else if (name == "gpt-neo-125m") {
        s.family = Family::GPTNeo;
        s.n_layers = 12, s.n_heads = 12, s.d_model = 768, s.d_mlp = 3072, s.vocab = 50257, s.n_ctx = 2048;
        s.window_size = 256;
    } else if (name == "gpt-neo-1.3b") {
        s.family = Family::GPTNeo;
        s.n_layers = 24, s.n_heads = 16, s.d_model = 2048, s.d_mlp = 8192, s.vocab = 50257, s.n_ctx = 2048;
        s.window_size = 256;
    } else if (name == "pythia-70m") {
        s.family = Family::GPTNeoX;
        s.n_layers = 6, s.n_heads = 8, s.d_model = 512, s.d_mlp = 2048, s.vocab = 50304, s.n_ctx = 2048;
        s.rotary_pct = 0.25, s.rotary_base = 10000, s.parallel_residual = true;
    } else {
        throw std::invalid_argument("unknown preset '" + name + "'");
    }
    return s;
}

std::vector<std::string> preset_names() {
    std::vector<std::string> out = {"gpt2-small", "gpt-neo-125m", "gpt-neo-1.3b", "pythia-70m"};
    for (auto& n : detail::llama_style_preset_names())
        out.push_back(std::move(n));
    out.emplace_back("tiny");
    return out;
}

bool preset_fixes_family(const std::string& name) {
    return name != "tiny";
}

// ------------------------------------------------------------------------------------------ random

namespace {

constexpr int kZigLayers = 256;
constexpr double kZigR = 3.6541528853610088; // right edge of the base layer for 256 layers

// Ziggurat of f(x) = exp(-x^2/2): layer i (1..255) is the box [0, x[i]] x [f(x[i]), f(x[i+1])],
// all of equal area v; layer 0 is the base box [0, r] x [0, f(r)] plus the tail beyond r, also of
// area v, so its nominal width is x[0] = v / f(r).
struct Ziggurat {
    std::array<double, kZigLayers + 1> x{}, f{};
    Ziggurat() {
        auto pdf = [](double t) { return std::exp(-0.5 * t * t); };
        const double v =
            kZigR * pdf(kZigR) + std::sqrt(std::numbers::pi / 2) * std::erfc(kZigR / std::numbers::sqrt2);
        x[0] = v / pdf(kZigR);
        x[1] = kZigR;
        for (int i = 1; i < kZigLayers - 1; ++i)
            x[i + 1] = std::sqrt(-2.0 * std::log(pdf(x[i]) + v / x[i]));
        x[kZigLayers] = 0.0;
        for (int i = 0; i <= kZigLayers; ++i)
            f[i] = pdf(x[i]);
        f[0] = 0.0; // layer 0 starts at the axis
        f[kZigLayers] = 1.0;
    }
};

const Ziggurat& ziggurat() {
    static const Ziggurat z;
    return z;
}

} // namespace

double NormalRng::uniform() {
    return double(std::int64_t(eng_() >> 11)) * 0x1.0p-53;
}

std::uint32_t NormalRng::draw32() {
    if (have_spare_) {
        have_spare_ = false;
        return std::uint32_t(spare_ >> 32);
    }
    spare_ = eng_();
    have_spare_ = true;
    return std::uint32_t(spare_);
}

double NormalRng::next() {
    const Ziggurat& z = ziggurat();
    // The sign is applied by flipping the sign bit: a data-dependent branch on a random bit would
    // be mispredicted half the time and cost more than the rest of the fast path.
    auto with_sign = [](double x, std::uint32_t bits) {
        return std::bit_cast<double>(std::bit_cast<std::uint64_t>(x) ^ (std::uint64_t(bits & 0x100u) << 55));
    };
    for (;;) {
        const std::uint32_t bits = draw32();
        const unsigned i = bits & 0xffu;
        double x = double(bits >> 9) * 0x1.0p-23 * z.x[i];
        if (x < z.x[i + 1]) return with_sign(x, bits); // inside the next layer's width: under the curve
        if (i == 0) {                                  // the tail beyond r (Marsaglia's method)
            double t, y;
            do {
                t = -std::log(1.0 - uniform()) / kZigR;
                y = -std::log(1.0 - uniform());
            } while (2.0 * y < t * t);
            return with_sign(kZigR + t, bits);
        }
        const double y = z.f[i] + uniform() * (z.f[i + 1] - z.f[i]); // the wedge: test the curve itself
        if (y < std::exp(-0.5 * x * x)) return with_sign(x, bits);
    }
}

// ------------------------------------------------------------------------------------------ layout

namespace {

std::vector<Plan> make_plan(const CheckpointSpec& s) {
    s.validate();
    if (is_llama_style(s.family)) {
        std::vector<Plan> out;
        detail::llama_style_plan(s, out);
        return out;
    }
    const std::int64_t d = s.d_model, m = s.mlp_dim(), V = s.vocab, C = s.n_ctx;
    const DType w = s.storage;
    std::vector<Plan> out;
    std::string pre;
    auto add = [&](const std::string& name, std::vector<std::int64_t> shape, Init init) {
        out.push_back({{pre + name, std::move(shape), w}, name, init});
    };
    auto add_buffer = [&](const std::string& name, std::vector<std::int64_t> shape, Init init, DType dt,
                          std::int64_t window = 0) {
        out.push_back({{pre + name, std::move(shape), dt}, name, init, window, true});
    };
    auto add_ln = [&](const std::string& name) {
        add(name + ".weight", {d}, Init::LnWeight);
        add(name + ".bias", {d}, Init::Bias);
    };
    auto add_linear = [&](const std::string& name, std::vector<std::int64_t> shape, std::int64_t bias) {
        add(name + ".weight", std::move(shape), Init::Matrix);
        if (bias > 0) add(name + ".bias", {bias}, Init::Bias);
    };

    switch (s.family) {
    case Family::GPT2:
        pre = s.prefix ? "transformer." : "";
        add("wte.weight", {V, d}, Init::Matrix);
        add("wpe.weight", {C, d}, Init::Matrix);
        for (int i = 0; i < s.n_layers; ++i) {
            const std::string h = "h." + std::to_string(i) + ".";
            add_ln(h + "ln_1");
            if (s.buffers) {
                add_buffer(h + "attn.bias", {1, 1, C, C}, Init::CausalMask,
                           w == DType::F32 ? DType::F32 : DType::U8);
            }
            add_linear(h + "attn.c_attn", {d, 3 * d}, 3 * d); // Conv1D: [in, out]
            add_linear(h + "attn.c_proj", {d, d}, d);
            add_ln(h + "ln_2");
            add_linear(h + "mlp.c_fc", {d, m}, m);
            add_linear(h + "mlp.c_proj", {m, d}, d);
        }
        add_ln("ln_f");
        break;
    case Family::GPTNeo:
        pre = s.prefix ? "transformer." : "";
        add("wte.weight", {V, d}, Init::Matrix);
        add("wpe.weight", {C, d}, Init::Matrix);
        for (int i = 0; i < s.n_layers; ++i) {
            const std::string h = "h." + std::to_string(i) + ".";
            add_ln(h + "ln_1");
            if (s.buffers) {
                const std::int64_t window = i % 2 == 1 ? s.window_size : 0; // global, local, global, ...
                add_buffer(h + "attn.attention.bias", {1, 1, C, C}, Init::CausalMask, DType::BOOL, window);
            }
            add_linear(h + "attn.attention.k_proj", {d, d}, 0); // nn.Linear: [out, in], no bias
            add_linear(h + "attn.attention.v_proj", {d, d}, 0);
            add_linear(h + "attn.attention.q_proj", {d, d}, 0);
            add_linear(h + "attn.attention.out_proj", {d, d}, d);
            add_ln(h + "ln_2");
            add_linear(h + "mlp.c_fc", {m, d}, m);
            add_linear(h + "mlp.c_proj", {d, m}, d);
        }
        add_ln("ln_f");
        break;
    case Family::GPTNeoX:
        pre = s.prefix ? "gpt_neox." : "";
        add("embed_in.weight", {V, d}, Init::Matrix);
        for (int i = 0; i < s.n_layers; ++i) {
            const std::string h = "layers." + std::to_string(i) + ".";
            add_ln(h + "input_layernorm");
            add_ln(h + "post_attention_layernorm");
            if (s.buffers) {
                add_buffer(h + "attention.bias", {1, 1, C, C}, Init::CausalMask, DType::BOOL);
                add_buffer(h + "attention.rotary_emb.inv_freq", {s.rotary_dims() / 2}, Init::InvFreq,
                           DType::F32);
            }
            add_linear(h + "attention.query_key_value", {3 * d, d}, 3 * d); // rows: [heads, 3, d_head]
            add_linear(h + "attention.dense", {d, d}, d);
            add_linear(h + "mlp.dense_h_to_4h", {m, d}, m);
            add_linear(h + "mlp.dense_4h_to_h", {d, m}, d);
        }
        add_ln("final_layer_norm");
        pre.clear();
        add("embed_out.weight", {V, d}, Init::Matrix); // untied, never prefixed
        break;
    default:
        break;
    }
    if (s.lm_head && s.family != Family::GPTNeoX) {
        out.push_back({{"lm_head.weight", {V, d}, w}, "wte.weight", Init::Matrix}); // tied to wte
    }
    return out;
}

std::uint64_t mix64(std::uint64_t z) { // splitmix64 finaliser
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

std::uint64_t tensor_seed(std::uint64_t seed, const std::string& key) {
    std::uint64_t h = 0xcbf29ce484222325ull; // FNV-1a of the name
    for (unsigned char c : key)
        h = (h ^ c) * 0x100000001b3ull;
    return mix64(mix64(seed + 0x9e3779b97f4a7c15ull) ^ h);
}

// Produces the values of one tensor in order, already rounded to its stored dtype.
class Filler {
  public:
    Filler(const Plan& p, const CheckpointSpec& s)
        : p_(p), rng_(tensor_seed(s.seed, p.key)), std_(float(s.weight_std())),
          cols_(p.layout.shape.empty() ? 1 : p.layout.shape.back()),
          rot_(std::max(1, is_llama_style(s.family) ? s.d_head() : s.rotary_dims())),
          base_(is_llama_style(s.family) ? s.rope_theta_value() : s.rotary_base) {}

    void fill(float* out, std::size_t n) {
        for (std::size_t k = 0; k < n; ++k, ++index_)
            out[k] = value();
        if (p_.layout.dtype == DType::F16 || p_.layout.dtype == DType::BF16) {
            for (std::size_t k = 0; k < n; ++k)
                out[k] = io::round_to_storage(out[k], p_.layout.dtype);
        }
    }

  private:
    float value() {
        switch (p_.init) {
        case Init::Matrix:
            return float(rng_.next()) * std_;
        case Init::LnWeight:
            return 1.0f + 0.1f * float(rng_.next());
        case Init::Bias:
            return 0.1f * float(rng_.next());
        case Init::CausalMask: {
            const std::int64_t row = (index_ / cols_) % cols_, col = index_ % cols_;
            const bool on = col <= row && (p_.window == 0 || col > row - p_.window);
            return on ? 1.0f : 0.0f;
        }
        case Init::InvFreq:
            return float(1.0 / std::pow(base_, double(2 * index_) / rot_));
        }
        return 0.0f;
    }

    const Plan& p_;
    NormalRng rng_;
    float std_;
    std::int64_t cols_, index_ = 0;
    int rot_;
    double base_;
};

const char* torch_dtype(DType t) {
    return t == DType::F16 ? "float16" : t == DType::BF16 ? "bfloat16" : "float32";
}

} // namespace

std::vector<TensorLayout> tensor_layout(const CheckpointSpec& spec) {
    std::vector<TensorLayout> out;
    for (auto& p : make_plan(spec))
        out.push_back(std::move(p.layout));
    return out;
}

// ------------------------------------------------------------------------------------------ config

json make_config(const CheckpointSpec& s) {
    s.validate();
    const int eos = s.vocab - 1;
    json c;
    c["model_type"] = family_name(s.family);
    c["vocab_size"] = s.vocab;
    c["bos_token_id"] = eos;
    c["eos_token_id"] = eos;
    c["torch_dtype"] = torch_dtype(s.storage);
    c["initializer_range"] = 0.02;
    c["use_cache"] = true;
    const bool default_mlp = s.mlp_dim() == 4 * s.d_model;
    switch (s.family) {
    case Family::GPT2:
        c["architectures"] = {"GPT2LMHeadModel"};
        c["n_embd"] = s.d_model;
        c["n_layer"] = s.n_layers;
        c["n_head"] = s.n_heads;
        c["n_inner"] = default_mlp ? json(nullptr) : json(s.mlp_dim());
        c["n_positions"] = s.n_ctx;
        c["n_ctx"] = s.n_ctx;
        c["layer_norm_epsilon"] = s.ln_eps;
        c["activation_function"] = s.activation_name();
        c["scale_attn_weights"] = true;
        c["scale_attn_by_inverse_layer_idx"] = false;
        c["reorder_and_upcast_attn"] = false;
        c["attn_pdrop"] = 0.1, c["embd_pdrop"] = 0.1, c["resid_pdrop"] = 0.1;
        c["tie_word_embeddings"] = true;
        break;
    case Family::GPTNeo: {
        c["architectures"] = {"GPTNeoForCausalLM"};
        c["hidden_size"] = s.d_model;
        c["num_layers"] = s.n_layers;
        c["num_heads"] = s.n_heads;
        c["intermediate_size"] = default_mlp ? json(nullptr) : json(s.mlp_dim());
        c["max_position_embeddings"] = s.n_ctx;
        c["window_size"] = s.window_size;
        json types = json::array();
        if (s.n_layers / 2 > 0)
            types.push_back(json::array({json::array({"global", "local"}), s.n_layers / 2}));
        if (s.n_layers % 2) types.push_back(json::array({json::array({"global"}), 1}));
        c["attention_types"] = types;
        json layers = json::array();
        for (int i = 0; i < s.n_layers; ++i)
            layers.push_back(i % 2 ? "local" : "global");
        c["attention_layers"] = layers;
        c["activation_function"] = s.activation_name();
        c["layer_norm_epsilon"] = s.ln_eps;
        c["attention_dropout"] = 0.0, c["embed_dropout"] = 0.0, c["resid_dropout"] = 0.0;
        c["tie_word_embeddings"] = true;
        break;
    }
    default:
        detail::llama_style_config(s, c);
        break;
    case Family::GPTNeoX:
        c["architectures"] = {"GPTNeoXForCausalLM"};
        c["hidden_size"] = s.d_model;
        c["num_hidden_layers"] = s.n_layers;
        c["num_attention_heads"] = s.n_heads;
        c["intermediate_size"] = s.mlp_dim();
        c["max_position_embeddings"] = s.n_ctx;
        c["rotary_pct"] = s.rotary_pct;
        c["rotary_emb_base"] = s.rotary_base;
        c["layer_norm_eps"] = s.ln_eps;
        c["use_parallel_residual"] = s.parallel_residual;
        c["hidden_act"] = s.activation_name();
        c["tie_word_embeddings"] = false;
        break;
    }
    return c;
}

// --------------------------------------------------------------------------------------- generation

bool GeneratedCheckpoint::contains(const std::string& name) const {
    return dtypes.count(name) != 0;
}

const io::HostTensor& GeneratedCheckpoint::at(const std::string& name) const {
    for (const auto& [n, t] : tensors)
        if (n == name) return t;
    throw std::out_of_range("generated checkpoint has no tensor '" + name + "'");
}

GeneratedCheckpoint generate(const CheckpointSpec& spec) {
    GeneratedCheckpoint g;
    g.config = make_config(spec);
    g.tokenizer_json = make_tokenizer_json(spec.vocab);
    for (const Plan& p : make_plan(spec)) {
        io::HostTensor t;
        t.shape = p.layout.shape;
        t.values.resize(io::writable_numel(p.layout));
        Filler(p, spec).fill(t.values.data(), t.values.size());
        g.dtypes[p.layout.name] = p.layout.dtype;
        g.tensors.emplace_back(p.layout.name, std::move(t));
    }
    return g;
}

namespace {

// Writes the weights as one file or as shards, asking `emit(i, writer)` to append tensor i's values.
template <class Emit>
void write_weights(const std::vector<TensorLayout>& layout, int shards, const fs::path& dir,
                   WriteSummary& sum, Emit&& emit) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!fs::is_directory(dir)) throw std::runtime_error(dir.string() + ": cannot create the directory");
    // Stale weights of an earlier run would shadow or contradict the new ones.
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string n = e.path().filename().string();
        const bool shard = n.size() == 32 && n.rfind("model-", 0) == 0 && n.find("-of-") == 11 &&
                           n.ends_with(".safetensors");
        if (n == "model.safetensors" || n == "model.safetensors.index.json" || shard) fs::remove(e.path());
    }
    const std::map<std::string, std::string> meta{{"format", "pt"}};
    const std::size_t n = layout.size();
    const int k = std::clamp<int>(shards, 1, int(std::max<std::size_t>(n, 1)));
    if (k == 1) {
        io::SafetensorsWriter w(dir / "model.safetensors", layout, meta);
        for (std::size_t i = 0; i < n; ++i)
            emit(i, w);
        w.finish();
        sum.files.push_back(dir / "model.safetensors");
        sum.bytes += w.file_size();
        return;
    }
    // Split into k contiguous groups of roughly equal bytes, none empty.
    std::vector<std::uint64_t> bytes(n);
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < n; ++i) {
        bytes[i] = io::writable_numel(layout[i]) * io::dtype_size(layout[i].dtype);
        total += bytes[i];
    }
    std::vector<int> shard_of(n);
    int cur = 0;
    std::size_t in_cur = 0;
    std::uint64_t before = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t shards_left = std::size_t(k - 1 - cur);
        const bool must = n - i <= shards_left;
        const bool want = double(before) * k >= double(cur + 1) * double(total);
        if (in_cur > 0 && shards_left > 0 && (must || want)) ++cur, in_cur = 0;
        shard_of[i] = cur;
        ++in_cur;
        before += bytes[i];
    }
    json weight_map = json::object();
    std::size_t i = 0;
    for (int s = 0; s < k; ++s) {
        char fname[64];
        std::snprintf(fname, sizeof fname, "model-%05d-of-%05d.safetensors", s + 1, k);
        std::vector<TensorLayout> part;
        const std::size_t first = i;
        for (std::size_t j = i; j < n && shard_of[j] == s; ++j)
            part.push_back(layout[j]);
        io::SafetensorsWriter w(dir / fname, part, meta);
        for (; i < first + part.size(); ++i) {
            emit(i, w);
            weight_map[layout[i].name] = fname;
        }
        w.finish();
        sum.files.push_back(dir / fname);
        sum.bytes += w.file_size();
    }
    json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    io::write_file_atomic(dir / "model.safetensors.index.json", index.dump(2) + "\n");
    sum.files.push_back(dir / "model.safetensors.index.json");
    sum.bytes += fs::file_size(dir / "model.safetensors.index.json");
}

void write_text_files(const json& config, const std::string& tokenizer, const fs::path& dir,
                      WriteSummary& sum) {
    const std::string cfg = config.dump(2) + "\n";
    io::write_file_atomic(dir / "config.json", cfg);
    io::write_file_atomic(dir / "tokenizer.json", tokenizer);
    sum.files.insert(sum.files.begin(), {dir / "config.json", dir / "tokenizer.json"});
    sum.bytes += cfg.size() + tokenizer.size();
}

} // namespace

WriteSummary write_checkpoint(const GeneratedCheckpoint& g, const CheckpointSpec& spec, const fs::path& dir) {
    WriteSummary sum;
    const std::vector<Plan> plan = make_plan(spec);
    std::vector<TensorLayout> layout;
    for (const auto& [name, t] : g.tensors) {
        const auto it = g.dtypes.find(name);
        layout.push_back({name, t.shape, it != g.dtypes.end() ? it->second : spec.storage});
        sum.n_tensors += 1;
    }
    for (const Plan& p : plan) {
        if (!p.buffer && g.contains(p.layout.name)) sum.n_parameters += io::writable_numel(p.layout);
    }
    write_weights(layout, spec.shards, dir, sum, [&](std::size_t i, io::SafetensorsWriter& w) {
        w.append(g.tensors[i].second.values.data(), g.tensors[i].second.values.size());
    });
    write_text_files(g.config, g.tokenizer_json, dir, sum);
    return sum;
}

WriteSummary write_checkpoint_streaming(const CheckpointSpec& spec, const fs::path& dir) {
    WriteSummary sum;
    const std::vector<Plan> plan = make_plan(spec);
    std::vector<TensorLayout> layout;
    for (const Plan& p : plan) {
        layout.push_back(p.layout);
        sum.n_tensors += 1;
        if (!p.buffer) sum.n_parameters += io::writable_numel(p.layout);
    }
    std::vector<float> chunk(std::size_t{1} << 20);
    write_weights(layout, spec.shards, dir, sum, [&](std::size_t i, io::SafetensorsWriter& w) {
        Filler f(plan[i], spec);
        for (std::uint64_t left = io::writable_numel(plan[i].layout); left > 0;) {
            const std::size_t take = std::size_t(std::min<std::uint64_t>(left, chunk.size()));
            f.fill(chunk.data(), take);
            w.append(chunk.data(), take);
            left -= take;
        }
    });
    write_text_files(make_config(spec), make_tokenizer_json(spec.vocab), dir, sum);
    return sum;
}

} // namespace obsprop::tools
