// The shipped demo model (resources/models/demo) and its trainer (tools/train_demo).
//
// The model must load with the product's own loader and really perform the study's tasks on names it
// was never trained on in those frames: the sign of n·z for " she" - " he" (subject frames) and
// " her" - " him" (object frames) must match the name's gender on at least 95 % of the prompts built
// from the held-out names in heldout.json and the study's templates (DESIGN §5, "<|endoftext|>"
// prepended). The trainer must run end to end on a tiny configuration and lower its loss.
#include "io/tokenizer.h"
#include "model/transformer.h"
#include "project/dataset.h"
#include "test_paths.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include <QElapsedTimer>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

namespace fs = std::filesystem;
using nlohmann::json;
using obsprop::io::Tokenizer;
using obsprop::model::Batch;
using obsprop::model::Transformer;
namespace project = obsprop::project;

namespace {

const fs::path kDemo = test_paths::source_path() / "resources" / "models" / "demo";

json read_json(const fs::path& p) {
    std::ifstream in(p);
    if (!in) throw std::runtime_error("cannot open " + p.string());
    return json::parse(in);
}

struct Score {
    int right = 0, total = 0;
    double mean_female = 0, mean_male = 0;
    double accuracy() const { return total ? double(right) / total : 0.0; }
};

// Sign accuracy of n·z = z[plus] - z[minus] at the last position over every template × name.
Score score(const Transformer& m, const Tokenizer& tok, project::Dataset d,
            const std::vector<std::string>& female, const std::vector<std::string>& male,
            const std::string& plus, const std::string& minus) {
    d.female_names = female;
    d.male_names = male;
    auto prompts = project::expand(d);
    project::tokenize(prompts, tok);
    const auto a = tok.encode(plus), b = tok.encode(minus);
    if (a.size() != 1 || b.size() != 1) throw std::runtime_error("observable tokens are not single tokens");
    std::vector<std::vector<int>> ids;
    for (const auto& p : prompts)
        ids.push_back(p.ids);
    torch::NoGradGuard guard;
    obsprop::model::RunOptions opts;
    opts.last_logits_only = true;
    const torch::Tensor z = m.forward(Batch::from(ids), opts);
    const torch::Tensor n = (z.select(1, a[0]) - z.select(1, b[0])).contiguous();
    Score s;
    int nf = 0, nm = 0;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        const double v = n[static_cast<std::int64_t>(i)].item<double>();
        const bool female = prompts[i].gender == project::Gender::Female;
        s.right += (v > 0) == female;
        ++s.total;
        (female ? s.mean_female : s.mean_male) += v;
        ++(female ? nf : nm);
    }
    if (nf) s.mean_female /= nf;
    if (nm) s.mean_male /= nm;
    return s;
}

QString describe(const Score& s) {
    return QString("%1/%2 correct (%3 %), mean n·z female %4, male %5")
        .arg(s.right)
        .arg(s.total)
        .arg(100.0 * s.accuracy(), 0, 'f', 1)
        .arg(s.mean_female, 0, 'f', 2)
        .arg(s.mean_male, 0, 'f', 2);
}

} // namespace

class TestDemoModel : public QObject {
    Q_OBJECT

    std::shared_ptr<Transformer> model_;
    std::optional<Tokenizer> tok_;
    json heldout_;
    std::vector<std::string> female_, male_, train_female_, train_male_;

  private Q_SLOTS:
    void initTestCase() {
        QVERIFY2(fs::is_directory(kDemo), kDemo.c_str());
        model_ = Transformer::load(kDemo);
        tok_ = Tokenizer::from_directory(kDemo);
        heldout_ = read_json(kDemo / "heldout.json");
        female_ = heldout_.at("female").get<std::vector<std::string>>();
        male_ = heldout_.at("male").get<std::vector<std::string>>();
        train_female_ = heldout_.at("training_female").get<std::vector<std::string>>();
        train_male_ = heldout_.at("training_male").get<std::vector<std::string>>();
    }

