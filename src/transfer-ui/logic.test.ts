import { describe, expect, it } from "vitest";
import type { TrainSummary } from "../transfer/api";
import { detectLayout } from "../transfer/dataset";
import type { EpochLogs } from "../transfer/head";
import {
  addClass,
  addToClass,
  allImages,
  batchProgressText,
  cachedComputedText,
  cellImages,
  classNameProblems,
  countsView,
  emptyDataset,
  etaText,
  extractedSoFarText,
  extractionRateText,
  formatAccuracy,
  formatLoss,
  fromDetected,
  INITIAL_TRAINING,
  metricRows,
  missingFilesMessage,
  renameClass,
  type TrainingAction,
  type TrainingState,
  testSummaryText,
  trainingReducer,
  trainingStatusText,
} from "./logic";

const epoch = (n: number, acc: number, valAcc: number | null = acc - 0.05): EpochLogs => ({
  epoch: n,
  loss: 1 - acc,
  acc,
  val_loss: valAcc === null ? null : 1 - valAcc,
  val_acc: valAcc,
});

function run(state: TrainingState, ...actions: TrainingAction[]): TrainingState {
  return actions.reduce(trainingReducer, state);
}

describe("countsView", () => {
  it("counts a detected folder layout per class and split, with ignored files", () => {
    const dataset = detectLayout([
      "small/train/cats/cat.1.jpg",
      "small/train/cats/cat.2.jpg",
      "small/train/dogs/dog.1.jpg",
      "small/validation/cats/cat.3.jpg",
      "small/test/dogs/dog.2.jpg",
      "small/test/dogs/dog.3.jpg",
      "small/README.txt",
      "small/.DS_Store",
    ]);
    if (!dataset) throw new Error("layout not detected");
    const view = countsView(fromDetected(dataset));
    expect(view.rows).toEqual([
      { className: "cats", train: 2, validation: 1, test: 0, total: 3 },
      { className: "dogs", train: 1, validation: 0, test: 2, total: 3 },
    ]);
    expect(view.totals).toEqual({ className: "All classes", train: 3, validation: 1, test: 2, total: 6 });
    expect(view.ignoredCount).toBe(2);
    expect(view.summary).toBe("6 images in 2 classes; 2 files ignored");
  });

  it("starts with cats and dogs and no images", () => {
    const view = countsView(emptyDataset());
    expect(view.rows.map((r) => r.className)).toEqual(["cats", "dogs"]);
    expect(view.totals.total).toBe(0);
    expect(view.summary).toBe("0 images in 2 classes");
  });

  it("splits images dropped onto a class by a seed, order-independently", () => {
    const ids = Array.from({ length: 10 }, (_, i) => `class-0/img${i}.jpg`);
    const a = addToClass(emptyDataset(), 0, ids);
    const b = addToClass(emptyDataset(), 0, [...ids].reverse());
    expect(a.files).toEqual(b.files);
    expect(countsView(a).rows[0]).toEqual({ className: "cats", train: 6, validation: 2, test: 2, total: 10 });
    expect(countsView(a).rows[1]?.total).toBe(0);
    // Adding the same files again does not duplicate them.
    expect(countsView(addToClass(a, 0, ids)).totals.total).toBe(10);
  });

  it("renames and adds classes without touching labels", () => {
    const d = addToClass(emptyDataset(), 1, ["class-1/a.jpg"]);
    const renamed = renameClass(d, 1, "puppies");
    expect(renamed.classes).toEqual(["cats", "puppies"]);
    expect(renamed.files.train[1]).toEqual(["class-1/a.jpg"]);
    const three = addClass(renamed, "birds");
    expect(three.classes).toHaveLength(3);
    expect(countsView(three).rows[2]).toEqual({
      className: "birds",
      train: 0,
      validation: 0,
      test: 0,
      total: 0,
    });
    expect(allImages(three)).toEqual([{ id: "class-1/a.jpg", split: "train", label: 1 }]);
  });

  it("flags empty and duplicate class names", () => {
    expect(classNameProblems(["cats", "dogs"])).toEqual([]);
    expect(classNameProblems(["cats", " "])).toEqual(["Every class needs a name."]);
    expect(classNameProblems(["cats", "cats "])).toEqual(["Class names must differ."]);
  });
});

