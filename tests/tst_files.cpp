// Files that cannot tear and a fingerprint that notices a changed model: atomic writes (a full disk, a folder
// in the way, a stale temporary), project saves, exports, and the model fingerprint checked by
// `project validate`, `export` and every analysis command.
#include "test_paths.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "checkpoint_gen.h"
#include "io/atomic_file.h"
#include "project/project.h"

namespace fs = std::filesystem;
namespace tools = obsprop::tools;

namespace {

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct Run {
    int code = -1;
    QString out, err;
};

Run obsprop_cli(const QStringList& args) {
    QProcess p;
    p.start(test_paths::binary("/app/obsprop"), args);
    p.waitForFinished(120000);
    return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}

// A tiny model folder and a project for it, written with `obsprop project create` (which records the
// fingerprint).
struct ModelAndProject {
    QTemporaryDir tmp;
    fs::path model, project;
    tools::CheckpointSpec spec;
    ModelAndProject() {
        spec = tools::preset("tiny", tools::Family::Llama);
        spec.vocab = 300, spec.seed = 3;
        model = fs::path(tmp.path().toStdString()) / "model";
        tools::write_checkpoint(tools::generate(spec), spec, model);
        project = fs::path(tmp.path().toStdString()) / "p.obsprop";
        const Run r =
            obsprop_cli({"project", "create", "--model", QString::fromStdString(model.string()),
                         "--observable", "a=#5 - #7", "--out", QString::fromStdString(project.string())});
        if (r.code != 0) qFatal("project create failed: %s", qPrintable(r.err));
    }
};

} // namespace

