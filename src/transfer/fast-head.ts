/**
 * A hand-written training step for the head (Flatten → Dense(relu) →
 * Dropout → Dense(sigmoid|softmax)) with the same maths as model.fit, but
 * arranged so TF.js' WASM backend does no needless work. Measured on 2 vCPUs
 * (one model.fit step ≈ 550 ms), the time went to:
 *
 * - tf.gather of the batch (and of the whole shuffled set once per epoch):
 *   WASM's gather is an element-by-element loop (~30 ms per batch);
 * - the forward matMul(x, W1): TF.js WASM hands its B operand (the 25 MB
 *   kernel) to XNNPACK, which packs (copies and transposes) it whenever the
 *   tensor is new, i.e. after every update (~110 ms of ~125);
 * - the kernel gradient matMul(xᵀ, δ): any transposed operand sends TF.js
 *   WASM to a naive single-threaded loop instead of XNNPACK (~270 ms);
 * - RMSprop's ten element-wise passes over 25 MB (~130 ms).
 *
 * On WASM with RMSprop (the lesson's optimizer), batches of ≤ 32, hidden
 * units in multiples of 32 and features in multiples of 256, the step runs
 * W1's part in hand-written SIMD instead (sparse-head-kernels.ts): the
 * batch's non-zero values are listed straight out of the resident training
 * tensor, x·W1 and the kernel gradient skip the features that are zero (60 %
 * of the benchmark's; VGG16's pooled ReLU outputs are sparse too), and W1's
 * RMSprop update is fused into the gradient pass, row by row, so the 25 MB
 * gradient is never stored. With TF.js' threaded build (shared memory) a
 * helper worker does half of each kernel (sparse-head-helper.worker.ts). W1
 * and its mean square are kept in the kernels' tiled layout there (toTiles),
 * and converted back at each epoch's end.
 *
 * Otherwise, the big kernel is kept transposed (W1t, [H, F]) and only ever
 * used as XNNPACK's A operand, which is not packed:
 *   forward   z1ᵀ = W1t · xbᵀ            matMul(W1t, transpose(xb))
 *   gradient  ∂W1t = δᵀ · xb             matMul(transpose(δ), xb)
 * Both B operands are the small batch (20 × F). RMSprop's update of W1t is
 * one SIMD pass on WASM (wasm-kernels.ts), tf ops elsewhere; other optimizers
 * use a private TF.js optimizer of the same kind. Batches are copied out of
 * the one resident training tensor.
 *
 * Either way there is no gradient for the frozen input, and the small rest of
 * the network (relu, dropout, Dense 2, the loss) goes through tf.grads with
 * the very ops the layers use; except in the sparse step of the lesson's
 * binary head (one sigmoid unit, binaryCrossentropy, binaryAccuracy), where
 * that rest, and RMSprop for b1, W2, b2, is plain JavaScript between the two
 * kernels (binary-tail.ts): the same maths, the same dropout masks, without
 * ~100 tiny tensor ops per step. b1, W2 and b2 then live in the trainer
 * during a run, like W1.
 *
 * Differences from model.fit are float32 rounding only: the products' sums
 * run in another order (and, with relaxed SIMD, as fused multiply-adds), and
 * the epoch loss is averaged in double precision. Dropout masks, shuffling, initial weights,
 * loss and metrics functions are the same.
 *
 * At rest the LayersModel owns everything: its kernel is rewritten from W1
 * at each epoch's end (and when training stops), and the optimizer's state
 * goes back into model.optimizer (in the model's layout), so
 * continuing, model.fit, saving and compileHead's reset all behave as before.
 */
import type * as tfjs from "@tensorflow/tfjs";
import { HeapHelper } from "../wasm/heap-helper";
import { type WasmInternals, wasmInternals } from "../wasm/tfjs-heap";
import { BinaryHeadTail, JsRmsprop } from "./binary-tail";
import type { HeadConfig, OptimizerName } from "./head";
import {
  runSparseHeadJob,
  SPARSE_HEAD_JOBS,
  SPARSE_HEAD_MAX_BATCH,
  SPARSE_HEAD_TILE_ROWS,
  SPARSE_HEAD_UNIT_GROUP,
  type SparseHeadJob,
  type SparseHeadKernels,
  sparseHeadKernels,
  sparseHeadScratchBytes,
} from "./sparse-head-kernels";
import { copyRows, type RmspropKernel, rmspropInPlace, rmspropKernel } from "./wasm-kernels";

type TF = typeof tfjs;
type Tensor = tfjs.Tensor;
type LossOrMetric = (yTrue: Tensor, yPred: Tensor) => Tensor;

interface LayerVariableLike {
  read(): tfjs.Variable;
  write(value: Tensor): unknown;
}

interface LayerLike {
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  trainable: boolean;
  weights: LayerVariableLike[];
}

/** What the fast step needs from a head it recognises. */
export interface FastHeadPlan {
  kernel: LayerVariableLike;
  hiddenBias: tfjs.Variable;
  outputKernel: tfjs.Variable;
  outputBias: tfjs.Variable;
  dropoutRate: number;
  activation: "sigmoid" | "softmax";
  loss: LossOrMetric;
  accuracy: LossOrMetric;
  /** One sigmoid unit, binaryCrossentropy and binaryAccuracy: what the sparse step's JS tail computes. */
  binary: boolean;
}

