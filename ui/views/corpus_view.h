// The selected head's feature, or a path's sent from the Paths view, scored on every token of a corpus (core:
// analyses::corpus_report, docs/corpus.md): the observable and the corpus file are its own choices (default:
// the shipped corpus), the LayerNorm treatment the project's. Run starts the streamed pass in the background
// with progress and Cancel; the result shows the score histogram, the comparison of the feature with its two
// baselines (mean difference, logistic probe: cosines and r² against the observable's value), and the
// maximum-activating tokens in context, each context token's background coloured by its score.
#pragma once

#include <QJsonObject>
#include <QWidget>
#include <optional>

#include "analyses/corpus_options.h"
#include "results/results.h"

class QComboBox;
class QCustomPlot;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QTextBrowser;

namespace obsprop::ui {

class Session;

class CorpusView : public QWidget {
    Q_OBJECT
  public:
    explicit CorpusView(Session* session, QWidget* parent = nullptr);

    // The head (a path of one) or path to score: the head selected last in any view, or the path the Paths
    // view sent last (Score on Corpus), whichever came later.
    const std::vector<HeadRef>& selectedPath() const { return path_; }
    QString observable() const;
    QString corpusFile() const;
    obsprop::CorpusOptions options() const; // as the controls set them
    const std::optional<CorpusResults>& results() const { return results_; }

    QComboBox* observableBox() const { return observable_; }
    QLineEdit* fileEdit() const { return file_; }
    QLineEdit* prefixEdit() const { return prefix_; }
    QSpinBox* topBox() const { return top_; }
    QSpinBox* contextBox() const { return context_; }
    QPushButton* runButton() const { return run_; }
    QPushButton* cancelButton() const { return cancel_; }
    QProgressBar* progressBar() const { return progress_; }
    QCustomPlot* plot() const { return plot_; }
    QTableWidget* baselines() const { return baselines_; }
    QTextBrowser* examples() const { return examples_; }
    QString statusText() const;

    // The baselines table and the examples as `obsprop corpus` writes them (analyses/tables.h).
    QString baselinesCsv() const;
    QString examplesCsv() const;
    // The background colour of a context token with score `s` when the largest |score| shown is `scale`:
    // red for positive, blue for negative, the opacity |s|/scale.
    static QColor scoreColour(double s, double scale);
    bool exportFigure(const QString& file, int w, int h, double scale) const;
    // The choices, for the project's view state: {"observable", "file", "prefix", "top", "context"};
    // restoreState sets them (an observable the project no longer has is skipped); it does not run.
    QJsonObject state() const;
    void restoreState(const QJsonObject& s);
    // Whether the user changed a choice (or restoreState set them) since the project opened: the main
    // window then keeps them in the project's view state.
    bool isTouched() const { return touched_; }

    // The `obsprop corpus` command that prints what this view shows (Edit ▸ Copy as Command): the choices
    // of the last run, empty before one.
    QString command() const;

  public Q_SLOTS:
    void setSelectedHead(obsprop::ui::HeadRef h);
    // Scores a path's feature from now on (until another head is selected), for `observable` when the
    // project has it.
    void setPath(std::vector<obsprop::ui::HeadRef> path, const QString& observable = {});
    void run();
    void cancel();

  private:
    void refreshChoices();
    void clearResults(const QString& status);
    void display(const CorpusResults& r);
    void setRunning(bool running);

    Session* session_;
    QComboBox* observable_ = nullptr;
    QLineEdit* file_ = nullptr;
    QLineEdit* prefix_ = nullptr;
    QSpinBox* top_ = nullptr;
    QSpinBox* context_ = nullptr;
    QPushButton* browse_ = nullptr;
    QPushButton* run_ = nullptr;
    QPushButton* cancel_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* head_label_ = nullptr;
    QLabel* status_ = nullptr;
    QCustomPlot* plot_ = nullptr;
    QTableWidget* baselines_ = nullptr;
    QTextBrowser* examples_ = nullptr;
    std::vector<HeadRef> path_;
    bool running_ = false;
    // What the running job was asked for: a result for other choices is not shown.
    std::vector<HeadRef> asked_path_;
    QString asked_observable_, asked_file_;
    obsprop::CorpusOptions asked_options_;
    std::optional<CorpusResults> results_;
    bool touched_ = false;
};

} // namespace obsprop::ui
