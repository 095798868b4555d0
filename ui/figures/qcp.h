// QCustomPlot for a build with QT_NO_KEYWORDS: its header still says `signals:` and `foreach`.
#pragma once

#ifndef signals
#define signals Q_SIGNALS
#define OBSPROP_UNDEF_SIGNALS
#endif
#ifndef foreach
#define foreach Q_FOREACH
#define OBSPROP_UNDEF_FOREACH
#endif
#include <qcustomplot.h>
#ifdef OBSPROP_UNDEF_SIGNALS
#undef signals
#undef OBSPROP_UNDEF_SIGNALS
#endif
#ifdef OBSPROP_UNDEF_FOREACH
#undef foreach
#undef OBSPROP_UNDEF_FOREACH
#endif
