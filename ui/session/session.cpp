// LibTorch and the core first: Qt's macros must not be defined when they are parsed.
#include "analyses/export.h"
#include "analyses/run.h"
#include "analyses/steering.h"
#include "analyses/workspace.h"
#include "io/model_config.h"
#include "io/model_summary.h"
#include "project/pair_import.h"

#include "session/session.h"

#include <QJsonDocument>
#include <QUndoStack>

#include <optional>

#include "results/session_convert.h"

namespace obsprop::ui {

using analyses::Analysis;

using convert::qs;
using convert::ss;

namespace {
bool sameDatasets(const std::vector<project::Dataset>& a, const std::vector<project::Dataset>& b) {
    project::Project x, y;
    x.datasets = a, y.datasets = b;
    return project::serialize(x) == project::serialize(y);
}
} // namespace

Session::Session(QObject* parent) : QObject(parent) {
    qRegisterMetaType<obsprop::ui::FeatureResults>();
    qRegisterMetaType<obsprop::ui::AttributionResults>();
    qRegisterMetaType<obsprop::ui::SvdResults>();
    qRegisterMetaType<obsprop::ui::CouplingScatter>();
    qRegisterMetaType<obsprop::ui::CouplingHeads>();
    qRegisterMetaType<obsprop::ui::PathResults>();
    qRegisterMetaType<obsprop::ui::PathDetail>();
    qRegisterMetaType<obsprop::ui::PromptResults>();
    qRegisterMetaType<obsprop::ui::SteeringResults>();
    qRegisterMetaType<obsprop::ui::AttentionResults>();
    qRegisterMetaType<obsprop::ui::CorpusResults>();
    initUndo();
}

Session::~Session() {
    jobs_.cancelAll();
    jobs_.waitForDone();
}

void Session::publish() {
    ++generation_;
    analysis_.reset();
    if (!ws_) return;
    // The settings are resolved once per snapshot from the project; the views' choices are overrides.
    analysis_ = std::make_shared<const Analysis>(std::make_shared<const Workspace>(*ws_));
}

void Session::recipeEdited() {
    publish();
    setDirty(true);
    Q_EMIT recipeChanged();
    prepareSteering(); // the steering vectors are features of the recipe too
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
    info_ = ModelInfo{qs(ws_->model().directory().string()),
                      QString::fromLatin1(io::family_name(c.family)),
                      c.n_layers,
                      c.n_heads,
                      c.d_model,
                      c.d_head,
                      c.d_mlp,
                      c.d_vocab,
                      c.n_ctx,
                      static_cast<double>(ws_->model().checkpoint_bytes()),
                      {}};
    for (const auto& f : io::describe_model(c))
        info_.facts.append({qs(f.label), qs(f.text)});
    steering_.clear();
    for (const auto& p : ws_->project().steering) {
        SteeringVectorSpec s;
        s.id = nextSteeringId_++;
        s.name = qs(p.name), s.observable = qs(p.observable), s.layer = p.layer, s.position = qs(p.position);
        s.normalize = p.normalize, s.alpha = p.multiplier, s.range = p.range;
        static_assert(project::SteeringPreset::kMlpNode == HeadRef::kMlp);
        for (auto [l, h] : p.path)
            s.path.push_back({l, h});
        steering_.push_back(s);
    }
    steeringDataset_ = ws_->datasets().empty() ? QString() : qs(ws_->datasets().front().recipe.name);
    steeringPlan_.reset();
    publish();
    modifiedOutsideUndo_ = false;
    undo_->clear(); // another project: nothing to undo (and the stack is clean)
    dirty_ = false;
    Q_EMIT dirtyChanged(false);
    Q_EMIT workspaceOpened();
    Q_EMIT recipeChanged();
    Q_EMIT steeringVectorsChanged();
    prepareSteering();
    if (!ws_->model_change().empty()) Q_EMIT modelChanged(qs(ws_->model_change()));
}

void Session::openModel(const QString& dir) {
    jobs_.start<std::shared_ptr<Workspace>>(
        QStringLiteral("open"),
        [dir](const ProgressFn& p) { return std::make_shared<Workspace>(Workspace::open_model(ss(dir), p)); },
        this, [this](std::shared_ptr<Workspace> w) { adopt(std::move(w), {}); },
        [this](const QString& e) { Q_EMIT openFailed(e); });
}

namespace {
// An opened project, or why not: a missing model folder is not a failure but a question for the user.
struct OpenedProject {
    std::shared_ptr<Workspace> ws;
    QString missingModel, message;
};
} // namespace

void Session::openProject(const QString& file) {
    jobs_.start<OpenedProject>(
        QStringLiteral("open"),
        [file](const ProgressFn& p) {
            try {
                return OpenedProject{
                    std::make_shared<Workspace>(Workspace::open_project(ss(file), p)), {}, {}};
            } catch (const ModelFolderMissing& e) {
                return OpenedProject{nullptr, qs(e.dir.string()), QString::fromUtf8(e.what())};
            }
        },
        this,
        [this, file](OpenedProject o) {
            if (o.ws)
                adopt(std::move(o.ws), file);
            else
                Q_EMIT modelMissing(file, o.missingModel, o.message);
        },
        [this](const QString& e) { Q_EMIT openFailed(e); });
}

void Session::locateModel(const QString& file, const QString& modelDir) {
    // The open project as it is now (with its unsaved edits) when it is the one whose model moves, else the
    // file as saved.
    std::optional<project::Project> current;
    if (ws_ && !file.isEmpty() && file == projectFile_)
        current = project::from_json(nlohmann::json::parse(serializeProject().toStdString()));
    jobs_.start<std::shared_ptr<Workspace>>(
        QStringLiteral("open"),
        [file, modelDir, current](const ProgressFn& p) {
            project::Project pr = current ? *current : project::load_project(ss(file));
            return std::make_shared<Workspace>(
                Workspace::open_project(std::move(pr), ss(file), ss(modelDir), p));
        },
        this,
        [this, file](std::shared_ptr<Workspace> w) {
            adopt(std::move(w), file);
            modifiedOutsideUndo_ =
                true; // its model path changed: Save records the new folder (and fingerprint)
            setDirty(true);
        },
        [this](const QString& e) { Q_EMIT openFailed(e); });
}

void Session::detachFromFile() {
    projectFile_.clear();
    modifiedOutsideUndo_ = true;
    setDirty(true);
}

QByteArray Session::serializeProject() const {
    if (!ws_) return {};
    auto p = ws_->project();
    // Absolute, so the text stands on its own wherever it is written (recovery files); saveProject
    // makes it relative to the project file.
    p.model_path = std::filesystem::absolute(ws_->model().directory());
    p.steering = steeringPresets();
    return QByteArray::fromStdString(project::serialize(p));
}

std::vector<project::SteeringPreset> Session::steeringPresets() const {
    std::vector<project::SteeringPreset> out;
    for (const auto& s : steering_) {
        project::SteeringPreset sp;
        sp.name = ss(s.name), sp.observable = ss(s.observable), sp.layer = s.layer,
        sp.position = ss(s.position);
        sp.normalize = s.normalize, sp.multiplier = s.alpha, sp.range = s.range;
        for (const auto& h : s.path)
            sp.path.emplace_back(h.layer, h.head);
        out.push_back(sp);
    }
    return out;
}

QString Session::saveProject(const QString& file) {
    if (!ws_) return tr("Nothing to save: no model is open.");
    try {
        auto p = project::from_json(nlohmann::json::parse(serializeProject().toStdString()));
        const auto modelDir = ws_->model().directory();
        // Store the model folder relative to the project file when it sits nearby.
        const auto rel = std::filesystem::absolute(modelDir).lexically_relative(
            std::filesystem::absolute(ss(file)).parent_path());
        p.model_path = (!rel.empty() && rel.native().rfind("../../..", 0) != 0)
                           ? rel
                           : std::filesystem::absolute(modelDir);
        p.model_fingerprint = project::fingerprint_model(modelDir);
        project::save_project(p, ss(file));
        ws_->project() = p; // the same recipe: no new snapshot, nothing to recompute
        ws_->set_project_file(ss(file));
        ws_->clear_model_change(); // the project now records this model
        projectFile_ = file;
        modifiedOutsideUndo_ = false;
        undo_->setClean();
        setDirty(false);
        return {};
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
}

QString Session::observableNameOf(const QString& text) const {
    if (!ws_) return {};
    auto r = try_parse_observable(ss(text), ws_->tokenizer(), ws_->model().config().d_vocab);
    if (auto* o = std::get_if<Observable>(&r)) return qs(o->name);
    return {};
}

bool Session::hasObservable(const QString& name) const {
    if (!ws_) return false;
    for (const auto& o : ws_->observables())
        if (qs(o.name) == name) return true;
    for (const auto& o : ws_->invalid_observables())
        if (qs(o.name) == name) return true;
    return false;
}

QList<Session::InvalidObservable> Session::invalidObservables() const {
    QList<InvalidObservable> out;
    if (ws_)
        for (const auto& o : ws_->invalid_observables())
            out.append({qs(o.name), qs(o.expr), qs(o.error)});
    return out;
}

QString Session::addObservable(const QString& name, const QString& expr) {
    if (!ws_) return tr("Open a model first.");
    auto before = recipeState();
    // The name it goes by: given, or written in the text ("subj = ...").
    const QString named = name.trimmed().isEmpty() ? observableNameOf(expr) : name.trimmed();
    const bool replaces = hasObservable(named);
    try {
        Workspace trial = *ws_;
        trial.add_observable(ss(name.trimmed()), ss(expr));
        analyses::resolve_settings(trial.project()); // e.g. an observable naming a missing dataset
        *ws_ = std::move(trial);
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
    recipeEdited();
    recordEdit((replaces ? tr("Replace Observable “%1”") : tr("Add Observable “%1”")).arg(named),
               std::move(before));
    return {};
}

void Session::removeObservable(const QString& name) {
    if (!ws_ || !hasObservable(name)) return;
    auto before = recipeState();
    Workspace edited = *ws_;
    edited.remove_observable(ss(name));
    *ws_ = std::move(edited);
    recipeEdited();
    recordEdit(tr("Remove Observable “%1”").arg(name), std::move(before));
}

QList<QPair<QString, QString>> Session::observables() const {
    QList<QPair<QString, QString>> out;
    if (ws_)
        for (const auto& o : ws_->observables())
            out.append({qs(o.name), qs(o.expr)});
    return out;
}

QStringList Session::observableWarnings(const QString& name) const {
    QStringList out;
    if (!ws_) return out;
    try {
        for (const auto& w : ws_->observable(ss(name)).warnings)
            out << qs(w);
    } catch (const std::exception&) {
    }
    return out;
}

QString Session::observableTokens(const QString& name) const {
    if (!ws_) return {};
    try {
        const auto& tok = ws_->tokenizer();
        return qs(resolved_terms(ws_->observable(ss(name)), [&tok](int id) {
            return tok.has_id(id) ? tok.token_string(id) : std::string();
        }));
    } catch (const std::exception&) {
        return {};
    }
}

QString Session::observableLnDataset(const QString& name) const {
    if (!analysis_) return {};
    try {
        return qs(analysis_->settings().ln_dataset(ss(name)));
    } catch (const std::exception&) {
        return {};
    }
}

QString Session::setObservableLnDataset(const QString& name, const QString& dataset) {
    if (!ws_) return tr("Open a model first.");
    auto p = ws_->project();
    for (auto& o : p.observables)
        if (qs(o.name) == name) o.dataset = ss(dataset);
    try {
        analyses::resolve_settings(p);
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
    if (p.observables == ws_->project().observables) return {};
    auto before = recipeState();
    ws_->project().observables = p.observables;
    recipeEdited();
    recordEdit(tr("LayerNorm Dataset of “%1”").arg(name), std::move(before));
    return {};
}

QStringList Session::datasetNames() const {
    QStringList out;
    if (ws_)
        for (const auto& d : ws_->datasets())
            out << qs(d.recipe.name);
    return out;
}

QString Session::defaultDataset() const {
    return analysis_ ? qs(analysis_->settings().dataset) : QString();
}

QStringList Session::promptTexts(const QString& dataset) const {
    QStringList out;
    if (!ws_) return out;
    try {
        for (const auto& p : ws_->dataset(ss(dataset)).prompts)
            out << qs(p.text);
    } catch (const std::exception&) {
    }
    return out;
}

QString Session::datasetText(const QString& name) const {
    if (!ws_) return {};
    try {
        const auto& r = ws_->dataset(ss(name)).recipe;
        QString t;
        for (const auto& pp : r.prompt_pairs) // a pair dataset: shown, not edited here
            t += QStringLiteral("pair: ") + qs(pp.clean) + QStringLiteral(" ⟶ ") + qs(pp.corrupt) +
                 QLatin1Char('\n');
        if (r.is_pairs()) return t;
        for (const auto& x : r.templates)
            t += QStringLiteral("template: ") + qs(x) + QLatin1Char('\n');
        QStringList f, m;
        for (const auto& n : r.female_names)
            f << qs(n);
        for (const auto& n : r.male_names)
            m << qs(n);
        t += QStringLiteral("female: ") + f.join(QStringLiteral(", ")) + QLatin1Char('\n');
        t += QStringLiteral("male: ") + m.join(QStringLiteral(", ")) + QLatin1Char('\n');
        return t;
    } catch (const std::exception&) {
        return {};
    }
}

bool Session::isPairDataset(const QString& name) const {
    if (!ws_) return false;
    for (const auto& d : ws_->project().datasets)
        if (d.name == ss(name)) return d.is_pairs();
    return false;
}

QString Session::importPairDataset(const QString& name, const QString& file) {
    if (!ws_) return tr("Open a model first.");
    auto all = ws_->project().datasets;
    try {
        all.push_back(project::import_pair_dataset(ss(name), std::filesystem::path(ss(file)), all));
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
    auto before = recipeState();
    try {
        Workspace trial = *ws_;
        trial.set_datasets(all); // tokenised: a pair without a slot is refused, naming the file
        *ws_ = std::move(trial);
    } catch (const std::exception& e) {
        return file + QStringLiteral(": ") + QString::fromUtf8(e.what());
    }
    recipeEdited();
    recordEdit(tr("Import Dataset “%1”").arg(name), std::move(before));
    return {};
}

QString Session::setDatasetText(const QString& name, const QString& text) {
    if (!ws_) return tr("Open a model first.");
    if (isPairDataset(name))
        return tr("“%1” holds prompt pairs imported from a file: they are not edited here (undo the import, "
                  "or import the changed file under another name)")
            .arg(name);
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
        if (line.startsWith(QStringLiteral("template:")))
            d.templates.push_back(ss(line.mid(9).trimmed()));
        else if (line.startsWith(QStringLiteral("female:")))
            d.female_names = list(QStringLiteral("female:"));
        else if (line.startsWith(QStringLiteral("male:")))
            d.male_names = list(QStringLiteral("male:"));
        else
            return tr("Each line must start with template:, female: or male: (\"%1\")").arg(line);
    }
    auto all = ws_->project().datasets;
    bool found = false;
    for (auto& x : all)
        if (x.name == d.name) x = d, found = true;
    if (!found) all.push_back(d);
    if (found && sameDatasets(all, ws_->project().datasets)) return {};
    auto before = recipeState();
    try {
        Workspace trial = *ws_;
        trial.set_datasets(all);
        *ws_ = std::move(trial);
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
    recipeEdited();
    recordEdit((found ? tr("Edit Dataset “%1”") : tr("Add Dataset “%1”")).arg(name), std::move(before));
    return {};
}

QString Session::lnMode() const {
    return ws_ ? qs(ws_->project().settings.ln_mode) : QStringLiteral("approx");
}

void Session::setLnMode(const QString& mode) {
    if (!ws_ || qs(ws_->project().settings.ln_mode) == mode) return;
    auto before = recipeState();
    ws_->project().settings.ln_mode = ss(mode);
    recipeEdited();
    recordEdit(tr("LayerNorm Treatment “%1”").arg(mode), std::move(before));
}

QString Session::defaultAttribution() const {
    return ws_ ? qs(ws_->project().settings.attribution) : QStringLiteral("patching");
}

QString Session::defaultAttributionPosition() const {
    return ws_ ? qs(ws_->project().settings.attribution_position) : QStringLiteral("last");
}

QJsonObject Session::viewState() const {
    if (!ws_) return {};
    return QJsonDocument::fromJson(QByteArray::fromStdString(ws_->project().view.dump())).object();
}

void Session::setViewState(const QJsonObject& state) {
    if (!ws_) return;
    ws_->project().view =
        nlohmann::json::parse(QJsonDocument(state).toJson(QJsonDocument::Compact).toStdString());
}

analyses::WeightMemory Session::weightMemory() const {
    return ws_ ? analyses::weight_memory(*ws_) : analyses::WeightMemory{};
}

} // namespace obsprop::ui
