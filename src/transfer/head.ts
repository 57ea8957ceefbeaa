/**
 * The small dense classifier trained on top of VGG16's frozen conv base
 * (Chollet, Deep Learning with Python, ch. 5, "feature extraction without
 * data augmentation"): Flatten → Dense(256, relu) → Dropout(0.5) → Dense(1,
 * sigmoid), RMSprop(2e-5), binary cross-entropy, batch 20, 20 epochs.
 *
 * Every function takes the `tf` namespace as its first argument, so the
 * worker decides the backend and tests can run on Node's WASM backend.
 */
import type * as tfjs from "@tensorflow/tfjs";
import {
  type FastHeadPlan,
  FastHeadTrainer,
  fastHeadPlan,
  type HeadUpdater,
  validationMetrics,
} from "./fast-head";
import { hashString, mulberry32, permutation } from "./random";

export type TF = typeof tfjs;
type LayersModel = tfjs.LayersModel;
type Tensor = tfjs.Tensor;

/** VGG16's conv base output for a 224×224 input: [7, 7, 512] = 25088 floats per image. */
export const FEATURE_SHAPE = [7, 7, 512] as const;
export const FEATURE_SIZE = 7 * 7 * 512;

export type OptimizerName = "rmsprop" | "adam" | "sgd";

export interface HeadConfig {
  epochs: number;
  batchSize: number;
  learningRate: number;
  hiddenUnits: number;
  /** Dropout rate in [0, 1). */
  dropout: number;
  optimizer: OptimizerName;
  /**
   * Seed for initial weights, batch order and dropout masks; null draws a
   * fresh seed per run (reported in the result, so any run can be repeated).
   */
  seed: number | null;
}

/** The book's values. A fresh object each call, so UI edits never leak into the defaults. */
export function defaultHeadConfig(): HeadConfig {
  return {
    epochs: 20,
    batchSize: 20,
    learningRate: 2e-5,
    hiddenUnits: 256,
    dropout: 0.5,
    optimizer: "rmsprop",
    seed: null,
  };
}

/** Human-readable problems with a config (empty when valid), for the settings form. */
export function validateHeadConfig(config: HeadConfig): string[] {
  const problems: string[] = [];
  const positiveInt = (v: number) => Number.isInteger(v) && v >= 1;
  if (!positiveInt(config.epochs)) problems.push("Epochs must be a whole number ≥ 1.");
  if (!positiveInt(config.batchSize)) problems.push("Batch size must be a whole number ≥ 1.");
  if (!positiveInt(config.hiddenUnits)) problems.push("Hidden units must be a whole number ≥ 1.");
  if (!(Number.isFinite(config.learningRate) && config.learningRate > 0)) {
    problems.push("Learning rate must be a number > 0.");
  }
  if (!(config.dropout >= 0 && config.dropout < 1)) problems.push("Dropout must be ≥ 0 and < 1.");
  if (!["rmsprop", "adam", "sgd"].includes(config.optimizer)) {
    problems.push(`Unknown optimizer "${config.optimizer}".`);
  }
  if (config.seed !== null && !Number.isInteger(config.seed)) problems.push("Seed must be a whole number.");
  return problems;
}

function assertValid(config: HeadConfig): void {
  const problems = validateHeadConfig(config);
  if (problems.length > 0) throw new RangeError(problems.join(" "));
}

/** Two classes → one sigmoid unit (as in the book); three or more → softmax. */
export function isBinary(numClasses: number): boolean {
  return numClasses === 2;
}

function outputUnits(model: LayersModel): number {
  const shape = model.outputs[0]?.shape;
  return shape?.[shape.length - 1] ?? 1;
}

function makeOptimizer(tf: TF, config: HeadConfig): tfjs.Optimizer {
  switch (config.optimizer) {
    case "adam":
      return tf.train.adam(config.learningRate);
    case "sgd":
      return tf.train.sgd(config.learningRate);
    default:
      // Keras RMSprop defaults: rho 0.9, no momentum.
      return tf.train.rmsprop(config.learningRate, 0.9);
  }
}

/** What each model was last compiled with, so continuing keeps RMSprop's running averages. */
const compiledWith = new WeakMap<LayersModel, { optimizer: OptimizerName; learningRate: number }>();

