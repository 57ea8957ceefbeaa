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
 * So, during training, the big kernel is kept transposed (W1t, [H, F]) and
 * only ever used as XNNPACK's A operand, which is not packed:
 *   forward   z1ᵀ = W1t · xbᵀ            matMul(W1t, transpose(xb))
 *   gradient  ∂W1t = δᵀ · xb             matMul(transpose(δ), xb)
 * Both B operands are the small batch (20 × F). There is no gradient for the
 * frozen input; the small rest of the network (relu, dropout, Dense 2, the
 * loss) goes through tf.grads with the very ops the layers use. RMSprop's
 * update of W1t is one SIMD pass on WASM (wasm-kernels.ts), tf ops elsewhere;
 * other optimizers use a private TF.js optimizer of the same kind. Batches
 * are copied out of the one resident training tensor.
 *
 * Differences from model.fit are float32 rounding only: the kernel
 * gradient's sums over the batch run in another order, and the epoch loss is
 * averaged in double precision. Dropout masks, shuffling, initial weights,
 * loss and metrics functions are the same.
 *
 * At rest the LayersModel owns everything: its kernel is rewritten from W1t
 * at each epoch's end (and when training stops), and the optimizer's state
 * goes back into model.optimizer (transposed where it belongs to W1), so
 * continuing, model.fit, saving and compileHead's reset all behave as before.
 */
import type * as tfjs from "@tensorflow/tfjs";
import { type WasmInternals, wasmInternals } from "../wasm/tfjs-heap";
import type { HeadConfig, OptimizerName } from "./head";
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
  return {
    kernel,
    hiddenBias: hiddenBias.read(),
    outputKernel: outputKernel.read(),
    outputBias: outputBias.read(),
    dropoutRate: dropoutConfig.rate,
    activation,
    loss: loss as LossOrMetric,
    accuracy: accuracy as LossOrMetric,
  };
}

interface NamedTensor {
  name: string;
  tensor: Tensor;
}

