// Developer overlay drawn with Dear ImGui in a translucent QOpenGLWidget on top of the window (F12).
// It reads what the widgets read — the job tracker's history and queue, the stall watchdog's log — plus
// process figures (RSS, LibTorch threads, mapped checkpoint size); it computes nothing itself.
// Create it only on a real GL platform (not "offscreen").
#pragma once

#include <QOpenGLWidget>

namespace obsprop::ui {

class Session;
class StallWatchdog;

class DebugOverlay : public QOpenGLWidget {
    Q_OBJECT
  public:
    DebugOverlay(Session* session, StallWatchdog* watchdog, QWidget* parent);
    ~DebugOverlay() override;

    // True where an OpenGL overlay can be created (not on the offscreen or minimal platforms).
    static bool supported();
    int framesDrawn() const { return frames_; }

  protected:
    void initializeGL() override;
    void paintGL() override;
    void resizeGL(int w, int h) override;
    bool event(QEvent* e) override;

  private:
    void drawPanels();
    Session* session_;
    StallWatchdog* watchdog_;
    void* context_ = nullptr; // ImGuiContext*
    qint64 lastFrameNs_ = 0;
    int frames_ = 0;
};

} // namespace obsprop::ui