/**
 * (Re)compiles with a fresh optimizer. Only called when the optimizer or the
 * learning rate changed, or after divergence: recompiling discards the
 * optimizer's state, which is what "continue" must otherwise keep.
 */
export function compileHead(tf: TF, model: LayersModel, config: HeadConfig): void {
  const binary = outputUnits(model) === 1;
  model.optimizer?.dispose();
  model.compile({
    optimizer: makeOptimizer(tf, config),
    loss: binary ? "binaryCrossentropy" : "categoricalCrossentropy",
    metrics: ["accuracy"],
  });
  compiledWith.set(model, { optimizer: config.optimizer, learningRate: config.learningRate });
}

function ensureCompiled(tf: TF, model: LayersModel, config: HeadConfig): void {
  const current = compiledWith.get(model);
  if (!current || current.optimizer !== config.optimizer || current.learningRate !== config.learningRate) {
    compileHead(tf, model, config);
  }
}

/**
 * Builds and compiles the head. Its input is the conv base's [7, 7, 512]
 * output, flattened by the first layer exactly as in the book (TF.js' Flatten
 * rejects rank-2 input, and keeping the 4-D input lets the exported head sit
 * right after the conv base). Training and evaluation take flat [N, 25088]
 * features, as the cache stores them, and reshape them for free (no copy).
 * With a seed, each kernel gets its own derived seed: the same seed always
 * gives the same initial weights.
 */
export function buildHead(
  tf: TF,
  config: HeadConfig,
  numClasses: number,
  featureShape: readonly number[] = FEATURE_SHAPE,
): tfjs.Sequential {
  assertValid(config);
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new RangeError(`A classifier needs at least 2 classes, got ${numClasses}.`);
  }
  const binary = isBinary(numClasses);
  const kernel = (stream: string) =>
    config.seed === null
      ? "glorotUniform"
      : tf.initializers.glorotUniform({ seed: hashString(stream, config.seed) });
  const model = tf.sequential({
    name: "transfer_head",
    layers: [
      tf.layers.flatten({ inputShape: [...featureShape], name: "flatten" }),
      tf.layers.dense({
        units: config.hiddenUnits,
        activation: "relu",
        kernelInitializer: kernel("dense_hidden"),
        name: "dense_hidden",
      }),
      tf.layers.dropout({ rate: config.dropout, name: "dropout" }),
      tf.layers.dense({
        units: binary ? 1 : numClasses,
        activation: binary ? "sigmoid" : "softmax",
        kernelInitializer: kernel("predictions"),
        name: "predictions",
      }),
    ],
  });
  compileHead(tf, model, config);
  return model;
}

/** A view of flat [N, F] features in the model's input shape (reshape shares the data; dispose the view only). */
function asModelInput(tf: TF, model: LayersModel, x: Tensor): Tensor {
  const shape = model.inputs[0]?.shape ?? [null, x.shape[1] ?? 0];
  return shape.length === x.rank
    ? tf.clone(x)
    : tf.reshape(x, [x.shape[0] ?? 0, ...shape.slice(1).map((d) => d ?? -1)]);
}

/** Labels as the loss wants them: [N, 1] of 0/1 for two classes, one-hot [N, C] otherwise. */
export function labelsTensor(tf: TF, labels: ArrayLike<number>, numClasses: number): tfjs.Tensor2D {
  if (isBinary(numClasses)) return tf.tensor2d(Float32Array.from(labels), [labels.length, 1]);
  return tf.tidy(() =>
    tf.oneHot(tf.tensor1d(Int32Array.from(labels), "int32"), numClasses).toFloat(),
  ) as tfjs.Tensor2D;
}

export interface HeadData {
  xTrain: tfjs.Tensor2D;
  yTrain: tfjs.Tensor2D;
  xVal?: tfjs.Tensor2D;
  yVal?: tfjs.Tensor2D;
}

/** One completed epoch. `epoch` counts from 1 (what the chart's x axis shows). */
export interface EpochLogs {
  epoch: number;
  loss: number;
  acc: number;
  val_loss: number | null;
  val_acc: number | null;
}

