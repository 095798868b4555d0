// Runs this build's command line, `obsprop`, as a user would: for the suites that compare its output with
// other surfaces or with independent computations.
#pragma once

#include "test_paths.h"

#include <QByteArray>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStringList>

namespace cli_run {

struct Run {
    int code = -1; // the exit status; -1 when it crashed or did not finish
    QByteArray out, err;
    QJsonObject json() const { return QJsonDocument::fromJson(out).object(); }
    QJsonArray array() const { return QJsonDocument::fromJson(out).array(); }
};

inline Run cli(const QStringList& args, int timeoutMs = 300000) {
    QProcess p;
    p.start(test_paths::binary("/app/obsprop"), args);
    p.waitForFinished(timeoutMs);
    Run r;
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

} // namespace cli_run
