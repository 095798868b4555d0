// The study's fifty names of each gender, its three occupation templates and the GPT-Neo-1.3B study preset
// (project create --preset): names checked against GPT-2's own vocabulary file, token positions against
// GPT-2's tokenisation, the preset through the command line on a GPT-Neo checkpoint of the study's shape.
#include "test_paths.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>
#include <nlohmann/json.hpp>

#include "checkpoint_gen.h"
#include "cli_run.h"
#include "io/tokenizer.h"
#include "project/dataset.h"
#include "project/project.h"
#include "project/study_preset.h"

namespace fs = std::filesystem;
namespace pj = obsprop::project;
using cli_run::cli;

namespace {

const fs::path kGpt2 = test_paths::data_path() / "gpt2-vocab";

nlohmann::json gpt2_vocab() {
    std::ifstream in(kGpt2 / "vocab.json");
    return nlohmann::json::parse(in);
}

} // namespace

class TestStudyPreset : public QObject {
    Q_OBJECT

  private Q_SLOTS:
    void initTestCase() {
        QVERIFY2(fs::exists(kGpt2 / "vocab.json"), "run scripts/fetch-test-data (tests/data/gpt2-vocab)");
    }

    void fiftyNamesOfEachGender() {
        const auto f = pj::study_female_names_50(), m = pj::study_male_names_50();
        QCOMPARE(f.size(), std::size_t(50));
        QCOMPARE(m.size(), std::size_t(50));
        // The study's ten come first, in its order.
        const auto f10 = pj::study_female_names(), m10 = pj::study_male_names();
        QCOMPARE(std::vector<std::string>(f.begin(), f.begin() + 10), f10);
        QCOMPARE(std::vector<std::string>(m.begin(), m.begin() + 10), m10);
        std::set<std::string> all(f.begin(), f.end());
        all.insert(m.begin(), m.end());
        QCOMPARE(all.size(), std::size_t(100)); // no repeats, no name on both lists
    }

    void everyNameIsOneGpt2Token() {
        // GPT-2's vocabulary file (fetched, not written here) holds "Ġ" + name for each: one token after a
        // space, as the study requires. The tokenizer agrees on the id.
        const auto vocab = gpt2_vocab();
        const auto tok = obsprop::io::Tokenizer::from_directory(kGpt2);
        for (const auto& list : {pj::study_female_names_50(), pj::study_male_names_50()})
            for (const auto& n : list) {
                const std::string key = "\xC4\xA0" + n; // "Ġ" + name
                QVERIFY2(vocab.contains(key), n.c_str());
                const auto ids = tok.encode(" " + n);
                QCOMPARE(ids.size(), std::size_t(1));
                QCOMPARE(ids[0], vocab.at(key).get<int>());
            }
    }

    void templatesAndTheStudysTokenPositions() {
        // The occupation dataset has the study's two templates and the third one in DESIGN §5.
        const auto occ = pj::study_occupation_dataset(pj::StudyNames::Fifty);
        QVERIFY(std::find(occ.templates.begin(), occ.templates.end(),
                          "<|endoftext|>His cousin [NAME] works hard at being a great") !=
                occ.templates.end());
        QCOMPARE(occ.templates.size(), std::size_t(3));
        QCOMPARE(occ.female_names.size(), std::size_t(50));
        // The study steers token 6 (the name) and token 15 (the last, " love") of its object template: with
        // GPT-2's tokens every one of the hundred prompts has them there.
        const auto tok = obsprop::io::Tokenizer::from_directory(kGpt2);
        const auto obj = pj::study_object_dataset(pj::StudyNames::Fifty);
        auto ps = pj::expand(obj);
        pj::tokenize(ps, tok, obj);
        QCOMPARE(ps.size(), std::size_t(300));
        int first_template = 0;
        for (const auto& p : ps) {
            if (p.template_index != 0) continue;
            ++first_template;
            QCOMPARE(p.ids.size(), std::size_t(16));
            QCOMPARE(p.name_position, 6);
            QCOMPARE(pj::token_position("name", p.name_position, int(p.ids.size())), 6);
            QCOMPARE(pj::token_position("last", p.name_position, int(p.ids.size())), 15);
            QCOMPARE(tok.token_text(p.ids[6]), " " + p.name);
            QCOMPARE(tok.token_text(p.ids[15]), std::string(" love"));
        }
        QCOMPARE(first_template, 100);
    }

