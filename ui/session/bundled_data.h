// The data that ships with the explorer: the demo model and the demo project. Installed, they live in
// <prefix>/share/obsprop/ (models/demo, projects/demo.obsprop); in a build tree, <build>/share/obsprop links
// to the source tree's resources/, so the same rule finds them in both.
#pragma once

#include <QString>
#include <QStringList>

namespace obsprop::ui {

// The folders searched for share/obsprop, first match wins: next to the running program
// (<bin>/../share/obsprop, so an unpacked or relocated install finds its own data), then every XDG data
// folder (~/.local/share, /usr/local/share, /usr/share, ...).
QStringList bundledDataDirs();

// The manual (the README with docs/ beside it): <bin>/../share/doc/obsprop/README.md, then the XDG data
// folders' doc/obsprop/README.md; empty when it is nowhere to be found. The build tree links it from the
// source tree.
QString bundledManual();

// The demo project's absolute path, or an empty string when it is nowhere to be found.
QString bundledDemoProject();

// The shipped corpus (share/obsprop/corpus/corpus.txt, docs/corpus.md), or an empty string.
QString bundledCorpus();

// True for a project file that must not be overwritten: the bundled demo (wherever it is found) or a file
// the user cannot write (or whose folder they cannot write, since saving replaces the file).
bool isReadOnlyProject(const QString& file);

} // namespace obsprop::ui
