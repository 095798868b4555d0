#include "views/confirm_overwrite.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QMessageBox>
#include <QPushButton>

namespace obsprop::ui {

namespace {
OverwriteAnswer& installed() {
    static OverwriteAnswer answer;
    return answer;
}
} // namespace

void setOverwriteAnswer(OverwriteAnswer answer) {
    installed() = std::move(answer);
}

bool confirmOverwrite(QWidget* parent, const QString& path, const QString& question) {
    if (!QFileInfo::exists(path)) return true;
    const QString q = !question.isEmpty()
                          ? question
                          : QCoreApplication::translate("ConfirmOverwrite", "%1 already exists. Replace it?")
                                .arg(QDir::toNativeSeparators(path));
    if (installed()) return installed()(path, q);
    QMessageBox box(QMessageBox::Warning, QCoreApplication::translate("ConfirmOverwrite", "Replace file?"), q,
                    QMessageBox::NoButton, parent);
    box.setObjectName(QStringLiteral("confirmOverwrite"));
    QAbstractButton* replace =
        box.addButton(QCoreApplication::translate("ConfirmOverwrite", "&Replace"), QMessageBox::AcceptRole);
    box.addButton(QMessageBox::Cancel);
    box.setDefaultButton(QMessageBox::Cancel);
    box.setWindowModality(Qt::WindowModal);
    box.exec();
    return box.clickedButton() == replace;
}

} // namespace obsprop::ui
