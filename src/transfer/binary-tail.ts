/**
 * The small end of the sparse training step for the lesson's binary head, in
 * plain JavaScript on Float32Arrays. The two WASM kernels compute x·W1 and
 * apply W1's gradient (sparse-head-kernels.ts); everything between them
 * (+ b1, relu, dropout, Dense(H → 1), sigmoid, binaryCrossentropy, accuracy,
 * the gradients back to z1, and RMSprop for b1, W2, b2) is ~5000 multiply-adds
 * per step, which TF.js spread over ~100 tiny tensor ops: measured in Node
 * (one thread), ~3.4 ms of each step outside the kernels, ~0.5 ms here,
 * where it is the dropout mask and two passes over [B, H].
 *
 * The maths is the TF.js step's, with its float32 roundings where they decide
 * something:
 *
 * - dropout draws the very numbers tf.dropout(h, rate, undefined, seed) draws
 *   (`fillTfjsUniform`), so the masks are identical;
 * - the loss is tf.metrics.binaryCrossentropy's (p clipped to [ε, 1 − ε],
 *   then log-odds and the logistic loss), and the clip's gradient is zero
 *   outside that range exactly as clipByValue's is;
 * - RMSprop repeats RMSPropOptimizer's float32 operations in its order
 *   (`JsRmsprop`), so given the same gradient it is bit for bit TF.js'.
 *
 * Sums (Dense 2, the gradients) run in double precision and are rounded to
 * float32 once, so they differ from TF.js' float32 sums by rounding only.
 */

import type { StepMetrics } from "./fast-head";

const { fround } = Math;

/**
 * Port of Johannes Baagøe's Alea PRNG (MIT licence) exactly as seedrandom
 * 3.0.5 implements it (`seedrandom.alea`), including its Mash seeding.
 */
function mash(): (data: string) => number {
  let n = 0xefc8249d;
  return (data) => {
    for (let i = 0; i < data.length; i++) {
      n += data.charCodeAt(i);
      let h = 0.02519603282416938 * n;
      n = h >>> 0;
      h -= n;
      h *= n;
      n = h >>> 0;
      h -= n;
      n += h * 0x100000000; // 2^32
    }
    return (n >>> 0) * 2.3283064365386963e-10; // 2^-32
  };
}

/**
 * Fills `out` with the data of tf.randomUniform([out.length], 0, 1,
 * "float32", seed) in TF.js 4: UniformRandom draws seedrandom's alea, seeded
 * with the seed's string, and the tensor's Float32Array rounds each draw.
 * (The generator's state stays in locals: a closure's would be boxed.)
 */
export function fillTfjsUniform(out: Float32Array, seed: number): void {
  const key = String(seed);
  const m = mash();
  let c = 1;
  let s0 = m(" ");
  let s1 = m(" ");
  let s2 = m(" ");
  s0 -= m(key);
  if (s0 < 0) s0 += 1;
  s1 -= m(key);
  if (s1 < 0) s1 += 1;
  s2 -= m(key);
  if (s2 < 0) s2 += 1;
  for (let i = 0; i < out.length; i++) {
    const t = 2091639 * s0 + c * 2.3283064365386963e-10; // 2^-32
    s0 = s1;
    s1 = s2;
    c = t | 0;
    s2 = t - c;
    out[i] = s2; // min + range · s2 with min 0, range 1
  }
}

/**
 * Fills `out` with tf.dropout's multipliers for a tensor of out.length
 * elements: floor(u + keep) / keep with u from tf.randomUniform(…, seed) and
 * keep = 1 − rate, every step in float32 as TF.js' ops compute it (so 0 or
 * 1/keep).
 */
export function dropoutMultipliers(out: Float32Array, rate: number, seed: number): void {
  fillTfjsUniform(out, seed);
  const keep = fround(1 - rate);
  for (let i = 0; i < out.length; i++) {
    out[i] = Math.floor(fround((out[i] as number) + keep)) / keep;
  }
}

export interface RmspropSettings {
  learningRate: number;
  decay: number;
  momentum: number;
  epsilon: number;
}

/**
 * RMSprop (not centred) on float32 arrays in JS, as TF.js' RMSPropOptimizer
 * computes it, operation by operation, each rounded to float32:
 *   ms  ← ms·decay + (g·g)·(1 − decay)
 *   mom ← mom·momentum + (g·lr) / sqrt(ms + ε)
 *   w   ← w − mom
 * `meanSquares` and `moments` are its "rms" and "momentum" slots.
 */