const noExtras = (config: Record<string, unknown>) =>
  config.useBias === true &&
  config.kernelRegularizer == null &&
  config.biasRegularizer == null &&
  config.activityRegularizer == null &&
  config.kernelConstraint == null &&
  config.biasConstraint == null;

/**
 * The plan for a compiled head of exactly the lesson's architecture (all
 * layers trainable, no regularisers or constraints, one loss and one metric),
 * or null: other models train with model.fit.
 */
export function fastHeadPlan(tf: TF, model: tfjs.LayersModel): FastHeadPlan | null {
  const layers = model.layers as unknown as LayerLike[];
  const [flatten, hidden, dropout, output] = layers;
  if (layers.length !== 4 || !flatten || !hidden || !dropout || !output) return null;
  const names = layers.map((l) => l.getClassName()).join(",");
  if (names !== "Flatten,Dense,Dropout,Dense" || !layers.every((l) => l.trainable)) return null;
  const hiddenConfig = hidden.getConfig();
  const outputConfig = output.getConfig();
  const dropoutConfig = dropout.getConfig();
  const activation = outputConfig.activation;
  if (hiddenConfig.activation !== "relu" || !noExtras(hiddenConfig) || !noExtras(outputConfig)) return null;
  if (activation !== "sigmoid" && activation !== "softmax") return null;
  if (dropoutConfig.noiseShape != null || typeof dropoutConfig.rate !== "number") return null;
  // The very functions model.fit uses (compile resolves the loss name to these; a Sequential does not
  // expose its inner model's lossFunctions, hence the lookup by name).
  const loss =
    model.loss === "binaryCrossentropy"
      ? tf.metrics.binaryCrossentropy
      : model.loss === "categoricalCrossentropy"
        ? tf.metrics.categoricalCrossentropy
        : null;
  const metrics = model.metricsTensors ?? [];
  const accuracy = metrics[0]?.[0];
  if (!loss || metrics.length !== 1 || !accuracy) return null;
  const [kernel, hiddenBias] = hidden.weights;
  const [outputKernel, outputBias] = output.weights;
  if (!kernel || !hiddenBias || !outputKernel || !outputBias) return null;
  // compile resolves "accuracy" to binaryAccuracy whenever the loss is binaryCrossentropy.
  const metricList = Array.isArray(model.metrics) ? model.metrics : [model.metrics];
  const [metric] = metricList;
  const binaryAccuracy =
    metricList.length === 1 &&
    (metric === tf.metrics.binaryAccuracy ||
      (model.loss === "binaryCrossentropy" && (metric === "accuracy" || metric === "acc")));
  const binary =
    activation === "sigmoid" &&
    outputKernel.read().shape[1] === 1 &&
    model.loss === "binaryCrossentropy" &&
    binaryAccuracy;
  return {
    kernel,
    hiddenBias: hiddenBias.read(),
    outputKernel: outputKernel.read(),
    outputBias: outputBias.read(),
    dropoutRate: dropoutConfig.rate,
    activation,
    loss: loss as LossOrMetric,
    accuracy: accuracy as LossOrMetric,
    binary,
  };
}

interface NamedTensor {
  name: string;
  tensor: Tensor;
}

/** How the four parameters' optimizer state is updated during a run. */
interface UpdateRule {
  /** Gradients in [W1, b1, W2, b2] order (W1's in the trainer's layout; null when a kernel already updated W1). */
  apply(grads: readonly (Tensor | null)[]): void;
  /** Moves the state into model.optimizer (W1 layout); only after a successful or stopped run. */
  save(): Promise<void>;
  dispose(): void;
}

function makePrivateOptimizer(tf: TF, optimizer: OptimizerName, learningRate: number): tfjs.Optimizer {
  // Must match head.ts' makeOptimizer: the state moves between the two.
  switch (optimizer) {
    case "adam":
      return tf.train.adam(learningRate);
    case "sgd":
      return tf.train.sgd(learningRate);
    default:
      return tf.train.rmsprop(learningRate, 0.9);
  }
}

/** Renames a state slot of `from` to `to` (TF.js names slots "<variable>/<kind>"). */
const renamed = (name: string, from: string, to: string) =>
  name.startsWith(`${from}/`) ? `${to}/${name.slice(from.length + 1)}` : name;

/**
 * Replaces model.optimizer's state with `slots` (after the iterations
 * entry), disposing the tensors it held before.
 */
async function replaceModelState(
  model: tfjs.LayersModel,
  iterations: number,
  slots: NamedTensor[],
  tf: TF,
): Promise<void> {
  const optimizer = model.optimizer;
  const old = await optimizer.getWeights();
  const iter = { name: "iter", tensor: tf.scalar(iterations, "int32") };
  await optimizer.setWeights([iter, ...slots]);
  iter.tensor.dispose();
  for (const w of old) w.tensor.dispose();
}