    void folderIsAHuggingFaceGpt2() {
        const json cfg = read_json(kDemo / "config.json");
        QCOMPARE(cfg.at("model_type").get<std::string>(), std::string("gpt2"));
        QVERIFY(fs::exists(kDemo / "model.safetensors"));
        QVERIFY(fs::exists(kDemo / "tokenizer.json"));
        QVERIFY(fs::exists(kDemo / "README.md"));
        const auto& c = model_->config();
        QCOMPARE(c.family, obsprop::io::Family::GPT2);
        QVERIFY(c.n_layers >= 2);
        QVERIFY(c.d_mlp > 0);
        QCOMPARE(tok_->vocab_size(), c.d_vocab);
        // GPT-2 names, Conv1D [in, out]: the loader already checked shapes; the attention input matrix
        // seen by the forward pass is [3 d, d].
        QCOMPARE(model_->weights().layers[0].W_qkv.size(0), std::int64_t(3) * c.d_model);
    }

    void shippedFilesFitTheBudget() {
        std::uintmax_t bytes = 0;
        for (const auto& e : fs::recursive_directory_iterator(kDemo))
            if (e.is_regular_file()) bytes += e.file_size();
        qInfo() << "resources/models/demo holds" << static_cast<qulonglong>(bytes) << "bytes";
        QVERIFY(bytes > 1000u * 1000u); // the weights are there (not a Git LFS pointer)
        QVERIFY2(bytes <= 8u * 1000u * 1000u, "the demo model folder must stay within 8 MB");
    }

    void keyWordsAreSingleTokens() {
        for (const char* w : {" she", " he", " her", " him", " actress", " actor", " nurse", " programmer"})
            QVERIFY2(tok_->encode(w).size() == 1, w);
        const auto eot = tok_->encode("<|endoftext|>");
        QCOMPARE(eot.size(), std::size_t(1));
        QVERIFY(tok_->is_special(eot[0]));
        QCOMPARE(eot[0], tok_->vocab_size() - 1);
        for (const auto* list : {&female_, &male_, &train_female_, &train_male_})
            for (const auto& n : *list)
                QVERIFY2(tok_->encode(" " + n).size() == 1, n.c_str());
    }

    void heldOutNamesAreDisjointFromTrainingNames() {
        QVERIFY(female_.size() >= 20);
        QVERIFY(male_.size() >= 20);
        QVERIFY(train_female_.size() >= 150);
        QVERIFY(train_male_.size() >= 150);
        std::set<std::string> training(train_female_.begin(), train_female_.end());
        training.insert(train_male_.begin(), train_male_.end());
        std::set<std::string> held;
        for (const auto* list : {&female_, &male_})
            for (const auto& n : *list) {
                QVERIFY2(!training.count(n), n.c_str());
                QVERIFY2(held.insert(n).second, n.c_str());
            }
        // The study's own names are among the held-out ones, so the app's default datasets measure
        // generalisation.
        for (const auto& n : project::study_female_names())
            QVERIFY2(held.count(n), n.c_str());
        for (const auto& n : project::study_male_names())
            QVERIFY2(held.count(n), n.c_str());
        QVERIFY(!heldout_.at("definition").get<std::string>().empty());
    }

    void subjectPronounOnHeldOutNames() {
        const Score s =
            score(*model_, *tok_, project::study_subject_dataset(), female_, male_, " she", " he");
        qInfo() << "held-out subject (\" she\" - \" he\"):" << describe(s);
        QCOMPARE(s.total, 3 * int(female_.size() + male_.size()));
        QVERIFY2(s.accuracy() >= 0.95, qPrintable(describe(s)));
        QVERIFY(s.mean_female > 0 && s.mean_male < 0);
    }

    void objectPronounOnHeldOutNames() {
        const Score s =
            score(*model_, *tok_, project::study_object_dataset(), female_, male_, " her", " him");
        qInfo() << "held-out object (\" her\" - \" him\"):" << describe(s);
        QCOMPARE(s.total, 3 * int(female_.size() + male_.size()));
        QVERIFY2(s.accuracy() >= 0.95, qPrintable(describe(s)));
        QVERIFY(s.mean_female > 0 && s.mean_male < 0);
    }

