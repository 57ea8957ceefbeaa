/**
 * The transfer-learning view's stores, one per concern: dataset, features,
 * training, evaluation (with "Try it"). Side effects go through the
 * TransferPort (the worker client) and persist.ts (IndexedDB).
 */
import { create } from "zustand";
import { errorMessage, isAbort } from "../app/client-port";
import type { EvaluationResult, LabelledSample, LessonImage, TryResult } from "../transfer/api";
import { detectLayout, type Split } from "../transfer/dataset";
import type { Preprocessing } from "../transfer/feature-cache";
import { defaultHeadConfig, type HeadConfig, validateHeadConfig } from "../transfer/head";
import {
  addClass,
  addToClass,
  allImages,
  type ConfusionCell,
  classNameProblems,
  emptyDataset,
  fromDetected,
  INITIAL_TRAINING,
  type LessonDataset,
  missingFilesMessage,
  renameClass,
  type TestSample,
  type TrainingState,
  trainingReducer,
} from "./logic";
import { loadHashes, loadLesson, saveBlobs, saveDataset, saveHashes, saveHistory } from "./persist";
import { type FeatureCacheInfo, transferPort } from "./port";

/** The book resizes to 150×150 without cropping; the lesson stretches to 224×224 likewise. */
export const PREPROCESSING: Preprocessing = "stretch";

export interface InputFile {
  readonly file: Blob & { readonly name?: string };
  readonly path: string;
}

/* ---------- dataset ---------- */

interface DatasetStore {
  readonly dataset: LessonDataset;
  readonly blobs: ReadonlyMap<string, Blob>;
  readonly message: string | null;
  /** Why the dataset (its classes or files) could not be saved for the next visit; null when it was. */
  readonly saveProblem: string | null;
  readonly restored: boolean;
  addFolder(files: readonly InputFile[]): boolean;
  addToClass(index: number, files: readonly InputFile[]): void;
  rename(index: number, name: string): void;
  addClass(): void;
  clear(): void;
  restore(): Promise<void>;
}

export const useDataset = create<DatasetStore>()((set, get) => ({
  dataset: emptyDataset(),
  blobs: new Map(),
  message: null,
  saveProblem: null,
  restored: false,

  addFolder(files) {
    const detected = detectLayout(files.map((f) => f.path));
    if (!detected) {
      set({
        message:
          "No train/ folder with class folders inside was found (expected e.g. train/cats/cat.1.jpg). Drop images onto a class instead.",
      });
      return false;
    }
    const dataset = fromDetected(detected);
    const wanted = new Set(allImages(dataset).map((i) => i.id));
    const blobs = new Map<string, Blob>();
    for (const f of files) if (wanted.has(f.path)) blobs.set(f.path, f.file);
    set({ dataset, blobs, message: null });
    onDatasetChanged();
    // The latest dataset: a rename may have come while the files were being written.
    void saveFiles(saveBlobs(blobs, true));
    return true;
  },

  addToClass(index, files) {
    const { dataset, blobs } = get();
    const replacing = dataset.source === "directory";
    const added = new Map<string, Blob>();
    for (const f of files) added.set(`class-${index}/${f.path}`, f.file);
    const next = addToClass(dataset, index, [...added.keys()]);
    const merged = new Map(replacing ? [] : blobs);
    for (const [id, blob] of added) merged.set(id, blob);
    set({ dataset: next, blobs: merged, message: null });
    // Images already in a class keep their ids and files, so their features stay known.
    onDatasetChanged(!replacing);
    void saveFiles(saveBlobs(replacing ? merged : added, replacing));
  },

  rename(index, name) {
    const dataset = renameClass(get().dataset, index, name);
    set({ dataset });
    void saveDataset(dataset);
  },

  addClass() {
    const dataset = addClass(get().dataset, `class ${get().dataset.classes.length + 1}`);
    set({ dataset });
    onDatasetChanged();
    void saveDataset(dataset);
  },

  clear() {
    const dataset = emptyDataset();
    set({ dataset, blobs: new Map(), message: null });
    onDatasetChanged();
    void saveFiles(saveBlobs(new Map(), true));
  },

  async restore() {
    if (get().restored) return;
    set({ restored: true });
    const saved = await loadLesson();
    if (saved) {
      set({
        dataset: saved.dataset,
        blobs: saved.blobs,
        message: missingFilesMessage(saved.dataset, new Set(saved.blobs.keys())),
      });
      useFeatures.setState({ hashes: await loadHashes() });
      // Only the numbers so far: the worker says below whether it still holds the head.
      if (saved.history.length > 0)
        useTraining.getState().dispatch({ type: "restored", history: saved.history, head: false });
    }
    try {
      const head = await transferPort().headState();
      if (head) {
        useTraining.getState().dispatch({ type: "restored", history: head.history });
        useTraining.setState({ config: { ...head.config } });
      }
    } catch {
      // A client without headState (or a worker without a head) restores nothing more.
    }
    void useFeatures.getState().refreshCache();
  },
}));

