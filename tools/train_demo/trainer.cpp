#include "trainer.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include <sys/resource.h>

#include <torch/torch.h>

#include "bpe.h"
#include "io/safetensors_writer.h"
#include "io/tokenizer.h"
#include "model/transformer.h"
#include "project/dataset.h"

namespace obsprop::train_demo {

namespace fs = std::filesystem;
using nlohmann::json;
using torch::Tensor;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU time of the whole process (all threads), user + system: unlike wall time, it does not grow when
// other programs compete for the cores.
double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

io::ModelConfig model_config(const TrainOptions& o, int vocab) {
    io::ModelConfig c;
    c.family = io::Family::GPT2;
    c.n_layers = o.n_layers;
    c.n_heads = o.n_heads;
    c.d_model = o.d_model;
    c.d_head = o.d_model / o.n_heads;
    c.n_kv_heads = o.n_heads;
    c.d_mlp = o.d_mlp > 0 ? o.d_mlp : 4 * o.d_model;
    c.d_vocab = vocab;
    c.n_ctx = o.n_ctx;
    c.ln_eps = 1e-5;
    c.activation = io::Activation::GeluTanh;
    c.attn_scale = 1.0 / std::sqrt(static_cast<double>(c.d_head));
    c.tie_word_embeddings = true;
    return c;
}

json config_json(const io::ModelConfig& c) {
    json j;
    j["activation_function"] = "gelu_new";
    j["architectures"] = {"GPT2LMHeadModel"};
    j["attn_pdrop"] = 0.0;
    j["bos_token_id"] = c.d_vocab - 1;
    j["embd_pdrop"] = 0.0;
    j["eos_token_id"] = c.d_vocab - 1;
    j["initializer_range"] = 0.02;
    j["layer_norm_epsilon"] = c.ln_eps;
    j["model_type"] = "gpt2";
    j["n_ctx"] = c.n_ctx;
    j["n_embd"] = c.d_model;
    j["n_head"] = c.n_heads;
    j["n_inner"] = c.d_mlp == 4 * c.d_model ? json(nullptr) : json(c.d_mlp);
    j["n_layer"] = c.n_layers;
    j["n_positions"] = c.n_ctx;
    j["reorder_and_upcast_attn"] = false;
    j["resid_pdrop"] = 0.0;
    j["scale_attn_by_inverse_layer_idx"] = false;
    j["scale_attn_weights"] = true;
    j["tie_word_embeddings"] = true;
    j["torch_dtype"] = "float32";
    j["use_cache"] = true;
    j["vocab_size"] = c.d_vocab;
    return j;
}

// GPT-2 initialisation (N(0, 0.02), residual projections scaled by 1/sqrt(2 n_layers), LayerNorms 1/0),
// from torch's generator seeded by the caller. Every tensor requires grad except b_U.
model::Weights init_weights(const io::ModelConfig& c) {
    const std::int64_t d = c.d_model, m = c.d_mlp, V = c.d_vocab, H = c.n_heads, dh = c.d_head;
    const double std0 = 0.02, std_proj = 0.02 / std::sqrt(2.0 * c.n_layers);
    auto normal = [](std::vector<std::int64_t> shape, double s) {
        return (torch::randn(shape) * s).requires_grad_();
    };
    auto ones = [](std::int64_t n) { return torch::ones({n}).requires_grad_(); };
    auto zeros = [](std::int64_t n) { return torch::zeros({n}).requires_grad_(); };
    model::Weights w;
    w.W_E = normal({V, d}, std0);
    w.W_pos = normal({c.n_ctx, d}, 0.01);
    for (int l = 0; l < c.n_layers; ++l) {
        model::LayerWeights L;
        L.ln1_w = ones(d), L.ln1_b = zeros(d), L.ln2_w = ones(d), L.ln2_b = zeros(d);
        L.W_qkv = normal({3 * H * dh, d}, std0);
        L.b_qkv = zeros(3 * H * dh);
        L.qkv_head_major = false;
        model::split_fused_qkv(c, L); // per-head views, as the loader makes them for GPT-2
        L.W_O = normal({d, H * dh}, std_proj);
        L.b_O = zeros(d);
        L.W_in = normal({m, d}, std0);
        L.b_in = zeros(m);
        L.W_out = normal({d, m}, std_proj);
        L.b_out = zeros(d);
        w.layers.push_back(std::move(L));
    }
    w.lnf_w = ones(d), w.lnf_b = zeros(d);
    w.W_U = w.W_E; // tied, as GPT-2
    w.b_U = torch::zeros({V});
    return w;
}

// Leaf tensors to optimise: matrices (weight decay) and vectors (none).
void parameters(model::Weights& w, std::vector<Tensor>& decay, std::vector<Tensor>& no_decay) {
    decay = {w.W_E, w.W_pos};
    no_decay = {w.lnf_w, w.lnf_b};
    for (auto& L : w.layers) {
        decay.insert(decay.end(), {L.W_qkv, L.W_O, L.W_in, L.W_out});
        no_decay.insert(no_decay.end(),
                        {L.ln1_w, L.ln1_b, L.ln2_w, L.ln2_b, L.b_qkv, L.b_O, L.b_in, L.b_out});
    }
}

io::HostTensor host(const Tensor& t) {
    Tensor c = t.detach().to(torch::kFloat).contiguous();
    io::HostTensor h;
    h.shape.assign(c.sizes().begin(), c.sizes().end());
    h.values.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    return h;
}

// Hugging Face GPT2LMHeadModel state dict (tied lm_head omitted, as save_pretrained does).
std::vector<std::pair<std::string, io::HostTensor>> gpt2_tensors(const model::Weights& w) {
    std::vector<std::pair<std::string, io::HostTensor>> t;
    const std::string p = "transformer.";
    t.emplace_back(p + "wte.weight", host(w.W_E));
    t.emplace_back(p + "wpe.weight", host(w.W_pos));
    for (std::size_t l = 0; l < w.layers.size(); ++l) {
        const auto& L = w.layers[l];
        const std::string h = p + "h." + std::to_string(l) + ".";
        t.emplace_back(h + "ln_1.weight", host(L.ln1_w));
        t.emplace_back(h + "ln_1.bias", host(L.ln1_b));
        // Conv1D stores [in, out]: the transposes of our [out, in] matrices.
        t.emplace_back(h + "attn.c_attn.weight", host(L.W_qkv.t()));
        t.emplace_back(h + "attn.c_attn.bias", host(L.b_qkv));
        t.emplace_back(h + "attn.c_proj.weight", host(L.W_O.t()));
        t.emplace_back(h + "attn.c_proj.bias", host(L.b_O));
        t.emplace_back(h + "ln_2.weight", host(L.ln2_w));
        t.emplace_back(h + "ln_2.bias", host(L.ln2_b));
        t.emplace_back(h + "mlp.c_fc.weight", host(L.W_in.t()));
        t.emplace_back(h + "mlp.c_fc.bias", host(L.b_in));
        t.emplace_back(h + "mlp.c_proj.weight", host(L.W_out.t()));
        t.emplace_back(h + "mlp.c_proj.bias", host(L.b_out));
    }
    t.emplace_back(p + "ln_f.weight", host(w.lnf_w));
    t.emplace_back(p + "ln_f.bias", host(w.lnf_b));
    return t;
}

// Rows of n_ctx + 1 tokens: <|endoftext|>, then documents each followed by <|endoftext|>, the last one
// cut at the row's end. Inputs are the first n_ctx tokens, targets the last n_ctx.
struct Rows {
    Tensor inputs, targets; // [B, T] int64
};

Rows make_rows(const Corpus& corpus, const io::Tokenizer& tok, Rng& rng, int B, int T, int eot) {
    std::vector<std::int64_t> buf(static_cast<std::size_t>(B) * (T + 1));
    for (int b = 0; b < B; ++b) {
        std::vector<int> row{eot};
        while (static_cast<int>(row.size()) < T + 1) {
            for (int id : tok.encode(corpus.document(rng)))
                row.push_back(id);
            row.push_back(eot);
        }
        for (int t = 0; t <= T; ++t)
            buf[static_cast<std::size_t>(b) * (T + 1) + t] = row[t];
    }
    Tensor all = torch::from_blob(buf.data(), {B, T + 1}, torch::kLong).clone();
    return {all.narrow(1, 0, T).contiguous(), all.narrow(1, 1, T).contiguous()};
}

double lr_at(const TrainOptions& o, int step) {
    if (step < o.warmup) return o.lr * (step + 1) / o.warmup;
    const double p = static_cast<double>(step - o.warmup) / std::max(1, o.steps - o.warmup);
    const double cosine = 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, p)));
    return o.lr * (o.min_lr_frac + (1.0 - o.min_lr_frac) * cosine);
}

