#include "analyses/engine_status.h"

#include "views/debug_overlay.h"

#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>

#include <QElapsedTimer>
#include <QEvent>
#include <QGuiApplication>
#include <QTimer>
#include <unistd.h>

#include <cstdio>

#include "session/session.h"
#include "views/stall_watchdog.h"

namespace obsprop::ui {

namespace {

double residentBytes() {
    long pages = 0, resident = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

ImGuiContext* ctx(void* p) {
    return static_cast<ImGuiContext*>(p);
}

} // namespace

bool DebugOverlay::supported() {
    const QString p = QGuiApplication::platformName();
    return p != QLatin1String("offscreen") && p != QLatin1String("minimal");
}

DebugOverlay::DebugOverlay(Session* session, StallWatchdog* watchdog, QWidget* parent)
    : QOpenGLWidget(parent), session_(session), watchdog_(watchdog) {
    setAttribute(Qt::WA_AlwaysStackOnTop);
    setAttribute(Qt::WA_TransparentForMouseEvents);
    setAttribute(Qt::WA_TranslucentBackground);
    QSurfaceFormat f = format();
    f.setAlphaBufferSize(8);
    setFormat(f);
    auto* t = new QTimer(this);
    t->setInterval(250);
    connect(t, &QTimer::timeout, this, [this] {
        if (isVisible()) update();
    });
    t->start();
}

DebugOverlay::~DebugOverlay() {
    if (!context_) return;
    makeCurrent();
    ImGui::SetCurrentContext(ctx(context_));
    ImGui_ImplOpenGL3_Shutdown();
    ImGui::DestroyContext(ctx(context_));
    doneCurrent();
}

void DebugOverlay::initializeGL() {
    context_ = ImGui::CreateContext();
    ImGui::SetCurrentContext(ctx(context_));
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr; // nothing written to disk
    ImGui::StyleColorsDark();
    ImGui_ImplOpenGL3_Init(nullptr);
}

void DebugOverlay::resizeGL(int, int) {}

bool DebugOverlay::event(QEvent* e) {
    return QOpenGLWidget::event(e);
}

void DebugOverlay::paintGL() {
    if (!context_) return;
    ImGui::SetCurrentContext(ctx(context_));
    ImGuiIO& io = ImGui::GetIO();
    const qreal dpr = devicePixelRatioF();
    io.DisplaySize = ImVec2(static_cast<float>(width()), static_cast<float>(height()));
    io.DisplayFramebufferScale = ImVec2(static_cast<float>(dpr), static_cast<float>(dpr));
    static QElapsedTimer clock;
    if (!clock.isValid()) clock.start();
    const qint64 now = clock.nsecsElapsed();
    io.DeltaTime = lastFrameNs_ > 0 ? static_cast<float>((now - lastFrameNs_) / 1e9) : 1.0f / 60.0f;
    if (io.DeltaTime <= 0) io.DeltaTime = 1.0f / 60.0f;
    lastFrameNs_ = now;

    glClearColor(0, 0, 0, 0);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_NewFrame();
    ImGui::NewFrame();
    drawPanels();
    ImGui::Render();
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    ++frames_;
}

void DebugOverlay::drawPanels() {
    ImGui::SetNextWindowPos(ImVec2(12, 12), ImGuiCond_Always);
    ImGui::SetNextWindowBgAlpha(0.82f);
    ImGui::Begin("ObsProp debug (F12)", nullptr,
                 ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoMove |
                     ImGuiWindowFlags_NoSavedSettings);
    const ModelInfo m = session_->modelInfo();
    ImGui::Text("process RSS        %.1f MiB", residentBytes() / 1048576.0);
    ImGui::Text("mapped checkpoint  %.1f MiB", m.checkpointBytes / 1048576.0);
    const auto engine = analyses::engine_status();
    if (engine.memory_counted)
        ImGui::Text("tensor memory      %.1f MiB (peak %.1f MiB)", engine.live_bytes / 1048576.0,
                    engine.peak_bytes / 1048576.0);
    else
        ImGui::TextUnformatted("tensor memory      (not counted in this process)");
    if (const auto wm = session_->weightMemory(); wm.widened)
        ImGui::Text("float32 copies     %.1f of %.1f MiB budget (%lld reused, %lld converted)",
                    wm.cached_bytes / 1048576.0, wm.budget / 1048576.0, wm.hits, wm.misses);
    else
        ImGui::TextUnformatted("float32 copies     none (the checkpoint is float32, read in place)");
    ImGui::Text("LibTorch threads   %d", engine.threads);
    ImGui::Text("jobs running       %d", session_->jobs().running());
    ImGui::Separator();
    ImGui::TextUnformatted("recent jobs");
    const auto& hist = session_->jobs().history();
    const std::size_t first = hist.size() > 12 ? hist.size() - 12 : 0;
    for (std::size_t i = first; i < hist.size(); ++i) {
        const auto& j = hist[i];
        ImGui::Text("  %-14s %8.1f ms  %s", j.channel.toUtf8().constData(), j.seconds * 1000.0,
                    j.cancelled ? "cancelled" : (j.ok ? "ok" : "failed"));
    }
    ImGui::Separator();
    const auto& stalls = watchdog_->stalls();
    ImGui::Text("main-thread stalls > 100 ms: %d (largest delay %.0f ms)", static_cast<int>(stalls.size()),
                watchdog_->maxGapMs());
    const std::size_t s0 = stalls.size() > 8 ? stalls.size() - 8 : 0;
    for (std::size_t i = s0; i < stalls.size(); ++i)
        ImGui::Text("  at %8.1f s: %6.0f ms", stalls[i].atMs / 1000.0, stalls[i].durationMs);
    ImGui::End();
}

} // namespace obsprop::ui