/** Any TF.js optimizer, run privately on [W1t, b1, W2, b2]. */
async function genericRule(
  tf: TF,
  model: tfjs.LayersModel,
  plan: FastHeadPlan,
  config: HeadConfig,
  w1t: tfjs.Variable,
): Promise<UpdateRule> {
  const optimizer = makePrivateOptimizer(tf, config.optimizer, config.learningRate);
  const kernelName = plan.kernel.read().name;
  const saved = await model.optimizer.getWeights();
  const [iter, ...slots] = saved;
  const temporaries: Tensor[] = [];
  if (iter) {
    // Slots come in groups of four, one per variable in [W1, b1, W2, b2] order; W1's are transposed.
    const mine = slots.map((s, j) => {
      if (j % 4 !== 0) return s;
      const t = tf.transpose(s.tensor);
      temporaries.push(t);
      return { name: renamed(s.name, kernelName, w1t.name), tensor: t };
    });
    await optimizer.setWeights([iter, ...mine]);
    iter.tensor.dispose();
  }
  for (const t of temporaries) t.dispose();
  const variables = [w1t, plan.hiddenBias, plan.outputKernel, plan.outputBias];
  return {
    apply(grads) {
      optimizer.applyGradients(variables.map((v, i) => ({ name: v.name, tensor: grads[i] as Tensor })));
    },
    async save() {
      const [myIter, ...mySlots] = await optimizer.getWeights();
      const iterations = myIter ? (await myIter.tensor.data())[0] : 0;
      myIter?.tensor.dispose();
      const transposed: Tensor[] = [];
      const out = mySlots.map((s, j) => {
        if (j % 4 !== 0) return s;
        const t = tf.transpose(s.tensor);
        transposed.push(t);
        return { name: renamed(s.name, w1t.name, kernelName), tensor: t };
      });
      await replaceModelState(model, iterations ?? 0, out, tf);
      for (const t of transposed) t.dispose();
    },
    dispose() {
      optimizer.dispose();
    },
  };
}

/**
 * RMSprop with W1's step done by a WASM kernel in place (same float32
 * operations as TF.js' optimizer) and b1, W2, b2 by a private TF.js RMSprop
 * (`small` "tfjs") or by the JS tail's `JsRmsprop` (`small` "js", state in
 * `js`; the tail updates them itself). W1's mean square lives in the
 * trainer's layout: transposed for the XNNPACK step (updated by
 * `rmspropInPlace` from the gradient), tiled for the sparse step (whose
 * kernel updates W1 and the mean square itself, from `meanSquare()`).
 * TF.js keeps a "momentum" slot too; with momentum 0 it only ever holds the
 * last update and never changes the next one, so W1's is not tracked here and
 * goes back to model.optimizer as zeros.
 */
interface RmspropRule extends UpdateRule {
  /** W1's mean square (zeros until the first step), in the trainer's layout. */
  meanSquare(): Tensor;
  readonly learningRate: number;
  readonly decay: number;
  readonly epsilon: number;
  /** b1, W2 and b2's state when the JS tail updates them ([b1, W2, b2] order), else null. */
  readonly js: JsRmsprop | null;
}

