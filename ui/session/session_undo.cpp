// Undo and redo of recipe edits: every edit records the recipe before and after it (the workspace, which
// holds the parsed observables and tokenised datasets, and the steering vectors) as one QUndoCommand;
// undoing puts the earlier recipe back and publishes it as a new snapshot, so the views compute exactly what
// they computed before the edit.
#include "analyses/workspace.h"

#include "session/session.h"

#include <QUndoStack>

namespace obsprop::ui {

struct Session::RecipeState {
    Workspace ws;
    std::vector<SteeringVectorSpec> steering;
};

namespace {

class RecipeEdit final : public QUndoCommand {
  public:
    using Restore = std::function<void(const Session::RecipeState&)>;
    RecipeEdit(const QString& text, std::shared_ptr<const Session::RecipeState> before,
               std::shared_ptr<const Session::RecipeState> after, Restore restore, int merge, quint64 vector)
        : QUndoCommand(text), before_(std::move(before)), after_(std::move(after)),
          restore_(std::move(restore)), merge_(merge), vector_(vector) {}

    void undo() override { restore_(*before_); }
    void redo() override {
        if (first_) { // pushed after the edit was made
            first_ = false;
            return;
        }
        restore_(*after_);
    }
    int id() const override { return merge_; }
    bool mergeWith(const QUndoCommand* other) override {
        const auto* o = static_cast<const RecipeEdit*>(other);
        if (o->vector_ != vector_) return false;
        after_ = o->after_;
        return true;
    }

  private:
    std::shared_ptr<const Session::RecipeState> before_, after_;
    Restore restore_;
    int merge_;
    quint64 vector_;
    bool first_ = true;
};

// The recipe part of a project, as text: what analyses depend on (not the view, the model path or the
// steering vectors).
std::string recipeText(const project::Project& p) {
    project::Project r;
    r.observables = p.observables;
    r.datasets = p.datasets;
    r.settings = p.settings;
    return project::serialize(r);
}

bool sameVectors(const std::vector<SteeringVectorSpec>& a, const std::vector<SteeringVectorSpec>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].id != b[i].id || a[i].observable != b[i].observable || a[i].path != b[i].path ||
            a[i].layer != b[i].layer || a[i].position != b[i].position || a[i].normalize != b[i].normalize ||
            a[i].name != b[i].name)
            return false;
    return true;
}

} // namespace

void Session::initUndo() {
    undo_ = new QUndoStack(this);
    undo_->setUndoLimit(200);
    connect(undo_, &QUndoStack::cleanChanged, this,
            [this](bool clean) { setDirty(!clean || modifiedOutsideUndo_); });
}

std::shared_ptr<const Session::RecipeState> Session::recipeState() const {
    if (!ws_) return nullptr;
    return std::make_shared<const RecipeState>(RecipeState{*ws_, steering_});
}

void Session::recordEdit(const QString& text, std::shared_ptr<const RecipeState> before, Merge merge,
                         quint64 vector) {
    if (restoring_ || !before) return;
    undo_->push(new RecipeEdit(
        text, std::move(before), recipeState(), [this](const RecipeState& s) { restoreRecipe(s); },
        static_cast<int>(merge), vector));
}

void Session::restoreRecipe(const RecipeState& s) {
    if (!ws_) return;
    Workspace w = s.ws;
    // Not the recipe: where the project is saved, which model folder it names, and the view.
    w.project().view = ws_->project().view;
    w.project().model_path = ws_->project().model_path;
    w.project().model_fingerprint = ws_->project().model_fingerprint;
    w.set_project_file(ws_->project_file());
    if (ws_->model_change().empty()) w.clear_model_change();
    const bool recipe = recipeText(w.project()) != recipeText(ws_->project());
    const bool vectors = !sameVectors(steering_, s.steering);
    *ws_ = std::move(w);
    steering_ = s.steering;
    restoring_ = true;
    if (recipe) {
        publish();
        Q_EMIT recipeChanged();
    }
    if (vectors) Q_EMIT steeringVectorsChanged();
    if (recipe || vectors)
        prepareSteering();
    else
        Q_EMIT steeringValuesRestored();
    restoring_ = false;
}

} // namespace obsprop::ui
