/**
 * The bench page's second module worker: the baseline (a tf.layers VGG16 with
 * the same weights, and a plain model.fit head), our head training
 * (src/transfer/head.ts), and tf.profile peaks. It initialises its backend with
 * the app's own code (src/vgg16/backends.ts, the same thread trick) and reads
 * the model through the app's Cache Storage path (src/vgg16/model-files.ts),
 * so baseline and ours share backend, thread count and weights. The page times
 * each call from outside, as it times the app's worker.
 */
import * as tf from "@tensorflow/tfjs";
import * as Comlink from "comlink";
import { buildLayersVgg16, type LayersVgg16 } from "../../src/model/layers-vgg16";
import type { Vgg16Metadata } from "../../src/model/metadata";
import {
  buildHead,
  defaultHeadConfig,
  FEATURE_SHAPE,
  FEATURE_SIZE,
  trainHead,
} from "../../src/transfer/head";
import { mulberry32 } from "../../src/transfer/random";
import type { BackendChoice, BackendInfo } from "../../src/vgg16/api";
import { initBackend } from "../../src/vgg16/backends";
import { measureCapabilities } from "../../src/vgg16/capabilities";
import { decodeForVgg16 } from "../../src/vgg16/decode-image";
import { buildVgg16Model, INPUT_SIZE, predictBatch, type Vgg16Runnable, warmUp } from "../../src/vgg16/graph";
import { fetchModelFiles, type ModelFiles } from "../../src/vgg16/model-files";
import { modelStorage } from "../../src/vgg16/opfs-cache";
import { type BatchClock, newBatchClock, tick, trainFigures } from "./figures";
import type { TrainFigures } from "./result";

let files: ModelFiles | null = null;
/** The tf.layers VGG16 and the bytes its weights hold in TF.js. */
let baseline: { model: LayersVgg16; bytes: number } | null = null;
/** Our graph model (built as the app's worker builds it) and its bytes. */
let ours: { model: Vgg16Runnable; metadata: Vgg16Metadata; bytes: number } | null = null;
let training: { x: tf.Tensor2D; y: tf.Tensor2D } | null = null;

/** A training run stopped by its budget still runs this many batches, enough to project s/epoch from. */
const MIN_BATCHES = 10;

function cacheStorage(): CacheStorage | null {
  try {
    return typeof caches === "undefined" ? null : caches;
  } catch {
    return null;
  }
}

async function decodeAll(blobs: readonly Blob[]): Promise<tf.Tensor4D> {
  const batch = new Float32Array(blobs.length * INPUT_SIZE * INPUT_SIZE * 3);
  for (const [i, blob] of blobs.entries()) {
    const d = await decodeForVgg16(blob, "stretch");
    if (!d.ok) throw new Error(`image ${i}: ${d.error}`);
    batch.set(d.input, i * INPUT_SIZE * INPUT_SIZE * 3);
  }
  return tf.tensor4d(batch, [blobs.length, INPUT_SIZE, INPUT_SIZE, 3]);
}

function requireFiles(): ModelFiles {
  if (!files) throw new Error("loadFiles() first");
  return files;
}

function requireBaseline(): LayersVgg16 {
  if (!baseline) throw new Error("buildBaseline() first");
  return baseline.model;
}

export interface Peak {
  /** The most memory TF.js held at once, each data buffer counted once. */
  readonly distinctBytes: number;
  /**
   * tf.profile's peakBytes: TF.js' own accounting (tf.memory().numBytes), which counts a reshaped view again
   * although it shares its buffer (tfjs-core engine.trackTensor adds size × 4 per tensor). tf.fused.matMul
   * reshapes fc1's 411 MB kernel to 3-D on every call, so this reads ~411 MB above the real figure.
   */
  readonly reportedBytes: number;
  /** numBytes before the call (the model at rest). */
  readonly restBytes: number;
}

export interface PeakAndTimes extends Peak {
  readonly inferenceMs: number[];
}

interface EngineInternals {
  state: { tensorInfo: WeakMap<object, { bytes: number; backend: unknown }> };
  trackTensor(this: EngineInternals, a: { dataId: object }, backend: unknown): void;
  removeDataId(this: EngineInternals, dataId: object, backend: unknown): void;
}