export class JsRmsprop {
  constructor(
    readonly settings: RmspropSettings,
    readonly meanSquares: readonly Float32Array[],
    readonly moments: readonly Float32Array[],
    /** TF.js' "iter": one per applied step. */
    public iterations: number,
  ) {}

  /** One step on `values` (in place) with `gradients`, both in the slots' order. */
  apply(values: readonly Float32Array[], gradients: readonly Float32Array[]): void {
    const { settings } = this;
    // TF.js turns each number into a float32 scalar (`1 - decay` computed in double first).
    const learningRate = fround(settings.learningRate);
    const decay = fround(settings.decay);
    const oneMinusDecay = fround(1 - settings.decay);
    const momentum = fround(settings.momentum);
    const epsilon = fround(settings.epsilon);
    values.forEach((w, v) => {
      const g = gradients[v] as Float32Array;
      const ms = this.meanSquares[v] as Float32Array;
      const mom = this.moments[v] as Float32Array;
      if (g.length !== w.length || ms.length !== w.length || mom.length !== w.length) {
        throw new Error("rmsprop: size mismatch");
      }
      for (let k = 0; k < w.length; k++) {
        const gk = g[k] as number;
        const meanSquare = fround(
          fround((ms[k] as number) * decay) + fround(fround(gk * gk) * oneMinusDecay),
        );
        ms[k] = meanSquare;
        const step = fround(fround(gk * learningRate) / fround(Math.sqrt(fround(meanSquare + epsilon))));
        const moment = fround(fround((mom[k] as number) * momentum) + step);
        mom[k] = moment;
        w[k] = (w[k] as number) - moment;
      }
    });
    this.iterations++;
  }
}

/** b1, W2 (its single column) and b2 of the binary head. */
export interface BinaryHeadParameters {
  hiddenBias: Float32Array;
  outputKernel: Float32Array;
  outputBias: Float32Array;
}

/**
 * The forward and backward pass of relu → dropout → Dense(H → 1, sigmoid) →
 * binaryCrossentropy (mean over the batch) and binaryAccuracy, for the head's
 * own b1, W2, b2 (held here, in JS, during a run).
 */
export class BinaryHeadTail {
  /** [b1, W2, b2]: the order of `gradients` and of the optimizer's slots. */
  readonly parameters: readonly [Float32Array, Float32Array, Float32Array];
  /** The last step's gradients of the mean loss with respect to `parameters`. */
  readonly gradients: readonly [Float32Array, Float32Array, Float32Array];
  /** ∂dropped/∂z1: the dropout multiplier where z1 > 0 (relu passes), else 0. */
  private readonly gate: Float32Array;
  private readonly dropped: Float32Array;
  private readonly multipliers: Float32Array;
  private readonly logitGradients: Float32Array;
  private readonly outputKernelSums: Float64Array;
  private readonly hiddenBiasSums: Float64Array;
  private readonly clipLow: number;
  private readonly clipHigh: number;

  constructor(
    parameters: BinaryHeadParameters,
    /** The label (0 or 1) of every training row. */
    private readonly labels: Float32Array,
    private readonly dropoutRate: number,
    /** The loss clips p to [ε, 1 − ε] (tfjs-layers' epsilon(), the backend's). */
    epsilon: number,
    maxBatch: number,
  ) {
    const { hiddenBias, outputKernel, outputBias } = parameters;
    const units = hiddenBias.length;
    if (outputKernel.length !== units || outputBias.length !== 1) throw new Error("binary tail: bad shapes");
    this.parameters = [hiddenBias, outputKernel, outputBias];
    this.gradients = [new Float32Array(units), new Float32Array(units), new Float32Array(1)];
    this.gate = new Float32Array(maxBatch * units);
    this.dropped = new Float32Array(maxBatch * units);
    this.multipliers = new Float32Array(maxBatch * units).fill(1);
    this.logitGradients = new Float32Array(maxBatch);
    this.outputKernelSums = new Float64Array(units);
    this.hiddenBiasSums = new Float64Array(units);
    // clipByValue and its gradient compare with float32 scalars.
    this.clipLow = fround(epsilon);
    this.clipHigh = fround(1 - epsilon);
  }

  get units(): number {
    return this.parameters[0].length;
  }

