#include "views/preferences_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSettings>
#include <QSpinBox>
#include <QThread>
#include <QVBoxLayout>

#include <algorithm>
#include <stdexcept>

#include "analyses/engine_status.h"
#include "views/theme.h"

namespace obsprop::ui {

namespace {

const QString kThreads = QStringLiteral("engine/threads");
const QString kBudget = QStringLiteral("engine/memoryBudgetMiB");
const QString kExportSize = QStringLiteral("export/size"); // shared with the export dialog
const QString kExportDpi = QStringLiteral("export/dpi");
constexpr unsigned long long kMiB = 1024ull * 1024;

// One core stays with the GUI thread; the engine gets the rest (at least one).
int automaticThreads() {
    return std::max(1, QThread::idealThreadCount() - 1);
}

// The default budget now (with no value set), in MiB; 0 when OBSPROP_MEMORY_BUDGET is malformed.
qint64 automaticBudgetMiB() {
    try {
        return static_cast<qint64>(analyses::default_weight_memory_budget() / kMiB);
    } catch (const std::invalid_argument&) {
        return 0;
    }
}

} // namespace

void applyEngineSettings(bool startup) {
    QSettings s;
    const int budget = s.value(kBudget, 0).toInt();
    analyses::set_weight_memory_budget(budget > 0 ? static_cast<unsigned long long>(budget) * kMiB : 0);
    if (startup) {
        const int threads = s.value(kThreads, 0).toInt();
        analyses::configure_engine(threads > 0 ? threads : automaticThreads(), /*count_memory=*/true);
    }
}

PreferencesDialog::PreferencesDialog(QWidget* parent) : QDialog(parent) {
    setWindowTitle(tr("Preferences"));
    QSettings s;
    auto* form = new QFormLayout;

    threads_ = new QSpinBox;
    threads_->setRange(0, std::max(1, QThread::idealThreadCount()));
    threads_->setSpecialValueText(tr("Automatic (%1)").arg(automaticThreads()));
    threads_->setValue(std::clamp(s.value(kThreads, 0).toInt(), 0, threads_->maximum()));
    threads_->setToolTip(
        tr("Threads for the matrix products of every analysis. Takes effect the next time the "
           "explorer starts."));
    form->addRow(tr("Engine &threads:"), threads_);

    budget_ = new QSpinBox;
    budget_->setRange(0, 1024 * 1024); // up to 1 TiB
    budget_->setSingleStep(256);
    budget_->setSuffix(tr(" MiB"));
    budget_->setSpecialValueText(tr("Automatic (%1 MiB now)").arg(automaticBudgetMiB()));
    budget_->setValue(std::clamp(s.value(kBudget, 0).toInt(), 0, budget_->maximum()));
    budget_->setToolTip(
        tr("Memory for float32 copies of BF16/F16 weights kept between analyses. Automatic is a "
           "quarter of the memory available when a model opens. Applies to models opened from "
           "now on."));
    form->addRow(tr("&Memory budget:"), budget_);

    theme_ = new QComboBox;
    theme_->addItem(tr("System"), QStringLiteral("system"));
    theme_->addItem(tr("Light"), QStringLiteral("light"));
    theme_->addItem(tr("Dark"), QStringLiteral("dark"));
    theme_->setCurrentIndex(std::max(0, theme_->findData(savedTheme())));
    theme_->setToolTip(tr("Colours of the windows and the plots on screen (exported figures stay light)"));
    form->addRow(tr("T&heme:"), theme_);

    const QSize size = s.value(kExportSize).toSize();
    auto* sizeRow = new QHBoxLayout;
    width_ = new QSpinBox, height_ = new QSpinBox;
    for (QSpinBox* b : {width_, height_}) {
        b->setRange(0, 10000);
        b->setSingleStep(50);
        b->setSpecialValueText(tr("as on screen"));
    }
    width_->setSuffix(tr(" px wide")), height_->setSuffix(tr(" px high"));
    width_->setValue(size.isValid() ? size.width() : 0);
    height_->setValue(size.isValid() ? size.height() : 0);
    sizeRow->addWidget(width_);
    sizeRow->addWidget(new QLabel(QStringLiteral("×")));
    sizeRow->addWidget(height_);
    auto* sizeLabel = new QLabel(tr("E&xport figure size:"));
    sizeLabel->setBuddy(width_);
    form->addRow(sizeLabel, sizeRow);
    dpi_ = new QSpinBox;
    dpi_->setRange(48, 1200); // as the export dialog
    dpi_->setSuffix(tr(" dpi"));
    dpi_->setValue(std::clamp(s.value(kExportDpi, 192).toInt(), 48, 1200));
    dpi_->setToolTip(tr("Resolution of PNG figures (96 dpi draws a pixel per pixel)"));
    form->addRow(tr("Export &resolution:"), dpi_);

    auto* note =
        new QLabel(tr("Checkpoints stored as BF16 or F16 stay on disk as they are; an analysis widens "
                      "to float32 only the layers it reads. A larger budget keeps more of them ready "
                      "for the next analysis; a tensor larger than the whole budget is refused."));
    note->setWordWrap(true);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(note);
    layout->addWidget(buttons);
    setMinimumWidth(460);
}

void PreferencesDialog::accept() {
    QSettings s;
    s.setValue(kThreads, threads_->value());
    s.setValue(kBudget, budget_->value());
    applyEngineSettings(/*startup=*/false);
    // Export Figure starts from these (and remembers what the user picks there); Export All and
    // `obsprop export --figures` keep their fixed size so their files match.
    if (width_->value() > 0 && height_->value() > 0)
        s.setValue(kExportSize, QSize(width_->value(), height_->value()));
    else
        s.remove(kExportSize);
    s.setValue(kExportDpi, dpi_->value());
    const QString theme = theme_->currentData().toString();
    if (theme != savedTheme()) applyTheme(theme);
    saveTheme(theme);
    QDialog::accept();
}

} // namespace obsprop::ui