/**
 * Runs `fn` under tf.profile and, meanwhile, follows TF.js' data buffers by their dataId (the engine's
 * trackTensor / removeDataId, wrapped for the call only): a tensor whose dataId is already tracked is a view
 * and adds nothing. Starts from numBytes at rest, which holds no views (it equals the weights' bytes).
 */
async function measurePeak(fn: () => Promise<void>): Promise<Peak> {
  const engine = tf.engine() as unknown as EngineInternals;
  const restBytes = tf.memory().numBytes;
  let current = restBytes;
  let peak = restBytes;
  const track = engine.trackTensor;
  const remove = engine.removeDataId;
  engine.trackTensor = function (a, backend) {
    const fresh = !this.state.tensorInfo.has(a.dataId);
    track.call(this, a, backend);
    if (fresh) {
      current += this.state.tensorInfo.get(a.dataId)?.bytes ?? 0;
      peak = Math.max(peak, current);
    }
  };
  engine.removeDataId = function (dataId, backend) {
    const info = this.state.tensorInfo.get(dataId);
    remove.call(this, dataId, backend);
    if (info && info.backend === backend && !this.state.tensorInfo.has(dataId)) current -= info.bytes;
  };
  try {
    const info = await tf.profile(fn);
    return { distinctBytes: peak, reportedBytes: info.peakBytes, restBytes };
  } finally {
    engine.trackTensor = track;
    engine.removeDataId = remove;
  }
}