// n·z at the last position for every prompt of `d` (names from `names`), with the prompts' genders.
struct Scored {
    std::vector<double> value;
    std::vector<bool> female;
};

Scored score(const model::Transformer& m, const io::Tokenizer& tok, project::Dataset d,
             const NameLists& names, const std::string& plus, const std::string& minus) {
    d.female_names = names.female;
    d.male_names = names.male;
    auto prompts = project::expand(d);
    project::tokenize(prompts, tok);
    std::vector<std::vector<int>> ids;
    for (const auto& p : prompts)
        ids.push_back(p.ids);
    const auto a = tok.encode(plus), b = tok.encode(minus);
    if (a.size() != 1 || b.size() != 1)
        throw std::runtime_error("'" + plus + "' or '" + minus + "' is not one token");
    torch::NoGradGuard guard;
    model::RunOptions opts;
    opts.last_logits_only = true;
    Tensor z = m.forward(model::Batch::from(ids), opts);
    Tensor diff = (z.select(1, a[0]) - z.select(1, b[0])).to(torch::kDouble).contiguous();
    Scored s;
    s.value.assign(diff.data_ptr<double>(), diff.data_ptr<double>() + diff.numel());
    for (const auto& p : prompts)
        s.female.push_back(p.gender == project::Gender::Female);
    return s;
}