/**
 * After the files are written, the dataset (the latest one: a rename may have come meanwhile); either failing
 * (a full disk) is said in the view, since the images would be gone after a reload.
 */
async function saveFiles(blobsSaved: Promise<string | null>): Promise<void> {
  const problem = (await blobsSaved) ?? (await saveDataset(useDataset.getState().dataset));
  useDataset.setState({ saveProblem: problem });
}

function onDatasetChanged(keepHashes = false): void {
  useEvaluation.getState().reset();
  if (keepHashes) return;
  // Ids may now name other files: extraction reports the hashes again (cache hits cost little).
  void saveHashes({});
  useFeatures.setState({
    hashes: {},
    phase: "idle",
    done: 0,
    total: 0,
    cached: 0,
    computed: 0,
    failures: [],
  });
}

export function lessonImages(ids: readonly string[]): LessonImage[] {
  const { blobs } = useDataset.getState();
  return ids.flatMap((id) => {
    const blob = blobs.get(id);
    return blob ? [{ id, name: id.split("/").at(-1) ?? id, blob }] : [];
  });
}

/* ---------- features ---------- */

type FeaturesPhase = "idle" | "running" | "done" | "cancelled" | "error";

interface FeaturesStore {
  readonly phase: FeaturesPhase;
  readonly done: number;
  readonly total: number;
  readonly imagesPerSecond: number;
  readonly cached: number;
  readonly computed: number;
  readonly failures: readonly string[];
  /** Image id → content hash, for every image whose features the worker holds. */
  readonly hashes: Readonly<Record<string, string>>;
  readonly error: string | null;
  readonly cacheInfo: FeatureCacheInfo | null;
  extract(): Promise<void>;
  cancel(): void;
  refreshCache(): Promise<void>;
  clearCache(): Promise<void>;
}

let extractController: AbortController | null = null;

/**
 * Saves the image → hash map while extraction runs (coalesced: one write at a time, the latest state), so a
 * reload or a closed tab in the middle keeps what was done: the features are in the worker's cache already,
 * and these hashes let training use them without extracting again.
 */
let hashSave: Promise<void> | null = null;
let hashesDirty = false;
function saveHashesSoon(): void {
  hashesDirty = true;
  if (hashSave) return;
  hashSave = (async () => {
    while (hashesDirty) {
      hashesDirty = false;
      await saveHashes(useFeatures.getState().hashes);
    }
    hashSave = null;
  })();
}

