#include "views/empty_state.h"

#include <QCoreApplication>
#include <QLabel>

#include "session/session.h"

namespace obsprop::ui {

namespace {
QString tr(const char* text) {
    return QCoreApplication::translate("EmptyState", text);
}
} // namespace

QLabel* makeEmptyHint(QWidget* parent) {
    auto* hint = new QLabel(parent);
    hint->setObjectName(QStringLiteral("emptyHint"));
    hint->setAlignment(Qt::AlignCenter);
    hint->setWordWrap(true);
    hint->setMargin(24);
    hint->setForegroundRole(QPalette::PlaceholderText);
    hint->setTextInteractionFlags(Qt::TextSelectableByMouse);
    return hint;
}

QString missingInput(const Session& session, int observables, const QString& what) {
    if (!session.isOpen()) return tr("Open a model folder or a project (File ▸ Open) to see %1.").arg(what);
    const auto have = session.observables().size();
    if (have >= observables) return {};
    if (observables == 1) return tr("Add an observable in the Project panel to see %1.").arg(what);
    return have == 0 ? tr("Add two observables in the Project panel to see %1.").arg(what)
                     : tr("Add a second observable in the Project panel to see %1.").arg(what);
}

} // namespace obsprop::ui
