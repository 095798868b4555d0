// The actions a tab page offers in every context menu on it (Copy as Command, Export Figure…): those of
// the first ancestor that shows its actions as a context menu. Tables and plots append them to their own
// menus.
#pragma once

#include <QAction>
#include <QMenu>
#include <QWidget>

namespace obsprop::ui {

inline QList<QAction*> pageActions(const QWidget* w) {
    for (QWidget* p = w->parentWidget(); p; p = p->parentWidget())
        if (p->contextMenuPolicy() == Qt::ActionsContextMenu) return p->actions();
    return {};
}

// A separator, then the page's actions (nothing when the page has none).
inline void addPageActions(QMenu* menu, const QWidget* w) {
    const QList<QAction*> page = pageActions(w);
    if (page.isEmpty()) return;
    menu->addSeparator();
    menu->addActions(page);
}

} // namespace obsprop::ui
