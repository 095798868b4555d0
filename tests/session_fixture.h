// Where the view suites start: a Session opened on a tiny generated model, with the two observables they
// all use (subj, and obj, which shares no token with it).
#pragma once

#include <QSignalSpy>
#include <QString>

#include "session/session.h"

namespace session_fixture {

// Opens `modelDir` in `s` and waits for it; false when it did not open in time.
inline bool open(obsprop::ui::Session& s, const QString& modelDir, int timeoutMs = 60000) {
    QSignalSpy opened(&s, &obsprop::ui::Session::workspaceOpened);
    s.openModel(modelDir);
    return opened.wait(timeoutMs);
}

// Opens the project `file` in `s` and waits for it; false when it did not open in time.
inline bool openProject(obsprop::ui::Session& s, const QString& file, int timeoutMs = 120000) {
    QSignalSpy opened(&s, &obsprop::ui::Session::workspaceOpened);
    s.openProject(file);
    return opened.wait(timeoutMs);
}

// open(), then subj = #10 - #20 and obj = 0.5*#7 + 0.5*#99 - #3; false when any step failed.
inline bool openWithPair(obsprop::ui::Session& s, const QString& modelDir, int timeoutMs = 60000) {
    return open(s, modelDir, timeoutMs) &&
           s.addObservable(QStringLiteral("subj"), QStringLiteral("#10 - #20")).isEmpty() &&
           s.addObservable(QStringLiteral("obj"), QStringLiteral("0.5*#7 + 0.5*#99 - #3")).isEmpty();
}

} // namespace session_fixture