async function wasmRmspropRule(
  tf: TF,
  model: tfjs.LayersModel,
  plan: FastHeadPlan,
  config: HeadConfig,
  w1: tfjs.Variable,
  layout: "transposed" | "tiles",
  kernel: RmspropKernel | null,
  small: "tfjs" | "js" = "tfjs",
): Promise<RmspropRule | null> {
  const internals = wasmInternals(tf);
  if (!internals) return null;
  const optimizer = makePrivateOptimizer(tf, "rmsprop", config.learningRate);
  const settings = optimizer.getConfig() as {
    decay: number;
    momentum: number;
    epsilon: number;
    centered: boolean;
  };
  if (settings.momentum !== 0 || settings.centered) {
    optimizer.dispose();
    return null;
  }
  // Fresh tensors either way: the kernels write into them.
  const toTrainer = (t: Tensor) => (layout === "transposed" ? tf.transpose(t) : toTiles(tf, t));
  const kernelName = plan.kernel.read().name;
  const smallVariables = [plan.hiddenBias, plan.outputKernel, plan.outputBias];
  let meanSquare: Tensor | null = null;
  const [iter, ...slots] = await model.optimizer.getWeights();
  // [rms W1, b1, W2, b2, momentum W1, b1, W2, b2]
  const saved = iter && slots.length === 8 ? slots : null;
  if (saved) meanSquare = toTrainer((saved[0] as NamedTensor).tensor);
  let js: JsRmsprop | null = null;
  // The small variables' slot names: model.optimizer's, else those a private TF.js optimizer gives them.
  const smallNames = saved
    ? { rms: saved.slice(1, 4).map((s) => s.name), momentum: saved.slice(5, 8).map((s) => s.name) }
    : {
        rms: smallVariables.map((v) => `${v.name}/rms`),
        momentum: smallVariables.map((v) => `${v.name}/momentum`),
      };
  if (small === "js") {
    const copies = (from: NamedTensor[]) =>
      Promise.all(from.map(async (s) => new Float32Array(await s.tensor.data())));
    const zeros = () => smallVariables.map((v) => new Float32Array(v.size));
    const iterations = iter ? ((await iter.tensor.data())[0] ?? 0) : 0;
    js = new JsRmsprop(
      { learningRate: config.learningRate, ...settings },
      saved ? await copies(saved.slice(1, 4)) : zeros(),
      saved ? await copies(saved.slice(5, 8)) : zeros(),
      iterations,
    );
  } else if (iter && saved) {
    await optimizer.setWeights([iter, ...saved.slice(1, 4), ...saved.slice(5, 8)]);
  } else if (iter) {
    await optimizer.setWeights([iter]);
  }
  iter?.tensor.dispose();
  const ensureMeanSquare = () => {
    meanSquare ??= tf.keep(tf.zerosLike(w1));
    return meanSquare;
  };
  /**
   * b1, W2, b2's state from the private optimizer or from `js`: iterations and [rms b1, W2, b2, momentum b1, W2,
   * b2] (made only `withSlots`, from `js`), or null slots where there are none.
   */
  const smallState = async (
    withSlots: boolean,
  ): Promise<{ iterations: number; slots: NamedTensor[] | null }> => {
    if (js) {
      if (!withSlots) return { iterations: js.iterations, slots: null };
      const named = (arrays: readonly Float32Array[], names: string[]) =>
        arrays.map((values, i) => ({
          name: names[i] ?? "",
          tensor: tf.tensor(values.slice(), smallVariables[i]?.shape),
        }));
      return {
        iterations: js.iterations,
        slots: [...named(js.meanSquares, smallNames.rms), ...named(js.moments, smallNames.momentum)],
      };
    }
    const [myIter, ...mySlots] = await optimizer.getWeights();
    const iterations = myIter ? ((await myIter.tensor.data())[0] ?? 0) : 0;
    myIter?.tensor.dispose();
    return { iterations, slots: mySlots.length === 6 ? mySlots : null };
  };
  return {
    learningRate: config.learningRate,
    decay: settings.decay,
    epsilon: settings.epsilon,
    js,
    meanSquare: ensureMeanSquare,
    apply(grads) {
      const [gw1, ...rest] = grads;
      if (gw1) {
        if (!kernel) throw new Error("rmsprop: no kernel for W1's gradient");
        rmspropInPlace(
          internals,
          kernel,
          w1,
          ensureMeanSquare(),
          gw1,
          config.learningRate,
          settings.decay,
          settings.epsilon,
        );
      }
      if (js) {
        if (rest.some((g) => g)) throw new Error("rmsprop: the JS tail updates b1, W2 and b2");
        return;
      }
      optimizer.applyGradients(smallVariables.map((v, i) => ({ name: v.name, tensor: rest[i] as Tensor })));
    },
    async save() {
      const { iterations, slots: smallSlots } = await smallState(meanSquare !== null);
      if (!meanSquare || !smallSlots) {
        await replaceModelState(model, iterations, [], tf);
        return;
      }
      const shape = plan.kernel.read().shape as [number, number];
      const rms = layout === "transposed" ? tf.transpose(meanSquare) : fromTiles(tf, meanSquare, shape);
      const momentum = tf.zeros(shape);
      await replaceModelState(
        model,
        iterations,
        [
          { name: `${kernelName}/rms`, tensor: rms },
          ...smallSlots.slice(0, 3),
          { name: `${kernelName}/momentum`, tensor: momentum },
          ...smallSlots.slice(3, 6),
        ],
        tf,
      );
      rms.dispose();
      momentum.dispose();
      // The JS state's tensors were made for this; the private optimizer's stay its own.
      if (js) tf.dispose(smallSlots.map((slot) => slot.tensor));
    },
    dispose() {
      meanSquare?.dispose();
      optimizer.dispose();
    },
  };
}

export interface StepMetrics {
  loss: number;
  acc: number;
}

/** Whether the tensor's data is in the WASM heap (not still on the backend it was made on). */
function residentOnWasm(internals: WasmInternals, t: Tensor): boolean {
  try {
    internals.offsetOf(t);
    return true;
  } catch {
    return false;
  }
}

/** The sparse step's kernels and its buffers in the WASM heap (see sparse-head-kernels.ts). */
interface SparseStep {
  kernels: SparseHeadKernels;
  internals: WasmInternals;
  /** Runs the second half of each kernel, or null (one thread). */
  helper: HeapHelper<SparseHeadJob> | null;
  /** W1's shape in the model, [F, H]. */
  features: number;
  hidden: number;
  /** Scratch tensors written by the kernels (float32 tensors, used as raw heap buffers; see `gather`). */
  rowOffsets: Tensor;
  sampleLists: Tensor;
  sampleCounts: Tensor;
  featureLists: Tensor;
  featureIndex: Tensor;
  rule: RmspropRule;
  /** The step's tail in JS (binary head only), or null: TF.js ops. */
  js: JsTail | null;
}

/** The sparse step's JS tail (binary-tail.ts) with its buffers in the WASM heap. */
interface JsTail {
  /** b1, W2, b2 (the trainer's copies during a run) and the forward and backward pass. */
  tail: BinaryHeadTail;
  /** Scratch [B, H] buffers for x·W1: one per thread, each written by `forward`. */
  products: Tensor[];
  /** Scratch [B, H] buffer for ∂loss/∂z1: written by the tail, read by `update`. */
  dz1: Tensor;
}