export const useFeatures = create<FeaturesStore>()((set, get) => ({
  phase: "idle",
  done: 0,
  total: 0,
  imagesPerSecond: 0,
  cached: 0,
  computed: 0,
  failures: [],
  hashes: {},
  error: null,
  cacheInfo: null,

  async extract() {
    if (get().phase === "running") return;
    const images = lessonImages(allImages(useDataset.getState().dataset).map((i) => i.id));
    const controller = new AbortController();
    extractController = controller;
    set({
      phase: "running",
      done: 0,
      total: images.length,
      imagesPerSecond: 0,
      cached: 0,
      computed: 0,
      failures: [],
      error: null,
    });
    const hashes: Record<string, string> = { ...get().hashes };
    try {
      await transferPort().extractFeatures(
        images,
        { preprocessing: PREPROCESSING },
        (result, progress) => {
          const failures = [...get().failures];
          if (result.ok) hashes[result.id] = result.contentHash;
          else failures.push(`${result.id}: ${result.error}`);
          set({
            done: progress.done,
            total: progress.total,
            imagesPerSecond: progress.imagesPerSecond,
            cached: progress.cacheHits,
            computed: get().computed + (result.ok && !result.cached ? 1 : 0),
            failures,
            hashes: { ...hashes },
          });
          if (result.ok) saveHashesSoon();
        },
        controller.signal,
      );
      set({ phase: controller.signal.aborted ? "cancelled" : "done" });
    } catch (error) {
      if (isAbort(error, controller.signal)) set({ phase: "cancelled" });
      else set({ phase: "error", error: errorMessage(error) });
    } finally {
      // Also after a cancel: what was extracted stays usable after a reload (through the one coalescing
      // writer, so no second write races it).
      saveHashesSoon();
      if (extractController === controller) extractController = null;
      void get().refreshCache();
    }
  },

  cancel() {
    extractController?.abort();
  },

  async refreshCache() {
    try {
      set({ cacheInfo: await transferPort().featureCacheInfo() });
    } catch (error) {
      set({ cacheInfo: { entries: 0, bytes: 0, problem: errorMessage(error) } });
    }
  },

  async clearCache() {
    try {
      await transferPort().clearFeatureCache();
      set({ hashes: {}, cached: 0, computed: 0, done: 0, total: 0, phase: "idle" });
      void saveHashes({});
    } catch (error) {
      set({ error: errorMessage(error) });
    }
    await get().refreshCache();
  },
}));

/** Samples of a split with the content hashes extraction reported; `missing` counts images without one. */
export function labelledSamples(split: Split): { samples: LabelledSample[]; ids: string[]; missing: number } {
  const { dataset } = useDataset.getState();
  const { hashes } = useFeatures.getState();
  const samples: LabelledSample[] = [];
  const ids: string[] = [];
  let missing = 0;
  dataset.files[split].forEach((list, label) => {
    for (const id of list) {
      const contentHash = hashes[id];
      if (contentHash === undefined) missing++;
      else {
        samples.push({ contentHash, label });
        ids.push(id);
      }
    }
  });
  return { samples, ids, missing };
}

/* ---------- training ---------- */

interface TrainingStore extends TrainingState {
  readonly config: HeadConfig;
  dispatch(action: Parameters<typeof trainingReducer>[1]): void;
  setConfig(config: HeadConfig): void;
  /** Trains with `config` (the form's), or the store's. */
  train(resume: boolean, config?: HeadConfig): Promise<void>;
  stop(): void;
  startOver(): void;
}

let trainController: AbortController | null = null;

