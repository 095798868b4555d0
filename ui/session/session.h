// One open model or project: the GUI's engine. It owns the workspace (the recipe: model, observables,
// datasets, settings) and the steering vectors, and computes every number through the core analysis layer
// (analyses/run.h) as background jobs, handing the reports to the views as value types through typed
// signals. Views never compute; they ask the session and draw what comes back.
//
// Results follow the recipe: every edit (observable, dataset, LayerNorm mode) makes a new snapshot with a new
// generation and emits recipeChanged at once; results computed for an older generation are never delivered.
// View state (tabs, selection, autosave) and saving never make a new snapshot, so they invalidate nothing.
// Each request names its consumer (a view): jobs run in one channel per consumer and analysis, so one view's
// request never cancels another's; a failure names the analysis.
#pragma once

#include <QJsonObject>
#include <QObject>
#include <QString>
#include <memory>

#include "analyses/corpus_options.h"
#include "analyses/engine_status.h"
#include "analyses/reports.h"
#include "results/results.h"
#include "session/job_tracker.h"

class QUndoStack;

namespace obsprop {
class Workspace;
}
namespace obsprop::project {
struct SteeringPreset;
}
namespace obsprop::analyses {
class Analysis;
class SteeringPlan;
} // namespace obsprop::analyses

namespace obsprop::ui {

class Session : public QObject {
    Q_OBJECT
  public:
    explicit Session(QObject* parent = nullptr);
    ~Session() override;

    JobTracker& jobs() { return jobs_; }
    // Undo and redo of every recipe edit (observables, datasets, LayerNorm settings, steering vectors and
    // their multipliers). The stack is clean exactly when the recipe is the one last saved or opened;
    // undoing an edit brings back the recipe as it was, so every analysis gives the numbers it gave then.
    QUndoStack* undoStack() const { return undo_; }
    // A recipe as it was at one moment (opaque; what an undo step holds).
    struct RecipeState;
    bool isOpen() const { return static_cast<bool>(ws_); }
    ModelInfo modelInfo() const { return info_; }
    // The float32 copies of BF16/F16 weights now (for the debug overlay); zeros when nothing is open.
    analyses::WeightMemory weightMemory() const;
    QString projectFile() const { return projectFile_; }
    bool isDirty() const { return dirty_; }
    // Bumped by every recipe edit; results carry the generation they were computed for.
    quint64 generation() const { return generation_; }
    // The current snapshot with its resolved settings (null when nothing is open).
    std::shared_ptr<const analyses::Analysis> analysis() const { return analysis_; }

    // Opening runs in the background; workspaceOpened or openFailed follows. The current workspace stays
    // until the new one is ready, so a failed open loses nothing. Opening never marks the project modified.
    void openModel(const QString& dir);
    void openProject(const QString& file);
    // "Locate model…": the project `file` on the model in `modelDir` instead of the folder it names (moved,
    // or no longer the model it was saved with). When `file` is the open project, its unsaved edits are kept.
    // The model path changes, so the project is marked modified; modelChanged follows when the folder is not
    // the model the project was saved with, openFailed when it does not open (the current work stays).
    void locateModel(const QString& file, const QString& modelDir);
    // After restoring a recovery file: the work is unsaved and belongs to no file yet.
    void detachFromFile();
    // Synchronous, atomic. Returns an error message or an empty string.
    QString saveProject(const QString& file);
    // The project as a recovery file would hold it (JSON text); empty when nothing is open.
    QByteArray serializeProject() const;

    // Recipe editing (instant). addObservable returns an error message ("column 5: ...") or empty; it
    // replaces an observable of the same name (ask the user first: observableNameOf tells the name a text
    // defines).
    QString addObservable(const QString& name, const QString& expr);
    QString observableNameOf(const QString& text) const; // empty when the text does not parse
    bool hasObservable(const QString& name) const;
    void removeObservable(const QString& name);
    QList<QPair<QString, QString>> observables() const; // (name, expression)
    // The project's observables that do not parse for this model: kept in the recipe (saved as written),
    // left out of every analysis, shown with their error until edited or removed.
    struct InvalidObservable {
        QString name, expr, error;
    };
    QList<InvalidObservable> invalidObservables() const;
    QStringList observableWarnings(const QString& name) const;
    // The tokens the observable resolved to, e.g. `+1 #1234 "▁she", -1 #789 "▁he"` (empty if unknown).
    QString observableTokens(const QString& name) const;
    QString observableLnDataset(const QString& name) const;                      // as resolved
    QString setObservableLnDataset(const QString& name, const QString& dataset); // error or empty
    QStringList datasetNames() const;
    // The dataset data analyses run on when a view names none (the resolved settings' rule).
    QString defaultDataset() const;
    // A dataset's prompts in order, as text (the recipe's: nothing to compute).
    QStringList promptTexts(const QString& dataset) const;
    QString datasetText(const QString& name) const;                   // templates and names as editable text
    QString setDatasetText(const QString& name, const QString& text); // error or empty
    // Adds a dataset of prompt pairs read from a CSV or JSONL file (project/pair_import.h) as one undoable
    // edit. Returns the error ("<file>:<line>: <problem>", a name in use, a pair without a slot) or empty.
    QString importPairDataset(const QString& name, const QString& file);
    bool isPairDataset(const QString& name) const;
    QString lnMode() const;
    void setLnMode(const QString& mode);
    QString defaultAttribution() const;         // the project's attribution method
    QString defaultAttributionPosition() const; // the project's attribution token ("last" unless set)

