// Asking before a file the user already has is replaced, for the writes that do not go through a file
// dialog's own question (a name typed into the Export Figure dialog, a suffix added to a name after the Save
// dialog closed, a folder of an earlier Export All). Tests install their own answer instead of a modal box.
#pragma once

#include <QString>
#include <functional>

class QWidget;

namespace obsprop::ui {

// True when `path` does not exist, or the user agrees to replace it (`what` names it: "The file", "The
// folder … already holds an export").
bool confirmOverwrite(QWidget* parent, const QString& path, const QString& question = {});

// Replaces the question (a window-modal QMessageBox) with `answer(path, question)`; {} restores it.
using OverwriteAnswer = std::function<bool(const QString& path, const QString& question)>;
void setOverwriteAnswer(OverwriteAnswer answer);

} // namespace obsprop::ui