export const useTraining = create<TrainingStore>()((set, get) => ({
  ...INITIAL_TRAINING,
  config: defaultHeadConfig(),

  dispatch(action) {
    const {
      config: _config,
      dispatch: _d,
      setConfig: _s,
      train: _t,
      stop: _st,
      startOver: _so,
      ...state
    } = get();
    set(trainingReducer(state, action));
  },

  setConfig(config) {
    set({ config });
  },

  async train(resume, config) {
    const state = { ...get(), config: config ?? get().config };
    if (state.phase === "running" || state.phase === "stopping") return;
    const problems = validateHeadConfig(state.config);
    const { dataset } = useDataset.getState();
    problems.push(...classNameProblems(dataset.classes));
    const train = labelledSamples("train");
    const validation = labelledSamples("validation");
    if (train.samples.length === 0) problems.push("No training images with extracted features yet.");
    else if (train.missing + validation.missing > 0) {
      problems.push(
        `${train.missing + validation.missing} training/validation images have no features yet: extract features first.`,
      );
    }
    if (problems.length > 0) {
      get().dispatch({ type: "start", resume, epochs: state.config.epochs });
      get().dispatch({ type: "failed", message: problems.join(" ") });
      return;
    }
    const controller = new AbortController();
    trainController = controller;
    get().dispatch({ type: "start", resume, epochs: state.config.epochs });
    try {
      const summary = await transferPort().trainHead(
        {
          classes: dataset.classes.map((c) => c.trim()),
          train: train.samples,
          validation: validation.samples,
          config: state.config,
          preprocessing: PREPROCESSING,
          resume,
        },
        (event) => get().dispatch({ type: "event", event }),
        controller.signal,
      );
      get().dispatch({ type: "finished", summary });
      void saveHistory(summary.history);
    } catch (error) {
      get().dispatch({ type: "failed", message: errorMessage(error) });
      void saveHistory(get().history);
    } finally {
      if (trainController === controller) trainController = null;
      // The worker saves the head after every epoch: a failure to do so shows up here.
      void useFeatures.getState().refreshCache();
    }
  },

  stop() {
    get().dispatch({ type: "stop-requested" });
    trainController?.abort();
  },

  startOver() {
    get().dispatch({ type: "start-over" });
    useEvaluation.getState().reset();
    void saveHistory([]);
  },
}));

/* ---------- evaluation and "Try it" ---------- */

export interface TryItem {
  readonly id: string;
  readonly name: string;
  readonly blob: Blob;
  readonly result: TryResult | null;
}

interface EvaluationStore {
  readonly running: boolean;
  readonly result: EvaluationResult | null;
  readonly samples: readonly TestSample[];
  readonly classes: readonly string[];
  readonly error: string | null;
  readonly selected: ConfusionCell | null;
  readonly tries: readonly TryItem[];
  readonly tryError: string | null;
  evaluate(): Promise<void>;
  select(cell: ConfusionCell | null): void;
  tryImages(files: readonly InputFile[]): Promise<void>;
  reset(): void;
}

let tryCounter = 0;

export const useEvaluation = create<EvaluationStore>()((set, get) => ({
  running: false,
  result: null,
  samples: [],
  classes: [],
  error: null,
  selected: null,
  tries: [],
  tryError: null,

  async evaluate() {
    if (get().running) return;
    const { dataset } = useDataset.getState();
    const test = labelledSamples("test");
    if (test.samples.length === 0) {
      set({ error: "No test images with extracted features: add test images and extract features first." });
      return;
    }
    set({ running: true, error: null, selected: null });
    try {
      const result = await transferPort().evaluateHead({
        classes: dataset.classes,
        test: test.samples,
        preprocessing: PREPROCESSING,
      });
      const samples = test.samples.map((s, i) => ({ id: test.ids[i] ?? "", label: s.label }));
      set({ result, samples, classes: [...dataset.classes], running: false });
    } catch (error) {
      set({ running: false, error: errorMessage(error) });
    }
  },

  select(cell) {
    set({ selected: cell });
  },

  async tryImages(files) {
    const items: TryItem[] = files.map((f) => ({
      id: `try-${++tryCounter}`,
      name: f.file.name ?? f.path,
      blob: f.file,
      result: null,
    }));
    set({ tries: [...items, ...get().tries], tryError: null });
    try {
      const results = await transferPort().tryHead(
        items.map(({ id, name, blob }) => ({ id, name, blob })),
        PREPROCESSING,
      );
      const byId = new Map(results.map((r) => [r.id, r]));
      set({ tries: get().tries.map((t) => ({ ...t, result: byId.get(t.id) ?? t.result })) });
    } catch (error) {
      set({ tryError: errorMessage(error), tries: get().tries.filter((t) => !items.includes(t)) });
    }
  },

  reset() {
    set({ result: null, samples: [], error: null, selected: null });
  },
}));
