// LibTorch and the core first: Qt's macros must not be defined when they are parsed.
#include "obsprop/analysis.h"
#include "obsprop/attribution.h"
#include "obsprop/coupling_fit.h"
#include "obsprop/export.h"
#include "io/version.h"
#include "obsprop/head_detail.h"
#include "obsprop/path_patching.h"
#include "obsprop/ranking.h"
#include "obsprop/steering.h"
#include "obsprop/workspace.h"

#include "session.h"

#include <QJsonDocument>

#include <map>
#include <mutex>
#include <optional>

namespace obsprop::ui {

using torch::Tensor;

namespace {

HeadMatrix toMatrix(const Tensor& t, const QString& title, const QString& quantity, bool diverging) {
    HeadMatrix m;
    m.title = title;
    m.quantity = quantity;
    m.layers = static_cast<int>(t.size(0));
    m.heads = static_cast<int>(t.size(1));
    m.diverging = diverging;
    Tensor d = t.to(torch::kDouble).contiguous();
    m.values.assign(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
    return m;
}

QString qs(const std::string& s) { return QString::fromStdString(s); }
std::string ss(const QString& s) { return s.toStdString(); }

// The dataset used for ρ estimates and the LayerNorm check: the first one.
std::string firstDataset(const Workspace& w) { return w.datasets().empty() ? std::string() : w.datasets().front().recipe.name; }

FeatureOptions featureOptions(const Workspace& w, const Progress& p = {}) {
    return w.feature_options(w.project().settings.ln_mode, firstDataset(w), p);
}

template <typename T>
using Work = std::function<std::shared_ptr<T>(const ProgressFn&)>;

}  // namespace

struct Session::SteeringState {
    PromptBatch prompts;
    ObservableMatrix obs;
    QStringList texts;
    std::vector<Tensor> vectors;  // [d] per steering vector, as added (normalised when asked)
    std::vector<int> layers;
    std::vector<SteeringBaseline> bases;
};

Session::Session(QObject* parent) : QObject(parent) {
    qRegisterMetaType<obsprop::ui::FeatureResults>();
    qRegisterMetaType<obsprop::ui::AttributionResults>();
    qRegisterMetaType<obsprop::ui::SvdResults>();
    qRegisterMetaType<obsprop::ui::CouplingScatter>();
    qRegisterMetaType<obsprop::ui::PathResults>();
    qRegisterMetaType<obsprop::ui::PathDetail>();
    qRegisterMetaType<obsprop::ui::PromptResults>();
    qRegisterMetaType<obsprop::ui::SteeringResults>();
}

Session::~Session() {
    jobs_.cancelAll();
    jobs_.waitForDone();
}

std::shared_ptr<const Workspace> Session::snapshot() const { return frozen_; }

// What jobs derive from one snapshot and can share: the LayerNorm options (their ρ estimates run the first
// dataset through the model), every head's features per observable, and token activations per (dataset,
// layer). Filled lazily on the worker thread; a new snapshot starts empty, so nothing stale is reused.
struct Session::Derived {
    std::mutex mu;
    std::optional<FeatureOptions> options;
    std::map<std::string, FeatureSet> features;
    std::map<std::pair<std::string, int>, Tensor> tokens;

