// One open model or project: the GUI's engine. It owns the workspace (model, tokenizer, observables,
// datasets, settings), starts every analysis as a background job and hands results to the views as
// immutable value types through typed signals. Views never compute; they ask the session.
#pragma once

#include <QJsonObject>
#include <QObject>
#include <QString>
#include <memory>

#include "job_tracker.h"
#include "results.h"

namespace obsprop {
class Workspace;
}

namespace obsprop::ui {

// A steering vector: the feature of a head (one entry in `path`) or of a virtual head, for an observable,
// added at blocks.{layer}.hook_resid_pre (layer -1 = the path's first layer).
struct SteeringVectorSpec {
    QString name;
    QString observable;
    std::vector<HeadRef> path;
    int layer = -1;
    bool normalize = true;
    double alpha = 0;
    double range = 300;
};

class Session : public QObject {
    Q_OBJECT
  public:
    explicit Session(QObject* parent = nullptr);
    ~Session() override;

    JobTracker& jobs() { return jobs_; }
    bool isOpen() const { return static_cast<bool>(ws_); }
    ModelInfo modelInfo() const { return info_; }
    QString projectFile() const { return projectFile_; }
    bool isDirty() const { return dirty_; }

    // Opening runs in the background; workspaceOpened or openFailed follows. The current workspace stays
    // until the new one is ready, so a failed open loses nothing.
    void openModel(const QString& dir);
    void openProject(const QString& file);
    // After restoring a recovery file: the work is unsaved and belongs to no file yet.
    void detachFromFile();
    // Synchronous, atomic. Returns an error message or an empty string.
    QString saveProject(const QString& file);
    // The project as a recovery file would hold it (JSON text); empty when nothing is open.
    QByteArray serializeProject() const;

    // Recipe editing (instant). addObservable returns an error message ("column 5: ...") or empty.
    QString addObservable(const QString& name, const QString& expr);
    void removeObservable(const QString& name);
    QList<QPair<QString, QString>> observables() const;   // (name, expression)
    QStringList observableWarnings(const QString& name) const;
    QStringList datasetNames() const;
    QString datasetText(const QString& name) const;       // templates and names as editable text
    QString setDatasetText(const QString& name, const QString& text);  // error or empty
    QString lnMode() const;
    void setLnMode(const QString& mode);

    QJsonObject viewState() const;
    void setViewState(const QJsonObject& state);  // marks the project dirty

    // Analyses: each replaces a running job of the same kind.
    void computeFeatures(const QString& pairA = {}, const QString& pairB = {});
    void computeAttribution(const QString& dataset, const QString& method);
    void computeHeadDetail(HeadRef head, const QString& dataset);
    void computeCouplingScatter(HeadRef head, const QString& a, const QString& b, const QString& dataset);
    void computePaths(const QString& observable, int keep);
    // Beam search by path patching over `dataset`'s pairs (same channel "paths" as computePaths).
    void computePathSearch(const QString& observable, const QString& dataset, int beamWidth, int maxLength);
    // A path's feature vector for every observable, compared with the chosen observable's.
    void computePathDetail(const std::vector<HeadRef>& path, const QString& observable);
    void computePrompts(const QString& dataset);
    // Every table of the project into `dir` (CSV + JSON + manifest), exactly as `obsprop export` writes them.
    void exportTables(const QString& dir);

    // Steering: vectors with their multipliers, on a dataset. setSteering prepares the gradients (a job);
    // afterwards predictSteering() is instant and requestExactSteering() runs a forward pass (latest wins).
    void setSteering(const std::vector<SteeringVectorSpec>& vectors, const QString& dataset);
    const std::vector<SteeringVectorSpec>& steeringVectors() const { return steering_; }
    void setSteeringAlpha(int index, double alpha);
    void setSteeringRange(int index, double range);
    SteeringResults predictSteering() const;
    void requestExactSteering();
    bool isSteeringPrepared() const;

  Q_SIGNALS:
    // On open: workspaceOpened, then recipeChanged.
    void workspaceOpened();
    void openFailed(const QString& message);
    void recipeChanged();
    void dirtyChanged(bool dirty);
    void featuresReady(const obsprop::ui::FeatureResults& r);
    void attributionReady(const obsprop::ui::AttributionResults& r);
    void headDetailReady(const obsprop::ui::SvdResults& r);
    void couplingReady(const obsprop::ui::CouplingScatter& r);
    void pathsReady(const obsprop::ui::PathResults& r);
    void pathDetailReady(const obsprop::ui::PathDetail& d);
    void promptsReady(const obsprop::ui::PromptResults& r);
    void steeringPrepared();
    void steeringReady(const obsprop::ui::SteeringResults& r);
    void exportFinished(const QString& dir, int files);
    void jobFailed(const QString& channel, const QString& message);

  private:
    void setDirty(bool d);
    void adopt(std::shared_ptr<Workspace> ws, const QString& projectFile);
    std::shared_ptr<const Workspace> snapshot() const;
    void publish();  // a new immutable snapshot after an edit

    JobTracker jobs_;
    std::shared_ptr<Workspace> ws_;             // edited on the GUI thread only
    std::shared_ptr<const Workspace> frozen_;   // what jobs read
    struct Derived;
    std::shared_ptr<Derived> derived_;           // what jobs computed from frozen_ and may reuse
    ModelInfo info_;
    QString projectFile_;
    bool dirty_ = false;
    std::vector<SteeringVectorSpec> steering_;
    QString steeringDataset_;
    struct SteeringState;
    std::shared_ptr<const SteeringState> steeringState_;
    quint64 steeringGeneration_ = 0;
};

}  // namespace obsprop::ui