class TestFiles : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void checkedWriteReportsAFullDisk() {
        try {
            obsprop::io::write_file_checked("/dev/full", std::string(1 << 16, 'x'));
            QFAIL("writing to /dev/full succeeded");
        } catch (const std::runtime_error& e) {
            const QString what = QString::fromUtf8(e.what());
            QVERIFY2(what.contains(QStringLiteral("/dev/full: writing failed: No space left on device")),
                     qPrintable(what));
        }
    }

    void atomicWriteReplacesWholeFiles() {
        QTemporaryDir tmp;
        const fs::path f = fs::path(tmp.path().toStdString()) / "a.json";
        obsprop::io::write_file_atomic(f, "old");
        // A stale temporary of an interrupted save (here a symlink to a full disk) is replaced, not written
        // to.
        fs::create_symlink("/dev/full", obsprop::io::temporary_for(f));
        obsprop::io::write_file_atomic(f, "new contents");
        QCOMPARE(QString::fromStdString(read(f)), QStringLiteral("new contents"));
        QVERIFY(!fs::exists(fs::symlink_status(obsprop::io::temporary_for(f))));
        // A folder where the file should be is named as such (not "could not replace the file: Success").
        const fs::path folder = fs::path(tmp.path().toStdString()) / "out";
        fs::create_directory(folder);
        try {
            obsprop::io::write_file_atomic(folder, "x");
            QFAIL("wrote over a folder");
        } catch (const std::runtime_error& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("is a folder, not a file")),
                     e.what());
        }
        // A missing folder gives the system's reason and leaves nothing behind.
        const fs::path missing = fs::path(tmp.path().toStdString()) / "no" / "such.json";
        try {
            obsprop::io::write_file_atomic(missing, "x");
            QFAIL("wrote into a missing folder");
        } catch (const std::runtime_error& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("No such file or directory")),
                     e.what());
        }
    }

    void projectSaveIsAtomic() {
        QTemporaryDir tmp;
        obsprop::project::Project p;
        p.model_path = "model";
        const fs::path f = fs::path(tmp.path().toStdString()) / "x.obsprop";
        obsprop::project::save_project(p, f);
        QCOMPARE(read(f), obsprop::project::serialize(p));
        QVERIFY(!fs::exists(obsprop::io::temporary_for(f)));
        try {
            obsprop::project::save_project(p, tmp.path().toStdString());
            QFAIL("saved over a folder");
        } catch (const obsprop::project::ProjectError& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("is a folder")), e.what());
        }
    }

    // The fingerprint changes when a whole tensor changes anywhere in the model or when the tokenizer
    // changes, and not when nothing does.
    void fingerprintNoticesChanges() {
        ModelAndProject m;
        const std::string before = obsprop::project::fingerprint_model(m.model);
        QVERIFY(QString::fromStdString(before).startsWith(QStringLiteral("xxh3v2:")));
        QCOMPARE(obsprop::project::fingerprint_model(m.model), before);
        QVERIFY(obsprop::project::fingerprint_matches(before, m.model));
        QVERIFY(obsprop::project::fingerprint_matches("", m.model)); // unknown: nothing to compare

        // Rescale the last layer's down projection (deep in the file, past its first MiB).
        auto g = tools::generate(m.spec);
        for (auto& [name, t] : g.tensors)
            if (name.ends_with("layers.1.mlp.down_proj.weight"))
                for (float& v : t.values)
                    v *= 2.0f;
        tools::write_checkpoint(g, m.spec, m.model);
        const std::string scaled = obsprop::project::fingerprint_model(m.model);
        QVERIFY(scaled != before);
        QVERIFY(!obsprop::project::fingerprint_matches(before, m.model));

        // Swap two token ids in the tokenizer.
        tools::write_checkpoint(tools::generate(m.spec), m.spec, m.model);
        QCOMPARE(obsprop::project::fingerprint_model(m.model), before);
        auto tok = nlohmann::json::parse(read(m.model / "tokenizer.json"));
        auto& vocab = tok["model"]["vocab"];
        std::string a, b;
        for (auto it = vocab.begin(); it != vocab.end(); ++it) {
            if (it.value() == 100) a = it.key();
            if (it.value() == 101) b = it.key();
        }
        QVERIFY(!a.empty() && !b.empty());
        vocab[a] = 101, vocab[b] = 100;
        std::ofstream(m.model / "tokenizer.json") << tok.dump();
        QVERIFY(obsprop::project::fingerprint_model(m.model) != before);
    }

    void validateAndExportCheckTheFingerprint() {
        ModelAndProject m;
        const QString project = QString::fromStdString(m.project.string());
        Run ok = obsprop_cli({"project", "validate", project, "--json"});
        QCOMPARE(ok.code, 0);
        QVERIFY(ok.out.contains(QStringLiteral("\"fingerprint_matches\": true")));

        auto g = tools::generate(m.spec);
        for (auto& [name, t] : g.tensors)
            if (name.ends_with("layers.0.self_attn.v_proj.weight"))
                for (float& v : t.values)
                    v = -v;
        tools::write_checkpoint(g, m.spec, m.model);

        Run bad = obsprop_cli({"project", "validate", project});
        QCOMPARE(bad.code, 1);
        QVERIFY2(bad.err.contains(QStringLiteral("obsprop: error: ")) &&
                     bad.err.contains(QStringLiteral("has changed since the project was saved")),
                 qPrintable(bad.err));
        const QString out = QString::fromStdString((m.model.parent_path() / "export").string());
        Run exp = obsprop_cli({"export", "--project", project, "--out", out});
        QCOMPARE(exp.code, 1);
        QVERIFY2(exp.err.contains(QStringLiteral("--allow-model-change")), qPrintable(exp.err));
        QVERIFY(!fs::exists(out.toStdString() + "/manifest.json"));
        // Analyses run, with a warning.
        Run feat = obsprop_cli({"features", "--project", project});
        QCOMPARE(feat.code, 0);
        QVERIFY2(feat.err.contains(QStringLiteral("obsprop: warning: ")), qPrintable(feat.err));
        // Exporting anyway writes every file and the manifest last; nothing temporary stays behind.
        Run forced = obsprop_cli({"export", "--project", project, "--out", out, "--allow-model-change"});
        QCOMPARE(forced.code, 0);
        QVERIFY(fs::exists(out.toStdString() + "/manifest.json"));
        for (const auto& e : fs::directory_iterator(out.toStdString()))
            QVERIFY2(e.path().extension() != ".tmp", e.path().c_str());
        // A project saved before this format (fingerprint "xxh3:...") is checked in its own format.
        auto p = obsprop::project::load_project(m.project);
        p.model_fingerprint = "xxh3:0000000000000000";
        obsprop::project::save_project(p, m.project);
        QCOMPARE(obsprop_cli({"project", "validate", project}).code, 1);
    }
};

QTEST_APPLESS_MAIN(TestFiles)
#include "tst_files.moc"
