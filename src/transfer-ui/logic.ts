/**
 * Pure logic of the transfer-learning view: view models for the dataset
 * table, training-state transitions, chart/table data, formatting. No DOM,
 * no worker: unit-tested in Node.
 */
import { formatDuration } from "../app/format";
import type { TrainEvent, TrainSummary } from "../transfer/api";
import { type Dataset, type IgnoredFile, SPLITS, type Split, seededSplit } from "../transfer/dataset";
import type { EpochLogs } from "../transfer/head";

export const DEFAULT_CLASSES = ["cats", "dogs"] as const;
export const SPLIT_SEED = 1337;

export const SPLIT_LABELS: Record<Split, string> = {
  train: "Training",
  validation: "Validation",
  test: "Test",
};

/* ---------- dataset ---------- */

/** The view's dataset: class names (renamable) and image ids per split and class. */
export interface LessonDataset {
  readonly source: Dataset["source"] | "empty";
  readonly classes: readonly string[];
  /** files[split][classIndex] = image ids (the file's path). */
  readonly files: Record<Split, readonly (readonly string[])[]>;
  readonly ignored: readonly IgnoredFile[];
  /** For images dropped onto a class: every image of each class, split with SPLIT_SEED. */
  readonly perClass?: readonly (readonly string[])[];
}

export function emptyDataset(classes: readonly string[] = DEFAULT_CLASSES): LessonDataset {
  return {
    source: "empty",
    classes: [...classes],
    files: { train: classes.map(() => []), validation: classes.map(() => []), test: classes.map(() => []) },
    ignored: [],
    perClass: classes.map(() => []),
  };
}

export function fromDetected(dataset: Dataset): LessonDataset {
  return { source: "directory", classes: dataset.classes, files: dataset.files, ignored: dataset.ignored };
}

/** Images dropped onto class `index`: kept per class, split by a seeded rule (order-independent). */
export function addToClass(current: LessonDataset, index: number, ids: readonly string[]): LessonDataset {
  const base = current.source === "directory" ? emptyDataset(current.classes) : current;
  const perClass = base.classes.map((_, c) => {
    const existing = base.perClass?.[c] ?? [];
    return c === index ? [...new Set([...existing, ...ids])] : [...existing];
  });
  return resplit({ ...base, source: "seeded-split", perClass });
}

function resplit(dataset: LessonDataset): LessonDataset {
  const files: Record<Split, string[][]> = { train: [], validation: [], test: [] };
  for (const ids of dataset.perClass ?? dataset.classes.map(() => [])) {
    const split = seededSplit(ids, { seed: SPLIT_SEED });
    for (const s of SPLITS) files[s].push(split[s]);
  }
  return { ...dataset, files };
}

export function renameClass(dataset: LessonDataset, index: number, name: string): LessonDataset {
  return { ...dataset, classes: dataset.classes.map((c, i) => (i === index ? name : c)) };
}

export function addClass(dataset: LessonDataset, name: string): LessonDataset {
  const withEmpty = (rows: readonly (readonly string[])[]) => [...rows, []];
  return {
    ...dataset,
    classes: [...dataset.classes, name],
    files: {
      train: withEmpty(dataset.files.train),
      validation: withEmpty(dataset.files.validation),
      test: withEmpty(dataset.files.test),
    },
    perClass: dataset.perClass ? withEmpty(dataset.perClass) : undefined,
  };
}

/** Problems with class names: empty and duplicate names would make results ambiguous. */
export function classNameProblems(classes: readonly string[]): string[] {
  const problems: string[] = [];
  if (classes.some((c) => c.trim() === "")) problems.push("Every class needs a name.");
  const trimmed = classes.map((c) => c.trim());
  if (new Set(trimmed).size !== trimmed.length) problems.push("Class names must differ.");
  return problems;
}

export interface CountsRow {
  readonly className: string;
  readonly train: number;
  readonly validation: number;
  readonly test: number;
  readonly total: number;
}

export interface CountsView {
  readonly rows: readonly CountsRow[];
  readonly totals: CountsRow;
  readonly ignoredCount: number;
  /** Short summary, e.g. "3,000 images in 2 classes; 4 files ignored". */
  readonly summary: string;
}

