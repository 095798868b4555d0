#include "views/theme.h"

#include <QApplication>
#include <QPalette>
#include <QSettings>
#include <QStyle>
#include <QStyleFactory>

namespace obsprop::ui {

namespace {

const QString kKey = QStringLiteral("appearance/theme");

// The desktop's style and palette, captured before the first change.
struct SystemLook {
    QString style;
    QPalette palette;
};
const SystemLook& systemLook() {
    static const SystemLook look{QApplication::style()->name(), QApplication::palette()};
    return look;
}

QPalette darkPalette() {
    const QColor window(45, 45, 48), base(30, 30, 32), alternate(52, 52, 56), text(230, 230, 230);
    const QColor disabled(128, 128, 128), highlight(42, 130, 218);
    QPalette p;
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, alternate);
    p.setColor(QPalette::ToolTipBase, window);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, disabled);
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, window);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, QColor(255, 90, 90));
    p.setColor(QPalette::Light, QColor(70, 70, 74));
    p.setColor(QPalette::Midlight, QColor(60, 60, 64));
    p.setColor(QPalette::Mid, QColor(40, 40, 42));
    p.setColor(QPalette::Dark, QColor(25, 25, 27));
    p.setColor(QPalette::Shadow, Qt::black);
    p.setColor(QPalette::Link, QColor(90, 160, 240));
    p.setColor(QPalette::LinkVisited, QColor(170, 130, 230));
    p.setColor(QPalette::Highlight, highlight);
    p.setColor(QPalette::HighlightedText, Qt::white);
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText, QPalette::HighlightedText})
        p.setColor(QPalette::Disabled, role, disabled);
    p.setColor(QPalette::Disabled, QPalette::Highlight, QColor(70, 70, 74));
    return p;
}

} // namespace

QStringList themeNames() {
    return {QStringLiteral("system"), QStringLiteral("light"), QStringLiteral("dark")};
}

bool applyTheme(const QString& name) {
    if (!themeNames().contains(name)) return false;
    const SystemLook& system = systemLook();
    if (name == QLatin1String("system")) {
        if (QStyle* style = QStyleFactory::create(system.style)) QApplication::setStyle(style);
        QApplication::setPalette(system.palette);
        return true;
    }
    QStyle* fusion = QStyleFactory::create(QStringLiteral("Fusion"));
    const QPalette palette = name == QLatin1String("dark") ? darkPalette() : fusion->standardPalette();
    QApplication::setStyle(fusion);
    QApplication::setPalette(palette);
    return true;
}

void saveTheme(const QString& name) {
    QSettings().setValue(kKey, name);
}

QString savedTheme() {
    const QString t = QSettings().value(kKey).toString();
    return themeNames().contains(t) ? t : QStringLiteral("system");
}

} // namespace obsprop::ui