export type HeadUpdater = "wasm-sparse-rmsprop" | "wasm-rmsprop-kernel" | "tf-optimizer";

/** What computes the step between (and after) the sparse kernels: plain JS (binary-tail.ts) or TF.js ops. */
export type HeadTail = "js" | "tfjs";

export interface FastHeadOptions {
  /** Use the sparse WASM step when it applies (default true); false keeps the XNNPACK step, for tests. */
  sparse?: boolean;
  /** "tfjs" keeps the sparse step's tail in TF.js ops even where the JS tail applies (default "js"), for tests. */
  tail?: HeadTail;
}

/** Trains a recognised head on resident [N, F] features; see the file comment. */
export class FastHeadTrainer {
  /** W1 changed since the model's kernel was last written. */
  private dirty = false;

  private constructor(
    private readonly tf: TF,
    private readonly plan: FastHeadPlan,
    private readonly xTrain: tfjs.Tensor2D,
    private readonly yTrain: tfjs.Tensor2D,
    /** W1 in the trainer's layout: tiled for the sparse step (sparse-head-kernels.ts), transposed [H, F] otherwise. */
    private readonly w1: tfjs.Variable,
    private readonly rule: UpdateRule,
    /** Where batches are copied on WASM (null elsewhere: tf.gather). */
    private readonly rows: {
      buffer: Float32Array;
      internals: NonNullable<ReturnType<typeof wasmInternals>>;
    } | null,
    private readonly sparse: SparseStep | null,
    /** Which update ran: for tests and the benchmark's log. */
    readonly updater: HeadUpdater,
    /** Threads the step computes W1's products with (the sparse step's helper counts). */
    readonly threads: number,
  ) {}

  /** Loads W1 and the optimizer state from the model. */
  static async start(
    tf: TF,
    model: tfjs.LayersModel,
    plan: FastHeadPlan,
    config: HeadConfig,
    xTrain: tfjs.Tensor2D,
    yTrain: tfjs.Tensor2D,
    options: FastHeadOptions = {},
  ): Promise<FastHeadTrainer> {
    const sparse =
      options.sparse !== false
        ? await startSparse(tf, model, plan, config, xTrain, yTrain, options.tail ?? "js")
        : null;
    if (sparse) {
      const threads = sparse.step.helper ? 2 : 1;
      return new FastHeadTrainer(
        tf,
        plan,
        xTrain,
        yTrain,
        sparse.w1,
        sparse.step.rule,
        null,
        sparse.step,
        "wasm-sparse-rmsprop",
        threads,
      );
    }
    const w1t = tf.tidy(() => tf.variable(tf.transpose(plan.kernel.read()), true));
    let rule: UpdateRule | null = null;
    let updater: HeadUpdater = "tf-optimizer";
    try {
      const internals = wasmInternals(tf);
      const kernel = internals && config.optimizer === "rmsprop" ? rmspropKernel(internals.memory) : null;
      if (kernel) rule = await wasmRmspropRule(tf, model, plan, config, w1t, "transposed", kernel);
      if (rule) updater = "wasm-rmsprop-kernel";
      rule ??= await genericRule(tf, model, plan, config, w1t);
      const rows =
        internals && residentOnWasm(internals, xTrain)
          ? { buffer: new Float32Array(config.batchSize * (xTrain.shape[1] ?? 0)), internals }
          : null;
      const threads = internals?.threads() ?? 1;
      return new FastHeadTrainer(tf, plan, xTrain, yTrain, w1t, rule, rows, null, updater, threads);
    } catch (error) {
      rule?.dispose();
      w1t.dispose();
      throw error;
    }
  }

  private batch(rows: Int32Array, indices: Tensor): tfjs.Tensor2D {
    const tf = this.tf;
    const f = this.xTrain.shape[1];
    if (this.rows) {
      const out = this.rows.buffer.subarray(0, rows.length * f);
      copyRows(this.rows.internals, this.xTrain, rows, out);
      return tf.tensor2d(out, [rows.length, f]);
    }
    return tf.gather(this.xTrain, indices) as tfjs.Tensor2D;
  }

  /** What computes the tail of each step (the part around W1's products and update). */
  get tail(): HeadTail {
    return this.sparse?.js ? "js" : "tfjs";
  }