export function countsView(dataset: LessonDataset): CountsView {
  const count = (split: Split, c: number) => dataset.files[split][c]?.length ?? 0;
  const rows = dataset.classes.map((className, c) => {
    const train = count("train", c);
    const validation = count("validation", c);
    const test = count("test", c);
    return { className, train, validation, test, total: train + validation + test };
  });
  const sum = (key: keyof Omit<CountsRow, "className">) => rows.reduce((a, r) => a + r[key], 0);
  const totals = {
    className: "All classes",
    train: sum("train"),
    validation: sum("validation"),
    test: sum("test"),
    total: sum("total"),
  };
  const n = totals.total;
  const ignored = dataset.ignored.length;
  const images = `${n.toLocaleString("en")} ${n === 1 ? "image" : "images"} in ${rows.length} classes`;
  const summary = ignored > 0 ? `${images}; ${ignored} ${ignored === 1 ? "file" : "files"} ignored` : images;
  return { rows, totals, ignoredCount: ignored, summary };
}

/** All image ids with their split and label, in split → class → file order. */
export function allImages(dataset: LessonDataset): { id: string; split: Split; label: number }[] {
  return SPLITS.flatMap((split) =>
    dataset.files[split].flatMap((ids, label) => ids.map((id) => ({ id, split, label }))),
  );
}

/**
 * What to say when a restored dataset lists images whose files this browser no longer holds (the files and the
 * dataset record are stored apart); null when every file is there.
 */
export function missingFilesMessage(dataset: LessonDataset, stored: ReadonlySet<string>): string | null {
  const images = allImages(dataset);
  const missing = images.filter((image) => !stored.has(image.id)).length;
  if (missing === 0) return null;
  const total = images.length;
  return `${missing.toLocaleString("en")} of the dataset's ${total.toLocaleString("en")} images are no longer stored in this browser, so they cannot be extracted or evaluated: add the folder again to bring them back.`;
}

/* ---------- feature extraction ---------- */

/** "12.3 images/s · about 2 min left"; parts missing while unknown. */
export function extractionRateText(done: number, total: number, imagesPerSecond: number): string {
  const parts: string[] = [`${done} of ${total} images`];
  if (imagesPerSecond > 0 && Number.isFinite(imagesPerSecond)) {
    parts.push(`${imagesPerSecond >= 10 ? imagesPerSecond.toFixed(0) : imagesPerSecond.toFixed(1)} images/s`);
  }
  // Cache hits cost nothing: the rate counts computed images only, and so does the time left.
  const eta = etaText(total - done, imagesPerSecond);
  if (eta) parts.push(eta);
  return parts.join(" · ");
}

/**
 * Time left when `remaining` images are still to go at `imagesPerSecond`
 * (the rate of computed images; the remaining ones are assumed to need
 * computing). Null when unknown or nothing is left.
 */
export function etaText(remaining: number, imagesPerSecond: number): string | null {
  if (!(remaining > 0) || !(imagesPerSecond > 0) || !Number.isFinite(imagesPerSecond)) return null;
  return `about ${formatDuration(remaining / imagesPerSecond)} left`;
}

/**
 * Said before extraction when some of the dataset's images already have features (e.g. a reload or a closed
 * tab ended an extraction): what is kept and what Extract features will still compute.
 */
export function extractedSoFarText(extracted: number, total: number): string | null {
  if (extracted <= 0 || total <= 0) return null;
  if (extracted >= total) return `Features extracted for all ${total} images.`;
  return `Features extracted for ${extracted} of ${total} images; Extract features computes the other ${total - extracted}.`;
}

export function cachedComputedText(cached: number, computed: number, failed = 0): string {
  const base = `${cached} cached, ${computed} computed`;
  return failed > 0 ? `${base}, ${failed} failed` : base;
}

/* ---------- training ---------- */

export type TrainingPhase = "idle" | "running" | "stopping" | "stopped" | "done" | "error";

export interface BatchProgress {
  readonly epoch: number;
  readonly epochs: number;
  readonly batch: number;
  readonly batchesPerEpoch: number;
  readonly loss: number;
}

