// Editing as a user edits: undo and redo of every recipe edit (the results after undo are exactly the
// results before the edit; the modified flag follows the saved state), and the result tables' tools (the
// context menu's copies as tab-separated text, Ctrl+C, the filter box), on a Session over a tiny generated
// GPT-2.
#include "test_models.h" // LibTorch first: Qt's macros must not be defined when it is parsed

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QMenu>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTemporaryDir>
#include <QTimer>
#include <QUndoStack>
#include <QtTest>

#include "results/csv.h"
#include "session/session.h"
#include "session_fixture.h"
#include "views/heads_view.h"
#include "views/result_table.h"
#include "views/steering_panel.h"

using namespace obsprop::ui;
using test_models::make_tiny;
using test_models::TinyModel;

namespace {

constexpr int kTimeout = 60000;

// Opens the context menu of `view` at the centre of `row`'s first cell and triggers the entry whose text
// (without '&') is `entry`; false when the menu or the entry was not there.
bool triggerContextEntry(QTableView* view, int row, const QString& entry) {
    bool found = false;
    QTimer::singleShot(0, view, [&] {
        auto* menu = qobject_cast<QMenu*>(QApplication::activePopupWidget());
        if (!menu) return;
        for (QAction* a : menu->actions())
            if (a->text().remove(QLatin1Char('&')) == entry && a->isEnabled()) {
                found = true;
                a->trigger();
            }
        menu->close();
    });
    const QPoint at = view->visualRect(view->model()->index(row, 0)).center();
    Q_EMIT view->customContextMenuRequested(at);
    return found;
}

} // namespace

class TestEditActions : public QObject {
    Q_OBJECT
    TinyModel t_ = make_tiny(obsprop::tools::Family::GPT2, 43, 512);
    Session* s_ = nullptr;

    FeatureResults features() {
        QSignalSpy ready(s_, &Session::featuresReady);
        s_->computeFeatures(QStringLiteral("test"));
        return ready.wait(kTimeout) ? qvariant_cast<FeatureResults>(ready.last().at(0)) : FeatureResults{};
    }
    AttributionResults attribution() {
        QSignalSpy ready(s_, &Session::attributionReady);
        s_->computeAttribution(QStringLiteral("test"), QStringLiteral("subject"), QStringLiteral("patching"));
        return ready.wait(kTimeout) ? qvariant_cast<AttributionResults>(ready.last().at(0))
                                    : AttributionResults{};
    }
    QUndoStack* stack() const { return s_->undoStack(); }

  private Q_SLOTS:
    void init() {
        s_ = new Session;
        QVERIFY(session_fixture::open(*s_, t_.dir->filePath(QStringLiteral("model"))));
        QCOMPARE(stack()->count(), 0); // opening is no edit
        QVERIFY(!s_->isDirty());
        QCOMPARE(s_->addObservable(QStringLiteral("subj"), QStringLiteral("#10 - #20")), QString());
        QCOMPARE(s_->addObservable(QStringLiteral("obj"), QStringLiteral("0.5*#7 + 0.5*#99 - #3")),
                 QString());
    }
    void cleanup() {
        delete s_;
        s_ = nullptr;
    }

    // Each edit is one step named after it; undoing it gives back exactly the numbers computed before it,
    // redoing it exactly the numbers computed after it.
    void undoRestoresExactResults() {
        QCOMPARE(stack()->count(), 2);
        QCOMPARE(stack()->undoText(), QStringLiteral("Add Observable “obj”"));
        const FeatureResults before = features();
        QCOMPARE(before.norms.size(), std::size_t(2));
        QCOMPARE(s_->addObservable(QStringLiteral("subj"), QStringLiteral("#10 - #20 + 2*#33")), QString());
        QCOMPARE(stack()->undoText(), QStringLiteral("Replace Observable “subj”"));
        const FeatureResults edited = features();
        QVERIFY(edited.norms[0].values != before.norms[0].values);
        QCOMPARE(edited.norms[1].values, before.norms[1].values); // obj untouched

        QSignalSpy recipe(s_, &Session::recipeChanged);
        stack()->undo();
        QCOMPARE(recipe.count(), 1);
        QCOMPARE(s_->observables().at(0).second, QStringLiteral("#10 - #20"));
        const FeatureResults undone = features();
        QCOMPARE(undone.norms[0].values, before.norms[0].values);
        QCOMPARE(undone.cosine.values, before.cosine.values);
        QCOMPARE(undone.couplingAB.values, before.couplingAB.values);
        QVERIFY(undone.generation > edited.generation); // a new snapshot, not an old result replayed

        stack()->redo();
        QCOMPARE(s_->observables().at(0).second, QStringLiteral("#10 - #20 + 2*#33"));
        QCOMPARE(features().norms[0].values, edited.norms[0].values);
    }