  /**
   * One step's forward and backward pass. `products` holds x·W1 for the
   * batch ([B, H] each; with a helper thread, two partial sums, added into
   * the first); `rows` are the batch's training rows (for the labels). Writes
   * ∂loss/∂z1 into `dz1` ([B, H]) and the parameters' gradients into
   * `gradients`; returns the batch's mean loss and accuracy.
   */
  step(
    products: readonly Float32Array[],
    rows: ArrayLike<number>,
    dropoutSeed: number,
    dz1: Float32Array,
  ): StepMetrics {
    const b = rows.length;
    const h = this.units;
    const size = b * h;
    const [own, helper] = products as [Float32Array, Float32Array?];
    const [hiddenBias, outputKernel, outputBias] = this.parameters;
    const { gate, dropped, multipliers, logitGradients, clipLow, clipHigh } = this;
    if (own.length < size || (helper && helper.length < size) || dz1.length < size || size > gate.length) {
      throw new Error("binary tail: buffers too small for the batch");
    }
    // Two partial sums (one per thread) are added first, as TF.js adds them; into the first buffer (scratch).
    if (helper) for (let k = 0; k < size; k++) own[k] = (own[k] as number) + (helper[k] as number);
    // Without dropout the multipliers stay 1 (multiplying by 1 is exact), so one loop serves both.
    if (this.dropoutRate > 0)
      dropoutMultipliers(multipliers.subarray(0, size), this.dropoutRate, dropoutSeed);
    const b2 = outputBias[0] as number;

    let lossSum = 0;
    let correct = 0;
    for (let i = 0; i < b; i++) {
      const row = i * h;
      let logit = 0;
      for (let j = 0; j < h; j++) {
        const k = row + j;
        const z = fround((own[k] as number) + (hiddenBias[j] as number));
        // relu; Math.max lets NaN through as TF.js' does, so the loss is NaN too and training stops.
        const relu = Math.max(z, 0);
        const multiplier = multipliers[k] as number;
        const d = fround(relu * multiplier);
        dropped[k] = d;
        // relu's gradient is 1 where z1 > 0, else 0 (at z1 = 0 too, as TF.js' step()).
        gate[k] = z > 0 ? multiplier : 0;
        logit += d * (outputKernel[j] as number);
      }
      const p = fround(1 / (1 + Math.exp(-fround(fround(logit) + b2))));
      const y = this.labels[rows[i] as number] as number;
      // tf.metrics.binaryCrossentropy: the logistic loss of the clipped p's log-odds x,
      // max(x, 0) − x·y + log(1 + exp(−|x|)).
      const clipped = Math.min(Math.max(p, clipLow), clipHigh);
      const x = Math.log(clipped / (1 - clipped));
      lossSum += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
      // binaryAccuracy: p > 0.5 counts as 1.
      if (y === (p > 0.5 ? 1 : 0)) correct++;
      // ∂(mean loss)/∂logit: through the sigmoid and the log-odds it is p − y, except where the clip held p
      // (its gradient is 0 outside [ε, 1 − ε]; comparisons with NaN fail, so NaN gives 0 as well).
      logitGradients[i] = p >= clipLow && p <= clipHigh ? fround((p - y) / b) : 0;
    }

    const { outputKernelSums, hiddenBiasSums } = this;
    outputKernelSums.fill(0);
    hiddenBiasSums.fill(0);
    let outputBiasSum = 0;
    for (let i = 0; i < b; i++) {
      const g = logitGradients[i] as number;
      const row = i * h;
      outputBiasSum += g;
      for (let j = 0; j < h; j++) {
        const k = row + j;
        outputKernelSums[j] = (outputKernelSums[j] as number) + (dropped[k] as number) * g;
        // Back through W2, then dropout and relu: the float32 products TF.js' gradients compute.
        const dz = fround(fround(g * (outputKernel[j] as number)) * (gate[k] as number));
        dz1[k] = dz;
        hiddenBiasSums[j] = (hiddenBiasSums[j] as number) + dz;
      }
    }
    const [hiddenBiasGradient, outputKernelGradient, outputBiasGradient] = this.gradients;
    hiddenBiasGradient.set(hiddenBiasSums);
    outputKernelGradient.set(outputKernelSums);
    outputBiasGradient[0] = outputBiasSum;
    // float32 numbers, as the TF.js step's tensors held them (the epoch's averages then agree too).
    return { loss: fround(lossSum / b), acc: fround(correct / b) };
  }
}
