// Empty states: what a view shows in place of its plot or table while it has nothing to show (no model, no
// observable, nothing selected, still computing): one short sentence that says what to do, never an empty
// grid with a meaningless colour scale. Every view's hint is a QLabel named "emptyHint".
#pragma once

#include <QString>

class QLabel;
class QWidget;

namespace obsprop::ui {

class Session;

// A centred, wrapped, greyed label named "emptyHint".
QLabel* makeEmptyHint(QWidget* parent);

// What is missing before a view that needs `observables` observables can show `what` ("feature norms"):
// "Open a model…", "Add an observable in the Project panel to see feature norms.", … Empty when nothing is.
QString missingInput(const Session& session, int observables, const QString& what);

} // namespace obsprop::ui