    void presetInAProject() {
        pj::Project p;
        p.datasets = {pj::study_subject_dataset(),
                      pj::Dataset{"mine", {"<|endoftext|>Hi [NAME]"}, {"Amy"}, {"Joe"}, {}}};
        p.observables = {{"subj", "\" she\"", ""}, {"other", "\" the\"", "mine"}};
        pj::apply_preset(p, pj::kStudyPreset, 24, 16);
        // The study's datasets (fifty names) replace the ten-name one; the user's own is kept, after them.
        QCOMPARE(p.datasets.size(), std::size_t(4));
        QCOMPARE(p.datasets[0].name, std::string("subject"));
        QCOMPARE(p.datasets[0].female_names.size(), std::size_t(50));
        QCOMPARE(p.datasets[3].name, std::string("mine"));
        QCOMPARE(p.observables.size(), std::size_t(5));
        QCOMPARE(p.observables[0].expr, std::string("\" she\" - \" he\""));
        QCOMPARE(p.observables[0].dataset, std::string("subject"));
        QCOMPARE(p.observables[1].name, std::string("obj"));
        QCOMPARE(p.observables[4].name, std::string("other")); // the user's own, after the study's four
        QCOMPARE(p.steering.size(), std::size_t(6));
        for (const auto& s : p.steering) {
            QCOMPARE(s.multiplier, 50.0);
            QVERIFY(!s.normalize);
            QCOMPARE(s.layer, 0);
            QCOMPARE(s.position, std::string(s.path[0].first == 17 ? "last" : "name"));
        }
        // What a save writes, a load reads back the same.
        QTemporaryDir tmp;
        const fs::path file = tmp.filePath(QStringLiteral("p.obsprop")).toStdString();
        pj::save_project(p, file);
        const auto back = pj::load_project(file);
        QCOMPARE(back.steering.size(), std::size_t(6));
        QCOMPARE(back.datasets[1].male_names, pj::study_male_names_50());

        pj::Project q;
        QVERIFY_THROWS_EXCEPTION(pj::ProjectError, pj::apply_preset(q, pj::kStudyPreset, 4, 8));
        try {
            pj::apply_preset(q, pj::kStudyPreset, 4, 8);
        } catch (const pj::ProjectError& e) {
            QCOMPARE(std::string(e.what()),
                     std::string("preset gpt-neo-1.3b-study is for GPT-Neo-1.3B (24 layers "
                                 "of 16 heads); this model has 4 layers of 8 heads"));
        }
        try {
            pj::apply_preset(q, "gpt-9", 24, 16);
            QFAIL("an unknown preset was accepted");
        } catch (const pj::ProjectError& e) {
            QCOMPARE(std::string(e.what()),
                     std::string("unknown project preset 'gpt-9' (known: gpt-neo-1.3b-study)"));
        }
    }