    // Datasets and the LayerNorm treatment: attribution over the dataset and the features follow the undo.
    void datasetAndLayerNormEditsUndo() {
        const AttributionResults before = attribution();
        QVERIFY(before.pairs > 1);
        const QString text = s_->datasetText(QStringLiteral("subject"));
        QString fewer;
        for (const QString& line : text.split(QLatin1Char('\n'), Qt::SkipEmptyParts)) {
            if (line.startsWith(QLatin1String("female:")) || line.startsWith(QLatin1String("male:")))
                fewer += line.section(QLatin1Char(','), 0, 0) + QLatin1Char('\n'); // the first name only
            else
                fewer += line + QLatin1Char('\n');
        }
        QCOMPARE(s_->setDatasetText(QStringLiteral("subject"), fewer), QString());
        QCOMPARE(stack()->undoText(), QStringLiteral("Edit Dataset “subject”"));
        const AttributionResults edited = attribution();
        QVERIFY(edited.pairs < before.pairs);
        // Saving the same text again is no edit.
        const int steps = stack()->count();
        QCOMPARE(s_->setDatasetText(QStringLiteral("subject"), fewer), QString());
        QCOMPARE(stack()->count(), steps);

        const FeatureResults approx = features();
        s_->setLnMode(QStringLiteral("none"));
        QVERIFY(features().norms[0].values != approx.norms[0].values);
        stack()->undo();
        QCOMPARE(s_->lnMode(), QStringLiteral("approx"));
        QCOMPARE(features().norms[0].values, approx.norms[0].values);
        stack()->undo();
        QCOMPARE(s_->datasetText(QStringLiteral("subject")), text);
        const AttributionResults undone = attribution();
        QCOMPARE(undone.pairs, before.pairs);
        for (std::size_t o = 0; o < before.maps.size(); ++o)
            QCOMPARE(undone.maps[o].values, before.maps[o].values);
    }

    void removeObservableUndoKeepsOrder() {
        s_->removeObservable(QStringLiteral("subj"));
        QCOMPARE(s_->observables().size(), 1);
        QCOMPARE(stack()->undoText(), QStringLiteral("Remove Observable “subj”"));
        stack()->undo();
        const auto obs = s_->observables();
        QCOMPARE(obs.size(), 2);
        QCOMPARE(obs[0].first, QStringLiteral("subj"));
        QCOMPARE(obs[1].first, QStringLiteral("obj"));
        s_->removeObservable(QStringLiteral("nonexistent")); // nothing removed: no step
        QCOMPARE(stack()->undoText(), QStringLiteral("Add Observable “obj”"));
    }

    // Modified exactly when the recipe differs from the saved one, whichever way the user got there.
    void modifiedFollowsTheSavedState() {
        QVERIFY(s_->isDirty());
        QTemporaryDir dir;
        QCOMPARE(s_->saveProject(dir.filePath(QStringLiteral("p.obsprop"))), QString());
        QVERIFY(!s_->isDirty());
        QVERIFY(stack()->isClean());
        s_->setLnMode(QStringLiteral("exact"));
        QVERIFY(s_->isDirty());
        stack()->undo(); // back to what was saved
        QVERIFY(!s_->isDirty());
        stack()->undo(); // before the save
        QVERIFY(s_->isDirty());
        stack()->redo();
        QVERIFY(!s_->isDirty());
        // The view state is not the recipe: no step, not modified.
        QJsonObject view{{QStringLiteral("tab"), 3}};
        s_->setViewState(view);
        QVERIFY(!s_->isDirty());
        QCOMPARE(stack()->index(), 2);
        // Undo keeps the view state as it is now.
        stack()->undo();
        QCOMPARE(s_->viewState(), view);
    }