export interface TrainingState {
  readonly phase: TrainingPhase;
  readonly history: readonly EpochLogs[];
  readonly batch: BatchProgress | null;
  readonly error: string | null;
  readonly seed: number | null;
  readonly secondsPerEpoch: number | null;
  /** Seconds each epoch of the latest run took (empty before its first epoch). */
  readonly epochSeconds: readonly number[];
  /**
   * The history came from earlier (this browser's storage, or an imported head), not from a run on this
   * page: "head" when the worker holds its head too, "history" when only the numbers are left.
   */
  readonly restored: "head" | "history" | null;
  /** Epoch count the running job aims for (history before it + config.epochs). */
  readonly targetEpochs: number;
}

export const INITIAL_TRAINING: TrainingState = {
  phase: "idle",
  history: [],
  batch: null,
  error: null,
  seed: null,
  secondsPerEpoch: null,
  epochSeconds: [],
  restored: null,
  targetEpochs: 0,
};

export type TrainingAction =
  | { readonly type: "start"; readonly resume: boolean; readonly epochs: number }
  | { readonly type: "event"; readonly event: TrainEvent }
  | { readonly type: "stop-requested" }
  | { readonly type: "finished"; readonly summary: TrainSummary }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "start-over" }
  /** `head: false`: only the history was kept, the worker has no head for it. */
  | { readonly type: "restored"; readonly history: readonly EpochLogs[]; readonly head?: boolean };

export function trainingReducer(state: TrainingState, action: TrainingAction): TrainingState {
  switch (action.type) {
    case "start": {
      if (state.phase === "running" || state.phase === "stopping") return state;
      const history = action.resume ? state.history : [];
      return {
        ...state,
        phase: "running",
        history,
        batch: null,
        error: null,
        epochSeconds: [],
        restored: null,
        targetEpochs: history.length + action.epochs,
      };
    }
    case "event": {
      if (state.phase !== "running" && state.phase !== "stopping") return state;
      const event = action.event;
      if (event.type === "batch") {
        // Batch events count epochs and batches from 0, as Keras' callbacks do.
        return {
          ...state,
          batch: {
            epoch: event.epoch + 1,
            epochs: state.targetEpochs,
            batch: event.batch + 1,
            batchesPerEpoch: event.batchesPerEpoch,
            loss: event.loss,
          },
        };
      }
      const rest = state.history.filter((h) => h.epoch !== event.logs.epoch);
      return {
        ...state,
        history: [...rest, event.logs].sort((a, b) => a.epoch - b.epoch),
        secondsPerEpoch: event.secondsPerEpoch,
        epochSeconds: [...state.epochSeconds, event.secondsPerEpoch],
      };
    }
    case "stop-requested":
      return state.phase === "running" ? { ...state, phase: "stopping" } : state;
    case "finished":
      return {
        ...state,
        phase: action.summary.stopped ? "stopped" : "done",
        history: [...action.summary.history],
        seed: action.summary.seed,
      };
    case "failed":
      return { ...state, phase: "error", error: action.message };
    case "start-over":
      if (state.phase === "running" || state.phase === "stopping") return state;
      return INITIAL_TRAINING;
    case "restored":
      if (state.phase === "running" || state.phase === "stopping") return state;
      return {
        ...state,
        history: [...action.history],
        phase: action.history.length > 0 ? "stopped" : "idle",
        restored: action.history.length === 0 ? null : action.head === false ? "history" : "head",
      };
  }
}

/** "epoch 3/20, batch 40/100, loss 0.412" */
export function batchProgressText(batch: BatchProgress): string {
  const loss = Number.isFinite(batch.loss) ? batch.loss.toFixed(3) : String(batch.loss);
  return `epoch ${batch.epoch}/${batch.epochs}, batch ${batch.batch}/${batch.batchesPerEpoch}, loss ${loss}`;
}

/** Seconds with 2 significant decimals below 1 s: "0.42 s", "2.4 s". */
function seconds(value: number): string {
  return `${value < 1 ? value.toFixed(2) : value.toFixed(1)} s`;
}

/**
 * The line under the Train buttons: progress while running, then how the run ended and how long epochs took.
 * `plannedEpochs` (the form's Epochs, a total): a restored head short of it (a reload or a closed tab ended its
 * run) says where Continue training picks up.
 */