export interface BatchLogs {
  /** 0-based epoch index, as Keras' callbacks count. */
  epoch: number;
  /** 0-based batch index within the epoch. */
  batch: number;
  batchesPerEpoch: number;
  loss: number;
  acc: number;
}

export interface TrainCallbacks {
  onBatchEnd?(logs: BatchLogs): void | Promise<void>;
  /** `epoch` is the 0-based index (Keras' convention); logs.epoch is 1-based. */
  onEpochEnd?(epoch: number, logs: EpochLogs): void | Promise<void>;
  /** Polled after every batch; true stops at the end of that batch. */
  shouldStop?(): boolean;
}

export interface TrainResult {
  /** All completed epochs, including those of earlier runs passed in `resume`. */
  history: EpochLogs[];
  /** True when shouldStop() ended the run before config.epochs. */
  stopped: boolean;
  /** The seed actually used (config.seed, or the one drawn for this run). */
  seed: number;
  /** Which training step ran: model.fit, or the hand-written one's updater and thread count. */
  step: TrainStep;
}

export type TrainStep = { kind: "fit" } | { kind: HeadUpdater; threads: number };

export type HeadTrainingErrorKind =
  /** Checked before training: NaN/Infinity in features or labels. */
  | "non-finite-features"
  | "non-finite-loss"
  | "non-finite-validation-loss"
  /**
   * Weights went NaN/Infinity although the loss looked finite: on the WASM
   * backend ReLU maps NaN to 0, so a blown-up hidden layer shows up as a
   * constant 0.5 prediction and loss ln 2, not as a NaN loss.
   */
  | "non-finite-weights";

/**
 * Training hit NaN or ±Infinity. The model's weights have been restored to the
 * end of the last good epoch and its optimizer reset, so the learner can lower
 * the learning rate and continue; `history` holds the good epochs.
 */
export class HeadTrainingError extends Error {
  override readonly name = "HeadTrainingError";
  constructor(
    readonly kind: HeadTrainingErrorKind,
    /** What happened and what to do, in the lesson's words. */
    readonly explanation: string,
    /** 0-based epoch and batch where it happened (batch -1: during validation). */
    readonly at: { epoch: number; batch: number },
    readonly loss: number,
    /** Likely cause: bad input data, or an optimisation that blew up. */
    readonly likelyCause: "non-finite-features" | "diverged",
    readonly history: EpochLogs[],
  ) {
    super(explanation);
  }
}

async function allFinite(tf: TF, tensors: (Tensor | undefined)[]): Promise<boolean> {
  for (const t of tensors) {
    if (!t) continue;
    // A sum is NaN/±Infinity iff some element is (real features are far from float32 overflow).
    const sum = tf.sum(t);
    const value = (await sum.data())[0] ?? Number.NaN;
    sum.dispose();
    if (!Number.isFinite(value)) return false;
  }
  return true;
}

function explain(
  kind: HeadTrainingErrorKind,
  cause: "non-finite-features" | "diverged",
  at: { epoch: number; batch: number },
  loss: number,
  config: HeadConfig,
  goodEpochs: number,
  trained = true,
): string {
  const where =
    at.batch < 0
      ? `while validating after epoch ${at.epoch + 1}`
      : `at epoch ${at.epoch + 1}, batch ${at.batch + 1}`;
  const what =
    kind === "non-finite-validation-loss"
      ? "The validation loss"
      : kind === "non-finite-weights"
        ? "The weights"
        : kind === "non-finite-features"
          ? "The input"
          : "The loss";
  const restored = !trained
    ? "Nothing was trained."
    : goodEpochs > 0
      ? `The weights were put back as they were after epoch ${goodEpochs}.`
      : "The weights were put back to their initial values.";
  if (cause === "non-finite-features") {
    if (kind === "non-finite-features") {
      return (
        "Training did not start: some features or labels are NaN or Infinity, and one such number turns " +
        "every later result into NaN. A cached feature is probably corrupt: clear the feature cache and " +
        `extract the features again. ${restored}`
      );
    }
    return (
      `Training stopped ${where}: ${what.toLowerCase()} became ${loss} because some features or labels are ` +
      "NaN or Infinity, and one such number turns every later result into NaN. A cached feature is probably " +
      `corrupt: clear the feature cache and extract the features again. ${restored}`
    );
  }
  return (
    `Training stopped ${where}: ${what.toLowerCase()} became ${loss}. The optimisation diverged — each update ` +
    `overshot until the numbers overflowed — which usually means the learning rate (${config.learningRate}) ` +
    `is too high for ${config.optimizer}. ${restored} Lower the learning rate and continue, or start over.`
  );
}