describe("training transitions", () => {
  const summary = (history: EpochLogs[], stopped: boolean): TrainSummary => ({
    history,
    stopped,
    seed: 42,
    seconds: 3,
  });

  it("start → batch → epoch → stop → resume → start over", () => {
    let s = run(INITIAL_TRAINING, { type: "start", resume: false, epochs: 20 });
    expect(s.phase).toBe("running");
    expect(s.targetEpochs).toBe(20);

    s = run(s, {
      type: "event",
      event: { type: "batch", epoch: 2, batch: 39, batchesPerEpoch: 100, loss: 0.41234, acc: 0.8 },
    });
    expect(s.batch && batchProgressText(s.batch)).toBe("epoch 3/20, batch 40/100, loss 0.412");

    s = run(
      s,
      { type: "event", event: { type: "epoch", logs: epoch(1, 0.7), secondsPerEpoch: 2 } },
      { type: "event", event: { type: "epoch", logs: epoch(2, 0.8), secondsPerEpoch: 2 } },
    );
    expect(s.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(s.secondsPerEpoch).toBe(2);

    s = run(s, { type: "stop-requested" });
    expect(s.phase).toBe("stopping");
    // Late events still land while stopping.
    s = run(s, { type: "event", event: { type: "epoch", logs: epoch(3, 0.85), secondsPerEpoch: 2 } });
    s = run(s, { type: "finished", summary: summary([epoch(1, 0.7), epoch(2, 0.8), epoch(3, 0.85)], true) });
    expect(s.phase).toBe("stopped");
    expect(s.history).toHaveLength(3);
    expect(s.seed).toBe(42);

    s = run(s, { type: "start", resume: true, epochs: 5 });
    expect(s.phase).toBe("running");
    expect(s.history).toHaveLength(3);
    expect(s.targetEpochs).toBe(8);
    // Start over is refused while running.
    expect(run(s, { type: "start-over" })).toBe(s);

    s = run(s, {
      type: "finished",
      summary: summary([epoch(1, 0.7), epoch(2, 0.8), epoch(3, 0.85), epoch(4, 0.9)], false),
    });
    expect(s.phase).toBe("done");
    expect(run(s, { type: "start-over" })).toEqual(INITIAL_TRAINING);
  });

  it("a fresh start drops the old history; a failure keeps what was learned", () => {
    let s = run(INITIAL_TRAINING, { type: "restored", history: [epoch(1, 0.6)] });
    expect(s.phase).toBe("stopped");
    s = run(s, { type: "start", resume: false, epochs: 20 });
    expect(s.history).toEqual([]);
    s = run(
      s,
      { type: "event", event: { type: "epoch", logs: epoch(1, 0.7), secondsPerEpoch: 1 } },
      { type: "failed", message: "The loss became NaN at epoch 2." },
    );
    expect(s.phase).toBe("error");
    expect(s.error).toBe("The loss became NaN at epoch 2.");
    expect(s.history).toHaveLength(1);
    // A second start while running is ignored.
    const running = run(s, { type: "start", resume: true, epochs: 1 });
    expect(run(running, { type: "start", resume: false, epochs: 9 })).toBe(running);
  });

  it("says how a run ended and how long its epochs took", () => {
    let s = run(INITIAL_TRAINING, { type: "start", resume: false, epochs: 3 });
    expect(trainingStatusText(s)).toBe("Starting…");
    s = run(
      s,
      { type: "event", event: { type: "epoch", logs: epoch(1, 0.7), secondsPerEpoch: 2.5 } },
      { type: "event", event: { type: "epoch", logs: epoch(2, 0.8), secondsPerEpoch: 2.25 } },
      { type: "event", event: { type: "epoch", logs: epoch(3, 0.8), secondsPerEpoch: 2.0 } },
    );
    expect(s.epochSeconds).toEqual([2.5, 2.25, 2.0]);
    const history = [epoch(1, 0.7), epoch(2, 0.8), epoch(3, 0.8)];
    const done = run(s, { type: "finished", summary: summary(history, false) });
    expect(trainingStatusText(done)).toBe("Finished 3 epochs (2.3 s per epoch, seed 42).");
    const stopped = run(s, { type: "finished", summary: summary(history.slice(0, 1), true) });
    expect(trainingStatusText(stopped)).toBe("Stopped after 1 epoch (2.3 s per epoch, seed 42).");
    // A reload brings the history back without a run on this page.
    const restored = run(INITIAL_TRAINING, { type: "restored", history });
    expect(restored.restored).toBe("head");
    expect(trainingStatusText(restored)).toBe("Restored a head trained for 3 epochs.");
    expect(trainingStatusText(restored, 3)).toBe("Restored a head trained for 3 epochs.");
    // A run that a reload cut short: Continue training picks up after the last complete epoch.
    expect(trainingStatusText(restored, 20)).toBe(
      "Restored a head trained for 3 epochs. Continue training goes on from epoch 4 to 20.",
    );
    const numbersOnly = run(INITIAL_TRAINING, { type: "restored", history, head: false });
    expect(trainingStatusText(numbersOnly)).toBe(
      "3 epochs trained earlier, but their head was not kept: train again.",
    );
    // The worker's head, asked after the saved history, upgrades the state.
    expect(run(numbersOnly, { type: "restored", history }).restored).toBe("head");
    // A new run is no longer "restored", and its times start afresh.
    const resumed = run(restored, { type: "start", resume: true, epochs: 1 });
    expect(resumed.restored).toBeNull();
    expect(resumed.epochSeconds).toEqual([]);
    expect(trainingStatusText(run(INITIAL_TRAINING, { type: "restored", history: [] }))).toBe("");
  });

  it("ignores events when no job runs", () => {
    const s = run(INITIAL_TRAINING, {
      type: "event",
      event: { type: "epoch", logs: epoch(1, 0.7), secondsPerEpoch: 1 },
    });
    expect(s).toBe(INITIAL_TRAINING);
  });
});

describe("chart and table data", () => {
  it("gives one row per finished epoch, in epoch order", () => {
    const history = [epoch(2, 0.8), epoch(1, 0.6, null)];
    expect(metricRows(history, "acc")).toEqual([
      { epoch: 1, training: 0.6, validation: null },
      { epoch: 2, training: 0.8, validation: 0.75 },
    ]);
    const loss = metricRows(history, "loss");
    expect(loss[0]?.training).toBeCloseTo(0.4);
    expect(loss[1]?.validation).toBeCloseTo(0.25);
  });

  it("formats accuracy as a percentage with two decimals", () => {
    expect(formatAccuracy(0.912)).toBe("91.20%");
    expect(formatAccuracy(1)).toBe("100.00%");
    expect(formatAccuracy(0)).toBe("0.00%");
    expect(formatAccuracy(Number.NaN)).toBe("–");
    expect(testSummaryText(0.912, 0.23456)).toBe("Test accuracy: 91.20%, loss 0.2346");
  });

  it("spells out non-finite losses", () => {
    expect(formatLoss(Number.NaN)).toBe("NaN");
    expect(formatLoss(Number.POSITIVE_INFINITY)).toBe("Infinity");
    expect(formatLoss(null)).toBe("–");
  });
});

describe("confusion-cell selection", () => {
  const samples = [
    { id: "cat1", label: 0 },
    { id: "cat2", label: 0 },
    { id: "dog1", label: 1 },
    { id: "dog2", label: 1 },
  ];
  const predicted = [0, 1, 1, 0];
  const pClass1 = [0.1, 0.7, 0.95, 0.2];

  it("lists the images of a cell with the probability of the predicted class (binary)", () => {
    expect(cellImages(samples, predicted, pClass1, 2, { trueLabel: 0, predictedLabel: 0 })).toEqual([
      { id: "cat1", probability: 0.9 },
    ]);
    expect(cellImages(samples, predicted, pClass1, 2, { trueLabel: 0, predictedLabel: 1 })).toEqual([
      { id: "cat2", probability: 0.7 },
    ]);
    const dogAsCat = cellImages(samples, predicted, pClass1, 2, { trueLabel: 1, predictedLabel: 0 });
    expect(dogAsCat).toHaveLength(1);
    expect(dogAsCat[0]?.id).toBe("dog2");
    expect(dogAsCat[0]?.probability).toBeCloseTo(0.8);
  });

  it("uses the max probability as given for three or more classes", () => {
    const three = [{ id: "a", label: 2 }];
    expect(cellImages(three, [0], [0.6], 3, { trueLabel: 2, predictedLabel: 0 })).toEqual([
      { id: "a", probability: 0.6 },
    ]);
  });
});

describe("extraction progress text", () => {
  it("gives the time left at the computed rate", () => {
    expect(etaText(100, 10)).toBe("about 10 s left");
    expect(etaText(1500, 5)).toBe("about 5 min left");
    expect(etaText(0, 10)).toBeNull();
    expect(etaText(10, 0)).toBeNull();
    expect(etaText(10, Number.POSITIVE_INFINITY)).toBeNull();
  });

  it("combines counts, rate and ETA", () => {
    expect(extractionRateText(0, 10, 0)).toBe("0 of 10 images");
    expect(extractionRateText(40, 100, 12.3)).toBe("40 of 100 images · 12 images/s · about 5 s left");
    expect(extractionRateText(100, 100, 2.5)).toBe("100 of 100 images · 2.5 images/s");
    expect(cachedComputedText(3, 7)).toBe("3 cached, 7 computed");
    expect(cachedComputedText(3, 7, 1)).toBe("3 cached, 7 computed, 1 failed");
  });
});

describe("extraction cut short", () => {
  it("says what is kept and what is left", () => {
    expect(extractedSoFarText(0, 12)).toBeNull();
    expect(extractedSoFarText(4, 12)).toBe(
      "Features extracted for 4 of 12 images; Extract features computes the other 8.",
    );
    expect(extractedSoFarText(12, 12)).toBe("Features extracted for all 12 images.");
  });
});

describe("missingFilesMessage", () => {
  it("counts the restored dataset's images whose files are gone, and is null when none are", () => {
    let dataset = addToClass(emptyDataset(), 0, ["cats/a.jpg", "cats/b.jpg", "cats/c.jpg"]);
    dataset = addToClass(dataset, 1, ["dogs/d.jpg"]);
    const ids = allImages(dataset).map((image) => image.id);
    expect(ids).toHaveLength(4);
    expect(missingFilesMessage(dataset, new Set(ids))).toBeNull();
    expect(missingFilesMessage(dataset, new Set(["cats/a.jpg"]))).toBe(
      "3 of the dataset's 4 images are no longer stored in this browser, so they cannot be extracted or evaluated: add the folder again to bring them back.",
    );
    expect(missingFilesMessage(emptyDataset(), new Set())).toBeNull();
  });
});