export function trainingStatusText(state: TrainingState, plannedEpochs?: number): string {
  const n = state.history.length;
  const epochs = `${n} ${n === 1 ? "epoch" : "epochs"}`;
  const took =
    state.epochSeconds.length > 0
      ? `${seconds(state.epochSeconds.reduce((a, b) => a + b, 0) / state.epochSeconds.length)} per epoch`
      : null;
  const details = [took, state.seed !== null ? `seed ${state.seed}` : null].filter((x) => x !== null);
  const suffix = details.length > 0 ? ` (${details.join(", ")})` : "";
  switch (state.phase) {
    case "running":
      return state.batch ? batchProgressText(state.batch) : "Starting…";
    case "stopping":
      return "Stopping at the end of this batch…";
    case "stopped":
      if (n === 0) return "";
      // Restored after a reload, or imported: trained earlier, not on this page.
      if (state.restored === "head") {
        const more =
          plannedEpochs !== undefined && Number.isInteger(plannedEpochs) && n < plannedEpochs
            ? ` Continue training goes on from epoch ${n + 1} to ${plannedEpochs}.`
            : "";
        return `Restored a head trained for ${epochs}.${more}`;
      }
      if (state.restored === "history")
        return `${epochs} trained earlier, but their head was not kept: train again.`;
      return `Stopped after ${epochs}${suffix}.`;
    case "done":
      return `Finished ${epochs}${suffix}.`;
    default:
      return "";
  }
}

export interface MetricRow {
  readonly epoch: number;
  readonly training: number;
  readonly validation: number | null;
}

/** One row per finished epoch, for a chart and its data table. */
export function metricRows(history: readonly EpochLogs[], metric: "acc" | "loss"): MetricRow[] {
  return [...history]
    .sort((a, b) => a.epoch - b.epoch)
    .map((h) => ({
      epoch: h.epoch,
      training: metric === "acc" ? h.acc : h.loss,
      validation: metric === "acc" ? h.val_acc : h.val_loss,
    }));
}

/** Accuracy in 0..1 as "91.20%". */
export function formatAccuracy(accuracy: number): string {
  if (!Number.isFinite(accuracy)) return "–";
  return `${(Math.min(1, Math.max(0, accuracy)) * 100).toFixed(2)}%`;
}

/** A loss for the tables: 4 decimals; "–" for none, "NaN"/"Infinity" spelled out. */
export function formatLoss(loss: number | null): string {
  if (loss === null) return "–";
  return Number.isFinite(loss) ? loss.toFixed(4) : String(loss);
}

export function formatMetric(metric: "acc" | "loss", value: number | null): string {
  if (value === null) return "–";
  return metric === "acc" ? formatAccuracy(value) : formatLoss(value);
}

/* ---------- evaluation ---------- */

export interface TestSample {
  readonly id: string;
  readonly label: number;
}

export interface ConfusionCell {
  readonly trueLabel: number;
  readonly predictedLabel: number;
}

export interface CellImage {
  readonly id: string;
  /** Probability of the predicted class. */
  readonly probability: number;
}

/**
 * The test images of one confusion-matrix cell, with the probability the
 * head gave its predicted class. For two classes `probabilities` holds
 * P(class 1), so P(class 0) = 1 − p; for more it holds the max probability.
 */
export function cellImages(
  samples: readonly TestSample[],
  predictedLabels: readonly number[],
  probabilities: readonly number[],
  numClasses: number,
  cell: ConfusionCell,
): CellImage[] {
  const out: CellImage[] = [];
  samples.forEach((sample, i) => {
    const predicted = predictedLabels[i];
    const p = probabilities[i];
    if (predicted === undefined || p === undefined) return;
    if (sample.label !== cell.trueLabel || predicted !== cell.predictedLabel) return;
    const probability = numClasses === 2 && predicted === 0 ? 1 - p : p;
    out.push({ id: sample.id, probability });
  });
  return out;
}

export function testSummaryText(accuracy: number, loss: number): string {
  return `Test accuracy: ${formatAccuracy(accuracy)}, loss ${formatLoss(loss)}`;
}
