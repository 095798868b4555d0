// The Session's "Copy as command" texts: the core's command lines for the current snapshot, its settings with
// the view's choices as overrides, and the project file as it is now named.
#include "analyses/command.h"
#include "analyses/workspace.h"

#include "results/session_convert.h"
#include "session/session.h"

namespace obsprop::ui {

using namespace obsprop::analyses;

using convert::onDataset;
using convert::ss;

// Builds `make(analysis)` for the current snapshot renamed to the current project file.
template <typename Make>
QString commandOf(const std::shared_ptr<const Analysis>& a, const QString& projectFile,
                  const SettingsOverrides& o, Make make) {
    if (!a) return {};
    try {
        auto ws = std::make_shared<Workspace>(a->workspace());
        ws->set_project_file(projectFile.isEmpty() ? std::filesystem::path()
                                                   : std::filesystem::path(ss(projectFile)));
        const Analysis renamed(std::shared_ptr<const Workspace>(ws), a->settings());
        return QString::fromStdString(shell_join(make(renamed.with(o))));
    } catch (const std::exception& e) {
        return {};
    }
}

QString Session::featuresCommand(const QString& pairA, const QString& pairB) const {
    return commandOf(analysis_, projectFile_, {},
                     [&](const Analysis& a) { return features_command(a, ss(pairA), ss(pairB)); });
}

QString Session::attributionCommand(const QString& dataset, const QString& method,
                                    const QString& position) const {
    SettingsOverrides o = onDataset(dataset);
    if (!method.isEmpty()) o.attribution = ss(method);
    if (!position.isEmpty()) o.attribution_position = ss(position);
    return commandOf(analysis_, projectFile_, o, [](const Analysis& a) { return attribution_command(a); });
}

QString Session::couplingCommand(const QString& a, const QString& b, const QString& dataset,
                                 HeadRef head) const {
    return commandOf(analysis_, projectFile_, onDataset(dataset), [&](const Analysis& an) {
        return head.valid() ? coupling_scatter_command(an, head, ss(a), ss(b))
                            : coupling_command(an, ss(a), ss(b));
    });
}

QString Session::headDetailCommand(HeadRef head) const {
    return commandOf(analysis_, projectFile_, {},
                     [&](const Analysis& a) { return head_detail_command(a, head); });
}

QString Session::attentionCommand(HeadRef head, const QString& observable, const QString& dataset,
                                  int prompt) const {
    if (!head.valid() || observable.isEmpty()) return {};
    return commandOf(analysis_, projectFile_, onDataset(dataset),
                     [&](const Analysis& a) { return attention_command(a, head, ss(observable), prompt); });
}

QString Session::corpusCommand(const std::vector<HeadRef>& path, const QString& observable,
                               const QString& file, const obsprop::CorpusOptions& options) const {
    if (path.empty() || observable.isEmpty() || file.isEmpty()) return {};
    return commandOf(analysis_, projectFile_, {}, [&](const Analysis& a) {
        return corpus_command(a, path, ss(observable), ss(file), options);
    });
}

QString Session::pathsCommand(const QString& observable, bool patching, const QString& dataset, int beamWidth,
                              int maxLength, int keep, PathNodeKinds kinds) const {
    SettingsOverrides o = onDataset(dataset);
    o.beam_width = beamWidth, o.max_length = maxLength, o.top_paths = std::max(1, keep);
    o.mlp_nodes = kinds.mlp, o.embed_nodes = kinds.embed, o.token_nodes = kinds.tokens;
    return commandOf(analysis_, projectFile_, o, [&](const Analysis& a) {
        return patching ? path_search_command(a, ss(observable)) : path_ranking_command(a, ss(observable));
    });
}

QString Session::pathDetailCommand(const std::vector<HeadRef>& path, const QString& observable) const {
    return commandOf(analysis_, projectFile_, {},
                     [&](const Analysis& a) { return path_detail_command(a, path, ss(observable)); });
}

QString Session::steeringCommand() const {
    const std::vector<SteeringVector> vectors = coreSteeringVectors();
    if (vectors.empty()) return {};
    return commandOf(analysis_, projectFile_, onDataset(steeringDataset_),
                     [&](const Analysis& a) { return steering_command(a, vectors); });
}

QString Session::debiasCommand(const DebiasRequest& request) const {
    if (request.raise.isEmpty() || request.lower.isEmpty()) return {};
    const auto [o, s] = convert::debiasOptions(request);
    return commandOf(analysis_, projectFile_, s, [&](const Analysis& a) { return debias_command(a, o); });
}

QString Session::datasetCommand(const QString& dataset) const {
    return commandOf(analysis_, projectFile_, onDataset(dataset),
                     [](const Analysis& a) { return dataset_command(a); });
}

} // namespace obsprop::ui