type Failure = { kind: HeadTrainingErrorKind; batch: number; loss: number };

/** What one epoch gave, whichever loop ran it. */
interface EpochOutcome {
  failure: Failure | null;
  interrupted: boolean;
  loss: number | null;
  acc: number | null;
  valLoss: number | null;
  valAcc: number | null;
}

export interface TrainOptions {
  /**
   * "auto" (the default): the hand-written step of fast-head.ts for the
   * lesson's architecture, model.fit for any other model. "fit": always
   * model.fit (the reference the fast step is tested against).
   */
  loop?: "auto" | "fit";
}

/** How long training may keep the thread before letting messages (a stop request) through, as model.fit does. */
const YIELD_EVERY_MS = 125;

/**
 * Lets queued tasks (a stop message) run. A message to ourselves, not
 * tf.nextFrame(): that waits for an animation frame (up to 16 ms, in a
 * worker too), and nested setTimeout(0)s are clamped to 4 ms.
 */
function yieldToEventLoop(): Promise<void> {
  if (typeof MessageChannel === "undefined") return new Promise((resolve) => setTimeout(resolve, 0));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/**
 * Trains the head, one epoch at a time so we control the batch order: each
 * epoch's permutation and each batch's dropout mask come from
 * (seed, epoch, batch), so a seeded run is repeatable, and a run stopped at an
 * epoch boundary and continued is identical to an uninterrupted one.
 *
 * The lesson's architecture trains with the hand-written step of
 * fast-head.ts (same maths as model.fit, 10–13× faster on WASM: ~4 s
 * instead of ~47 s per epoch of 2000 samples on 2 threads; batches taken
 * straight from xTrain); any other model with model.fit, one call per epoch
 * on a shuffled copy of xTrain.
 *
 * Continue: pass the previous result's history as `resume.history`; training
 * starts at epoch history.length (Keras' initialEpoch) and runs up to
 * config.epochs in total, keeping the optimizer's state unless the optimizer
 * or learning rate changed. Start over: build a new head.
 *
 * Stopping mid-epoch keeps that epoch's weight updates but not its entry in
 * the history (it has no validation metrics); continuing redoes the epoch.
 */
export async function trainHead(
  tf: TF,
  model: LayersModel,
  data: HeadData,
  config: HeadConfig,
  callbacks: TrainCallbacks = {},
  resume: { history: readonly EpochLogs[] } = { history: [] },
  options: TrainOptions = {},
): Promise<TrainResult> {
  assertValid(config);
  const n = data.xTrain.shape[0];
  if (n === 0 || data.yTrain.shape[0] !== n) {
    throw new RangeError(
      `xTrain has ${n} rows and yTrain ${data.yTrain.shape[0]}; they must match and be > 0.`,
    );
  }
  if ((data.xVal === undefined) !== (data.yVal === undefined)) {
    throw new RangeError("Give both xVal and yVal, or neither.");
  }
  const xVal =
    data.xVal && data.yVal && data.xVal.shape[0] > 0 ? asModelInput(tf, model, data.xVal) : undefined;
  const validationData: [Tensor, Tensor] | undefined = xVal && data.yVal ? [xVal, data.yVal] : undefined;
  ensureCompiled(tf, model, config);
  if (!(await allFinite(tf, [data.xTrain, data.yTrain, data.xVal, data.yVal]))) {
    xVal?.dispose();
    const at = { epoch: resume.history.length, batch: 0 };
    throw new HeadTrainingError(
      "non-finite-features",
      explain(
        "non-finite-features",
        "non-finite-features",
        at,
        Number.NaN,
        config,
        resume.history.length,
        false,
      ),
      at,
      Number.NaN,
      "non-finite-features",
      [...resume.history],
    );
  }

  const seed = config.seed ?? Math.floor(Math.random() * 2 ** 31);
  const history = [...resume.history];
  const batchesPerEpoch = Math.ceil(n / config.batchSize);
  const plan = options.loop === "fit" || history.length >= config.epochs ? null : fastHeadPlan(tf, model);
  let fast: FastHeadTrainer | null = null;
  // Whether the fast trainer's weights and optimizer state still have to go back into the model.
  let pending = false;

  let snapshot: Tensor[] | null = null;
  const dispose = () => {
    for (const t of snapshot ?? []) t.dispose();
    snapshot = null;
  };
  try {
    if (plan) {
      fast = await FastHeadTrainer.start(tf, model, plan, config, data.xTrain, data.yTrain);
      pending = true;
    }
    for (let epoch = history.length; epoch < config.epochs; epoch++) {
      if (callbacks.shouldStop?.()) return { history, stopped: true, seed, step: stepOf(fast) };
      dispose();
      snapshot = model.getWeights().map((w) => tf.clone(w));

      const order = permutation(n, mulberry32(hashString(`shuffle:${epoch}`, seed)));
      let outcome: EpochOutcome;
      try {
        outcome =
          fast && plan
            ? await fastEpoch(tf, fast, plan, data, order, epoch, seed, config, callbacks)
            : await fitEpoch(tf, model, data, validationData, order, epoch, seed, config, callbacks);
      } catch (error) {
        if (fast && snapshot) {
          // A step that threw (say, its helper thread failed) may have updated half of W1: the model goes back
          // to this epoch's start, with fresh optimizer state, as after a diverged epoch.
          pending = false;
          model.setWeights(snapshot);
          compileHead(tf, model, config);
        }
        throw error;
      }
      let failure = outcome.failure;
      const { interrupted } = outcome;
      if (!failure && !interrupted && validationData && !Number.isFinite(outcome.valLoss)) {
        failure = { kind: "non-finite-validation-loss", batch: -1, loss: outcome.valLoss ?? Number.NaN };
      }
      if (!failure && !interrupted && !(await allFinite(tf, model.getWeights()))) {
        failure = {
          kind: "non-finite-weights",
          batch: batchesPerEpoch - 1,
          loss: outcome.loss ?? Number.NaN,
        };
      }
      if (failure) {
        const f: Failure = failure;
        const finite = await allFinite(tf, [
          data.xTrain,
          data.yTrain,
          ...(f.kind === "non-finite-validation-loss" ? [data.xVal, data.yVal] : []),
        ]);
        const cause = finite ? "diverged" : "non-finite-features";
        pending = false;
        model.setWeights(snapshot);
        // RMSprop/Adam accumulators are NaN now too: start them afresh.
        compileHead(tf, model, config);
        const at = { epoch, batch: f.batch };
        throw new HeadTrainingError(
          f.kind,
          explain(f.kind, cause, at, f.loss, config, history.length),
          at,
          f.loss,
          cause,
          history,
        );
      }
      if (interrupted) return { history, stopped: true, seed, step: stepOf(fast) };
      const logs: EpochLogs = {
        epoch: epoch + 1,
        loss: outcome.loss ?? Number.NaN,
        acc: outcome.acc ?? Number.NaN,
        val_loss: outcome.valLoss,
        val_acc: outcome.valAcc,
      };
      history.push(logs);
      await callbacks.onEpochEnd?.(epoch, logs);
    }
    return { history, stopped: false, seed, step: stepOf(fast) };
  } finally {
    if (fast) {
      try {
        if (pending) {
          fast.writeBack();
          await fast.saveOptimizerState();
        }
      } finally {
        fast.dispose();
      }
    }
    dispose();
    xVal?.dispose();
  }
}

const stepOf = (fast: FastHeadTrainer | null): TrainStep =>
  fast ? { kind: fast.updater, threads: fast.threads } : { kind: "fit" };

/** One epoch with the hand-written step; the model's kernel is up to date when it returns. */
async function fastEpoch(
  tf: TF,
  fast: FastHeadTrainer,
  plan: FastHeadPlan,
  data: HeadData,
  order: Int32Array,
  epoch: number,
  seed: number,
  config: HeadConfig,
  callbacks: TrainCallbacks,
): Promise<EpochOutcome> {
  const n = order.length;
  const batchesPerEpoch = Math.ceil(n / config.batchSize);
  let lossSum = 0;
  let accSum = 0;
  let seen = 0;
  let lastYield = performance.now();
  let interrupted = false;
  for (let batch = 0; batch < batchesPerEpoch; batch++) {
    const rows = order.subarray(batch * config.batchSize, Math.min(n, (batch + 1) * config.batchSize));
    const { loss, acc } = await fast.step(rows, hashString(`dropout:${epoch}:${batch}`, seed));
    if (!Number.isFinite(loss)) {
      const failure: Failure = { kind: "non-finite-loss", batch, loss };
      return { failure, interrupted: false, loss: null, acc: null, valLoss: null, valAcc: null };
    }
    lossSum += loss * rows.length;
    accSum += acc * rows.length;
    seen += rows.length;
    await callbacks.onBatchEnd?.({ epoch, batch, batchesPerEpoch, loss, acc });
    if (callbacks.shouldStop?.()) {
      interrupted = true;
      break;
    }
    if (performance.now() - lastYield > YIELD_EVERY_MS) {
      await yieldToEventLoop();
      lastYield = performance.now();
    }
  }
  fast.writeBack();
  const { xVal, yVal } = data;
  const val =
    !interrupted && xVal && yVal && xVal.shape[0] > 0 ? await validationMetrics(tf, plan, xVal, yVal) : null;
  return {
    failure: null,
    interrupted,
    // Keras averages the batch losses weighted by batch size.
    loss: lossSum / seen,
    acc: accSum / seen,
    valLoss: val?.loss ?? null,
    valAcc: val?.acc ?? null,
  };
}

/** One epoch with model.fit on a shuffled copy of the training set. */
async function fitEpoch(
  tf: TF,
  model: LayersModel,
  data: HeadData,
  validationData: [Tensor, Tensor] | undefined,
  order: Int32Array,
  epoch: number,
  seed: number,
  config: HeadConfig,
  callbacks: TrainCallbacks,
): Promise<EpochOutcome> {
  const batchesPerEpoch = Math.ceil(order.length / config.batchSize);
  // Dropout reads its `seed` on every call; a fixed seed would reuse one mask for every batch.
  const dropoutLayers = model.layers.filter((l) => l.getClassName() === "Dropout") as unknown as {
    seed?: number;
  }[];
  const [x, y] = tf.tidy(() => {
    const idx = tf.tensor1d(order, "int32");
    return [asModelInput(tf, model, tf.gather(data.xTrain, idx)), tf.gather(data.yTrain, idx)];
  });
  let failure: Failure | null = null;
  let interrupted = false;
  let fitted: tfjs.History;
  try {
    fitted = await model.fit(x, y, {
      batchSize: config.batchSize,
      epochs: epoch + 1,
      initialEpoch: epoch,
      shuffle: false,
      validationData,
      verbose: 0,
      callbacks: {
        onBatchBegin: async (batch) => {
          const batchSeed = hashString(`dropout:${epoch}:${batch}`, seed);
          for (const layer of dropoutLayers) layer.seed = batchSeed;
        },
        onBatchEnd: async (batch, logs) => {
          const loss = Number(logs?.loss);
          if (!Number.isFinite(loss)) {
            failure = { kind: "non-finite-loss", batch, loss };
            model.stopTraining = true;
            return;
          }
          await callbacks.onBatchEnd?.({ epoch, batch, batchesPerEpoch, loss, acc: Number(logs?.acc) });
          if (callbacks.shouldStop?.()) {
            interrupted = true;
            model.stopTraining = true;
          }
        },
      },
    });
  } finally {
    x.dispose();
    y.dispose();
  }
  const last = (key: string): number | null => {
    const values = fitted.history[key];
    const value = values?.[values.length - 1];
    return value === undefined ? null : Number(value);
  };
  return {
    failure,
    interrupted,
    loss: last("loss"),
    acc: last("acc"),
    valLoss: last("val_loss"),
    valAcc: last("val_acc"),
  };
}

export interface Evaluation {
  accuracy: number;
  /** Mean cross-entropy, computed as Keras does (probabilities clipped to [1e-7, 1 − 1e-7]). */
  loss: number;
  /** confusion[trueClass][predictedClass] = count. */
  confusion: number[][];
  /** Two classes: P(class 1) per sample (length N). More: row-major probabilities [N × C]. */
  predictions: Float32Array;
  predictedLabels: Int32Array;
}

const EPSILON = 1e-7;

/** Evaluates on a split (normally test): accuracy, loss, confusion matrix, predictions. */
export async function evaluateHead(
  tf: TF,
  model: LayersModel,
  x: tfjs.Tensor2D,
  labels: ArrayLike<number>,
  numClasses: number,
  batchSize = 64,
): Promise<Evaluation> {
  const n = x.shape[0];
  if (labels.length !== n) throw new RangeError(`${n} feature rows but ${labels.length} labels.`);
  const input = asModelInput(tf, model, x);
  const output = model.predict(input, { batchSize }) as Tensor;
  const predictions = (await output.data()) as Float32Array;
  output.dispose();
  input.dispose();
  const binary = outputUnits(model) === 1;
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  const predictedLabels = new Int32Array(n);
  let correct = 0;
  let lossSum = 0;
  const clip = (p: number) => Math.min(1 - EPSILON, Math.max(EPSILON, p));
  for (let i = 0; i < n; i++) {
    const truth = labels[i] as number;
    let predicted: number;
    if (binary) {
      const p = predictions[i] as number;
      predicted = p > 0.5 ? 1 : 0;
      lossSum -= truth === 1 ? Math.log(clip(p)) : Math.log(1 - clip(p));
    } else {
      predicted = 0;
      let sum = 0;
      for (let c = 0; c < numClasses; c++) {
        const p = predictions[i * numClasses + c] as number;
        sum += p;
        if (p > (predictions[i * numClasses + predicted] as number)) predicted = c;
      }
      lossSum -= Math.log(clip((predictions[i * numClasses + truth] as number) / sum));
    }
    predictedLabels[i] = predicted;
    if (predicted === truth) correct++;
    const row = confusion[truth];
    if (row) row[predicted] = (row[predicted] ?? 0) + 1;
  }
  return {
    accuracy: n ? correct / n : Number.NaN,
    loss: n ? lossSum / n : Number.NaN,
    confusion,
    predictions,
    predictedLabels,
  };
}

/** What travels with an exported head, so an import knows its classes and origin. */
export interface HeadMetadata {
  classes: string[];
  config: HeadConfig;
  /** Identity of the conv base the features came from: a head only fits its own base's features. */
  modelId?: string;
  preprocessing?: "stretch" | "center-crop";
  history?: EpochLogs[];
}

/**
 * Serialises the head as a TF.js layers model (model.json topology + weights)
 * in memory; the UI can zip or download it, and tf.loadLayersModel reads it.
 * The optimizer state is not included (TF.js' default), so a re-imported head
 * continues with a fresh optimizer.
 */
export async function exportHead(
  tf: TF,
  model: LayersModel,
  meta?: HeadMetadata,
): Promise<tfjs.io.ModelArtifacts> {
  let captured: tfjs.io.ModelArtifacts | null = null;
  if (meta) model.setUserDefinedMetadata({ transferHead: meta as unknown as Record<string, unknown> });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
  if (!captured) throw new Error("model.save did not produce artifacts");
  return captured;
}

/** Reads the lesson's metadata from exported artifacts (undefined for a foreign model). */
export function headMetadata(artifacts: tfjs.io.ModelArtifacts): HeadMetadata | undefined {
  const meta = (artifacts.userDefinedMetadata as { transferHead?: HeadMetadata } | undefined)?.transferHead;
  return meta;
}

/** Loads an exported head and compiles it (with `config`, else the exported config, else the defaults). */
export async function importHead(
  tf: TF,
  artifacts: tfjs.io.ModelArtifacts,
  config?: HeadConfig,
): Promise<{ model: LayersModel; meta: HeadMetadata | undefined }> {
  const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  const meta = headMetadata(artifacts);
  compileHead(tf, model, config ?? meta?.config ?? defaultHeadConfig());
  return { model, meta };
}
