#include "session/head_selection.h"

#include <QAction>

namespace obsprop::ui {

HeadSelection::HeadSelection(QObject* parent) : QObject(parent) {
    next_ = new QAction(tr("&Next Head"), this);
    next_->setShortcut(QKeySequence(tr("Ctrl+J")));
    previous_ = new QAction(tr("&Previous Head"), this);
    previous_->setShortcut(QKeySequence(tr("Ctrl+K")));
    connect(next_, &QAction::triggered, this, [this] { step(1); });
    connect(previous_, &QAction::triggered, this, [this] { step(-1); });
}

void HeadSelection::setShape(int layers, int heads) {
    layers_ = layers, heads_ = heads;
    if (current_.valid() && (current_.layer >= layers || current_.head >= heads)) clear();
}

void HeadSelection::select(HeadRef h) {
    if (!h.valid() || h == current_) return;
    current_ = h;
    Q_EMIT changed(h);
}

void HeadSelection::clear() {
    if (!current_.valid()) return;
    current_ = {};
    Q_EMIT changed(current_);
}

void HeadSelection::step(int by) {
    const int n = layers_ * heads_;
    if (n <= 0) return;
    const int at = current_.valid() ? current_.layer * heads_ + current_.head : (by > 0 ? -1 : 0);
    const int i = ((at + by) % n + n) % n;
    select({i / heads_, i % heads_});
}

} // namespace obsprop::ui