    FeatureOptions featureOptions(const Workspace& w, const Progress& p = {}) {
        std::lock_guard lock(mu);
        if (!options) options = ::obsprop::ui::featureOptions(w, p);
        return *options;
    }
    const FeatureSet& headFeatures(const Workspace& w, const std::string& observable, const Progress& p = {}) {
        FeatureOptions fo = featureOptions(w, sub_progress(p, 0, 0.5));
        std::lock_guard lock(mu);
        auto it = features.find(observable);
        if (it == features.end())
            it = features.emplace(observable, compute_head_features(w.model(), w.observable(observable), fo, sub_progress(p, 0.5, 1))).first;
        return it->second;
    }
    Tensor tokenActivations(const Workspace& w, const std::string& dataset, int layer, const Progress& p = {}) {
        std::lock_guard lock(mu);
        auto key = std::make_pair(dataset, layer);
        auto it = tokens.find(key);
        if (it == tokens.end()) it = tokens.emplace(key, token_activations(w.model(), w.prompt_batch(dataset), layer, p)).first;
        return it->second;
    }
};

void Session::publish() {
    frozen_ = ws_ ? std::make_shared<const Workspace>(*ws_) : nullptr;
    derived_ = std::make_shared<Derived>();
}

void Session::setDirty(bool d) {
    if (d == dirty_) return;
    dirty_ = d;
    Q_EMIT dirtyChanged(d);
}

void Session::adopt(std::shared_ptr<Workspace> ws, const QString& projectFile) {
    jobs_.cancelAll();
    ws_ = std::move(ws);
    projectFile_ = projectFile;
    const auto& c = ws_->model().config();
    info_ = ModelInfo{qs(ws_->model().directory().string()), QString::fromLatin1(io::family_name(c.family)),
                      c.n_layers, c.n_heads, c.d_model, c.d_head, c.d_mlp, c.d_vocab, c.n_ctx,
                      static_cast<double>(ws_->model().checkpoint_bytes())};
    steering_.clear();
    for (const auto& p : ws_->project().steering) {
        SteeringVectorSpec s{qs(p.name), qs(p.observable), {}, p.layer, p.normalize, p.multiplier, p.range};
        for (auto [l, h] : p.path) s.path.push_back({l, h});
        steering_.push_back(s);
    }
    steeringState_.reset();
    publish();
    dirty_ = false;
    Q_EMIT dirtyChanged(false);
    Q_EMIT workspaceOpened();
    Q_EMIT recipeChanged();
}

void Session::openModel(const QString& dir) {
    jobs_.start<std::shared_ptr<Workspace>>(
        QStringLiteral("open"),
        [dir](const ProgressFn& p) { return std::make_shared<Workspace>(Workspace::open_model(ss(dir), p)); }, this,
        [this](std::shared_ptr<Workspace> w) { adopt(std::move(w), {}); },
        [this](const QString& e) { Q_EMIT openFailed(e); });
}

void Session::detachFromFile() {
    projectFile_.clear();
    setDirty(true);
}

void Session::openProject(const QString& file) {
    jobs_.start<std::shared_ptr<Workspace>>(
        QStringLiteral("open"),
        [file](const ProgressFn& p) { return std::make_shared<Workspace>(Workspace::open_project(ss(file), p)); }, this,
        [this, file](std::shared_ptr<Workspace> w) { adopt(std::move(w), file); },
        [this](const QString& e) { Q_EMIT openFailed(e); });
}

QByteArray Session::serializeProject() const {
    if (!ws_) return {};
    auto p = ws_->project();
    // Absolute, so the text stands on its own wherever it is written (recovery files); saveProject
    // makes it relative to the project file.
    p.model_path = std::filesystem::absolute(ws_->model().directory());
    p.steering.clear();
    for (const auto& s : steering_) {
        project::SteeringPreset sp;
        sp.name = ss(s.name), sp.observable = ss(s.observable), sp.layer = s.layer, sp.normalize = s.normalize;
        sp.multiplier = s.alpha, sp.range = s.range;
        for (const auto& h : s.path) sp.path.emplace_back(h.layer, h.head);
        p.steering.push_back(sp);
    }
    return QByteArray::fromStdString(project::serialize(p));
}

QString Session::saveProject(const QString& file) {
    if (!ws_) return tr("Nothing to save: no model is open.");
    try {
        auto p = project::from_json(nlohmann::json::parse(serializeProject().toStdString()));
        const auto modelDir = ws_->model().directory();
        // Store the model folder relative to the project file when it sits nearby.
        const auto rel = std::filesystem::absolute(modelDir).lexically_relative(
            std::filesystem::absolute(ss(file)).parent_path());
        p.model_path = (!rel.empty() && rel.native().rfind("../../..", 0) != 0) ? rel : std::filesystem::absolute(modelDir);
        p.model_fingerprint = project::fingerprint_model(modelDir);
        project::save_project(p, ss(file));
        ws_->project() = p;
        publish();
        projectFile_ = file;
        setDirty(false);
        return {};
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
}

QString Session::addObservable(const QString& name, const QString& expr) {
    if (!ws_) return tr("Open a model first.");
    try {
        ws_->add_observable(ss(name.trimmed()), ss(expr));
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
    publish();
    setDirty(true);
    Q_EMIT recipeChanged();
    return {};
}

void Session::removeObservable(const QString& name) {
    if (!ws_) return;
    std::vector<project::NamedObservable> keep;
    for (const auto& o : ws_->project().observables)
        if (qs(o.name) != name) keep.push_back(o);
    // Rebuild the parsed list from the remaining recipe (all of it parsed before, so this cannot fail).
    Workspace rebuilt = *ws_;
    rebuilt.clear_observables();
    for (const auto& o : keep) rebuilt.add_observable(o.name, o.expr);
    *ws_ = std::move(rebuilt);
    publish();
    setDirty(true);
    Q_EMIT recipeChanged();
}

QList<QPair<QString, QString>> Session::observables() const {
    QList<QPair<QString, QString>> out;
    if (ws_)
        for (const auto& o : ws_->observables()) out.append({qs(o.name), qs(o.expr)});
    return out;
}

QStringList Session::observableWarnings(const QString& name) const {
    QStringList out;
    if (!ws_) return out;
    try {
        for (const auto& w : ws_->observable(ss(name)).warnings) out << qs(w);
    } catch (const std::exception&) {
    }
    return out;
}

QStringList Session::datasetNames() const {
    QStringList out;
    if (ws_)
        for (const auto& d : ws_->datasets()) out << qs(d.recipe.name);
    return out;
}

QString Session::datasetText(const QString& name) const {
    if (!ws_) return {};
    try {
        const auto& r = ws_->dataset(ss(name)).recipe;
        QString t;
        for (const auto& x : r.templates) t += QStringLiteral("template: ") + qs(x) + QLatin1Char('\n');
        QStringList f, m;
        for (const auto& n : r.female_names) f << qs(n);
        for (const auto& n : r.male_names) m << qs(n);
        t += QStringLiteral("female: ") + f.join(QStringLiteral(", ")) + QLatin1Char('\n');
        t += QStringLiteral("male: ") + m.join(QStringLiteral(", ")) + QLatin1Char('\n');
        return t;
    } catch (const std::exception&) {
        return {};
    }
}

QString Session::setDatasetText(const QString& name, const QString& text) {
    if (!ws_) return tr("Open a model first.");
    project::Dataset d;
    d.name = ss(name);
    for (const QString& raw : text.split(QLatin1Char('\n'))) {
        const QString line = raw.trimmed();
        if (line.isEmpty()) continue;
        auto list = [&](const QString& prefix) {
            std::vector<std::string> out;
            for (const QString& n : line.mid(prefix.size()).split(QLatin1Char(','), Qt::SkipEmptyParts))
                out.push_back(ss(n.trimmed()));
            return out;
        };
        if (line.startsWith(QStringLiteral("template:"))) d.templates.push_back(ss(line.mid(9).trimmed()));
        else if (line.startsWith(QStringLiteral("female:"))) d.female_names = list(QStringLiteral("female:"));
        else if (line.startsWith(QStringLiteral("male:"))) d.male_names = list(QStringLiteral("male:"));
        else return tr("Each line must start with template:, female: or male: (\"%1\")").arg(line);
    }
    auto all = ws_->project().datasets;
    bool found = false;
    for (auto& x : all)
        if (x.name == d.name) x = d, found = true;
    if (!found) all.push_back(d);
    try {
        Workspace trial = *ws_;
        trial.set_datasets(all);
        *ws_ = std::move(trial);
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
    publish();
    setDirty(true);
    Q_EMIT recipeChanged();
    return {};
}

QString Session::lnMode() const { return ws_ ? qs(ws_->project().settings.ln_mode) : QStringLiteral("approx"); }

void Session::setLnMode(const QString& mode) {
    if (!ws_ || qs(ws_->project().settings.ln_mode) == mode) return;
    ws_->project().settings.ln_mode = ss(mode);
    publish();
    setDirty(true);
}

QJsonObject Session::viewState() const {
    if (!ws_) return {};
    return QJsonDocument::fromJson(QByteArray::fromStdString(ws_->project().view.dump())).object();
}

void Session::setViewState(const QJsonObject& state) {
    if (!ws_) return;
    ws_->project().view = nlohmann::json::parse(QJsonDocument(state).toJson(QJsonDocument::Compact).toStdString());
    publish();
}

void Session::computeFeatures(const QString& pairA, const QString& pairB) {
    auto ws = snapshot();
    auto dv = derived_;
    if (!ws || ws->observables().empty()) return;
    jobs_.start<std::shared_ptr<FeatureResults>>(
        QStringLiteral("features"),
        [ws, dv, pairA, pairB](const ProgressFn& p) {
            auto r = std::make_shared<FeatureResults>();
            r->lnMode = qs(ws->project().settings.ln_mode);
            FeatureOptions fo = dv->featureOptions(*ws, sub_progress(p, 0, 0.2));
            const auto& obs = ws->observables();
            const Tensor all = head_feature_norms(ws->model(), obs, fo, sub_progress(p, 0.2, 0.8));
            for (std::size_t k = 0; k < obs.size(); ++k) {
                const Tensor n = all[static_cast<std::int64_t>(k)];
                r->observables << qs(obs[k].name);
                r->norms.push_back(toMatrix(n, QStringLiteral("Feature norm ‖y‖ — %1").arg(qs(obs[k].name)),
                                            QStringLiteral("norm"), false));
            }
            const QString a = pairA.isEmpty() && obs.size() >= 2 ? qs(obs[0].name) : pairA;
            const QString b = pairB.isEmpty() && obs.size() >= 2 ? qs(obs[1].name) : pairB;
            if (!a.isEmpty() && !b.isEmpty()) {
                auto two = compute_head_features(ws->model(), std::vector<Observable>{ws->observable(ss(a)), ws->observable(ss(b))}, fo);
                auto cmp = compare_features(two[0], two[1]);
                r->pairA = a, r->pairB = b;
                r->cosine = toMatrix(cmp.cosine, QStringLiteral("cos(%1, %2)").arg(a, b), QStringLiteral("cosine"), true);
                r->couplingAB = toMatrix(cmp.coupling_ab, QStringLiteral("C(%1→%2)").arg(a, b), QStringLiteral("coupling"), true);
                r->couplingBA = toMatrix(cmp.coupling_ba, QStringLiteral("C(%1→%2)").arg(b, a), QStringLiteral("coupling"), true);
            }
            report(p, 1.0, "features");
            return r;
        },
        this, [this](std::shared_ptr<FeatureResults> r) { Q_EMIT featuresReady(*r); },
        [this](const QString& e) { Q_EMIT jobFailed(QStringLiteral("features"), e); });
}

void Session::computeAttribution(const QString& dataset, const QString& method) {
    auto ws = snapshot();
    if (!ws || ws->observables().empty()) return;
    jobs_.start<std::shared_ptr<AttributionResults>>(
        QStringLiteral("attribution"),
        [ws, dataset, method](const ProgressFn& p) {
            auto [clean, corrupt] = ws->pair_batches(ss(dataset));
            const auto m = method == QStringLiteral("gradient") ? AttributionMethod::Gradient : AttributionMethod::Patching;
            auto a = attribute_heads(ws->model(), clean, corrupt, ws->observable_matrix(), m, p);
            auto r = std::make_shared<AttributionResults>();
            r->method = method, r->dataset = dataset, r->pairs = static_cast<int>(clean.size());
            for (std::size_t k = 0; k < a.observables.size(); ++k) {
                r->observables << qs(a.observables[k]);
                r->maps.push_back(toMatrix(a.mean[static_cast<std::int64_t>(k)],
                                           QStringLiteral("Attribution (%1) — %2").arg(method, qs(a.observables[k])),
                                           QStringLiteral("attribution"), true));
            }
            return r;
        },
        this, [this](std::shared_ptr<AttributionResults> r) { Q_EMIT attributionReady(*r); },
        [this](const QString& e) { Q_EMIT jobFailed(QStringLiteral("attribution"), e); });
}

void Session::computeHeadDetail(HeadRef head, const QString& dataset) {
    auto ws = snapshot();
    if (!ws || !head.valid()) return;
    jobs_.start<std::shared_ptr<SvdResults>>(
        QStringLiteral("svd"),
        [ws, head, dataset](const ProgressFn& p) {
            auto d = head_detail(*ws, head.layer, head.head, ss(dataset), p);
            auto r = std::make_shared<SvdResults>();
            r->head = head;
            r->sigma = d.sigma;
            r->expectedLayerNormCosine = d.expected_ln_cosine;
            r->layerNormCheck = d.ln_check;
            for (std::size_t k = 0; k < ws->observables().size(); ++k) {
                r->observables << qs(ws->observables()[k].name);
                std::vector<double> a;
                for (double c : d.cosine[k]) a.push_back(std::abs(c));
                r->absCosine.push_back(std::move(a));
            }
            return r;
        },
        this, [this](std::shared_ptr<SvdResults> r) { Q_EMIT headDetailReady(*r); },
        [this](const QString& e) { Q_EMIT jobFailed(QStringLiteral("svd"), e); });
}

void Session::computeCouplingScatter(HeadRef head, const QString& a, const QString& b, const QString& dataset) {
    auto ws = snapshot();
    auto dv = derived_;
    if (!ws || !head.valid() || a.isEmpty() || b.isEmpty()) return;
    jobs_.start<std::shared_ptr<CouplingScatter>>(
        QStringLiteral("coupling"),
        [ws, dv, head, a, b, dataset](const ProgressFn& p) {
            // Features and token activations are reused across clicks on the same snapshot.
            Tensor ya = dv->headFeatures(*ws, ss(a), sub_progress(p, 0, 0.3)).heads[head.layer][head.head];
            Tensor yb = dv->headFeatures(*ws, ss(b), sub_progress(p, 0.3, 0.6)).heads[head.layer][head.head];
            Tensor X = dv->tokenActivations(*ws, ss(dataset), head.layer, sub_progress(p, 0.6, 1));
            auto fit = fit_coupling(X, ya, yb);
            auto cp = coupling(ya, yb);
            auto r = std::make_shared<CouplingScatter>();
            r->head = head, r->a = a, r->b = b;
            r->s1.assign(fit.s1.data_ptr<double>(), fit.s1.data_ptr<double>() + fit.s1.numel());
            r->s2.assign(fit.s2.data_ptr<double>(), fit.s2.data_ptr<double>() + fit.s2.numel());
            r->slope = fit.slope, r->intercept = fit.intercept, r->r2 = fit.r2, r->predicted = fit.predicted;
            r->normA = cp.norm_from, r->residualNorm = cp.residual_norm;
            r->meanTokenNorm = X.to(torch::kDouble).norm(2, {1}).mean().item<double>();
            return r;
        },
        this, [this](std::shared_ptr<CouplingScatter> r) { Q_EMIT couplingReady(*r); },
        [this](const QString& e) { Q_EMIT jobFailed(QStringLiteral("coupling"), e); });
}

void Session::computePaths(const QString& observable, int keep) {
    auto ws = snapshot();
    auto dv = derived_;
    if (!ws || observable.isEmpty()) return;
    jobs_.start<std::shared_ptr<PathResults>>(
        QStringLiteral("paths"),
        [ws, dv, observable, keep](const ProgressFn& p) {
            RankingOptions ro;
            ro.keep = static_cast<std::size_t>(std::max(1, keep));
            auto rk = rank_virtual_heads(ws->model(), ws->observable(ss(observable)), dv->featureOptions(*ws), ro, p);
            auto r = std::make_shared<PathResults>();
            r->observable = observable;
            r->scored = rk.n_pairs;
            for (const auto& s : rk.top)
                r->rows.push_back({QStringLiteral("%1.%2 → %3.%4").arg(s.layer1).arg(s.head1).arg(s.layer2).arg(s.head2),
                                   {{s.layer1, s.head1}, {s.layer2, s.head2}}, s.norm, 0, s.norm});
            return r;
        },
        this, [this](std::shared_ptr<PathResults> r) { Q_EMIT pathsReady(*r); },
        [this](const QString& e) { Q_EMIT jobFailed(QStringLiteral("paths"), e); });
}

void Session::computePathSearch(const QString& observable, const QString& dataset, int beamWidth, int maxLength) {
    auto ws = snapshot();
    auto dv = derived_;
    if (!ws || observable.isEmpty() || dataset.isEmpty()) return;
    jobs_.start<std::shared_ptr<PathResults>>(
        QStringLiteral("paths"),
        [ws, dv, observable, dataset, beamWidth, maxLength](const ProgressFn& p) {
            auto [clean, corrupt] = ws->pair_batches(ss(dataset));
            const auto all = ws->observable_matrix();
            const auto& ob = ws->observable(ss(observable));
            auto s = beam_search_paths(ws->model(), clean, corrupt, all, all.row(ob.name), {beamWidth, maxLength}, sub_progress(p, 0, 0.95));
            const auto ranked = s.ranked();
            const auto norms = path_feature_norms(ws->model(), ob, ranked, dv->featureOptions(*ws));
            auto r = std::make_shared<PathResults>();
            r->observable = observable;
            r->patching = true;
            r->dataset = dataset;
            r->pairs = s.pairs;
            r->pairsGiven = s.pairs_given;
            r->scored = s.scored;
            for (std::size_t i = 0; i < ranked.size(); ++i) {
                const auto& pp = ranked[i];
                PathRow row{QString::fromStdString(pp.label()).replace(QStringLiteral("->"), QStringLiteral("→")), {},
                            pp.mean, pp.sd, norms[i]};
                for (const auto& n : pp.path) row.nodes.push_back({n.layer, n.head});
                r->rows.push_back(std::move(row));
            }
            return r;
        },
        this, [this](std::shared_ptr<PathResults> r) { Q_EMIT pathsReady(*r); },
        [this](const QString& e) { Q_EMIT jobFailed(QStringLiteral("paths"), e); });
}

void Session::computePathDetail(const std::vector<HeadRef>& path, const QString& observable) {
    auto ws = snapshot();
    auto dv = derived_;
    if (!ws || path.empty() || observable.isEmpty()) return;
    jobs_.start<std::shared_ptr<PathDetail>>(
        QStringLiteral("path-detail"),
        [ws, dv, path, observable](const ProgressFn& p) {
            std::vector<PathNode> nodes;
            QStringList labels;
            for (const auto& h : path) nodes.push_back(PathNode::attn(h.layer, h.head)), labels << qs(nodes.back().label());
            validate_path(ws->model().config(), nodes);
            FeatureOptions fo = dv->featureOptions(*ws, sub_progress(p, 0, 0.5));
            fo.drop_earliest_rho = true;
            auto r = std::make_shared<PathDetail>();
            r->path = labels.join(QStringLiteral(" → "));
            r->nodes = path;
            r->observable = observable;
            std::vector<Tensor> ys;
            for (const auto& o : ws->observables()) {
                ys.push_back(compute_path_feature(ws->model(), o, nodes, fo).feature.to(torch::kDouble));
                r->observables << qs(o.name);
            }
            const qsizetype at = r->observables.indexOf(observable);
            if (at < 0) throw std::invalid_argument("no observable named '" + ss(observable) + "'");
            const Tensor& chosen = ys[static_cast<std::size_t>(at)];
            const double nc = chosen.norm().item<double>();
            for (const Tensor& y : ys) {
                const double n = y.norm().item<double>();
                r->norms.push_back(n);
                r->cosines.push_back(n > 0 && nc > 0 ? (y * chosen).sum().item<double>() / (n * nc) : 0.0);
            }
            return r;
        },
        this, [this](std::shared_ptr<PathDetail> r) { Q_EMIT pathDetailReady(*r); },
        [this](const QString& e) { Q_EMIT jobFailed(QStringLiteral("path-detail"), e); });
}

void Session::computePrompts(const QString& dataset) {
    auto ws = snapshot();
    if (!ws) return;
    jobs_.start<std::shared_ptr<PromptResults>>(
        QStringLiteral("prompts"),
        [ws, dataset](const ProgressFn& p) {
            auto r = std::make_shared<PromptResults>();
            const auto& d = ws->dataset(ss(dataset));
            Tensor values;
            if (!ws->observables().empty())
                values = observable_values(ws->model(), ws->prompt_batch(ss(dataset)), ws->observable_matrix(), p);
            for (const auto& o : ws->observables()) r->observables << qs(o.name);
            for (std::size_t i = 0; i < d.prompts.size(); ++i) {
                const auto& pr = d.prompts[i];
                PromptRow row{dataset, qs(pr.text), qs(pr.name),
                              pr.gender == project::Gender::Female ? QStringLiteral("female") : QStringLiteral("male"),
                              pr.name_position, {}, {}};
                for (int id : pr.ids) row.tokens << QString::fromUtf8(ws->tokenizer().token_text(id));
                for (int k = 0; k < r->observables.size(); ++k)
                    row.values.push_back(values[static_cast<std::int64_t>(i)][k].item<double>());
                r->rows.push_back(std::move(row));
            }
            return r;
        },
        this, [this](std::shared_ptr<PromptResults> r) { Q_EMIT promptsReady(*r); },
        [this](const QString& e) { Q_EMIT jobFailed(QStringLiteral("prompts"), e); });
}

void Session::exportTables(const QString& dir) {
    auto ws = snapshot();
    if (!ws) return;
    jobs_.start<int>(
        QStringLiteral("export"),
        [ws, dir](const ProgressFn& p) {
            TableOptions o;
            o.ln_mode = ws->project().settings.ln_mode;
            auto tables = all_tables(*ws, o, p);
            nlohmann::json manifest = {{"generator", std::string("obsprop-explorer ") + obsprop::version()},
                                       {"ln", o.ln_mode},
                                       {"model", ws->model().directory().string()}};
            return static_cast<int>(export_tables(tables, ss(dir), manifest).files.size());
        },
        this, [this, dir](int n) { Q_EMIT exportFinished(dir, n); },
        [this](const QString& e) { Q_EMIT jobFailed(QStringLiteral("export"), e); });
}

void Session::setSteering(const std::vector<SteeringVectorSpec>& vectors, const QString& dataset) {
    // Results of the previous vector list must never arrive after this.
    jobs_.cancel(QStringLiteral("steer"));
    jobs_.cancel(QStringLiteral("steer-prepare"));
    ++steeringGeneration_;
    steering_ = vectors;
    steeringDataset_ = dataset;
    steeringState_.reset();
    setDirty(true);
    auto ws = snapshot();
    auto dv = derived_;
    if (!ws || vectors.empty()) return;
    jobs_.start<std::shared_ptr<const SteeringState>>(
        QStringLiteral("steer-prepare"),
        [ws, dv, vectors, dataset](const ProgressFn& p) -> std::shared_ptr<const SteeringState> {
            auto st = std::make_shared<SteeringState>();
            st->prompts = ws->prompt_batch(ss(dataset));
            st->obs = ws->observable_matrix();
            for (const auto& pr : ws->dataset(ss(dataset)).prompts) st->texts << qs(pr.text);
            FeatureOptions fo = dv->featureOptions(*ws);
            for (std::size_t i = 0; i < vectors.size(); ++i) {
                const auto& v = vectors[i];
                std::vector<PathNode> path;
                for (const auto& h : v.path) path.push_back(PathNode::attn(h.layer, h.head));
                validate_path(ws->model().config(), path);
                Tensor y = compute_path_feature(ws->model(), ws->observable(ss(v.observable)), path, fo).feature.to(torch::kFloat);
                if (v.normalize) {
                    const double n = y.norm().item<double>();
                    if (!(n > 0)) throw std::invalid_argument("the feature vector of " + ss(v.name) + " is zero");
                    y = y / n;
                }
                const int layer = v.layer >= 0 ? v.layer : path.front().layer;
                st->vectors.push_back(y);
                st->layers.push_back(layer);
                st->bases.push_back(steering_baseline(ws->model(), st->prompts, layer, st->obs,
                                                      sub_progress(p, double(i) / vectors.size(), double(i + 1) / vectors.size())));
            }
            return st;
        },
        this,
        [this](std::shared_ptr<const SteeringState> st) {
            steeringState_ = std::move(st);
            Q_EMIT steeringPrepared();
            Q_EMIT steeringReady(predictSteering());
            requestExactSteering();
        },
        [this](const QString& e) { Q_EMIT jobFailed(QStringLiteral("steer"), e); });
}

void Session::setSteeringRange(int index, double range) {
    if (index < 0 || index >= static_cast<int>(steering_.size()) || !(range > 0)) return;
    steering_[static_cast<std::size_t>(index)].range = range;
    setDirty(true);
}

void Session::setSteeringAlpha(int index, double alpha) {
    if (index < 0 || index >= static_cast<int>(steering_.size())) return;
    steering_[static_cast<std::size_t>(index)].alpha = alpha;
    setDirty(true);
}

bool Session::isSteeringPrepared() const { return static_cast<bool>(steeringState_); }

SteeringResults Session::predictSteering() const {
    SteeringResults r;
    if (!steeringState_) return r;
    const auto& st = *steeringState_;
    r.observables = QStringList();
    for (const auto& n : st.obs.names) r.observables << qs(n);
    r.prompts = st.texts;
    Tensor total = torch::zeros({st.obs.size()}, torch::kDouble);
    QStringList names;
    for (std::size_t i = 0; i < st.bases.size() && i < steering_.size(); ++i) {
        total += predict_steering(st.bases[i], st.vectors[i], steering_[i].alpha);
        names << QStringLiteral("%1 × %2").arg(steering_[i].name).arg(steering_[i].alpha);
    }
    r.vectorName = names.join(QStringLiteral(" + "));
    r.alpha = steering_.empty() ? 0 : steering_.front().alpha;
    for (int k = 0; k < st.obs.size(); ++k) r.predicted.push_back(total[k].item<double>());
    r.generation = steeringGeneration_;
    return r;
}

void Session::requestExactSteering() {
    auto ws = snapshot();
    auto st = steeringState_;
    if (!ws || !st) return;
    std::vector<SteeringTerm> terms;
    for (std::size_t i = 0; i < st->vectors.size() && i < steering_.size(); ++i)
        terms.push_back({st->layers[i], st->vectors[i], steering_[i].alpha});
    SteeringResults pred = predictSteering();
    const quint64 gen = ++steeringGeneration_;
    jobs_.start<std::shared_ptr<SteeringResults>>(
        QStringLiteral("steer"),
        [ws, st, terms, pred, gen](const ProgressFn& p) {
            // Resume from the cached residual of the earliest steering layer.
            const SteeringBaseline* resume = nullptr;
            for (const auto& b : st->bases)
                if (!resume || b.layer < resume->layer) resume = &b;
            Tensor after = steered_values(ws->model(), st->prompts, terms, st->obs, p, resume);
            Tensor before = st->bases.front().values;
            auto r = std::make_shared<SteeringResults>(pred);
            r->exact = true;
            r->generation = gen;
            Tensor mean = (after - before).mean(0);
            r->meanChange.clear();
            for (int k = 0; k < st->obs.size(); ++k) r->meanChange.push_back(mean[k].item<double>());
            for (std::int64_t i = 0; i < after.size(0); ++i) {
                std::vector<double> b, a;
                for (int k = 0; k < st->obs.size(); ++k) b.push_back(before[i][k].item<double>()), a.push_back(after[i][k].item<double>());
                r->before.push_back(std::move(b));
                r->after.push_back(std::move(a));
            }
            return r;
        },
        this, [this](std::shared_ptr<SteeringResults> r) { Q_EMIT steeringReady(*r); },
        [this](const QString& e) { Q_EMIT jobFailed(QStringLiteral("steer"), e); });
}

}  // namespace obsprop::ui