    void presetFromTheCommandLine() {
        // A GPT-Neo checkpoint of the study's shape (24 layers of 16 heads, GPT-2's vocabulary), narrow so it
        // stays small, with GPT-2's own tokenizer files in place of the generated one.
        QTemporaryDir tmp;
        const fs::path model = fs::path(tmp.path().toStdString()) / "neo";
        obsprop::tools::CheckpointSpec s;
        s.family = obsprop::io::Family::GPTNeo;
        s.n_layers = 24;
        s.n_heads = 16;
        s.d_model = 32;
        s.vocab = 50257;
        s.n_ctx = 64;
        const auto gen = obsprop::tools::generate(s);
        obsprop::tools::write_checkpoint(gen, s, model);
        fs::remove(model / "tokenizer.json");
        fs::copy_file(kGpt2 / "vocab.json", model / "vocab.json");
        fs::copy_file(kGpt2 / "merges.txt", model / "merges.txt");
        const QString file = tmp.filePath(QStringLiteral("study.obsprop"));
        auto r = cli({"project", "create", "--model", QString::fromStdString(model.string()), "--preset",
                      "gpt-neo-1.3b-study", "--observable", "bias=\" nurse\" - \" doctor\"", "--out", file});
        QVERIFY2(r.code == 0, r.err.constData());
        const auto p = pj::load_project(file.toStdString());
        QCOMPARE(p.observables.size(), std::size_t(4));
        QCOMPARE(p.observables[3].name, std::string("bias"));
        QCOMPARE(p.observables[3].expr, std::string("\" nurse\" - \" doctor\"")); // the user's wins
        QCOMPARE(p.datasets[2].templates.size(), std::size_t(3));
        QCOMPARE(p.steering.size(), std::size_t(6));
        r = cli({"project", "validate", file, "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        QCOMPARE(r.json().value("observables").toInt(), 4);
        QCOMPARE(r.json().value("datasets").toInt(), 3);
        // The study's cos(W_Uᵀn_subj, W_Uᵀn_obj): GPT-Neo ties W_U to the embedding, so W_Uᵀn is a difference
        // of two embedding rows, looked up by GPT-2's own vocabulary file.
        r = cli({"features", "--project", file, "--ln", "none", "--pair", "subj,obj", "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        const auto vocab = gpt2_vocab();
        const auto& wte = gen.at(s.prefix ? "transformer.wte.weight" : "wte.weight");
        auto row_diff = [&](const char* a, const char* b) {
            const int ia = vocab.at(std::string("\xC4\xA0") + a).get<int>(),
                      ib = vocab.at(std::string("\xC4\xA0") + b).get<int>();
            std::vector<double> v(std::size_t(s.d_model));
            for (int i = 0; i < s.d_model; ++i)
                v[std::size_t(i)] =
                    double(wte.values[std::size_t(ia) * std::size_t(s.d_model) + std::size_t(i)]) -
                    double(wte.values[std::size_t(ib) * std::size_t(s.d_model) + std::size_t(i)]);
            return v;
        };
        const auto u = row_diff("she", "he"), w = row_diff("her", "him");
        double uw = 0, uu = 0, ww = 0;
        for (std::size_t i = 0; i < u.size(); ++i)
            uw += u[i] * w[i], uu += u[i] * u[i], ww += w[i] * w[i];
        QVERIFY(std::abs(r.json().value("unembed_cosine").toDouble() - uw / std::sqrt(uu * ww)) < 1e-6);
        // The study's first experiment as the project stores it: the feature of 17.14 for subj, 50 times, at
        // the embedding of the last token, on every object prompt. Token 15 itself exists only in the first
        // object template (16 tokens): asked for literally on the subject prompts, it is refused by name.
        const QString first = QStringLiteral("obs=subj;path=17.14;alpha=50;position=last;layer=0");
        r = cli({"steer", "--project", file, "--dataset", "object", "--vector", first, "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        r = cli({"steer", "--project", file, "--dataset", "subject", "--vector",
                 QStringLiteral("obs=subj;path=17.14;alpha=50;position=15;layer=0"), "--json"});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("token position 15 is outside a prompt of"), r.err.constData());

        // Another shape: refused with the shapes named, and nothing written.
        const QString other = tmp.filePath(QStringLiteral("demo.obsprop"));
        r = cli({"project", "create", "--model", test_paths::source("/resources/models/demo"), "--preset",
                 "gpt-neo-1.3b-study", "--out", other});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("preset gpt-neo-1.3b-study is for GPT-Neo-1.3B (24 layers of 16 heads); this "
                                "model has 4 layers of 8 heads"),
                 r.err.constData());
        QVERIFY(!QFile::exists(other));
    }
};

QTEST_APPLESS_MAIN(TestStudyPreset)
#include "tst_study_preset.moc"