  /** One optimisation step on the given training rows; returns the batch's loss and accuracy. */
  async step(rows: Int32Array, dropoutSeed: number): Promise<StepMetrics> {
    const tf = this.tf;
    const { plan, sparse } = this;
    if (sparse?.js) return this.stepWithJsTail(sparse, sparse.js, rows, dropoutSeed);
    let probabilities: Tensor | null = null;
    const [loss, acc] = tf.tidy(() => {
      const indices = tf.tensor1d(rows, "int32");
      const yb = tf.gather(this.yTrain, indices);
      // Dense 1 before its activation, as model.fit computes it under a gradient tape (matMul, then + bias).
      let xb: tfjs.Tensor2D | null = null;
      let product: Tensor;
      if (sparse) {
        product = sparseForward(tf, sparse, this.xTrain, this.w1, rows);
      } else {
        xb = this.batch(rows, indices);
        product = tf.transpose(tf.matMul(this.w1, tf.transpose(xb)));
      }
      const z1 = tf.add(product, plan.hiddenBias);
      const tail = (z: Tensor, w2: Tensor, b2: Tensor): tfjs.Scalar => {
        const h = tf.relu(z);
        const dropped = plan.dropoutRate > 0 ? tf.dropout(h, plan.dropoutRate, undefined, dropoutSeed) : h;
        const logits = tf.add(tf.matMul(dropped, w2), b2);
        const p = plan.activation === "sigmoid" ? tf.sigmoid(logits) : tf.softmax(logits);
        probabilities = tf.keep(p);
        return tf.mean(plan.loss(yb, p));
      };
      const { value, grads } = tf.valueAndGrads(tail)([z1, plan.outputKernel, plan.outputBias]);
      const [dz1, gw2, gb2] = grads as [Tensor, Tensor, Tensor];
      const gb1 = tf.sum(dz1, 0);
      if (sparse) {
        sparseUpdate(sparse, this.w1, sparse.internals.offsetOf(dz1));
        this.rule.apply([null, gb1, gw2, gb2]);
      } else {
        const gw1t = tf.matMul(tf.transpose(dz1), xb as tfjs.Tensor2D);
        this.rule.apply([gw1t, gb1, gw2, gb2]);
      }
      this.dirty = true;
      const accuracy = tf.mean(plan.accuracy(yb, probabilities as unknown as Tensor));
      return [value, accuracy];
    });
    (probabilities as Tensor | null)?.dispose();
    const [lossValue, accValue] = await Promise.all([loss.data(), acc.data()]);
    loss.dispose();
    acc.dispose();
    return { loss: lossValue[0] ?? Number.NaN, acc: accValue[0] ?? Number.NaN };
  }

  /**
   * The sparse step with the JS tail: the kernels write x·W1 into scratch buffers, the tail reads them from
   * the heap and writes ∂loss/∂z1 back for W1's update, then updates b1, W2, b2 in JS. No tensor is made.
   */
  private stepWithJsTail(sparse: SparseStep, js: JsTail, rows: Int32Array, dropoutSeed: number): StepMetrics {
    const { internals } = sparse;
    // W1's mean square is allocated at the first step and may grow the heap: before any view of it is taken.
    sparse.rule.meanSquare();
    const products = js.products.map((t) => internals.offsetOf(t));
    const dz1 = internals.offsetOf(js.dz1);
    sparseProducts(sparse, this.xTrain, this.w1, rows, products);
    const size = rows.length * js.tail.units;
    const heap = internals.memory.buffer;
    const metrics = js.tail.step(
      products.map((offset) => new Float32Array(heap, offset, size)),
      rows,
      dropoutSeed,
      new Float32Array(heap, dz1, size),
    );
    sparseUpdate(sparse, this.w1, dz1);
    // b1, W2, b2's RMSprop state is the rule's (it moves into model.optimizer from there).
    (sparse.rule.js as JsRmsprop).apply(js.tail.parameters, js.tail.gradients);
    this.dirty = true;
    return metrics;
  }

  /**
   * Copies W1 into the model's kernel, and with the JS tail b1, W2, b2 into the model's variables (otherwise
   * they are the model's own); a no-op when nothing changed.
   */
  writeBack(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const tf = this.tf;
    const kernel = this.sparse
      ? fromTiles(tf, this.w1, [this.sparse.features, this.sparse.hidden])
      : tf.transpose(this.w1);
    this.plan.kernel.write(kernel);
    kernel.dispose();
    const js = this.sparse?.js;
    if (js) {
      // Fresh tensors, never writes into the variables' data: XNNPACK caches packed copies of matMul operands
      // (W2 in validation) per tensor, and other tensors may share a variable's data.
      const { hiddenBias, outputKernel, outputBias } = this.plan;
      const [b1, w2, b2] = js.tail.parameters;
      for (const [variable, values] of [
        [hiddenBias, b1],
        [outputKernel, w2],
        [outputBias, b2],
      ] as const) {
        const value = tf.tensor(values.slice(), variable.shape);
        variable.assign(value);
        value.dispose();
      }
    }
  }

  /** Moves the optimizer state into model.optimizer; call after writeBack on success or stop. */
  saveOptimizerState(): Promise<void> {
    return this.rule.save();
  }

  dispose(): void {
    this.rule.dispose();
    this.w1.dispose();
    if (this.sparse) {
      const { helper, js } = this.sparse;
      helper?.dispose();
      this.tf.dispose([...scratchOf(this.sparse), ...(js ? [...js.products, js.dz1] : [])]);
    }
  }
}

/**
 * The sparse step's setup, or null where it does not apply: not WASM (with
 * SIMD), not RMSprop, features not in the heap, batches over 32 rows,
 * hidden units not a multiple of 32 or features not of 256 (the tiles). Its
 * tail is JS for the binary head unless `tail` is "tfjs".
 */