    // A multiplier dragged through many values is one step; undo brings the slider back.
    void multiplierDragIsOneStep() {
        SteeringPanel panel(s_);
        SteeringVectorSpec v;
        v.observable = QStringLiteral("subj");
        v.path = {{1, 0}};
        const quint64 id = s_->addSteeringVector(v);
        QCOMPARE(stack()->undoText().left(20), QStringLiteral("Add Steering Vector "));
        const int steps = stack()->count();
        for (double a : {1.0, 2.5, 4.0, 7.25})
            s_->setSteeringAlpha(id, a);
        QCOMPARE(stack()->count(), steps + 1);
        auto* alpha = panel.findChildren<QDoubleSpinBox*>().value(0);
        QVERIFY(alpha);
        QSignalSpy restored(s_, &Session::steeringValuesRestored);
        stack()->undo();
        QCOMPARE(restored.count(), 1);
        QCOMPARE(s_->steeringVectors().front().alpha, 0.0);
        QCOMPARE(alpha->value(), 0.0);
        QCOMPARE(stack()->count(), steps + 1); // the panel echoing the value made no new step
        stack()->redo();
        QCOMPARE(s_->steeringVectors().front().alpha, 7.25);
        QCOMPARE(alpha->value(), 7.25);
        stack()->undo();
        stack()->undo(); // the vector itself
        QVERIFY(s_->steeringVectors().empty());
    }

    // The Heads table: Copy Table gives the header and every row in view order as tab-separated text,
    // the numbers at full precision; Copy Row one row; Ctrl+C the selection; the filter shows exactly the
    // rows containing its text.
    void tableCopiesAndFilter() {
        HeadsView view(s_);
        view.resize(1200, 700);
        view.show();
        QSignalSpy ready(s_, &Session::featuresReady);
        s_->computeFeatures(QStringLiteral("heads")); // what the view asks for when the recipe changes
        QVERIFY(ready.wait(kTimeout));
        const FeatureResults r = qvariant_cast<FeatureResults>(ready.last().at(0));
        QCoreApplication::processEvents();
        auto* table = view.findChild<QTableView*>();
        QVERIFY(table);
        const int rows = table->model()->rowCount();
        QCOMPARE(rows, r.norms[0].layers * r.norms[0].heads);

        QVERIFY(triggerContextEntry(table, 0, QStringLiteral("Copy Table")));
        const QStringList lines =
            QApplication::clipboard()->text().split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), rows + 1);
        QCOMPARE(lines[0].split(QLatin1Char('\t')).size(), 3);
        QCOMPARE(lines[0].split(QLatin1Char('\t'))[0], QStringLiteral("head"));
        // Every line: a head and its value of the first quantity (the norm of subj), as the session gave.
        const HeadMatrix& norm = r.norms[0];
        for (int i = 1; i < lines.size(); ++i) {
            const QStringList cells = lines[i].split(QLatin1Char('\t'));
            const QStringList lh = cells[0].split(QLatin1Char('.'));
            QCOMPARE(cells[1], csvNumber(norm.at(lh[0].toInt(), lh[1].toInt())));
        }
        QVERIFY(triggerContextEntry(table, 3, QStringLiteral("Copy Row")));
        QCOMPARE(QApplication::clipboard()->text(), lines[4] + QLatin1Char('\n'));

        table->setFocus();
        table->selectRow(5);
        QTest::keySequence(table, QKeySequence::Copy);
        QCOMPARE(QApplication::clipboard()->text(), lines[6]); // the selected row, all its cells

        auto* filter = view.findChild<QLineEdit*>(QStringLiteral("tableFilter"));
        QVERIFY(filter);
        QTest::keyClicks(filter, QStringLiteral("1."));
        // Rows whose shown text contains "1." in any column, counted over the unfiltered model.
        const auto* src = qobject_cast<QSortFilterProxyModel*>(table->model())->sourceModel();
        int expected = 0;
        for (int i = 0; i < src->rowCount(); ++i) {
            bool hit = false;
            for (int c = 0; c < src->columnCount(); ++c)
                hit = hit || src->index(i, c).data().toString().contains(QStringLiteral("1."));
            expected += hit ? 1 : 0;
        }
        QVERIFY(expected > 0 && expected < rows);
        QCOMPARE(table->model()->rowCount(), expected);
        filter->clear();
        QCOMPARE(table->model()->rowCount(), rows);

        // "Use as Steering Vector" names the row's head.
        QSignalSpy steer(&view, &HeadsView::steerRequested);
        QVERIFY(triggerContextEntry(table, 2, QStringLiteral("Use as Steering Vector")));
        QCOMPARE(steer.count(), 1);
        const QStringList lh = lines[3].section(QLatin1Char('\t'), 0, 0).split(QLatin1Char('.'));
        const HeadRef h = qvariant_cast<HeadRef>(steer.first().at(0));
        QCOMPARE(h.layer, lh[0].toInt());
        QCOMPARE(h.head, lh[1].toInt());
    }
};

QTEST_MAIN(TestEditActions)
#include "tst_edit_actions.moc"
