// obsprop corpus in the engine: one corpus report (analyses/run.h, corpus_report) printed, and with --export
// written as `obsprop export` writes tables (analyses/export.h, export_corpus); nothing is computed here.
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "analyses/export.h"
#include "analyses/run.h"
#include "analyses/tables.h"
#include "analyses/workspace.h"
#include "analysis_options.h"
#include "cli.h"
#include "commands.h"

namespace obsprop::cli {

using namespace obsprop::analyses;

namespace {

// The shipped corpus: <dir>/../share/obsprop/corpus (the build tree, where <build>/share/obsprop links to
// resources/) or <dir>/../../share/obsprop/corpus (installed: the engine is in <prefix>/libexec/obsprop).
std::filesystem::path default_corpus() {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const auto dir = self.parent_path();
    for (const auto& base : {dir / ".." / "share", dir / ".." / ".." / "share"}) {
        const auto f = (base / "obsprop" / "corpus" / "corpus.txt").lexically_normal();
        if (!ec && std::filesystem::is_regular_file(f, ec)) return f;
    }
    throw std::runtime_error(
        "the shipped corpus (share/obsprop/corpus/corpus.txt) is missing: give --corpus FILE");
}

} // namespace

namespace engine {

int corpus(const CorpusArgs& c) {
    if (c.head.empty() == c.path.empty()) throw UsageError("give one of --head L.H and --path 'L.H -> L.H'");
    // Syntax first, before loading the model.
    const std::string option = c.head.empty() ? "--path" : "--head";
    const std::string text = c.head.empty() ? c.path : c.head;
    const std::vector<HeadId> path = c.head.empty() ? parse_path_arg("--path", c.path)
                                                    : std::vector<HeadId>{parse_head_arg("--head", c.head)};
    CorpusOptions opts;
    try {
        opts.format = parse_corpus_format(c.format);
        opts.prefix = c.prefix;
        opts.max_tokens = c.max_tokens;
        opts.top = c.top;
        opts.context = c.context;
        opts.bins = c.bins;
        opts.max_documents = c.max_documents;
        opts.probe_lambda = c.lambda;
        opts.check();
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    const std::string file = c.corpus.empty() ? default_corpus().string() : c.corpus;
    const Analysis a = open_analysis(c.o);
    check_heads_arg(a.workspace(), option, text, path);
    try {
        corpus_window(a, opts);
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    const std::string obs = observable_arg(a.workspace(), "--feature-of", c.feature_of);
    const CorpusReport r = corpus_report(a, path, obs, file, opts);
    if (!c.export_dir.empty()) export_corpus(a, r, c.export_dir);
    if (c.o.json) {
        print_json(to_json(r));
        return 0;
    }
    if (c.o.csv) {
        std::cout << to_table(r).to_csv();
        return 0;
    }
    std::cout << path_title(r.path) << ", feature of '" << r.observable << "' (LayerNorm " << r.ln_mode
              << ", baselines on '" << r.ln_dataset << "': " << r.train_positive << " female, "
              << r.train_negative << " male prompts) at " << r.hook << " over " << r.corpus << ": "
              << r.documents << " documents, " << r.windows << " windows, " << r.tokens << " tokens\n";
    print_table(baselines_table(r), c.o);
    std::cout << "cos(mean_difference, probe) = " << r.cos_mean_difference_probe << "\n\n";
    print_table(to_table(r), c.o);
    return 0;
}

} // namespace engine

} // namespace obsprop::cli