async function startSparse(
  tf: TF,
  model: tfjs.LayersModel,
  plan: FastHeadPlan,
  config: HeadConfig,
  xTrain: tfjs.Tensor2D,
  yTrain: tfjs.Tensor2D,
  tail: HeadTail,
): Promise<{ w1: tfjs.Variable; step: SparseStep } | null> {
  const internals = wasmInternals(tf);
  const [features, hidden] = plan.kernel.read().shape as [number, number];
  if (!internals || config.optimizer !== "rmsprop" || !residentOnWasm(internals, xTrain)) return null;
  if (config.batchSize > SPARSE_HEAD_MAX_BATCH || hidden % SPARSE_HEAD_UNIT_GROUP !== 0) return null;
  if (features % SPARSE_HEAD_TILE_ROWS !== 0) return null;
  const bound = sparseHeadKernels(internals.memory);
  if (!bound) return null;
  const { kernels } = bound;
  // A tiled copy the kernels own (the model's kernel is an XNNPACK operand elsewhere, cached packed).
  const w1 = tf.tidy(() => tf.variable(toTiles(tf, plan.kernel.read()), true));
  let rule: RmspropRule | null = null;
  const scratch: Tensor[] = [];
  let helper: HeapHelper<SparseHeadJob> | null = null;
  const inJs = tail === "js" && plan.binary;
  try {
    rule = await wasmRmspropRule(tf, model, plan, config, w1, "tiles", null, inJs ? "js" : "tfjs");
    if (!rule) {
      w1.dispose();
      return null;
    }
    const buffer = (size: number) => {
      const t = tf.zeros([size]);
      scratch.push(t);
      return t;
    };
    const rowOffsets = buffer(config.batchSize);
    const bytes = sparseHeadScratchBytes(features, config.batchSize);
    const lists = {
      sampleLists: buffer(bytes.sampleLists / 4),
      sampleCounts: buffer(bytes.sampleCounts / 4),
      featureLists: buffer(bytes.featureLists / 4),
      featureIndex: buffer(bytes.featureIndex / 4),
    };
    helper =
      internals.threads() > 1
        ? await HeapHelper.start(
            internals.memory,
            bound.module,
            () => new Worker(new URL("./sparse-head-helper.worker.ts", import.meta.url), { type: "module" }),
            SPARSE_HEAD_JOBS,
            "the training helper thread",
          )
        : null;
    let js: JsTail | null = null;
    if (inJs && rule.js) {
      const copy = async (t: Tensor) => new Float32Array(await t.data());
      const parameters = {
        hiddenBias: await copy(plan.hiddenBias),
        outputKernel: await copy(plan.outputKernel),
        outputBias: await copy(plan.outputBias),
      };
      // tf.metrics.binaryCrossentropy clips with tfjs-layers' epsilon(), the backend's.
      const epsilon = tf.backend().epsilon();
      const binaryTail = new BinaryHeadTail(
        parameters,
        await copy(yTrain),
        plan.dropoutRate,
        epsilon,
        config.batchSize,
      );
      const products = [buffer(config.batchSize * hidden)];
      if (helper) products.push(buffer(config.batchSize * hidden));
      js = { tail: binaryTail, products, dz1: buffer(config.batchSize * hidden) };
    }
    return { w1, step: { kernels, internals, helper, features, hidden, rowOffsets, ...lists, rule, js } };
  } catch (error) {
    helper?.dispose();
    rule?.dispose();
    tf.dispose(scratch);
    w1.dispose();
    throw error;
  }
}

/** Gathers the batch (its non-zero lists) and computes x·W1 for it: a fresh [B, H] tensor. */
function sparseForward(
  tf: TF,
  step: SparseStep,
  xTrain: tfjs.Tensor2D,
  w1: Tensor,
  rows: Int32Array,
): Tensor {
  // With a helper, each thread sums half the feature blocks into its own z; the halves are added (float32
  // rounding only).
  const z = [tf.zeros([rows.length, step.hidden])];
  if (step.helper) z.push(tf.zeros([rows.length, step.hidden]));
  sparseProducts(
    step,
    xTrain,
    w1,
    rows,
    z.map((t) => step.internals.offsetOf(t)),
  );
  const [own, helpers] = z as [Tensor, Tensor?];
  return helpers ? tf.add(own, helpers) : own;
}

/**
 * Gathers the batch (its non-zero lists) and computes x·W1 for it into `outputs`: the heap byte offsets of
 * [B, H] float32 buffers, one per thread (each holds the sum over that thread's half of the feature blocks;
 * each thread gathers its own half too).
 */
function sparseProducts(
  step: SparseStep,
  xTrain: tfjs.Tensor2D,
  w1: Tensor,
  rows: Int32Array,
  outputs: readonly number[],
): void {
  const { internals, helper, features, hidden } = step;
  if (outputs.length !== (helper ? 2 : 1)) throw new Error("sparse step: one output per thread");
  const b = rows.length;
  const rowBytes = features * 4;
  const base = internals.offsetOf(xTrain);
  const rowOffsets = internals.offsetOf(step.rowOffsets);
  const offsets = new Int32Array(internals.memory.buffer, rowOffsets, b);
  for (let i = 0; i < b; i++) offsets[i] = base + (rows[i] as number) * rowBytes;
  const at = (t: Tensor) => internals.offsetOf(t);
  const [sampleLists, sampleCounts] = [at(step.sampleLists), at(step.sampleCounts)];
  const [featureLists, featureIndex] = [at(step.featureLists), at(step.featureIndex)];
  const w = at(w1);
  const hb = hidden * 4;
  inHalves(step, "gatherForward", features / SPARSE_HEAD_TILE_ROWS, (blk0, blk1, part) => [
    ...[rowOffsets, b, blk0, blk1, sampleLists, sampleCounts, featureLists, featureIndex, hb],
    ...[w, hb, sampleLists, sampleCounts, b, blk0, blk1, outputs[part] as number],
  ]);
}

