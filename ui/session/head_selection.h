// The selected head, shared by every view: a view that is handed it selects through it and follows it, so no
// window has to push a click into each view. Next/previous head as ready-made actions (Ctrl+J / Ctrl+K).
#pragma once

#include <QObject>

#include "results/results.h"

class QAction;

namespace obsprop::ui {

class HeadSelection : public QObject {
    Q_OBJECT
  public:
    explicit HeadSelection(QObject* parent = nullptr);

    HeadRef current() const { return current_; }
    // The model's shape, for stepping through heads.
    void setShape(int layers, int heads);
    QAction* nextAction() const { return next_; }
    QAction* previousAction() const { return previous_; }

  public Q_SLOTS:
    void select(obsprop::ui::HeadRef h); // invalid heads are ignored
    void clear();
    void step(int by);

  Q_SIGNALS:
    void changed(obsprop::ui::HeadRef h);

  private:
    HeadRef current_;
    int layers_ = 0, heads_ = 0;
    QAction* next_ = nullptr;
    QAction* previous_ = nullptr;
};

// Makes `view` follow the selection (when it has a setSelectedHead slot) and select through it (when it has a
// headSelected signal).
template <typename View> void follow(HeadSelection* selection, View* view) {
    if constexpr (requires { &View::setSelectedHead; })
        QObject::connect(selection, &HeadSelection::changed, view, &View::setSelectedHead);
    if constexpr (requires { &View::headSelected; })
        QObject::connect(view, &View::headSelected, selection, &HeadSelection::select);
}

} // namespace obsprop::ui
