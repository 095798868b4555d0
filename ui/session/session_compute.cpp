// The Session's analyses: each one a report of the core analysis layer, computed on a worker thread from the
// current snapshot with the view's choices as setting overrides, converted (copied) for the views.
#include "analyses/export.h"
#include "analyses/run.h"
#include "analyses/steering.h"
#include "analyses/workspace.h"

#include "session/session.h"

#include <QTimer>

#include "figures/project_figures.h"
#include "results/session_convert.h"

namespace obsprop::ui {

using namespace obsprop::analyses;

using convert::onDataset;
using convert::ss;

template <typename R>
void Session::run(const QString& analysis, const QString& consumer,
                  std::function<R(const Analysis&, const ProgressFn&)> work,
                  std::function<void(const R&)> deliver) {
    auto a = analysis_;
    if (!a) return;
    const quint64 gen = generation_;
    const QString channel = analysis + QLatin1Char('/') + consumer;
    jobs_.start<std::shared_ptr<R>>(
        channel, [a, work](const ProgressFn& p) { return std::make_shared<R>(work(*a, p)); }, this,
        [this, gen, deliver](std::shared_ptr<R> r) {
            if (gen == generation_) deliver(*r); // never a result of an older recipe
        },
        [this, channel, analysis](const QString& e) {
            Q_EMIT jobFailed(channel, analysis + QStringLiteral(": ") + e);
        });
}

void Session::computeFeatures(const QString& consumer, const QString& pairA, const QString& pairB) {
    if (!ws_ || ws_->observables().empty()) return;
    const quint64 gen = generation_;
    run<FeatureResults>(
        QStringLiteral("features"), consumer,
        [pairA, pairB, gen](const Analysis& a, const ProgressFn& p) {
            return convert::features(features_report(a, ss(pairA), ss(pairB), p), gen);
        },
        [this](const FeatureResults& r) { Q_EMIT featuresReady(r); });
}

void Session::computeAttribution(const QString& consumer, const QString& dataset, const QString& method,
                                 const QString& position) {
    if (!ws_ || ws_->observables().empty()) return;
    const quint64 gen = generation_;
    SettingsOverrides o = onDataset(dataset);
    if (!method.isEmpty()) o.attribution = ss(method);
    if (!position.isEmpty()) o.attribution_position = ss(position);
    run<AttributionResults>(
        QStringLiteral("attribution"), consumer,
        [o, gen](const Analysis& a, const ProgressFn& p) {
            return convert::attribution(attribution_report(a.with(o), p), gen);
        },
        [this](const AttributionResults& r) { Q_EMIT attributionReady(r); });
}

void Session::computeHeadDetail(const QString& consumer, HeadRef head) {
    if (!head.valid()) return;
    run<SvdResults>(
        QStringLiteral("head detail"), consumer,
        [head](const Analysis& a, const ProgressFn& p) {
            return convert::headDetail(head_detail_report(a, head, p));
        },
        [this](const SvdResults& r) { Q_EMIT headDetailReady(r); });
}

void Session::computeCouplingHeads(const QString& consumer, const QString& obsA, const QString& obsB,
                                   const QString& dataset) {
    if (obsA.isEmpty() || obsB.isEmpty()) return;
    const SettingsOverrides o = onDataset(dataset);
    run<CouplingHeads>(
        QStringLiteral("coupling"), consumer,
        [o, obsA, obsB](const Analysis& a, const ProgressFn& p) {
            const Analysis on = a.with(o);
            const auto f = features_report(on, ss(obsA), ss(obsB), sub_progress(p, 0, 0.3));
            const auto at = attribution_report(on, sub_progress(p, 0.3, 1));
            const auto r = coupling_heads(f, at);
            return CouplingHeads{obsA, obsB, convert::qs(r.dataset), convert::qs(r.method),
                                 convert::couplingHeads(r)};
        },
        [this](const CouplingHeads& r) { Q_EMIT couplingHeadsReady(r); });
}

void Session::computeDebias(const QString& consumer, const DebiasRequest& request) {
    if (!ws_) return;
    const quint64 gen = generation_;
    const auto [o, s] = convert::debiasOptions(request);
    run<DebiasResults>(
        QStringLiteral("debias"), consumer,
        [o, s, gen](const Analysis& a, const ProgressFn& p) {
            return DebiasResults{debias_report(a.with(s), o, p), gen};
        },
        [this](const DebiasResults& r) { Q_EMIT debiasReady(r); });
}

void Session::computeCouplingScatter(const QString& consumer, HeadRef head, const QString& obsA,
                                     const QString& obsB, const QString& dataset) {
    if (!head.valid() || obsA.isEmpty() || obsB.isEmpty()) return;
    const SettingsOverrides o = onDataset(dataset);
    run<CouplingScatter>(
        QStringLiteral("coupling scatter"), consumer,
        [o, head, obsA, obsB](const Analysis& a, const ProgressFn& p) {
            return convert::scatter(coupling_scatter_report(a.with(o), head, ss(obsA), ss(obsB), p));
        },
        [this](const CouplingScatter& r) { Q_EMIT couplingReady(r); });
}

void Session::computePaths(const QString& consumer, const QString& observable, int keep) {
    if (observable.isEmpty()) return;
    SettingsOverrides o;
    o.top_paths = std::max(1, keep);
    run<PathResults>(
        QStringLiteral("path ranking"), consumer,
        [o, observable](const Analysis& a, const ProgressFn& p) {
            return convert::paths(path_ranking_report(a.with(o), ss(observable), p));
        },
        [this](const PathResults& r) { Q_EMIT pathsReady(r); });
}

void Session::computePathSearch(const QString& consumer, const QString& observable, const QString& dataset,
                                int beamWidth, int maxLength, PathNodeKinds kinds) {
    if (observable.isEmpty() || dataset.isEmpty()) return;
    SettingsOverrides o = onDataset(dataset);
    o.beam_width = beamWidth, o.max_length = maxLength;
    o.mlp_nodes = kinds.mlp, o.embed_nodes = kinds.embed, o.token_nodes = kinds.tokens;
    run<PathResults>(
        QStringLiteral("path search"), consumer,
        [o, observable](const Analysis& a, const ProgressFn& p) {
            return convert::paths(path_search_report(a.with(o), ss(observable), p));
        },
        [this](const PathResults& r) { Q_EMIT pathsReady(r); });
}

void Session::computePathDetail(const QString& consumer, const std::vector<HeadRef>& path,
                                const QString& observable) {
    if (path.empty() || observable.isEmpty()) return;
    const std::vector<HeadId> nodes = path;
    run<PathDetail>(
        QStringLiteral("path comparison"), consumer,
        [nodes, observable](const Analysis& a, const ProgressFn& p) {
            return convert::pathDetail(path_detail_report(a, nodes, ss(observable), p));
        },
        [this](const PathDetail& r) { Q_EMIT pathDetailReady(r); });
}

void Session::computePrompts(const QString& consumer, const QString& dataset) {
    const SettingsOverrides o = onDataset(dataset);
    run<PromptResults>(
        QStringLiteral("dataset values"), consumer,
        [o](const Analysis& a, const ProgressFn& p) {
            return convert::prompts(dataset_report(a.with(o), p));
        },
        [this](const PromptResults& r) { Q_EMIT promptsReady(r); });
}

void Session::computeAttention(const QString& consumer, HeadRef head, const QString& observable,
                               const QString& dataset, int prompt) {
    if (!head.valid() || observable.isEmpty() || prompt < 0) return;
    const SettingsOverrides o = onDataset(dataset);
    run<AttentionResults>(
        QStringLiteral("attention"), consumer,
        [o, head, observable, prompt](const Analysis& a, const ProgressFn& p) {
            return convert::attention(attention_report(a.with(o), head, ss(observable), prompt, p));
        },
        [this](const AttentionResults& r) { Q_EMIT attentionReady(r); });
}

void Session::computeCorpus(const QString& consumer, const std::vector<HeadRef>& path,
                            const QString& observable, const QString& file,
                            const obsprop::CorpusOptions& options) {
    if (path.empty() || observable.isEmpty() || file.isEmpty()) return;
    run<CorpusResults>(
        QStringLiteral("corpus"), consumer,
        [path, observable, file, options](const Analysis& a, const ProgressFn& p) {
            return CorpusResults{corpus_report(a, path, ss(observable), file.toStdString(), options, p)};
        },
        [this](const CorpusResults& r) { Q_EMIT corpusReady(r); });
}

void Session::exportAll(const QString& dir) {
    // The project's steering presets as they stand now (the session's vectors, not the file's).
    auto a = analysis_;
    if (!a) return;
    auto ws = std::make_shared<Workspace>(a->workspace());
    ws->project().steering = steeringPresets();
    auto snapshot = std::make_shared<const Analysis>(std::shared_ptr<const Workspace>(ws), a->settings());
    struct Done {
        ProjectReports reports;
        int files = 0;
    };
    // Reports and tables on a worker, exactly as `obsprop export` computes and writes them; then the figures
    // from the same reports on the GUI thread, one per event-loop turn so the window stays responsive.
    jobs_.start<std::shared_ptr<Done>>(
        QStringLiteral("export"),
        [snapshot, dir](const ProgressFn& p) {
            auto d = std::make_shared<Done>();
            d->reports = project_reports(*snapshot, p);
            d->files = static_cast<int>(
                export_tables(tables_of(d->reports), ss(dir), export_manifest(*snapshot)).files.size());
            return d;
        },
        this,
        [this, dir](std::shared_ptr<Done> d) {
            auto tasks = std::make_shared<std::vector<figures::FigureTask>>(
                figures::project_figure_tasks(d->reports, ss(dir)));
            auto next = std::make_shared<std::function<void(std::size_t, int)>>();
            *next = [this, dir, tasks, next](std::size_t i, int files) {
                if (i == tasks->size()) {
                    Q_EMIT exportFinished(dir, files);
                    return;
                }
                if (!(*tasks)[i].draw()) {
                    Q_EMIT jobFailed(QStringLiteral("export"),
                                     tr("export: could not write the figure %1 in %2")
                                         .arg(QString::fromStdString((*tasks)[i].stem), dir));
                    return;
                }
                QTimer::singleShot(0, this, [next, i, files] { (*next)(i + 1, files + 3); });
            };
            (*next)(0, d->files);
        },
        [this](const QString& e) {
            Q_EMIT jobFailed(QStringLiteral("export"), QStringLiteral("export: ") + e);
        });
}

// ---- steering: the session owns the vectors ------------------------------------------------------------

quint64 Session::addSteeringVector(SteeringVectorSpec spec) {
    auto before = recipeState();
    spec.id = nextSteeringId_++;
    if (spec.name.isEmpty()) {
        const bool oneHead = spec.path.size() == 1 && !spec.path.front().is_mlp();
        spec.name =
            QStringLiteral("%1 %2 (%3)")
                .arg(oneHead ? tr("head") : tr("path"), convert::pathText(spec.path), spec.observable);
    }
    steering_.push_back(spec);
    setDirty(true);
    Q_EMIT steeringVectorsChanged();
    prepareSteering();
    recordEdit(tr("Add Steering Vector “%1”").arg(spec.name), std::move(before));
    return spec.id;
}

void Session::removeSteeringVector(quint64 id) {
    auto it = std::find_if(steering_.begin(), steering_.end(),
                           [id](const SteeringVectorSpec& s) { return s.id == id; });
    if (it == steering_.end()) return;
    auto before = recipeState();
    const QString name = it->name;
    steering_.erase(it);
    setDirty(true);
    Q_EMIT steeringVectorsChanged();
    prepareSteering();
    recordEdit(tr("Remove Steering Vector “%1”").arg(name), std::move(before));
}

void Session::setSteeringValue(quint64 id, double SteeringVectorSpec::*field, double value, Merge merge) {
    for (auto& s : steering_)
        if (s.id == id && s.*field != value) {
            auto before = recipeState();
            s.*field = value;
            setDirty(true);
            const QString what =
                merge == Merge::kAlpha ? tr("Multiplier of “%1”") : tr("Slider Range of “%1”");
            recordEdit(what.arg(s.name), std::move(before), merge, id);
            return;
        }
}

void Session::setSteeringAlpha(quint64 id, double alpha) {
    setSteeringValue(id, &SteeringVectorSpec::alpha, alpha, Merge::kAlpha);
}

void Session::setSteeringRange(quint64 id, double range) {
    if (range > 0) setSteeringValue(id, &SteeringVectorSpec::range, range, Merge::kRange);
}

void Session::setSteeringDataset(const QString& dataset) {
    if (dataset == steeringDataset_) return;
    steeringDataset_ = dataset; // a view choice: not part of the recipe
    prepareSteering();
}

std::vector<SteeringVector> Session::coreSteeringVectors() const {
    std::vector<SteeringVector> out;
    for (const auto& s : steering_) {
        SteeringVector v;
        v.observable = ss(s.observable);
        v.path = s.path;
        v.layer = s.layer, v.position = ss(s.position), v.normalize = s.normalize, v.alpha = s.alpha;
        out.push_back(v);
    }
    return out;
}

bool Session::isSteeringPrepared() const {
    return static_cast<bool>(steeringPlan_);
}

void Session::prepareSteering() {
    // Results of the previous vector list must never arrive after this.
    jobs_.cancel(QStringLiteral("steering/exact"));
    jobs_.cancel(QStringLiteral("steering/prepare"));
    ++steeringGeneration_;
    steeringPlan_.reset();
    auto a = analysis_;
    if (!a || steering_.empty() || ws_->observables().empty()) return;
    const std::vector<SteeringVector> vectors = coreSteeringVectors();
    const SettingsOverrides o = onDataset(steeringDataset_);
    const quint64 gen = steeringGeneration_;
    jobs_.start<std::shared_ptr<const SteeringPlan>>(
        QStringLiteral("steering/prepare"),
        [a, o, vectors](const ProgressFn& p) { return SteeringPlan::prepare(a->with(o), vectors, p); }, this,
        [this, gen](std::shared_ptr<const SteeringPlan> plan) {
            if (gen != steeringGeneration_) return;
            steeringPlan_ = std::move(plan);
            Q_EMIT steeringPrepared();
            Q_EMIT steeringReady(predictSteering());
            requestExactSteering();
        },
        [this](const QString& e) {
            Q_EMIT jobFailed(QStringLiteral("steering/prepare"), QStringLiteral("steering: ") + e);
        });
}

SteeringResults Session::predictSteering() const {
    if (!steeringPlan_ || steeringPlan_->vectors().size() != steering_.size()) return {};
    std::vector<double> alphas;
    for (const auto& s : steering_)
        alphas.push_back(s.alpha);
    SteeringResults r = convert::steering(steeringPlan_->predict(alphas), steering_);
    r.generation = steeringGeneration_;
    return r;
}

void Session::requestExactSteering() {
    auto plan = steeringPlan_;
    if (!plan || plan->vectors().size() != steering_.size()) return;
    std::vector<double> alphas;
    for (const auto& s : steering_)
        alphas.push_back(s.alpha);
    const auto specs = steering_;
    const quint64 gen = ++steeringGeneration_;
    jobs_.start<std::shared_ptr<SteeringResults>>(
        QStringLiteral("steering/exact"),
        [plan, alphas, specs, gen](const ProgressFn& p) {
            auto r = std::make_shared<SteeringResults>(convert::steering(plan->run(alphas, p), specs));
            r->generation = gen;
            return r;
        },
        this, [this](std::shared_ptr<SteeringResults> r) { Q_EMIT steeringReady(*r); },
        [this](const QString& e) {
            Q_EMIT jobFailed(QStringLiteral("steering/exact"), QStringLiteral("steering: ") + e);
        });
}

} // namespace obsprop::ui