/**
 * Runs job `name` over feature blocks [0, blocks): on this thread alone, or with the helper thread taking the
 * upper half (part 1) while this one does the lower (part 0).
 */
function inHalves(
  step: SparseStep,
  name: SparseHeadJob,
  blocks: number,
  ints: (blk0: number, blk1: number, part: 0 | 1) => number[],
  floats: readonly number[] = [],
): void {
  if (!step.helper) {
    runSparseHeadJob(step.kernels, name, ints(0, blocks, 0), floats);
    return;
  }
  const split = blocks >> 1;
  step.helper.run(name, ints(split, blocks, 1), floats);
  try {
    runSparseHeadJob(step.kernels, name, ints(0, split, 0), floats);
  } finally {
    step.helper.wait();
  }
}

/**
 * W1's gradient x·δ and RMSprop step, row by row in place (see sparse-head-kernels.ts); δ is the [B, H]
 * float32 buffer at heap byte offset `dz`.
 */
function sparseUpdate(step: SparseStep, w1: Tensor, dz: number): void {
  const { internals, rule } = step;
  const w = internals.offsetOf(w1);
  const meanSquare = internals.offsetOf(rule.meanSquare());
  const featureIndex = internals.offsetOf(step.featureIndex);
  const hb = step.hidden * 4;
  inHalves(
    step,
    "update",
    step.features / SPARSE_HEAD_TILE_ROWS,
    (blk0, blk1) => [w, meanSquare, hb, featureIndex, dz, blk0, blk1],
    [rule.learningRate, rule.decay, 1 - rule.decay, rule.epsilon],
  );
}

/** The sparse step's scratch buffers: row offsets, then the lists `gather` writes. */
const scratchOf = (step: SparseStep): Tensor[] => [
  step.rowOffsets,
  step.sampleLists,
  step.sampleCounts,
  step.featureLists,
  step.featureIndex,
];

/**
 * W1 ([F, H], F a multiple of 256 and H of 32) in the sparse kernels' tiled layout: a fresh 1-D tensor of
 * tiles of 256 features × 32 units, tile (block b, group g) at (b·H/32 + g)·256·32.
 */
export function toTiles(tf: TF, w: Tensor): Tensor {
  const [f, h] = w.shape as [number, number];
  return tf.tidy(() =>
    tf
      .transpose(
        w.reshape([
          f / SPARSE_HEAD_TILE_ROWS,
          SPARSE_HEAD_TILE_ROWS,
          h / SPARSE_HEAD_UNIT_GROUP,
          SPARSE_HEAD_UNIT_GROUP,
        ]),
        [0, 2, 1, 3],
      )
      .reshape([f * h]),
  );
}

/** The inverse of toTiles: a fresh [F, H] tensor. */
export function fromTiles(tf: TF, tiles: Tensor, [f, h]: readonly [number, number]): Tensor {
  return tf.tidy(() =>
    tf
      .transpose(
        tiles.reshape([
          f / SPARSE_HEAD_TILE_ROWS,
          h / SPARSE_HEAD_UNIT_GROUP,
          SPARSE_HEAD_TILE_ROWS,
          SPARSE_HEAD_UNIT_GROUP,
        ]),
        [0, 2, 1, 3],
      )
      .reshape([f, h]),
  );
}

/**
 * Keras' validation metrics: the layers' inference ops (fused matMul + bias +
 * relu, no dropout, Dense 2, activation) and the model's loss and accuracy
 * functions, over the whole set in one pass. model.predict would do the same
 * maths but in slices of the 4-D input, which WASM copies slowly, and Keras'
 * own validation (batches of batchSize, each gathered) costs ~4 s per 1000
 * samples there.
 */
export async function validationMetrics(
  tf: TF,
  plan: FastHeadPlan,
  x: tfjs.Tensor2D,
  y: Tensor,
): Promise<{ loss: number; acc: number }> {
  const [loss, acc] = tf.tidy(() => {
    const h = tf.fused.matMul({ a: x, b: plan.kernel.read(), bias: plan.hiddenBias, activation: "relu" });
    const logits = tf.add(tf.matMul(h, plan.outputKernel), plan.outputBias);
    const p = plan.activation === "sigmoid" ? tf.sigmoid(logits) : tf.softmax(logits);
    return [tf.mean(plan.loss(y, p)), tf.mean(plan.accuracy(y, p))];
  });
  const [l, a] = await Promise.all([loss.data(), acc.data()]);
  loss.dispose();
  acc.dispose();
  return { loss: l[0] ?? Number.NaN, acc: a[0] ?? Number.NaN };
}
