#include "views/export_dialog.h"

#include "views/confirm_overwrite.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>

namespace obsprop::ui {

namespace {
const char* const kSuffixes[] = {"png", "svg", "pdf"};
}

ExportFigureDialog::ExportFigureDialog(const QStringList& figures, QSize size, QWidget* parent)
    : QDialog(parent) {
    setWindowTitle(tr("Export figure"));
    QSettings s;
    auto* form = new QFormLayout;
    figure_ = new QComboBox(this);
    figure_->addItems(figures);
    if (figures.size() > 1)
        form->addRow(tr("&Figure:"), figure_);
    else
        figure_->hide();

    auto* fileRow = new QHBoxLayout;
    file_ = new QLineEdit(this);
    file_->setMinimumWidth(320);
    auto* browse = new QPushButton(tr("&Browse…"), this);
    fileRow->addWidget(file_, 1);
    fileRow->addWidget(browse);
    auto* fileLabel = new QLabel(tr("F&ile:"), this);
    fileLabel->setBuddy(file_);
    form->addRow(fileLabel, fileRow);

    format_ = new QComboBox(this);
    format_->addItems({tr("PNG image"), tr("SVG drawing"), tr("PDF document")});
    form->addRow(tr("F&ormat:"), format_);

    auto* sizeRow = new QHBoxLayout;
    width_ = new QSpinBox(this);
    height_ = new QSpinBox(this);
    for (QSpinBox* b : {width_, height_}) {
        b->setRange(100, 10000);
        b->setSuffix(tr(" px"));
        sizeRow->addWidget(b);
    }
    sizeRow->insertWidget(1, new QLabel(QStringLiteral("×"), this));
    sizeRow->addStretch(1);
    auto* sizeLabel = new QLabel(tr("&Size:"), this);
    sizeLabel->setBuddy(width_);
    form->addRow(sizeLabel, sizeRow);
    dpi_ = new QSpinBox(this);
    dpi_->setRange(48, 1200);
    dpi_->setSuffix(tr(" dpi"));
    dpi_->setToolTip(tr("PNG only: 96 dpi draws one pixel per point, 192 dpi doubles the pixels"));
    form->addRow(tr("&Resolution:"), dpi_);
    pixels_ = new QLabel(this);
    form->addRow(QString(), pixels_);
    error_ = new QLabel(this);
    error_->setStyleSheet(QStringLiteral("color: #c0392b"));
    error_->hide();

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("&Export"));
    auto* lay = new QVBoxLayout(this);
    lay->addLayout(form);
    lay->addWidget(error_);
    lay->addWidget(buttons);

    const QSize remembered = s.value(QStringLiteral("export/size")).toSize();
    setFigureSize(remembered.isValid() ? remembered : size);
    setDpi(s.value(QStringLiteral("export/dpi"), 192).toInt());
    const QString dir = s.value(QStringLiteral("export/dir"), QDir::homePath()).toString();
    const QString suffix = s.value(QStringLiteral("export/format"), QStringLiteral("png")).toString();
    setFile(QDir(dir).filePath(QStringLiteral("figure.") + suffix));

    connect(buttons, &QDialogButtonBox::accepted, this, &ExportFigureDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString f =
            QFileDialog::getSaveFileName(this, tr("Export figure"), file_->text(),
                                         tr("PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf)"));
        if (f.isEmpty()) return;
        setFile(f);
        confirmed_ = file(); // the file dialog asked before choosing an existing file
    });
    connect(format_, &QComboBox::currentIndexChanged, this, [this](int i) {
        const QFileInfo fi(file_->text());
        const QString base =
            fi.suffix().isEmpty() ? file_->text() : fi.path() + QLatin1Char('/') + fi.completeBaseName();
        file_->setText(base + QLatin1Char('.') + QLatin1String(kSuffixes[i]));
        updatePixels();
    });
    connect(file_, &QLineEdit::textEdited, this, &ExportFigureDialog::syncFormat);
    for (QSpinBox* b : {width_, height_, dpi_})
        connect(b, &QSpinBox::valueChanged, this, &ExportFigureDialog::updatePixels);
    updatePixels();
}

QString ExportFigureDialog::file() const {
    return file_->text().trimmed();
}
int ExportFigureDialog::figure() const {
    return std::max(0, figure_->currentIndex());
}
QSize ExportFigureDialog::figureSize() const {
    return {width_->value(), height_->value()};
}
int ExportFigureDialog::dpi() const {
    return dpi_->value();
}

void ExportFigureDialog::setFile(const QString& f) {
    file_->setText(f);
    syncFormat();
}
void ExportFigureDialog::setFigureSize(QSize s) {
    width_->setValue(s.width());
    height_->setValue(s.height());
}
void ExportFigureDialog::setDpi(int dpi) {
    dpi_->setValue(dpi);
}

// The suffix typed in the file name picks the format (and the format box follows it).
void ExportFigureDialog::syncFormat() {
    const QString suffix = QFileInfo(file_->text()).suffix().toLower();
    for (int i = 0; i < 3; ++i)
        if (suffix == QLatin1String(kSuffixes[i])) {
            QSignalBlocker b(format_);
            format_->setCurrentIndex(i);
        }
    updatePixels();
}

void ExportFigureDialog::updatePixels() {
    const bool png = format_->currentIndex() == 0;
    dpi_->setEnabled(png);
    pixels_->setText(png ? tr("%1 × %2 pixels")
                               .arg(qRound(width_->value() * scale()))
                               .arg(qRound(height_->value() * scale()))
                         : tr("vector drawing, %1 × %2 px").arg(width_->value()).arg(height_->value()));
}

void ExportFigureDialog::accept() {
    const QFileInfo fi(file());
    QString problem;
    if (file().isEmpty())
        problem = tr("Choose a file to write.");
    else if (fi.suffix().toLower() != QLatin1String(kSuffixes[format_->currentIndex()]))
        problem = tr("The file name must end in .%1 for this format.")
                      .arg(QLatin1String(kSuffixes[format_->currentIndex()]));
    else if (!fi.absoluteDir().exists())
        problem = tr("The folder %1 does not exist.").arg(fi.absolutePath());
    if (!problem.isEmpty()) {
        error_->setText(problem);
        error_->show();
        return;
    }
    // A name typed (or remembered from the last export) is not confirmed by a file dialog: ask here, and
    // stay in the dialog when the answer is no.
    if (file() != confirmed_ && !confirmOverwrite(this, fi.absoluteFilePath())) {
        error_->setText(tr("%1 exists: choose another name, or confirm to replace it.").arg(fi.fileName()));
        error_->show();
        return;
    }
    QSettings s;
    s.setValue(QStringLiteral("export/size"), figureSize());
    s.setValue(QStringLiteral("export/dpi"), dpi());
    s.setValue(QStringLiteral("export/dir"), fi.absolutePath());
    s.setValue(QStringLiteral("export/format"), QLatin1String(kSuffixes[format_->currentIndex()]));
    QDialog::accept();
}

} // namespace obsprop::ui
