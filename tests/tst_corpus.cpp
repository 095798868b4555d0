// Corpus-scale validation (docs/corpus.md): the streaming statistics, the reader, the baselines and the whole
// corpus report, each against an independent computation: explicit loops over every value, a full sort, the
// naive reference model run window by window (scores, values, the LayerNorm dataset's activations), closed
// forms, a plain gradient-descent loop written here; and the command line against the core.
#include "cli_run.h"
#include "json_close.h"
#include "test_models.h"
#include "test_paths.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>

#include "analyses/run.h"
#include "analyses/steering.h"
#include "analyses/tables.h"
#include "analyses/workspace.h"
#include "obsprop/corpus.h"
#include "obsprop/linear_probe.h"

using namespace obsprop;
using namespace obsprop::analyses;
using cli_run::cli;
using Vec = std::vector<double>;

namespace {

constexpr int kLayer = 1, kHead = 2;

// Two-pass statistics, written out.
struct Plain {
    double mean = 0, sd = 0, min = 0, max = 0;
};
Plain plain(const Vec& x) {
    Plain p;
    p.min = *std::min_element(x.begin(), x.end());
    p.max = *std::max_element(x.begin(), x.end());
    for (double v : x)
        p.mean += v;
    p.mean /= static_cast<double>(x.size());
    for (double v : x)
        p.sd += (v - p.mean) * (v - p.mean);
    p.sd = std::sqrt(p.sd / static_cast<double>(x.size()));
    return p;
}
// r², slope, intercept of y on x by the closed forms.
struct Line {
    double r = 0, slope = 0, intercept = 0;
};
Line line(const Vec& x, const Vec& y) {
    const double mx = plain(x).mean, my = plain(y).mean;
    double sxx = 0, syy = 0, sxy = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
        sxx += (x[i] - mx) * (x[i] - mx), syy += (y[i] - my) * (y[i] - my), sxy += (x[i] - mx) * (y[i] - my);
    return {sxy / std::sqrt(sxx * syy), sxy / sxx, my - sxy / sxx * mx};
}

bool near(double a, double b, double tol) {
    return std::abs(a - b) <= tol * (1 + std::abs(b));
}

double sigmoid(double t) {
    return 1 / (1 + std::exp(-t));
}

void write(const QString& path, const QByteArray& text) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(text);
}

const QStringList kDocuments = {
    QStringLiteral("The cat sat on the mat and looked at the door for a long time."),
    QStringLiteral("She said that he would come back tomorrow, and he did come back, with flowers and a cake "
                   "for everyone in the house."),
    QStringLiteral("Rain."),
    QStringLiteral("A long walk by the river\nwith two lines in one document."),
};

} // namespace

class TestCorpus : public QObject {
    Q_OBJECT

    test_models::TinyModel t_;
    std::shared_ptr<Workspace> ws_;
    QTemporaryDir dir_;
    QString corpus_;

    Analysis analysis() const { return Analysis(std::shared_ptr<const Workspace>(ws_)); }
    CorpusOptions options() const {
        CorpusOptions o;
        o.max_tokens = 12; // several windows per long document
        o.prefix = "<|endoftext|>";
        o.top = 6;
        o.context = 3;
        o.bins = 8;
        return o;
    }

  private Q_SLOTS:
    void initTestCase() {
        t_ = test_models::make_tiny(io::Family::GPT2, 11);
        ws_ = std::make_shared<Workspace>(Workspace::open_model(t_.dir->path().toStdString() + "/model"));
        ws_->add_observable("subj", "#10 - #20");
        corpus_ = dir_.filePath(QStringLiteral("tiny.txt"));
        write(corpus_, kDocuments.join(QStringLiteral("\n\n")).toUtf8() + "\n");
    }

    // ---- streaming statistics against explicit loops
    // -------------------------------------------------------

    void momentsAndFitMatchTwoPassFormulas() {
        std::mt19937_64 rng(3);
        std::normal_distribution<double> g(0, 1);
        Vec x, y;
        Moments m;
        CoMoments c;
        for (int i = 0; i < 5000; ++i) {
            x.push_back(1e6 + 3 * g(rng)); // a large offset: the centred updates keep their precision
            y.push_back(0.5 * (x.back() - 1e6) + g(rng) - 7);
            m.add(x.back());
            c.add(x.back(), y.back());
        }
        const Plain p = plain(x);
        const Line l = line(x, y);
        QVERIFY(near(m.mean, p.mean, 1e-13) && near(m.sd(), p.sd, 1e-9));
        QCOMPARE(m.min, p.min);
        QCOMPARE(m.max, p.max);
        QVERIFY(near(c.r(), l.r, 1e-9) && near(c.r2(), l.r * l.r, 1e-9));
        QVERIFY(near(c.slope(), l.slope, 1e-9) && near(c.intercept(), l.intercept, 1e-6));
        // Exact line: r² = 1; constant x: undefined.
        CoMoments exact, flat;
        for (int i = 0; i < 5; ++i)
            exact.add(i, 2.0 * i + 1), flat.add(1, i);
        QVERIFY(near(exact.r2(), 1, 1e-15) && near(exact.slope(), 2, 1e-15) &&
                near(exact.intercept(), 1, 1e-15));
        QVERIFY(std::isnan(flat.r2()) && std::isnan(flat.slope()));
    }