json summarise(const Scored& s) {
    int right = 0, nf = 0, nm = 0;
    double sf = 0, sm = 0;
    for (std::size_t i = 0; i < s.value.size(); ++i) {
        right += (s.value[i] > 0) == s.female[i];
        (s.female[i] ? sf : sm) += s.value[i];
        ++(s.female[i] ? nf : nm);
    }
    return {{"accuracy", static_cast<double>(right) / s.value.size()},
            {"n", s.value.size()},
            {"mean_female", nf ? sf / nf : 0.0},
            {"mean_male", nm ? sm / nm : 0.0}};
}

} // namespace

std::uint64_t data_seed(std::uint64_t seed) {
    return seed * 0xD1B54A32D192ED03ULL + 2;
}

json evaluate(const model::Transformer& m, const io::Tokenizer& tok, const NameLists& names) {
    json j;
    j["subject"] = summarise(score(m, tok, project::study_subject_dataset(), names, " she", " he"));
    j["object"] = summarise(score(m, tok, project::study_object_dataset(), names, " her", " him"));
    j["occupation"] =
        summarise(score(m, tok, project::study_occupation_dataset(), names, " actress", " actor"));
    j["bias"] = summarise(score(m, tok, project::study_occupation_dataset(), names, " nurse", " programmer"));
    return j;
}