/** How the four parameters' optimizer state is updated during a run. */
interface UpdateRule {
  /** Gradients in [W1t, b1, W2, b2] order. */
  apply(grads: Tensor[]): void;
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
 * RMSprop with W1t's step done by the WASM kernel in place (same float32
 * operations as TF.js' optimizer) and b1, W2, b2 by a private TF.js RMSprop.
 * TF.js keeps a "momentum" slot too; with momentum 0 it only ever holds the
 * last update and never changes the next one, so W1's is not tracked here
 * and goes back to model.optimizer as zeros.
 */
async function wasmRmspropRule(
  tf: TF,
  model: tfjs.LayersModel,
  plan: FastHeadPlan,
  config: HeadConfig,
  w1t: tfjs.Variable,
  kernel: RmspropKernel,
): Promise<UpdateRule | null> {
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
  const kernelName = plan.kernel.read().name;
  let meanSquare: Tensor | null = null;
  const [iter, ...slots] = await model.optimizer.getWeights();
  if (iter && slots.length === 8) {
    // [rms W1, b1, W2, b2, momentum W1, b1, W2, b2]
    const first = slots[0] as NamedTensor;
    // A fresh tensor: the kernel writes into it.
    meanSquare = tf.transpose(first.tensor);
    await optimizer.setWeights([iter, ...slots.slice(1, 4), ...slots.slice(5, 8)]);
  } else if (iter) {
    await optimizer.setWeights([iter]);
  }
  iter?.tensor.dispose();
  const small = [plan.hiddenBias, plan.outputKernel, plan.outputBias];
  return {
    apply(grads) {
      const [gw1t, ...rest] = grads as [Tensor, Tensor, Tensor, Tensor];
      meanSquare ??= tf.keep(tf.zerosLike(w1t));
      rmspropInPlace(
        internals,
        kernel,
        w1t,
        meanSquare,
        gw1t,
        config.learningRate,
        settings.decay,
        settings.epsilon,
      );
      optimizer.applyGradients(small.map((v, i) => ({ name: v.name, tensor: rest[i] as Tensor })));
    },
    async save() {
      const [myIter, ...mySlots] = await optimizer.getWeights();
      const iterations = myIter ? ((await myIter.tensor.data())[0] ?? 0) : 0;
      myIter?.tensor.dispose();
      if (!meanSquare || mySlots.length !== 6) {
        await replaceModelState(model, iterations, [], tf);
        return;
      }
      const rms = tf.transpose(meanSquare);
      const momentum = tf.zeros(plan.kernel.read().shape);
      await replaceModelState(
        model,
        iterations,
        [
          { name: `${kernelName}/rms`, tensor: rms },
          ...mySlots.slice(0, 3),
          { name: `${kernelName}/momentum`, tensor: momentum },
          ...mySlots.slice(3, 6),
        ],
        tf,
      );
      rms.dispose();
      momentum.dispose();
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

/** Trains a recognised head on resident [N, F] features; see the file comment. */
export class FastHeadTrainer {
  /** W1t changed since the model's kernel was last written. */
  private dirty = false;

  private constructor(
    private readonly tf: TF,
    private readonly plan: FastHeadPlan,
    private readonly xTrain: tfjs.Tensor2D,
    private readonly yTrain: tfjs.Tensor2D,
    private readonly w1t: tfjs.Variable,
    private readonly rule: UpdateRule,
    /** Where batches are copied on WASM (null elsewhere: tf.gather). */
    private readonly rows: {
      buffer: Float32Array;
      internals: NonNullable<ReturnType<typeof wasmInternals>>;
    } | null,
    /** Which update ran: for tests and the benchmark's log. */
    readonly updater: "wasm-rmsprop-kernel" | "tf-optimizer",
  ) {}

  /** Loads W1t and the optimizer state from the model. */
  static async start(
    tf: TF,
    model: tfjs.LayersModel,
    plan: FastHeadPlan,
    config: HeadConfig,
    xTrain: tfjs.Tensor2D,
    yTrain: tfjs.Tensor2D,
  ): Promise<FastHeadTrainer> {
    const w1t = tf.tidy(() => tf.variable(tf.transpose(plan.kernel.read()), true));
    let rule: UpdateRule | null = null;
    let updater: FastHeadTrainer["updater"] = "tf-optimizer";
    try {
      const internals = wasmInternals(tf);
      const kernel = internals && config.optimizer === "rmsprop" ? rmspropKernel(internals.memory) : null;
      if (kernel) rule = await wasmRmspropRule(tf, model, plan, config, w1t, kernel);
      if (rule) updater = "wasm-rmsprop-kernel";
      rule ??= await genericRule(tf, model, plan, config, w1t);
      const rows =
        internals && residentOnWasm(internals, xTrain)
          ? { buffer: new Float32Array(config.batchSize * (xTrain.shape[1] ?? 0)), internals }
          : null;
      return new FastHeadTrainer(tf, plan, xTrain, yTrain, w1t, rule, rows, updater);
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

  /** One optimisation step on the given training rows; returns the batch's loss and accuracy. */
  async step(rows: Int32Array, dropoutSeed: number): Promise<StepMetrics> {
    const tf = this.tf;
    const { plan } = this;
    let probabilities: Tensor | null = null;
    const [loss, acc] = tf.tidy(() => {
      const indices = tf.tensor1d(rows, "int32");
      const xb = this.batch(rows, indices);
      const yb = tf.gather(this.yTrain, indices);
      // Dense 1 before its activation, as model.fit computes it under a gradient tape (matMul, then + bias).
      const z1 = tf.add(tf.transpose(tf.matMul(this.w1t, tf.transpose(xb))), plan.hiddenBias);
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
      const gw1t = tf.matMul(tf.transpose(dz1), xb);
      const gb1 = tf.sum(dz1, 0);
      this.rule.apply([gw1t, gb1, gw2, gb2]);
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

  /** Copies W1t into the model's kernel (b1, W2, b2 are the model's own variables); a no-op when nothing changed. */
  writeBack(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const kernel = this.tf.transpose(this.w1t);
    this.plan.kernel.write(kernel);
    kernel.dispose();
  }

  /** Moves the optimizer state into model.optimizer; call after writeBack on success or stop. */
  saveOptimizerState(): Promise<void> {
    return this.rule.save();
  }

  dispose(): void {
    this.rule.dispose();
    this.w1t.dispose();
  }
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