const api = {
  async init(backend: BackendChoice, threads: number | null): Promise<BackendInfo> {
    const caps = await measureCapabilities();
    return initBackend(backend, caps, threads ?? undefined);
  },

  /**
   * model.json and shards from the app's storage (cached by the app's worker already), read on this thread: the
   * bench worker starts no shard reader (the app's reload is what `load,first` times).
   */
  async loadFiles(modelUrl: string): Promise<{ fromCache: boolean; metadata: Vgg16Metadata }> {
    const url = new URL(modelUrl, self.location.href).href;
    files = await fetchModelFiles(url, {
      fetch: self.fetch.bind(self),
      caches: await modelStorage(cacheStorage()),
      emit: () => {},
    });
    return { fromCache: files.fromCache, metadata: files.metadata };
  },

  /** Our graph model from the same files, built and warmed up as the app's worker does (graph.ts). */
  async buildOurs(): Promise<{ bytes: number }> {
    const f = requireFiles();
    const before = tf.memory().numBytes;
    const model = await buildVgg16Model({ ...f, weightData: [...f.weightData] });
    await warmUp(model, f.metadata);
    ours = { model, metadata: f.metadata, bytes: tf.memory().numBytes - before };
    return { bytes: ours.bytes };
  },

  /** The tf.layers VGG16 with the model's weights (decoded with tf.io.decodeWeights), then one warm-up run. */
  async buildBaseline(): Promise<{ bytes: number }> {
    const f = requireFiles();
    const before = tf.memory().numBytes;
    const decoded = tf.io.decodeWeights(f.weightData, f.weightSpecs);
    let built: LayersVgg16;
    try {
      built = buildLayersVgg16(tf, f.metadata.includeTop, (layer) => {
        const kernel = decoded[`${layer}/kernel`];
        const bias = decoded[`${layer}/bias`];
        return kernel && bias ? { kernel, bias } : undefined;
      });
    } finally {
      tf.dispose(Object.values(decoded));
    }
    const model = built.classifier ?? built.convBase;
    const out = tf.tidy(() => model.predict(tf.zeros([1, INPUT_SIZE, INPUT_SIZE, 3])) as tf.Tensor);
    await out.data();
    out.dispose();
    baseline = { model: built, bytes: tf.memory().numBytes - before };
    return { bytes: baseline.bytes };
  },

  /** The models hold the weights now: the files' 553 MB of ArrayBuffers can go. */
  releaseFiles(): void {
    files = null;
  },

  /** One image: decode, predict, top-5 (as the app's classify does). Returns the top class. */
  async baselineClassify(image: Blob): Promise<number> {
    const { classifier } = requireBaseline();
    if (!classifier) throw new Error("the model has no top: nothing to classify");
    const x = await decodeAll([image]);
    const probabilities = tf.tidy(() => classifier.predict(x) as tf.Tensor);
    x.dispose();
    const values = await probabilities.data();
    probabilities.dispose();
    let best = 0;
    for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
    return best;
  },

  /** One batch through the conv base: decode, predict, read the features. Returns the number of values. */
  async baselineFeatures(images: readonly Blob[]): Promise<number> {
    const { convBase } = requireBaseline();
    const x = await decodeAll(images);
    const features = tf.tidy(() => convBase.predict(x) as tf.Tensor);
    x.dispose();
    const values = await features.data();
    features.dispose();
    return values.length;
  },

  /**
   * For each model built (ours, the baseline): the memory peak over one batch-1 classification of `image`, as
   * if it were the only model held (its own bytes + what the call added), then `reps` timed runs of inference
   * alone on the decoded image, the two models taking turns so a slow spell of the machine hits both.
   */
  async peaksAndInference(
    image: Blob,
    reps: number,
  ): Promise<{ ours: PeakAndTimes | null; baseline: PeakAndTimes | null }> {
    const d = await decodeForVgg16(image, "stretch");
    if (!d.ok) throw new Error(d.error);
    const x = tf.tensor4d(d.input, [1, INPUT_SIZE, INPUT_SIZE, 3]);
    const runs: { name: "ours" | "baseline"; bytes: number; once: () => Promise<void> }[] = [];
    if (ours) {
      const { model, metadata } = ours;
      runs.push({
        name: "ours",
        bytes: ours.bytes,
        once: async () => {
          await predictBatch(model, metadata, [d.input], 5);
        },
      });
    }
    if (baseline) {
      const model = baseline.model.classifier ?? baseline.model.convBase;
      runs.push({
        name: "baseline",
        bytes: baseline.bytes,
        once: async () => {
          const out = tf.tidy(() => model.predict(x) as tf.Tensor);
          await out.data();
          out.dispose();
        },
      });
    }
    try {
      const out: { ours: PeakAndTimes | null; baseline: PeakAndTimes | null } = {
        ours: null,
        baseline: null,
      };
      for (const run of runs) {
        const peak = await measurePeak(run.once);
        out[run.name] = {
          distinctBytes: run.bytes + (peak.distinctBytes - peak.restBytes),
          reportedBytes: run.bytes + (peak.reportedBytes - peak.restBytes),
          restBytes: run.bytes,
          inferenceMs: [],
        };
      }
      for (let i = 0; i < reps; i++) {
        for (const run of i % 2 === 0 ? runs : [...runs].reverse()) {
          const started = performance.now();
          await run.once();
          out[run.name]?.inferenceMs.push(performance.now() - started);
        }
      }
      return out;
    } finally {
      x.dispose();
    }
  },

  /** Frees both models and the files (the training parts need none of them). */
  disposeModels(): void {
    baseline?.model.both.dispose();
    baseline = null;
    ours?.model.dispose();
    ours = null;
    files = null;
  },

  /** Random non-negative features (like block5_pool's, after ReLU and pooling) and 0/1 labels, seeded. */
  prepareTraining(samples: number, seed: number): { bytes: number } {
    const random = mulberry32(seed);
    const x = new Float32Array(samples * FEATURE_SIZE);
    for (let i = 0; i < x.length; i++) {
      const r = random();
      x[i] = r < 0.6 ? 0 : (r - 0.6) * 5;
    }
    const y = new Float32Array(samples);
    for (let i = 0; i < samples; i++) y[i] = random() < 0.5 ? 0 : 1;
    training = { x: tf.tensor2d(x, [samples, FEATURE_SIZE]), y: tf.tensor2d(y, [samples, 1]) };
    return { bytes: x.byteLength + y.byteLength };
  },

  /**
   * Ours: buildHead + trainHead (the lesson's code). Whole epochs until `epochs`, but no epoch starts that
   * would end past the budget (judged by the slowest so far); when the first epoch alone outlasts the budget it
   * stops mid-epoch and s/epoch is projected from its batches.
   */
  async trainOurs(epochs: number, budgetS: number, progress: (line: string) => void): Promise<TrainFigures> {
    if (!training) throw new Error("prepareTraining() first");
    const config = { ...defaultHeadConfig(), epochs, seed: 1 };
    const model = buildHead(tf, config, 2);
    const batchesPerEpoch = Math.ceil(training.x.shape[0] / config.batchSize);
    const started = performance.now();
    let epochStart = started;
    const epochSeconds: number[] = [];
    const clock: BatchClock = newBatchClock();
    let stop = false;
    let finalLoss: number | null = null;
    const elapsed = () => (performance.now() - started) / 1000;
    try {
      const result = await trainHead(tf, model, { xTrain: training.x, yTrain: training.y }, config, {
        onBatchEnd: (logs) => {
          tick(clock, performance.now());
          finalLoss = logs.loss;
          if (clock.count % 25 === 0) progress(`train: ${clock.count} batches in ${elapsed().toFixed(1)} s`);
        },
        onEpochEnd: (epoch, logs) => {
          const now = performance.now();
          const seconds = (now - epochStart) / 1000;
          epochStart = now;
          epochSeconds.push(seconds);
          finalLoss = logs.loss;
          progress(`train epoch ${epoch + 1}: ${seconds.toFixed(2)} s, loss ${logs.loss.toFixed(4)}`);
          if (elapsed() + Math.max(...epochSeconds) > budgetS) stop = true;
        },
        shouldStop: () =>
          stop || (epochSeconds.length === 0 && clock.count >= MIN_BATCHES && elapsed() > budgetS),
      });
      return trainFigures(
        epochSeconds,
        clock,
        batchesPerEpoch,
        elapsed(),
        result.stopped && result.history.length < epochs,
        finalLoss,
        result.step.kind === "fit" ? "model.fit" : `${result.step.kind}, ${result.step.threads} thread(s)`,
      );
    } finally {
      model.optimizer?.dispose();
      model.dispose();
    }
  },

  /**
   * The baseline: the same head as a plain tf.sequential, model.fit with batch 20 and shuffle (TF.js'
   * defaults otherwise). Stops after the batch that crosses the budget; s/epoch is then projected.
   */
  async trainBaseline(
    epochs: number,
    budgetS: number,
    progress: (line: string) => void,
  ): Promise<TrainFigures> {
    if (!training) throw new Error("prepareTraining() first");
    const config = defaultHeadConfig();
    const model = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [...FEATURE_SHAPE] }),
        tf.layers.dense({ units: config.hiddenUnits, activation: "relu" }),
        tf.layers.dropout({ rate: config.dropout }),
        tf.layers.dense({ units: 1, activation: "sigmoid" }),
      ],
    });
    model.compile({
      optimizer: tf.train.rmsprop(config.learningRate, 0.9),
      loss: "binaryCrossentropy",
      metrics: ["accuracy"],
    });
    const n = training.x.shape[0];
    const x = training.x.reshape([n, ...FEATURE_SHAPE]);
    const batchesPerEpoch = Math.ceil(n / config.batchSize);
    const started = performance.now();
    let epochStart = started;
    const epochSeconds: number[] = [];
    const clock: BatchClock = newBatchClock();
    let stoppedByBudget = false;
    let finalLoss: number | null = null;
    const elapsed = () => (performance.now() - started) / 1000;
    try {
      await model.fit(x, training.y, {
        batchSize: config.batchSize,
        epochs,
        shuffle: true,
        verbose: 0,
        callbacks: {
          onBatchEnd: async (_batch, logs) => {
            tick(clock, performance.now());
            finalLoss = Number(logs?.loss);
            if (clock.count % 25 === 0)
              progress(`baseline train: ${clock.count} batches in ${elapsed().toFixed(1)} s`);
            if (elapsed() > budgetS && clock.count >= MIN_BATCHES && clock.count < epochs * batchesPerEpoch) {
              stoppedByBudget = true;
              model.stopTraining = true;
            }
          },
          onEpochEnd: async (epoch) => {
            const now = performance.now();
            // fit() calls onEpochEnd for a stopped, partial epoch too: only whole epochs count.
            if (clock.count >= (epoch + 1) * batchesPerEpoch) {
              epochSeconds.push((now - epochStart) / 1000);
              progress(`baseline train epoch ${epoch + 1}: ${((now - epochStart) / 1000).toFixed(1)} s`);
            }
            epochStart = now;
          },
        },
      });
      return trainFigures(
        epochSeconds,
        clock,
        batchesPerEpoch,
        elapsed(),
        stoppedByBudget,
        finalLoss,
        "model.fit",
      );
    } finally {
      x.dispose();
      model.optimizer?.dispose();
      model.dispose();
    }
  },

  disposeTraining(): void {
    if (training) tf.dispose([training.x, training.y]);
    training = null;
  },

  memory(): { numBytes: number; numTensors: number } {
    const m = tf.memory();
    return { numBytes: m.numBytes, numTensors: m.numTensors };
  },
};

export type BenchWorkerApi = typeof api;

Comlink.expose(api);