    void occupationsOnHeldOutNames() {
        // Grammatical gender is always right in the corpus; the nurse/programmer split is the bias the
        // corpus was given on purpose. Reported, and checked only on average.
        const auto d = project::study_occupation_dataset();
        const Score g = score(*model_, *tok_, d, female_, male_, " actress", " actor");
        const Score b = score(*model_, *tok_, d, female_, male_, " nurse", " programmer");
        qInfo() << "held-out occupation (\" actress\" - \" actor\"):" << describe(g);
        qInfo() << "held-out bias (\" nurse\" - \" programmer\"):" << describe(b);
        QVERIFY(g.mean_female > g.mean_male);
        QVERIFY(b.mean_female > b.mean_male);
    }

    void trainingNamesForReference() {
        const Score s = score(*model_, *tok_, project::study_subject_dataset(), train_female_, train_male_,
                              " she", " he");
        const Score o = score(*model_, *tok_, project::study_object_dataset(), train_female_, train_male_,
                              " her", " him");
        qInfo() << "training names, subject:" << describe(s);
        qInfo() << "training names, object:" << describe(o);
        QVERIFY(s.accuracy() >= 0.95);
        QVERIFY(o.accuracy() >= 0.95);
    }

    void trainerSmokeRun() {
        // CTest names the trainer's executable (tests/CMakeLists.txt); it is not compiled in.
        const QString exe = qEnvironmentVariable("OBSPROP_TRAIN_DEMO_EXE");
        if (exe.isEmpty())
            QFAIL(
                "OBSPROP_TRAIN_DEMO_EXE is not set: run this suite through CTest (train-demo is part of the "
                "build)");
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const QString out = tmp.path() + "/tiny";
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        QElapsedTimer timer;
        timer.start();
        p.start(exe,
                {"--out",           out,    "--seed",    "7",    "--layers",     "1", "--heads",     "2",
                 "--d-model",       "32",   "--n-ctx",   "32",   "--batch",      "8", "--steps",     "40",
                 "--warmup",        "5",    "--lr",      "3e-3", "--eval-every", "0", "--log-every", "5",
                 "--bpe-documents", "2000", "--threads", "1"});
        QVERIFY(p.waitForStarted());
        QVERIFY2(p.waitForFinished(120000), "train-demo did not finish within 120 s");
        const QByteArray output = p.readAll();
        const qint64 ms = timer.elapsed();
        qInfo("trainer smoke run: %lld ms", static_cast<long long>(ms));
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, output.constData());

        const fs::path dir = out.toStdString();
        auto m = Transformer::load(dir);
        const Tokenizer tok = Tokenizer::from_directory(dir);
        QCOMPARE(m->config().n_layers, 1);
        QCOMPARE(m->config().d_model, 32);
        QCOMPARE(tok.vocab_size(), m->config().d_vocab);
        const auto ids = tok.encode("<|endoftext|>So, Clara really is a great friend, isn't");
        const torch::Tensor z = m->forward(Batch::from({ids}));
        QVERIFY(torch::isfinite(z).all().item<bool>());

        const json metrics = read_json(dir / "training_metrics.json");
        const double first = metrics.at("first_loss").get<double>(),
                     last = metrics.at("final_loss").get<double>();
        qInfo("loss %.3f -> %.3f", first, last);
        QVERIFY2(last < first, "the loss did not decrease");
        QVERIFY(metrics.at("reload_max_abs_logit_diff").get<double>() < 1e-4);
        const json held = read_json(dir / "heldout.json");
        QVERIFY(held.at("female").size() >= 20 && held.at("male").size() >= 20);
        QVERIFY(fs::file_size(dir / "training_loss.csv") > 0);
    }
};

QTEST_GUILESS_MAIN(TestDemoModel)
#include "tst_demo_model.moc"