    QJsonObject viewState() const;
    void setViewState(const QJsonObject& state); // neither dirty nor a new snapshot

    // Analyses. `consumer` names the view asking (its own channel); results go to every listener.
    void computeFeatures(const QString& consumer, const QString& pairA = {}, const QString& pairB = {});
    // `position`: the token whose prediction is attributed (name, last or an index); empty: the project's.
    void computeAttribution(const QString& consumer, const QString& dataset, const QString& method,
                            const QString& position = {});
    void computeHeadDetail(const QString& consumer, HeadRef head);
    // Every head's C(a→b) beside its attribution ratio b/a over `dataset` (method: the project's).
    void computeCouplingHeads(const QString& consumer, const QString& a, const QString& b,
                              const QString& dataset);
    void computeCouplingScatter(const QString& consumer, HeadRef head, const QString& a, const QString& b,
                                const QString& dataset);
    void computePaths(const QString& consumer, const QString& observable, int keep);
    void computePathSearch(const QString& consumer, const QString& observable, const QString& dataset,
                           int beamWidth, int maxLength, PathNodeKinds kinds = {});
    void computePathDetail(const QString& consumer, const std::vector<HeadRef>& path,
                           const QString& observable);
    void computePrompts(const QString& consumer, const QString& dataset);
    // One head's attention on prompt `prompt` of `dataset`, with each token's contribution to `observable`.
    void computeAttention(const QString& consumer, HeadRef head, const QString& observable,
                          const QString& dataset, int prompt);
    // The debiasing sweep (docs/debias.md): heads ranked by C(raise→lower), each steered at every α.
    void computeDebias(const QString& consumer, const DebiasRequest& request);
    // The feature of a head (a path of one) or of a path of heads and MLPs scored on every token of a corpus
    // file (docs/corpus.md); cancel with jobs().cancel("corpus/<consumer>").
    void computeCorpus(const QString& consumer, const std::vector<HeadRef>& path, const QString& observable,
                       const QString& file, const obsprop::CorpusOptions& options);
    // File ▸ Export All: every table and figure of the project into `dir`, exactly as `obsprop export
    // --figures` writes them (the same core reports, tables and figure code); exportFinished follows.
    void exportAll(const QString& dir);

    // "Copy as command": the `obsprop` command line that prints the numbers a view shows, with every
    // resolved setting spelled out (core: analyses/command.h). It reads the saved project file, so the
    // command matches the window only once unsaved edits are saved (isDirty()).
    QString featuresCommand(const QString& pairA, const QString& pairB) const;
    QString attributionCommand(const QString& dataset, const QString& method,
                               const QString& position = {}) const;
    QString couplingCommand(const QString& a, const QString& b, const QString& dataset, HeadRef head) const;
    QString headDetailCommand(HeadRef head) const;
    QString pathsCommand(const QString& observable, bool patching, const QString& dataset, int beamWidth,
                         int maxLength, int keep, PathNodeKinds kinds = {}) const;
    QString pathDetailCommand(const std::vector<HeadRef>& path, const QString& observable) const;
    QString steeringCommand() const;
    QString datasetCommand(const QString& dataset) const;
    QString debiasCommand(const DebiasRequest& request) const;
    QString attentionCommand(HeadRef head, const QString& observable, const QString& dataset,
                             int prompt) const;
    QString corpusCommand(const std::vector<HeadRef>& path, const QString& observable, const QString& file,
                          const obsprop::CorpusOptions& options) const;