TrainResult train(const TrainOptions& o, std::ostream& log) {
    const auto t0 = Clock::now();
    if (o.out.empty()) throw std::invalid_argument("no output folder");
    if (o.d_model % o.n_heads) throw std::invalid_argument("d_model must be a multiple of n_heads");
    if (o.steps < 1 || o.batch < 1 || o.n_ctx < 8)
        throw std::invalid_argument("steps, batch and n_ctx are too small");
    at::set_num_threads(o.threads);
    torch::manual_seed(o.seed);

    // 1. Corpus and tokenizer. Independent random streams, each derived from the seed.
    const Corpus corpus(o.policy, o.mix);
    Rng bpe_rng(o.seed * 0x9E3779B97F4A7C15ULL + 1);
    std::vector<std::string> sample;
    for (int i = 0; i < o.bpe_documents; ++i)
        sample.push_back(corpus.document(bpe_rng));
    const BpeTokenizer bpe = learn_bpe(sample, corpus.forced_tokens(), o.vocab);
    const io::Tokenizer tok = io::Tokenizer::from_tokenizer_json_text(bpe.json, "demo tokenizer.json");
    const int eot = bpe.vocab_size - 1;
    log << "tokenizer: " << bpe.vocab_size << " tokens (" << bpe.n_merges << " merges from " << bpe.n_words
        << " words)\n";

    // 2. Model over the product's own forward pass.
    const io::ModelConfig cfg = model_config(o, bpe.vocab_size);
    model::Weights w = init_weights(cfg);
    std::vector<Tensor> decay, no_decay;
    parameters(w, decay, no_decay);
    std::int64_t n_params = 0;
    for (const auto* v : {&decay, &no_decay})
        for (const auto& t : *v)
            n_params += t.numel();
    auto net = model::Transformer::from_weights(cfg, w);
    log << "model: " << cfg.n_layers << " layers x " << cfg.n_heads << " heads, d_model " << cfg.d_model
        << ", d_mlp " << cfg.d_mlp << ", n_ctx " << cfg.n_ctx << ", " << n_params << " parameters\n";

    std::vector<torch::optim::OptimizerParamGroup> groups;
    auto opt_with = [&](double wd) {
        auto a = std::make_unique<torch::optim::AdamWOptions>(o.lr);
        a->betas({0.9, 0.95}).eps(1e-8).weight_decay(wd);
        return a;
    };
    groups.emplace_back(decay, opt_with(o.weight_decay));
    groups.emplace_back(no_decay, opt_with(0.0));
    torch::optim::AdamW opt(groups, torch::optim::AdamWOptions(o.lr));
    std::vector<Tensor> all_params = decay;
    all_params.insert(all_params.end(), no_decay.begin(), no_decay.end());

    // 3. Training.
    fs::create_directories(o.out);
    std::ostringstream csv;
    csv << "step,tokens,lr,loss,seconds\n";
    Rng data_rng(data_seed(o.seed));
    const NameLists& held = corpus.heldout();
    const NameLists& trained = corpus.train();
    json history = json::array();
    double window = 0, first_loss = -1, last_loss = 0;
    int in_window = 0;
    const auto t_train = Clock::now();
    const double cpu0 = cpu_seconds();
    for (int step = 0; step < o.steps; ++step) {
        const double lr = lr_at(o, step);
        for (auto& g : opt.param_groups())
            static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
        Rows rows = make_rows(corpus, tok, data_rng, o.batch, o.n_ctx, eot);
        model::Batch batch;
        batch.ids = rows.inputs;
        batch.lengths.assign(o.batch, o.n_ctx);
        Tensor logits = net->forward(batch);
        Tensor loss =
            torch::nn::functional::cross_entropy(logits.reshape({-1, cfg.d_vocab}), rows.targets.reshape(-1));
        opt.zero_grad();
        loss.backward();
        torch::nn::utils::clip_grad_norm_(all_params, o.clip);
        opt.step();
        window += loss.item<double>();
        ++in_window;
        if (in_window == o.log_every || step + 1 == o.steps) {
            const double mean = window / in_window;
            if (first_loss < 0) first_loss = mean;
            last_loss = mean;
            csv << step + 1 << ',' << static_cast<std::int64_t>(step + 1) * o.batch * o.n_ctx << ',' << lr
                << ',' << std::setprecision(6) << mean << ',' << std::setprecision(4) << since(t_train)
                << '\n';
            window = 0, in_window = 0;
        }
        if ((o.eval_every > 0 && (step + 1) % o.eval_every == 0) || step + 1 == o.steps) {
            json e = evaluate(*net, tok, held);
            history.push_back({{"step", step + 1},
                               {"loss", last_loss},
                               {"seconds", since(t_train)},
                               {"heldout_subject", e["subject"]["accuracy"]},
                               {"heldout_object", e["object"]["accuracy"]},
                               {"heldout_occupation", e["occupation"]["accuracy"]}});
            std::ostringstream line;
            line << "step " << step + 1 << "/" << o.steps << "  loss " << std::fixed << std::setprecision(4)
                 << last_loss << "  held-out subject " << e["subject"]["accuracy"].get<double>() << " object "
                 << e["object"]["accuracy"].get<double>() << " occupation "
                 << e["occupation"]["accuracy"].get<double>() << "  " << std::setprecision(1)
                 << since(t_train) << " s\n";
            log << line.str() << std::flush;
        }
    }
    const double train_seconds = since(t_train), train_cpu_seconds = cpu_seconds() - cpu0;

    // 4. Save as a Hugging Face GPT-2 folder.
    io::write_file_atomic(o.out / "config.json", config_json(cfg).dump(2) + "\n");
    io::write_file_atomic(o.out / "tokenizer.json", bpe.json);
    io::write_safetensors(o.out / "model.safetensors", gpt2_tensors(w), io::DType::F32, {{"format", "pt"}});

    json heldout_doc = {{"female", held.female},
                        {"male", held.male},
                        {"training_female", trained.female},
                        {"training_male", trained.male},
                        {"policy", policy_name(o.policy)},
                        {"definition", o.policy == HeldoutPolicy::Strict
                                           ? "Held-out names never occur in a subject, object or occupation "
                                             "frame during training, and no pronoun "
                                             "or occupation ever follows them: they occur only in "
                                             "gender-revealing identity sentences ('By the "
                                             "way, Clara is my sister.', 'Her name is Clara.', 'We met Ms. "
                                             "Clara at the station.'). To predict "
                                             "' she' or ' her' for them the model must store gender in the "
                                             "name's representation and move it to "
                                             "the prediction position."
                                           : "Held-out names never occur in a subject, object or occupation "
                                             "frame during training; they occur in "
                                             "gender-revealing identity sentences and in narrative sentences "
                                             "where a pronoun refers back to them."}};
    io::write_file_atomic(o.out / "heldout.json", heldout_doc.dump(2) + "\n");
    io::write_file_atomic(o.out / "training_loss.csv", csv.str());

    // 5. Reload with the product's loader: same tokenizer, same logits.
    auto loaded = model::Transformer::load(o.out);
    const io::Tokenizer tok2 = io::Tokenizer::from_directory(o.out);
    double max_diff = 0;
    {
        torch::NoGradGuard guard;
        Rng check_rng(o.seed + 3);
        Rows rows = make_rows(corpus, tok, check_rng, 4, o.n_ctx, eot);
        model::Batch batch;
        batch.ids = rows.inputs;
        batch.lengths.assign(4, o.n_ctx);
        max_diff = (net->forward(batch) - loaded->forward(batch)).abs().max().item<double>();
        for (int i = 0; i < 50; ++i) {
            const std::string d = corpus.document(check_rng);
            if (tok.encode(d) != tok2.encode(d))
                throw std::runtime_error("reloaded tokenizer differs on: " + d);
        }
    }
    if (!(max_diff < 1e-4))
        throw std::runtime_error("the saved folder does not reproduce the model's logits (max |diff| " +
                                 std::to_string(max_diff) + ")");

    TrainResult r;
    r.first_loss = first_loss;
    r.final_loss = last_loss;
    r.seconds = since(t0);
    std::uint64_t bytes = 0;
    for (const char* f :
         {"config.json", "tokenizer.json", "model.safetensors", "heldout.json", "training_loss.csv"})
        bytes += fs::file_size(o.out / f);
    r.metrics = {
        {"options",
         {{"seed", o.seed},
          {"n_layers", o.n_layers},
          {"n_heads", o.n_heads},
          {"d_model", o.d_model},
          {"d_mlp", cfg.d_mlp},
          {"n_ctx", o.n_ctx},
          {"vocab_requested", o.vocab},
          {"steps", o.steps},
          {"batch", o.batch},
          {"warmup", o.warmup},
          {"lr", o.lr},
          {"min_lr_frac", o.min_lr_frac},
          {"weight_decay", o.weight_decay},
          {"clip", o.clip},
          {"threads", o.threads},
          {"heldout_policy", policy_name(o.policy)},
          {"bpe_documents", o.bpe_documents},
          {"mix",
           {{"identity", o.mix.identity},
            {"subject", o.mix.subject},
            {"object", o.mix.object},
            {"occupation", o.mix.occupation},
            {"story", o.mix.story},
            {"filler", o.mix.filler},
            {"second_sentence", o.mix.second_sentence}}}}},
        {"vocab_size", bpe.vocab_size},
        {"parameters", n_params},
        {"tokens_seen", static_cast<std::int64_t>(o.steps) * o.batch * o.n_ctx},
        {"train_seconds", train_seconds},
        {"train_cpu_seconds", train_cpu_seconds},
        {"total_seconds", r.seconds},
        {"first_loss", first_loss},
        {"final_loss", last_loss},
        {"reload_max_abs_logit_diff", max_diff},
        {"heldout", evaluate(*loaded, tok2, held)},
        {"training_names", evaluate(*loaded, tok2, trained)},
        {"history", history},
        {"files_bytes", bytes},
    };
    io::write_file_atomic(o.out / "training_metrics.json", r.metrics.dump(2) + "\n");
    return r;
}

} // namespace obsprop::train_demo