    void histogramCountsEveryValueInItsBin() {
        std::mt19937_64 rng(5);
        std::normal_distribution<double> g(0, 1);
        for (std::size_t warmup : {std::size_t(1), std::size_t(16), std::size_t(100000)}) {
            StreamingHistogram h(10, warmup);
            Vec all;
            for (int i = 0; i < 3000; ++i) {
                // The spread grows, so the range must grow to the left and to the right after the warm-up.
                const double v = g(rng) * (1 + i / 100.0) + (i % 7 == 0 ? 40 : 0);
                all.push_back(v);
                h.add(v);
            }
            const auto r = h.result();
            QVERIFY(r.width > 0);
            QVERIFY(r.counts.front() > 0 && r.counts.back() > 0);
            std::vector<std::uint64_t> want(r.counts.size(), 0);
            for (double v : all) {
                const double k = std::floor((v - r.lo) / r.width);
                QVERIFY2(k >= 0 && k < static_cast<double>(want.size()), "a value outside the final bins");
                ++want[static_cast<std::size_t>(k)];
            }
            QCOMPARE(r.counts, want);
        }
        StreamingHistogram h(4, 8);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, h.add(std::nan("")));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, StreamingHistogram(3, 8));
        QVERIFY(StreamingHistogram(4, 8).result().counts.empty());
    }

    void topKEqualsAFullSort() {
        std::mt19937_64 rng(7);
        std::uniform_int_distribution<int> d(0, 40); // many ties
        std::vector<std::pair<double, std::uint64_t>> all;
        TopK<int> top(25);
        for (std::uint64_t i = 0; i < 2000; ++i) {
            const double s = d(rng) / 4.0;
            all.push_back({s, i});
            top.push(s, i, static_cast<int>(i));
        }
        std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
            return a.first != b.first ? a.first > b.first : a.second < b.second;
        });
        const auto got = top.sorted();
        QCOMPARE(got.size(), std::size_t(25));
        for (std::size_t i = 0; i < got.size(); ++i) {
            QCOMPARE(got[i].score, all[i].first);
            QCOMPARE(got[i].order, all[i].second);
            QCOMPARE(static_cast<std::uint64_t>(got[i].payload), all[i].second);
        }
        QVERIFY(TopK<int>(0).sorted().empty());
    }

    // ---- the probe: a hand case and an independent gradient descent
    // ------------------------------------------

    void probeOnSymmetricPointsHasTheClosedForm() {
        // (±1, ±1) labelled by the sign of the first coordinate: by symmetry w = (a, 0), b = 0, where a
        // solves d/da [log(1 + e^{−a}) + λa²/2] = −σ(−a) + λa = 0 (bisection here).
        LabelledRows rows;
        rows.x = {{1, 1}, {1, -1}, {-1, 1}, {-1, -1}};
        rows.labels = {1, 1, 0, 0};
        const double lambda = 0.1;
        double lo = 0, hi = 100;
        for (int i = 0; i < 200; ++i) {
            const double mid = (lo + hi) / 2;
            (-sigmoid(-mid) + lambda * mid < 0 ? lo : hi) = mid;
        }
        const LogisticProbe p = train_logistic_probe(rows, lambda);
        QVERIFY(p.converged);
        QVERIFY(std::abs(p.w[0] - lo) < 1e-9);
        QVERIFY(std::abs(p.w[1]) < 1e-12 && std::abs(p.b) < 1e-12);
        QCOMPARE(p.accuracy, 1.0);
        // Shifted points: the same w, b absorbs the shift (w·x + b unchanged).
        for (auto& r : rows.x)
            r[0] += 5, r[1] -= 2;
        const LogisticProbe q = train_logistic_probe(rows, lambda);
        QVERIFY(std::abs(q.w[0] - lo) < 1e-9 && std::abs(q.w[1]) < 1e-9);
        QVERIFY(std::abs(q.b + 5 * lo) < 1e-8);
        // Mean difference by hand: (1, 0) − (−1, 0) for the original points, shifted alike.
        const Vec md = mean_difference(rows);
        QVERIFY(std::abs(md[0] - 2) < 1e-15 && std::abs(md[1]) < 1e-15);
    }

    void probeEqualsPlainGradientDescent() {
        std::mt19937_64 rng(9);
        std::normal_distribution<double> g(0, 1);
        LabelledRows rows;
        for (int i = 0; i < 30; ++i) { // overlapping classes, 4 dimensions
            const int label = i % 2;
            rows.x.push_back({g(rng) + label, g(rng) - 0.5 * label, 2 * g(rng), g(rng) + 3});
            rows.labels.push_back(label);
        }
        const double lambda = 0.05;
        const Vec gd = gradient_descent(rows, lambda);
        const LogisticProbe p = train_logistic_probe(rows, lambda);
        QVERIFY(p.converged);
        for (std::size_t j = 0; j < 4; ++j)
            QVERIFY2(std::abs(p.w[j] - gd[j]) < 1e-7, qPrintable(QString::number(p.w[j] - gd[j])));
        QVERIFY(std::abs(p.b - gd[4]) < 1e-7);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, train_logistic_probe(rows, 0));
        rows.labels.assign(rows.labels.size(), 1);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, train_logistic_probe(rows, lambda));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, mean_difference(rows));
    }

    // ---- the reader
    // ------------------------------------------------------------------------------------------

    void readerSplitsDocuments() {
        const QString text = dir_.filePath(QStringLiteral("docs.txt"));
        write(text, "\xEF\xBB\xBF"
                    "first line\r\nsecond line\n \n\n\t\nthird\n\n");
        CorpusReader r(text.toStdString());
        QVERIFY(r.format() == CorpusFormat::Text);
        CorpusDocument d;
        QVERIFY(r.next(d));
        QCOMPARE(d.text, std::string("first line\nsecond line"));
        QCOMPARE(d.line, std::size_t(1));
        QVERIFY(r.next(d));
        QCOMPARE(d.text, std::string("third"));
        QCOMPARE(d.line, std::size_t(6));
        QCOMPARE(d.index, std::size_t(1));
        QVERIFY(!r.next(d));
        QCOMPARE(r.bytes_read(), r.size());

        const QString jsonl = dir_.filePath(QStringLiteral("docs.jsonl"));
        write(jsonl, "{\"text\": \"one\", \"id\": 1}\n\n{\"text\": \"two\\nlines\"}");
        CorpusReader j(jsonl.toStdString());
        QVERIFY(j.format() == CorpusFormat::Jsonl);
        QVERIFY(j.next(d) && d.text == "one" && d.line == 1);
        QVERIFY(j.next(d) && d.text == "two\nlines" && d.line == 3);
        QVERIFY(!j.next(d));
        // The format given wins over the extension.
        CorpusReader as_text(jsonl.toStdString(), CorpusFormat::Text);
        QVERIFY(as_text.next(d) && d.text.starts_with("{\"text\""));
    }

    void readerRefusesBadInputByFileAndLine() {
        auto error = [&](const QString& name, const QByteArray& text) -> std::string {
            const QString path = dir_.filePath(name);
            write(path, text);
            try {
                CorpusReader r(path.toStdString());
                CorpusDocument d;
                while (r.next(d)) {
                }
            } catch (const CorpusError& e) {
                return e.what();
            }
            return {};
        };
        auto has = [](const std::string& s, const char* part) {
            return s.find(part) != std::string::npos || (qWarning("%s", s.c_str()), false);
        };
        QVERIFY(has(error("a.jsonl", "{\"text\": \"ok\"}\n{\"txt\": \"x\"}\n"),
                    "a.jsonl:2: missing field 'text'"));
        QVERIFY(has(error("b.jsonl", "{\"text\": \"ok\"}\n\nnot json\n"), "b.jsonl:3: not JSON"));
        QVERIFY(has(error("c.jsonl", "{\"text\": 5}\n"),
                    "c.jsonl:1: field 'text' must be a string, not a number"));
        QVERIFY(has(error("d.jsonl", "[\"text\"]\n"), "d.jsonl:1: expected a JSON object"));
        QVERIFY(has(error("e.txt", QByteArray(static_cast<qsizetype>(kMaxCorpusLineBytes) + 10, 'a')),
                    "e.txt:1: the line is longer than"));
        auto open_error = [](const std::string& path) -> std::string {
            try {
                CorpusReader r(path);
            } catch (const CorpusError& e) {
                return e.what();
            }
            return {};
        };
        QVERIFY(has(open_error(dir_.filePath(QStringLiteral("missing.txt")).toStdString()),
                    "missing.txt: no such file"));
        QVERIFY(has(open_error(dir_.path().toStdString()), "not a regular file"));
        QVERIFY(has(open_error(""), "no corpus file given"));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, parse_corpus_format("csv"));
    }

    void emptyCorpusAndBadOptionsAreRefused() {
        const QString empty = dir_.filePath(QStringLiteral("empty.txt"));
        write(empty, "\n \n\n");
        const Analysis a = analysis();
        QVERIFY_THROWS_EXCEPTION(CorpusError,
                                 corpus_report(a, {{kLayer, kHead}}, "subj", empty.toStdString(), options()));
        const QString blank = dir_.filePath(QStringLiteral("blank.jsonl"));
        write(blank, "{\"text\": \"\"}\n");
        QVERIFY_THROWS_EXCEPTION(CorpusError,
                                 corpus_report(a, {{kLayer, kHead}}, "subj", blank.toStdString(), options()));
        CorpusOptions o = options();
        o.bins = 7;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 corpus_report(a, {{kLayer, kHead}}, "subj", corpus_.toStdString(), o));
        o = options();
        o.max_tokens = 64; // with the prefix, more than the model's 64 positions
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 corpus_report(a, {{kLayer, kHead}}, "subj", corpus_.toStdString(), o));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 corpus_report(a, {{9, 0}}, "subj", corpus_.toStdString(), options()));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, corpus_report(a, {{kLayer, kHead}}, "nope",
                                                                      corpus_.toStdString(), options()));
    }

    void cancelStopsTheScan() {
        int calls = 0;
        const Progress stop_late = [&](double, std::string_view stage) {
            return !(stage == std::string_view("scoring the corpus") && ++calls > 3);
        };
        QVERIFY_THROWS_EXCEPTION(Cancelled, corpus_report(analysis(), {{kLayer, kHead}}, "subj",
                                                          corpus_.toStdString(), options(), stop_late));
        QVERIFY(calls > 3);
    }

    // ---- the report against the naive reference, window by window
    // -------------------------------------------

    // A head's feature is scored at its input, blocks.L.hook_resid_pre; a path's at its first node's input:
    // resid_pre for a head, the ln_2 input (resid_mid in GPT-2) for an MLP, whose baselines are trained at
    // the token it is linearised at (the name slot when a head follows, else the last token).
    void reportMatchesTheNaiveReference_data() {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("hook");
        QTest::addColumn<int>("layer");
        QTest::addColumn<bool>("lastToken");
        QTest::newRow("head") << QStringLiteral("1.2") << QStringLiteral("hook_resid_pre") << kLayer << false;
        QTest::newRow("heads") << QStringLiteral("0.1 -> 1.2") << QStringLiteral("hook_resid_pre") << 0
                               << false;
        QTest::newRow("mlp, head") << QStringLiteral("mlp0 -> 1.2") << QStringLiteral("hook_resid_mid") << 0
                                   << false;
        QTest::newRow("head, mlp") << QStringLiteral("0.3 -> mlp1") << QStringLiteral("hook_resid_pre") << 0
                                   << false;
        QTest::newRow("mlp") << QStringLiteral("mlp1") << QStringLiteral("hook_resid_mid") << 1 << true;
    }
    void reportMatchesTheNaiveReference() {
        QFETCH(QString, path);
        QFETCH(QString, hook);
        QFETCH(int, layer);
        QFETCH(bool, lastToken);
        const Analysis a = analysis();
        CorpusOptions opts = options();
        opts.probe_lambda = 0.1;
        const CorpusReport r =
            corpus_report(a, parse_path_label(path.toStdString()), "subj", corpus_.toStdString(), opts);
        QCOMPARE(r.hook, "blocks." + std::to_string(layer) + "." + hook.toStdString());
        QCOMPARE(r.vectors.size(), std::size_t(3));
        // Where the scores are read, in the naive model's trace.
        auto input = [&](const naive::Trace& tr, std::size_t t) -> const Vec& {
            return hook == QStringLiteral("hook_resid_mid")
                       ? tr.resid_mid[static_cast<std::size_t>(layer)][t]
                       : tr.resid_pre[static_cast<std::size_t>(layer)][t];
        };
        const auto& tok = ws_->tokenizer();
        const auto weights = t_.naive();
        const std::vector<int> prefix = tok.encode("<|endoftext|>");
        QCOMPARE(prefix.size(), std::size_t(1));

        // Every token of every window, by the naive model: x at the hook and n·logits.
        struct Token {
            std::uint64_t document, position;
            std::vector<int> window;
            std::size_t at; // index in window
            Vec scores;     // per vector
            double value;
        };
        std::vector<Token> tokens;
        std::uint64_t windows = 0;
        for (int d = 0; d < kDocuments.size(); ++d) {
            const auto ids = tok.encode(kDocuments[d].toStdString());
            for (std::size_t start = 0; start < ids.size(); start += 12, ++windows) {
                std::vector<int> w = prefix;
                w.insert(w.end(), ids.begin() + static_cast<std::ptrdiff_t>(start),
                         ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), start + 12)));
                const auto tr = naive::run(t_.gen.config, weights, w);
                for (std::size_t p = 1; p < w.size(); ++p) {
                    Token k{static_cast<std::uint64_t>(d), start + p - 1, w, p, {}, 0};
                    for (const auto& v : r.vectors) {
                        double s = 0;
                        for (std::size_t i = 0; i < v.values.size(); ++i)
                            s += v.values[i] * input(tr, p)[i];
                        k.scores.push_back(s);
                    }
                    k.value = tr.logits[p][10] - tr.logits[p][20];
                    tokens.push_back(std::move(k));
                }
            }
        }
        QCOMPARE(r.tokens, static_cast<std::uint64_t>(tokens.size()));
        QCOMPARE(r.windows, windows);
        QCOMPARE(r.documents, std::uint64_t(4));
        QCOMPARE(r.max_tokens, 12);
        QCOMPARE(r.format, std::string("text"));
        Vec values;
        for (const auto& k : tokens)
            values.push_back(k.value);
        const Plain pv = plain(values);
        QVERIFY(near(r.value_mean, pv.mean, 1e-4) && near(r.value_sd, pv.sd, 1e-4));
        for (std::size_t v = 0; v < 3; ++v) {
            Vec s;
            for (const auto& k : tokens)
                s.push_back(k.scores[v]);
            const Plain ps = plain(s);
            const Line l = line(s, values);
            const auto& got = r.vectors[v];
            QVERIFY2(near(got.mean, ps.mean, 1e-4) && near(got.sd, ps.sd, 1e-4), got.name.c_str());
            QVERIFY(near(got.min, ps.min, 1e-4) && near(got.max, ps.max, 1e-4));
            QVERIFY2(std::abs(got.r - l.r) < 1e-4 && std::abs(got.r2 - l.r * l.r) < 1e-4, got.name.c_str());
            QVERIFY(near(got.slope, l.slope, 1e-3) && near(got.intercept, l.intercept, 1e-3));
        }

        // The histogram: every token once; a token lands in its bin unless it lies within float error of an
        // edge.
        std::uint64_t total = 0;
        for (auto c : r.hist_counts)
            total += c;
        QCOMPARE(total, r.tokens);
        std::vector<std::int64_t> want(r.hist_counts.size(), 0);
        std::int64_t near_edge = 0;
        for (const auto& k : tokens) {
            const double f = (k.scores[0] - r.hist_lo) / r.hist_width;
            if (std::abs(f - std::round(f)) < 1e-3) ++near_edge;
            const auto bin = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(f)), 0,
                                                      static_cast<std::int64_t>(want.size()) - 1);
            ++want[static_cast<std::size_t>(bin)];
        }
        std::int64_t off = 0;
        for (std::size_t i = 0; i < want.size(); ++i)
            off += std::abs(want[i] - static_cast<std::int64_t>(r.hist_counts[i]));
        QVERIFY(off <= 2 * near_edge);

        // The examples: the full sort of the feature's scores, with each token's context in its window.
        std::vector<const Token*> order;
        for (const auto& k : tokens)
            order.push_back(&k);
        std::stable_sort(order.begin(), order.end(),
                         [](const Token* x, const Token* y) { return x->scores[0] > y->scores[0]; });
        QCOMPARE(r.examples.size(), std::size_t(6));
        for (std::size_t i = 0; i < r.examples.size(); ++i) {
            const auto& e = r.examples[i];
            const Token& k = *order[i];
            if (i + 1 < order.size() && std::abs(order[i]->scores[0] - order[i + 1]->scores[0]) < 1e-4) break;
            QCOMPARE(e.rank, static_cast<int>(i + 1));
            QCOMPARE(e.document, k.document);
            QCOMPARE(e.position, k.position);
            QVERIFY(near(e.score, k.scores[0], 1e-4) && near(e.value, k.value, 1e-4));
            const std::size_t lo = std::max<std::size_t>(1, k.at >= 3 ? k.at - 3 : 0),
                              hi = std::min(k.window.size() - 1, k.at + 3);
            QCOMPARE(e.tokens.size(), hi - lo + 1);
            QCOMPARE(e.focus, static_cast<int>(k.at - lo));
            for (std::size_t u = lo; u <= hi; ++u) {
                QCOMPARE(e.tokens[u - lo], tok.token_text(k.window[u]));
                const auto it = std::find_if(tokens.begin(), tokens.end(), [&](const Token& x) {
                    return x.window == k.window && x.at == u;
                });
                QVERIFY(it != tokens.end() && near(e.scores[u - lo], it->scores[0], 1e-4));
            }
        }

        if (path.contains(QStringLiteral("->")) || path.startsWith(QStringLiteral("mlp"))) {
            // A path's feature is the one steering adds: `steer --path` predicts with it (the surfaces
            // agree).
            const auto plan = SteeringPlan::prepare(
                a, {SteeringVector{"subj", parse_path_label(path.toStdString()), -1, "name", false, 1.0}});
            const SteeringReport pred = plan->predict({1.0});
            QCOMPARE(pred.vector_norms.size(), std::size_t(1));
            QVERIFY(near(pred.vector_norms[0], r.vectors[0].norm, 1e-6));
        } else {
            checkScatterFeature(a, r, weights);
        }
        // The probe's training is the same wherever its rows come from: checked once, with the head's.
        const bool probe = !path.contains(QStringLiteral("->")) && !path.startsWith(QStringLiteral("mlp"));
        checkBaselines(r, weights, probe, [&](const naive::Trace& tr, const project::Prompt& p) {
            return input(tr, lastToken ? p.ids.size() - 1 : static_cast<std::size_t>(p.name_position));
        });
    }

  private:
    // The feature is the one the coupling scatter scores the dataset's tokens with: s₁ of its report
    // equals y·x over the naive model's activations of the dataset's prompts.
    void checkScatterFeature(const Analysis& a, const CorpusReport& r, const naive::Weights& weights) {
        const auto scatter = coupling_scatter_report(a, {kLayer, kHead}, "subj", "subj");
        const auto& ds = ws_->dataset(a.settings().dataset);
        std::size_t row = 0;
        for (std::size_t p = 0; p < 3; ++p) {
            const auto tr = naive::run(t_.gen.config, weights, ds.prompts[p].ids);
            for (std::size_t t = 0; t < ds.prompts[p].ids.size(); ++t, ++row) {
                double s = 0;
                for (std::size_t i = 0; i < r.vectors[0].values.size(); ++i)
                    s += r.vectors[0].values[i] * tr.resid_pre[kLayer][t][i];
                QVERIFY(near(scatter.s1[row], s, 1e-4));
            }
        }
    }

    // The baselines, from the naive model's activations of the LayerNorm dataset (`at`: the row of a prompt's
    // trace): the difference of the explicit means, and the probe by gradient descent (λ scaled as
    // documented).
    template <typename At>
    void checkBaselines(const CorpusReport& r, const naive::Weights& weights, bool probe, At at) {
        const auto& lnds = ws_->dataset(r.ln_dataset);
        LabelledRows rows;
        for (const auto& p : lnds.prompts) {
            const auto tr = naive::run(t_.gen.config, weights, p.ids);
            rows.x.push_back(at(tr, p));
            rows.labels.push_back(p.gender == project::Gender::Female ? 1 : 0);
        }
        const std::size_t d = rows.x.front().size();
        Vec m1(d, 0), m0(d, 0);
        double n1 = 0, n0 = 0, mean_sq = 0;
        for (std::size_t i = 0; i < rows.x.size(); ++i)
            for (std::size_t j = 0; j < d; ++j)
                (rows.labels[i] ? m1 : m0)[j] += rows.x[i][j];
        for (int l : rows.labels)
            (l ? n1 : n0) += 1;
        QCOMPARE(r.train_positive, static_cast<int>(n1));
        QCOMPARE(r.train_negative, static_cast<int>(n0));
        for (std::size_t j = 0; j < d; ++j)
            QVERIFY(near(r.vectors[1].values[j], m1[j] / n1 - m0[j] / n0, 1e-4));
        Vec mean(d, 0);
        for (const auto& x : rows.x)
            for (std::size_t j = 0; j < d; ++j)
                mean[j] += x[j] / static_cast<double>(rows.x.size());
        for (const auto& x : rows.x)
            for (std::size_t j = 0; j < d; ++j)
                mean_sq += (x[j] - mean[j]) * (x[j] - mean[j]) / static_cast<double>(rows.x.size());
        if (probe) {
            const Vec gd = gradient_descent(rows, 0.1 * mean_sq);
            double err = 0, norm = 0;
            for (std::size_t j = 0; j < d; ++j)
                err += std::pow(r.vectors[2].values[j] - gd[j], 2), norm += gd[j] * gd[j];
            QVERIFY2(std::sqrt(err) <= 1e-3 * std::sqrt(norm),
                     qPrintable(QString::number(std::sqrt(err / norm))));
        }
        // Cosines, from the vectors.
        auto cos = [](const Vec& x, const Vec& y) {
            return std::inner_product(x.begin(), x.end(), y.begin(), 0.0) /
                   std::sqrt(std::inner_product(x.begin(), x.end(), x.begin(), 0.0) *
                             std::inner_product(y.begin(), y.end(), y.begin(), 0.0));
        };
        QVERIFY(near(r.vectors[1].cos_feature, cos(r.vectors[1].values, r.vectors[0].values), 1e-9));
        QVERIFY(near(r.vectors[2].cos_feature, cos(r.vectors[2].values, r.vectors[0].values), 1e-9));
        QVERIFY(near(r.cos_mean_difference_probe, cos(r.vectors[1].values, r.vectors[2].values), 1e-9));
        QVERIFY(near(r.vectors[0].cos_feature, 1, 1e-12));
    }

  private Q_SLOTS:
    // JSONL and plain text of the same documents give the same report.
    void jsonlEqualsPlainText() {
        const QString jsonl = dir_.filePath(QStringLiteral("tiny.jsonl"));
        QByteArray text;
        for (const auto& d : kDocuments)
            text += "{\"text\": " +
                    QJsonDocument(QJsonArray{d}).toJson(QJsonDocument::Compact).mid(1).chopped(1) + "}\n";
        write(jsonl, text);
        const auto a = corpus_report(analysis(), {{kLayer, kHead}}, "subj", corpus_.toStdString(), options());
        const auto b = corpus_report(analysis(), {{kLayer, kHead}}, "subj", jsonl.toStdString(), options());
        QCOMPARE(b.format, std::string("jsonl"));
        QCOMPARE(a.tokens, b.tokens);
        QCOMPARE(a.hist_counts, b.hist_counts);
        QCOMPARE(a.vectors[0].r2, b.vectors[0].r2);
        QCOMPARE(to_table(a).rows.size(), to_table(b).rows.size());
        for (std::size_t i = 0; i < a.examples.size(); ++i)
            QCOMPARE(a.examples[i].tokens, b.examples[i].tokens);
    }

    // ---- the command line and its export against the core
    // ---------------------------------------------------

    void commandLineAndExportShowTheReport() {
        const QString out = dir_.filePath(QStringLiteral("export"));
        QStringList base = cliArgs();
        base.insert(5, QStringLiteral("--head"));
        base.insert(6, QStringLiteral("1.2"));
        const auto json = cli(base + QStringList{QStringLiteral("--json"), QStringLiteral("--export"), out});
        QVERIFY2(json.code == 0, json.err.constData());
        const CorpusReport r =
            corpus_report(analysis(), {{kLayer, kHead}}, "subj", corpus_.toStdString(), options());
        const auto want = nlohmann::json::parse(to_json(r).dump());
        const auto got = nlohmann::json::parse(json.out.toStdString());
        QVERIFY(json_close::same(got, want));
        // The export: the whole report, the tables as the CLI prints them, the manifest listing them.
        QFile report(out + QStringLiteral("/corpus_1_2_subj_report.json"));
        QVERIFY(report.open(QIODevice::ReadOnly));
        QVERIFY(json_close::same(nlohmann::json::parse(report.readAll().toStdString()), got));
        const auto csv = cli(base + QStringList{QStringLiteral("--csv")});
        QVERIFY2(csv.code == 0, csv.err.constData());
        QFile table(out + QStringLiteral("/corpus_1_2_subj.csv"));
        QVERIFY(table.open(QIODevice::ReadOnly));
        const QByteArray exported = table.readAll();
        QCOMPARE(csv.out, exported);
        QCOMPARE(exported.count('\n'), 7); // header + 6 examples
        QVERIFY(QFile::exists(out + QStringLiteral("/corpus_1_2_subj_baselines.csv")));
        QVERIFY(QFile::exists(out + QStringLiteral("/corpus_1_2_subj_histogram.json")));
        QFile manifest(out + QStringLiteral("/manifest.json"));
        QVERIFY(manifest.open(QIODevice::ReadOnly));
        const auto m = nlohmann::json::parse(manifest.readAll().toStdString());
        QCOMPARE(m["tables"].size(), std::size_t(3));
        QCOMPARE(m["corpus"]["head"].get<std::string>(), std::string("1.2"));

        // Errors: a bad line is a runtime error naming file:line; bad options are usage errors.
        const QString bad = dir_.filePath(QStringLiteral("bad.jsonl"));
        write(bad, "{\"text\": \"fine\"}\n{\"text\": null}\n");
        auto args = base;
        args[args.indexOf(QStringLiteral("--corpus")) + 1] = bad;
        const auto e1 = cli(args);
        QCOMPARE(e1.code, 1);
        QVERIFY2(e1.err.contains("bad.jsonl:2: field 'text' must be a string"), e1.err.constData());
        args = base;
        args[args.indexOf(QStringLiteral("--head")) + 1] = QStringLiteral("7.0");
        QCOMPARE(cli(args).code, 2);
        QCOMPARE(cli(base + QStringList{QStringLiteral("--bins"), QStringLiteral("9")}).code, 2);
        const auto missing = cli(base.mid(0, 7) + QStringList{QStringLiteral("--corpus"),
                                                              dir_.filePath(QStringLiteral("none.txt"))});
        QCOMPARE(missing.code, 1);
        QVERIFY(missing.err.contains("none.txt: no such file"));
        // Windows longer than the context (with the prefix) are a usage error, named before any scoring.
        args = base;
        args[args.indexOf(QStringLiteral("--max-tokens")) + 1] = QStringLiteral("64");
        const auto window = cli(args);
        QCOMPARE(window.code, 2);
        QVERIFY2(
            window.err.contains("obsprop: error: windows of 64 tokens after a prefix of 1 do not fit the "
                                "model's context of 64 tokens"),
            window.err.constData());
    }

    // --path: a path's feature, scored at its first node's input; the same report as the core's, exported
    // under the path's name; one of --head and --path, and never the embeddings (they have no feature).
    void commandLineScoresAPath() {
        const QString out = dir_.filePath(QStringLiteral("export-path"));
        const QStringList base = cliArgs();
        const auto json = cli(base + QStringList{QStringLiteral("--path"), QStringLiteral("mlp0 -> 1.2"),
                                                 QStringLiteral("--json"), QStringLiteral("--export"), out});
        QVERIFY2(json.code == 0, json.err.constData());
        const CorpusReport r = corpus_report(analysis(), {HeadId::mlp(0), {kLayer, kHead}}, "subj",
                                             corpus_.toStdString(), options());
        const auto got = nlohmann::json::parse(json.out.toStdString());
        QVERIFY(json_close::same(got, nlohmann::json::parse(to_json(r).dump())));
        QCOMPARE(got["path"].get<std::string>(), std::string("mlp0 -> 1.2"));
        QCOMPARE(got["hook"].get<std::string>(), std::string("blocks.0.hook_resid_mid"));
        QVERIFY(!got.contains("head"));
        QFile report(out + QStringLiteral("/corpus_mlp0-1_2_subj_report.json"));
        QVERIFY(report.open(QIODevice::ReadOnly));
        QVERIFY(json_close::same(nlohmann::json::parse(report.readAll().toStdString()), got));
        QFile manifest(out + QStringLiteral("/manifest.json"));
        QVERIFY(manifest.open(QIODevice::ReadOnly));
        const auto m = nlohmann::json::parse(manifest.readAll().toStdString());
        QCOMPARE(m["corpus"]["path"].get<std::string>(), std::string("mlp0 -> 1.2"));
        const auto text = cli(base + QStringList{QStringLiteral("--path"), QStringLiteral("mlp0 -> 1.2")});
        QVERIFY2(text.code == 0, text.err.constData());
        QVERIFY2(text.out.startsWith("path mlp0 -> 1.2, feature of 'subj'"), text.out.constData());

        const struct {
            QStringList args;
            const char* message;
        } usage[] = {
            {{}, "give one of --head L.H and --path 'L.H -> L.H'"},
            {{QStringLiteral("--head"), QStringLiteral("1.2"), QStringLiteral("--path"),
              QStringLiteral("0.1 -> 1.2")},
             "give one of --head L.H and --path 'L.H -> L.H'"},
            {{QStringLiteral("--path"), QStringLiteral("embed -> 1.2")},
             "--path 'embed -> 1.2': path node embed: the embedding is a node in path patching only"},
            {{QStringLiteral("--path"), QStringLiteral("1.2 -> 0.1")}, "--path '1.2 -> 0.1': "},
            {{QStringLiteral("--path"), QStringLiteral("0.1 ->")}, "--path"},
        };
        for (const auto& u : usage) {
            const auto e = cli(base + u.args);
            QCOMPARE(e.code, 2);
            QVERIFY2(e.err.contains(u.message), e.err.constData());
        }
    }

    // The shipped corpus is the default, with the demo project.
    void shippedCorpusIsTheDefault() {
        const auto run = cli({QStringLiteral("corpus"), QStringLiteral("--project"),
                              test_paths::source("/resources/projects/demo.obsprop"),
                              QStringLiteral("--head"), QStringLiteral("1.4"), QStringLiteral("--prefix"),
                              QStringLiteral("<|endoftext|>"), QStringLiteral("--json")});
        QVERIFY2(run.code == 0, run.err.constData());
        const auto j = nlohmann::json::parse(run.out.toStdString());
        QVERIFY(j["corpus"].get<std::string>().ends_with("corpus/corpus.txt"));
        QCOMPARE(j["documents"].get<int>(), 42);
        QVERIFY(j["tokens"].get<int>() > 1000);
        QCOMPARE(j["examples"].size(), std::size_t(20));
    }

  private:
    // `obsprop corpus` on the tiny model with options(), without --head or --path.
    QStringList cliArgs() const {
        return {QStringLiteral("corpus"),
                QStringLiteral("--model"),
                t_.dir->filePath(QStringLiteral("model")),
                QStringLiteral("--observable"),
                QStringLiteral("subj=#10 - #20"),
                QStringLiteral("--corpus"),
                corpus_,
                QStringLiteral("--max-tokens"),
                QStringLiteral("12"),
                QStringLiteral("--prefix"),
                QStringLiteral("<|endoftext|>"),
                QStringLiteral("--top"),
                QStringLiteral("6"),
                QStringLiteral("--context"),
                QStringLiteral("3"),
                QStringLiteral("--bins"),
                QStringLiteral("8")};
    }

    // Plain gradient descent on (1/n) Σ log(1 + exp(−tᵢ(w·xᵢ + b))) + (λ/2)‖w‖² from 0, on the centred rows
    // (the same w; b = b̃ − w·x̄), step 1/L with L the gradient's Lipschitz bound (1/4n) Σ ‖(x̃ᵢ, 1)‖² + λ:
    // returns (w, b).
    static Vec gradient_descent(const LabelledRows& rows, double lambda) {
        const std::size_t n = rows.x.size(), d = rows.x.front().size();
        const double nn = static_cast<double>(n);
        Vec mean(d, 0);
        for (const auto& x : rows.x)
            for (std::size_t j = 0; j < d; ++j)
                mean[j] += x[j] / nn;
        std::vector<Vec> xs = rows.x;
        for (auto& x : xs)
            for (std::size_t j = 0; j < d; ++j)
                x[j] -= mean[j];
        double L = lambda;
        for (const auto& x : xs)
            L += (std::inner_product(x.begin(), x.end(), x.begin(), 0.0) + 1) / (4.0 * nn);
        Vec th(d + 1, 0);
        for (int it = 0; it < 400000; ++it) {
            Vec g(d + 1, 0);
            for (std::size_t i = 0; i < n; ++i) {
                const double t = rows.labels[i] ? 1 : -1;
                double z = th[d];
                for (std::size_t j = 0; j < d; ++j)
                    z += th[j] * xs[i][j];
                const double c = -t * sigmoid(-t * z) / nn;
                for (std::size_t j = 0; j < d; ++j)
                    g[j] += c * xs[i][j];
                g[d] += c;
            }
            for (std::size_t j = 0; j < d; ++j)
                g[j] += lambda * th[j];
            double gn = 0;
            for (double v : g)
                gn += v * v;
            if (std::sqrt(gn) < 1e-14 * L) break;
            for (std::size_t j = 0; j <= d; ++j)
                th[j] -= g[j] / L;
        }
        for (std::size_t j = 0; j < d; ++j)
            th[d] -= th[j] * mean[j];
        return th;
    }
};

QTEST_APPLESS_MAIN(TestCorpus)
#include "tst_corpus.moc"