    // Steering: the session owns the vectors (saved with the project). Any change prepares them again (a
    // job); afterwards predictSteering() is instant and requestExactSteering() runs a forward pass (latest
    // wins).
    const std::vector<SteeringVectorSpec>& steeringVectors() const { return steering_; }
    quint64 addSteeringVector(SteeringVectorSpec spec); // returns its id
    void removeSteeringVector(quint64 id);
    void setSteeringAlpha(quint64 id, double alpha);
    void setSteeringRange(quint64 id, double range);
    QString steeringDataset() const { return steeringDataset_; }
    void setSteeringDataset(const QString& dataset);
    SteeringResults predictSteering() const;
    void requestExactSteering();
    bool isSteeringPrepared() const;

  Q_SIGNALS:
    // On open: workspaceOpened, then recipeChanged.
    void workspaceOpened();
    void openFailed(const QString& message);
    // After workspaceOpened, when the model folder no longer matches the project's fingerprint.
    void modelChanged(const QString& message);
    // Instead of workspaceOpened: the project's model folder `modelDir` does not exist (locateModel can
    // help).
    void modelMissing(const QString& projectFile, const QString& modelDir, const QString& message);
    void recipeChanged();
    void dirtyChanged(bool dirty);
    void featuresReady(const obsprop::ui::FeatureResults& r);
    void attributionReady(const obsprop::ui::AttributionResults& r);
    void headDetailReady(const obsprop::ui::SvdResults& r);
    void couplingReady(const obsprop::ui::CouplingScatter& r);
    void couplingHeadsReady(const obsprop::ui::CouplingHeads& r);
    void pathsReady(const obsprop::ui::PathResults& r);
    void pathDetailReady(const obsprop::ui::PathDetail& d);
    void promptsReady(const obsprop::ui::PromptResults& r);
    void attentionReady(const obsprop::ui::AttentionResults& r);
    void debiasReady(const obsprop::ui::DebiasResults& r);
    void corpusReady(const obsprop::ui::CorpusResults& r);
    void steeringVectorsChanged(); // added, removed, or a project opened
    // Multipliers or slider ranges set by undo or redo (the vectors themselves are unchanged).
    void steeringValuesRestored();
    void steeringPrepared();
    void steeringReady(const obsprop::ui::SteeringResults& r);
    void exportFinished(const QString& dir, int files);
    // `channel` is "<analysis>/<consumer>"; the message starts with the analysis that failed.
    void jobFailed(const QString& channel, const QString& message);

  private:
    void setDirty(bool d);
    void adopt(std::shared_ptr<Workspace> ws, const QString& projectFile);
    void publish();      // a new snapshot (and generation) after a recipe edit
    void recipeEdited(); // publish, mark modified, tell the views, prepare steering again
    void initUndo();
    std::shared_ptr<const RecipeState> recipeState() const;
    // Records the edit just made (from `before` to now) as one undo step named `text`. Consecutive
    // multiplier (or range) edits of the same vector merge into one step.
    enum class Merge { kNone = -1, kAlpha = 1, kRange = 2 };
    void recordEdit(const QString& text, std::shared_ptr<const RecipeState> before,
                    Merge merge = Merge::kNone, quint64 vector = 0);
    void restoreRecipe(const RecipeState& s); // undo and redo
    // A multiplier (kAlpha) or slider range (kRange) of one vector: one undo step per drag.
    void setSteeringValue(quint64 id, double SteeringVectorSpec::*field, double value, Merge merge);
    void prepareSteering();
    std::vector<project::SteeringPreset> steeringPresets() const; // the vectors as the project stores them
    std::vector<analyses::SteeringVector> coreSteeringVectors() const; // the vectors as the core takes them
    template <typename R>
    void run(const QString& analysis, const QString& consumer,
             std::function<R(const analyses::Analysis&, const ProgressFn&)> work,
             std::function<void(const R&)> deliver);

    JobTracker jobs_;
    std::shared_ptr<Workspace> ws_;                      // edited on the GUI thread only
    std::shared_ptr<const analyses::Analysis> analysis_; // the snapshot jobs read
    quint64 generation_ = 0;
    ModelInfo info_;
    QString projectFile_;
    bool dirty_ = false;
    // Modified without an undo step (model folder located, recovered from a crash): dirty even at the
    // stack's clean index, until saved.
    bool modifiedOutsideUndo_ = false;
    bool restoring_ = false; // edits the views echo while a state is restored are not new steps
    QUndoStack* undo_ = nullptr;
    std::vector<SteeringVectorSpec> steering_;
    quint64 nextSteeringId_ = 1;
    QString steeringDataset_;
    std::shared_ptr<const analyses::SteeringPlan> steeringPlan_;
    quint64 steeringGeneration_ = 0;
};

} // namespace obsprop::ui
