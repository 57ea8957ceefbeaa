/**
 * The hand-written training step (src/transfer/fast-head.ts) against the
 * reference, model.fit, on small data: same per-epoch metrics for the same
 * seed, optimizer state that moves both ways between the two, and the WASM
 * RMSprop kernel bit-identical to TF.js' optimizer.
 */
import type * as tfjs from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { BinaryHeadTail, dropoutMultipliers, fillTfjsUniform, JsRmsprop } from "../src/transfer/binary-tail";
import { FastHeadTrainer, fastHeadPlan, type HeadTail } from "../src/transfer/fast-head";
import {
  buildHead,
  defaultHeadConfig,
  type EpochLogs,
  FEATURE_SIZE,
  type HeadConfig,
  type HeadData,
  labelsTensor,
  type TrainOptions,
  type TrainStep,
  trainHead,
} from "../src/transfer/head";
import { hashString, mulberry32, permutation } from "../src/transfer/random";
import { rmspropInPlace, rmspropKernel, rmspropModule } from "../src/transfer/wasm-kernels";
import { wasmInternals } from "../src/wasm/tfjs-heap";
import { tfWasm } from "./helpers/tf-node";

let tf: typeof tfjs;
beforeAll(async () => {
  tf = await tfWasm();
});

/**
 * Non-negative features (like ReLU outputs); each class is brighter on its own 2000 dims. `zeros` of the
 * values are exactly 0 before that, as after VGG16's ReLU and pooling (the sparse step skips them).
 */
function features(
  n: number,
  seed: number,
  numClasses: number,
  zeros = 0,
): { x: tfjs.Tensor2D; labels: Int32Array } {
  const random = mulberry32(seed);
  const data = new Float32Array(n * FEATURE_SIZE);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = (i * 7 + 3) % numClasses;
    labels[i] = label;
    for (let d = 0; d < FEATURE_SIZE; d++) {
      const r = random();
      data[i * FEATURE_SIZE + d] = r < zeros ? 0 : r;
    }
    for (let d = label * 2000; d < (label + 1) * 2000; d++) {
      data[i * FEATURE_SIZE + d] = (data[i * FEATURE_SIZE + d] as number) + 0.3;
    }
  }
  return { x: tf.tensor2d(data, [n, FEATURE_SIZE]), labels };
}

/** 50 training samples (batches of 20, 20, 10: a short last batch), 30 for validation. */
function dataset(numClasses: number, zeros = 0): HeadData {
  const train = features(50, 11, numClasses, zeros);
  const val = features(30, 12, numClasses, zeros);
  return {
    xTrain: train.x,
    yTrain: labelsTensor(tf, train.labels, numClasses),
    xVal: val.x,
    yVal: labelsTensor(tf, val.labels, numClasses),
  };
}

const small = (overrides: Partial<HeadConfig> = {}): HeadConfig => ({
  ...defaultHeadConfig(),
  // The sparse step's tiles are 32 units wide.
  hiddenUnits: 32,
  learningRate: 1e-4,
  epochs: 3,
  seed: 2024,
  ...overrides,
});

async function run(
  data: HeadData,
  config: HeadConfig,
  numClasses: number,
  loop: TrainOptions["loop"],
): Promise<{ history: EpochLogs[]; step: TrainStep }> {
  const model = buildHead(tf, config, numClasses);
  const result = await trainHead(tf, model, data, config, {}, { history: [] }, { loop });
  model.dispose();
  return { history: result.history, step: result.step };
}

/** Float32 rounding (the kernel gradient's sums run in another order) is all that may differ. */
function expectSameCurves(actual: EpochLogs[], expected: EpochLogs[]): void {
  expect(actual).toHaveLength(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as EpochLogs;
    const e = expected[i] as EpochLogs;
    expect(a.epoch).toBe(e.epoch);
    expect(a.loss).toBeCloseTo(e.loss, 4);
    expect(a.acc).toBeCloseTo(e.acc, 4);
    expect(a.val_loss).toBeCloseTo(e.val_loss ?? Number.NaN, 4);
    expect(a.val_acc).toBeCloseTo(e.val_acc ?? Number.NaN, 4);
  }
}

describe("fast training step", () => {
  it("recognises the lesson's head and nothing else", () => {
    const head = buildHead(tf, small(), 2);
    expect(fastHeadPlan(tf, head)).toMatchObject({ activation: "sigmoid", binary: true });
    const three = buildHead(tf, small(), 3);
    expect(fastHeadPlan(tf, three)).toMatchObject({ activation: "softmax", binary: false });
    const other = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [7, 7, 512] }),
        tf.layers.dense({ units: 4, activation: "tanh" }),
        tf.layers.dropout({ rate: 0.5 }),
        tf.layers.dense({ units: 1, activation: "sigmoid" }),
      ],
    });
    other.compile({ optimizer: "rmsprop", loss: "binaryCrossentropy", metrics: ["accuracy"] });
    expect(fastHeadPlan(tf, other)).toBeNull();
    for (const m of [head, three, other]) m.dispose();
  });

  const SPARSE = "wasm-sparse-rmsprop";
  const XNNPACK = "wasm-rmsprop-kernel";
  it.each([
    ["2 classes, RMSprop", 2, small(), 0, SPARSE],
    ["2 classes, RMSprop, 60 % zero features", 2, small(), 0.6, SPARSE],
    ["3 classes (softmax), RMSprop", 3, small(), 0, SPARSE],
    [
      "2 classes, RMSprop, batches of 32, 64 hidden units",
      2,
      small({ batchSize: 32, hiddenUnits: 64 }),
      0.6,
      SPARSE,
    ],
    ["2 classes, RMSprop, batches of 40", 2, small({ batchSize: 40 }), 0.6, XNNPACK],
    ["2 classes, RMSprop, 24 hidden units", 2, small({ hiddenUnits: 24 }), 0, XNNPACK],
    ["2 classes, RMSprop, 16 hidden units", 2, small({ hiddenUnits: 16 }), 0, XNNPACK],
    ["2 classes, Adam", 2, small({ optimizer: "adam" }), 0, "tf-optimizer"],
    ["2 classes, SGD", 2, small({ optimizer: "sgd", learningRate: 1e-3 }), 0, "tf-optimizer"],
    ["no dropout", 2, small({ dropout: 0 }), 0, SPARSE],
  ] as const)(
    "%s: same per-epoch loss, accuracy and validation metrics as model.fit (step %s)",
    async (_name, classes, config, zeros, expectedStep) => {
      const data = dataset(classes, zeros);
      const { history: reference } = await run(data, config, classes, "fit");
      const { history: fast, step } = await run(data, config, classes, "auto");
      expectSameCurves(fast, reference);
      // The step that ran: a head the sparse step refuses would pass the curves on the XNNPACK one.
      expect(step.kind).toBe(expectedStep);
      // The curve moves: a wrong gradient or a dropped update could not match by accident.
      expect(reference[2]?.loss).not.toBeCloseTo(reference[0]?.loss ?? 0, 2);
      tf.dispose(Object.values(data));
    },
  );

  it("optimizer state moves both ways between the fast step and model.fit", async () => {
    const data = dataset(2);
    const config = small({ epochs: 4 });
    const { history: reference } = await run(data, config, 2, "fit");

    // fast for 2 epochs, then model.fit continues with the RMSprop state the fast step left in model.optimizer…
    const a = buildHead(tf, config, 2);
    const first = await trainHead(tf, a, data, { ...config, epochs: 2 });
    const second = await trainHead(tf, a, data, config, {}, first, { loop: "fit" });
    expectSameCurves(second.history, reference);

    // …and the other way round.
    const b = buildHead(tf, config, 2);
    const fitFirst = await trainHead(
      tf,
      b,
      data,
      { ...config, epochs: 2 },
      {},
      { history: [] },
      { loop: "fit" },
    );
    const fastSecond = await trainHead(tf, b, data, config, {}, fitFirst);
    expectSameCurves(fastSecond.history, reference);

    // The model holds the trained weights at rest: evaluating it gives the last validation loss.
    const [valLoss] = (
      b.evaluate(data.xVal?.reshape([-1, 7, 7, 512]) as tfjs.Tensor, data.yVal as tfjs.Tensor, {
        batchSize: 64,
      }) as tfjs.Scalar[]
    ).map((t) => t.dataSync()[0]);
    expect(valLoss).toBeCloseTo(fastSecond.history[3]?.val_loss ?? Number.NaN, 4);
    a.dispose();
    b.dispose();
    tf.dispose(Object.values(data));
  });

  it("a step that throws (a failed helper thread) puts the model back to the start of that epoch", async () => {
    const data = dataset(2, 0.6);
    const config = small({ epochs: 3 });
    const reference = buildHead(tf, config, 2);
    await trainHead(tf, reference, data, { ...config, epochs: 1 });
    const afterEpoch1 = reference.getWeights().map((w) => Array.from(w.dataSync()));

    // 50 samples: 3 steps per epoch. The 5th step (epoch 2, after one update of W1 in that epoch) throws.
    const step = FastHeadTrainer.prototype.step;
    let calls = 0;
    const spy = vi.spyOn(FastHeadTrainer.prototype, "step").mockImplementation(function (
      this: FastHeadTrainer,
      rows,
      seed,
    ) {
      calls++;
      if (calls === 5) return Promise.reject(new Error("helper thread failed"));
      return step.call(this, rows, seed);
    });
    const model = buildHead(tf, config, 2);
    try {
      await expect(trainHead(tf, model, data, config)).rejects.toThrow("helper thread failed");
    } finally {
      spy.mockRestore();
    }
    expect(calls).toBe(5);
    expect(model.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(afterEpoch1);
    reference.dispose();
    model.dispose();
    tf.dispose(Object.values(data));
  });

  it("continuing keeps the tensor count: no leaked batches, gradients or optimizer slots", async () => {
    const data = dataset(2);
    const config = small({ epochs: 4 });
    const model = buildHead(tf, config, 2);
    const first = await trainHead(tf, model, data, { ...config, epochs: 2 });
    const after = tf.memory().numTensors;
    await trainHead(tf, model, data, config, {}, first);
    expect(tf.memory().numTensors).toBe(after);
    model.dispose();
    tf.dispose(Object.values(data));
  });

  it("uses the sparse step for RMSprop on WASM, the XNNPACK step where it does not apply", async () => {
    const data = dataset(2);
    const config = small();
    const model = buildHead(tf, config, 2);
    const plan = fastHeadPlan(tf, model);
    if (!plan) throw new Error("head not recognised");
    const updater = async (c: HeadConfig, sparse?: boolean, tail?: HeadTail) => {
      const trainer = await FastHeadTrainer.start(tf, model, plan, c, data.xTrain, data.yTrain, {
        sparse,
        tail,
      });
      const { updater, threads } = trainer;
      const result = { updater, threads, tail: trainer.tail };
      trainer.dispose();
      return result;
    };
    // Node's WASM build has one thread and no shared memory: no helper thread.
    expect(await updater(config)).toEqual({ updater: "wasm-sparse-rmsprop", threads: 1, tail: "js" });
    expect((await updater(config, true, "tfjs")).tail).toBe("tfjs");
    expect(await updater(config, false)).toMatchObject({ updater: "wasm-rmsprop-kernel", tail: "tfjs" });
    expect((await updater({ ...config, batchSize: 33 })).updater).toBe("wasm-rmsprop-kernel");
    // Softmax (3 classes) keeps the TF.js tail.
    const three = buildHead(tf, config, 3);
    const threePlan = fastHeadPlan(tf, three);
    if (!threePlan) throw new Error("head not recognised");
    const yThree = labelsTensor(tf, new Int32Array(data.xTrain.shape[0]), 3);
    const softmax = await FastHeadTrainer.start(tf, three, threePlan, config, data.xTrain, yThree);
    expect({ updater: softmax.updater, tail: softmax.tail }).toEqual({
      updater: "wasm-sparse-rmsprop",
      tail: "tfjs",
    });
    softmax.dispose();
    three.dispose();
    yThree.dispose();
    const adam = await FastHeadTrainer.start(
      tf,
      model,
      plan,
      { ...config, optimizer: "adam" },
      data.xTrain,
      data.yTrain,
    );
    expect(adam.updater).toBe("tf-optimizer");
    adam.dispose();
    model.dispose();
    tf.dispose(Object.values(data));
  });
});

describe("fast training step on the CPU backend (tf ops instead of the WASM kernel)", () => {
  it("matches model.fit with RMSprop, and the state moves to model.fit", async () => {
    await tf.setBackend("cpu");
    try {
      const data = dataset(2);
      const config = small({ epochs: 3 });
      const { history: reference } = await run(data, config, 2, "fit");
      const model = buildHead(tf, config, 2);
      const plan = fastHeadPlan(tf, model);
      if (!plan) throw new Error("head not recognised");
      const trainer = await FastHeadTrainer.start(tf, model, plan, config, data.xTrain, data.yTrain);
      expect(trainer.updater).toBe("tf-optimizer");
      trainer.dispose();
      const first = await trainHead(tf, model, data, { ...config, epochs: 2 });
      const second = await trainHead(tf, model, data, config, {}, first, { loop: "fit" });
      expectSameCurves(second.history, reference);
      model.dispose();
      tf.dispose(Object.values(data));
    } finally {
      await tf.setBackend("wasm");
    }
  });
});

describe("WASM RMSprop kernel", () => {
  it("is valid WebAssembly for plain and shared memories", () => {
    expect(WebAssembly.validate(rmspropModule(false))).toBe(true);
    expect(WebAssembly.validate(rmspropModule(true))).toBe(true);
  });

  it.each([1, 7, 4099])("matches tf.train.rmsprop bit for bit over %i floats and two steps", async (n) => {
    const internals = wasmInternals(tf);
    const kernel = internals && rmspropKernel(internals.memory);
    if (!internals || !kernel) throw new Error("WASM internals not available");
    const start = tf.randomNormal([n], 0, 0.05, "float32", 1);
    const grads = [tf.randomNormal([n], 0, 0.01, "float32", 2), tf.randomNormal([n], 0, 0.01, "float32", 3)];
    const name = `rmsprop_probe_${n}`;
    const variable = tf.variable(tf.clone(start), true, name);
    const optimizer = tf.train.rmsprop(2e-5, 0.9);
    const w = tf.add(start, 0);
    const ms = tf.zeros([n]);
    for (const g of grads) {
      optimizer.applyGradients({ [name]: g });
      rmspropInPlace(internals, kernel, w, ms, g, 2e-5, 0.9, tf.backend().epsilon());
    }
    expect(Array.from(await w.data())).toEqual(Array.from(await variable.data()));
    const [rms] = (await optimizer.getWeights()).slice(1);
    expect(Array.from(await ms.data())).toEqual(
      Array.from(await (rms as { tensor: tfjs.Tensor }).tensor.data()),
    );
    optimizer.dispose();
    tf.dispose([start, ...grads, variable, w, ms]);
  });
});

/** Largest |actual − expected| relative to the largest |expected| (the arrays' scale); infinite where NaNs differ. */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] as number;
    const a = actual[i] as number;
    if (Number.isNaN(a) !== Number.isNaN(e)) return Number.POSITIVE_INFINITY;
    scale = Math.max(scale, Math.abs(e));
    worst = Math.max(worst, Math.abs(a - e));
  }
  return scale === 0 ? worst : worst / scale;
}

describe("the sparse step's JS tail (binary-tail.ts)", () => {
  const shapes = [
    [20, 256],
    [7, 3],
  ] as const;
  const seeds = [0, 1, 2024, 123456789, 4294967295, hashString("dropout:3:7", 2024)];

  it("draws tf.randomUniform's numbers and tf.dropout's multipliers for the same seed", () => {
    for (const shape of shapes) {
      for (const seed of seeds) {
        const out = new Float32Array(shape[0] * shape[1]);
        fillTfjsUniform(out, seed);
        const uniform = tf.randomUniform([...shape], 0, 1, "float32", seed);
        expect(out).toEqual(uniform.dataSync());
        uniform.dispose();
        for (const rate of [0.5, 0.3, 0.25, 0.1]) {
          dropoutMultipliers(out, rate, seed);
          const multipliers = tf.tidy(() => tf.dropout(tf.ones([...shape]), rate, undefined, seed));
          expect(out).toEqual(multipliers.dataSync());
          multipliers.dispose();
        }
      }
    }
  });

  /** The TF.js step's tail on [b1, W2, b2] and x·W1 (as FastHeadTrainer.step builds it with tail "tfjs"). */
  function tfjsTail(
    product: tfjs.Tensor2D,
    hiddenBias: tfjs.Tensor1D,
    outputKernel: tfjs.Tensor2D,
    outputBias: tfjs.Tensor1D,
    labels: tfjs.Tensor2D,
    rate: number,
    seed: number,
  ) {
    return tf.tidy(() => {
      const z1 = tf.add(product, hiddenBias);
      let p: tfjs.Tensor | null = null;
      const tail = (z: tfjs.Tensor, w2: tfjs.Tensor, b2: tfjs.Tensor): tfjs.Scalar => {
        const h = tf.relu(z);
        const dropped = rate > 0 ? tf.dropout(h, rate, undefined, seed) : h;
        p = tf.keep(tf.sigmoid(tf.add(tf.matMul(dropped, w2), b2)));
        return tf.mean(tf.metrics.binaryCrossentropy(labels, p));
      };
      const { value, grads } = tf.valueAndGrads(tail)([z1, outputKernel, outputBias]);
      const [dz1, gw2, gb2] = grads as [tfjs.Tensor, tfjs.Tensor, tfjs.Tensor];
      const probabilities = p as unknown as tfjs.Tensor;
      const result = {
        loss: value.dataSync()[0] as number,
        acc: tf.mean(tf.metrics.binaryAccuracy(labels, probabilities)).dataSync()[0] as number,
        p: probabilities.dataSync(),
        dz1: dz1.dataSync(),
        gradients: [tf.sum(dz1, 0).dataSync(), gw2.dataSync(), gb2.dataSync()],
      };
      probabilities.dispose();
      return result;
    });
  }

  it.each([
    ["dropout 0.5", 0.5],
    ["no dropout", 0],
  ])(
    "computes the TF.js tail's loss, accuracy and gradients, clipped probabilities included (%s)",
    (_name, rate) => {
      const b = 16;
      const h = 32;
      const random = mulberry32(77);
      const values = (n: number, scale: number) =>
        Float32Array.from({ length: n }, () => (random() - 0.5) * scale);
      const product = values(b * h, 4);
      const hiddenBias = values(h, 0.2);
      // Large output weights: some samples' p rounds beyond [ε, 1 − ε] (the loss clips them, with zero gradient).
      const outputKernel = values(h, 12);
      const outputBias = Float32Array.of(0);
      const labels = Float32Array.from({ length: b }, (_, i) => ((i * 5) % 3 === 0 ? 1 : 0));
      // Sample 0: relu zeroes every unit, so p = sigmoid(b2) = 0.5 exactly, which binaryAccuracy counts as 0.
      product.fill(-10, 0, h);
      labels[0] = 0;
      const seed = 31337;
      const tensors = {
        product: tf.tensor2d(product, [b, h]),
        hiddenBias: tf.tensor1d(hiddenBias),
        outputKernel: tf.tensor2d(outputKernel, [h, 1]),
        outputBias: tf.tensor1d(outputBias),
        labels: tf.tensor2d(labels, [b, 1]),
      };
      const expected = tfjsTail(
        tensors.product,
        tensors.hiddenBias,
        tensors.outputKernel,
        tensors.outputBias,
        tensors.labels,
        rate,
        seed,
      );
      expect(expected.p[0]).toBe(0.5);
      const epsilon = tf.backend().epsilon();
      const clipped = Array.from(expected.p).filter((p) => p < epsilon || p > Math.fround(1 - epsilon));
      // The case is meaningful: some probabilities are clipped (and wrong, so their unclipped gradient is not 0).
      expect(clipped.length).toBeGreaterThanOrEqual(2);
      expect(Array.from(expected.p).some((p, i) => Math.abs(p - (labels[i] as number)) > 0.9999)).toBe(true);

      // Each tail gets its own copies of the parameters (a step does not change them, RMSprop would).
      const freshTail = () =>
        new BinaryHeadTail(
          {
            hiddenBias: hiddenBias.slice(),
            outputKernel: outputKernel.slice(),
            outputBias: outputBias.slice(),
          },
          labels,
          rate,
          epsilon,
          b,
        );
      const tail = freshTail();
      const dz1 = new Float32Array(b * h);
      const rows = Int32Array.from({ length: b }, (_, i) => i);
      const metrics = tail.step([product.slice()], rows, seed, dz1);
      expect(Math.abs(metrics.loss - expected.loss) / expected.loss).toBeLessThan(1e-6);
      expect(metrics.acc).toBe(expected.acc);
      expect(relativeError(dz1, expected.dz1)).toBeLessThan(1e-6);
      tail.gradients.forEach((g, i) => {
        expect(relativeError(g, expected.gradients[i] as Float32Array)).toBeLessThan(1e-6);
      });

      // Two partial products (one per thread) give the same as their sum.
      const halves = [product.map((v) => v * 0.25), product.map((v) => v * 0.75)];
      const fromHalves = new Float32Array(b * h);
      const split = freshTail();
      split.step(halves, rows, seed, fromHalves);
      expect(relativeError(fromHalves, dz1)).toBeLessThan(1e-6);
      tf.dispose(Object.values(tensors));
    },
  );

  it("JsRmsprop is tf.train.rmsprop bit for bit: values, mean squares, momenta, iterations", async () => {
    const random = mulberry32(9);
    const sizes = [256, 256, 1];
    const start = sizes.map((n) => Float32Array.from({ length: n }, () => (random() - 0.5) * 0.1));
    const grads = [0, 1, 2].map(() =>
      sizes.map((n) => Float32Array.from({ length: n }, () => (random() - 0.5) * 0.01)),
    );
    const names = sizes.map((_, i) => `js_rmsprop_probe_${i}`);
    const variables = start.map((values, i) => tf.variable(tf.tensor1d(values), true, names[i]));
    const optimizer = tf.train.rmsprop(2e-5, 0.9);
    const settings = optimizer.getConfig() as { decay: number; momentum: number; epsilon: number };
    const mine = new JsRmsprop(
      { learningRate: 2e-5, decay: settings.decay, momentum: settings.momentum, epsilon: settings.epsilon },
      sizes.map((n) => new Float32Array(n)),
      sizes.map((n) => new Float32Array(n)),
      0,
    );
    const values = start.map((v) => v.slice());
    for (const step of grads) {
      const tensors = step.map((g) => tf.tensor1d(g));
      optimizer.applyGradients(names.map((name, i) => ({ name, tensor: tensors[i] as tfjs.Tensor })));
      tf.dispose(tensors);
      mine.apply(values, step);
    }
    variables.forEach((v, i) => {
      expect(values[i]).toEqual(v.dataSync());
    });
    const [iter, ...slots] = await optimizer.getWeights();
    expect(mine.iterations).toBe(iter?.tensor.dataSync()[0]);
    const theirs = slots.map((s) => s.tensor.dataSync());
    expect([...mine.meanSquares, ...mine.moments]).toEqual(theirs);
    iter?.tensor.dispose();
    optimizer.dispose();
    tf.dispose(variables);
  });

  /** `steps` steps of a fresh trainer with the given tail (batches of an epoch's order, seeded dropout). */
  async function trainSteps(
    model: tfjs.LayersModel,
    data: HeadData,
    config: HeadConfig,
    tail: HeadTail,
    steps: number,
    firstStep = 0,
  ): Promise<{ loss: number; acc: number }[]> {
    const plan = fastHeadPlan(tf, model);
    if (!plan) throw new Error("head not recognised");
    const trainer = await FastHeadTrainer.start(tf, model, plan, config, data.xTrain, data.yTrain, { tail });
    expect({ updater: trainer.updater, tail: trainer.tail }).toEqual({
      updater: "wasm-sparse-rmsprop",
      tail,
    });
    const n = data.xTrain.shape[0];
    const batches = Math.ceil(n / config.batchSize);
    const metrics: { loss: number; acc: number }[] = [];
    try {
      for (let s = firstStep; s < firstStep + steps; s++) {
        const order = permutation(n, mulberry32(Math.floor(s / batches)));
        const batch = s % batches;
        const rows = order.subarray(batch * config.batchSize, Math.min(n, (batch + 1) * config.batchSize));
        metrics.push(await trainer.step(rows, hashString(`dropout:${s}`, 7)));
      }
      trainer.writeBack();
      await trainer.saveOptimizerState();
    } finally {
      trainer.dispose();
    }
    return metrics;
  }

  async function optimizerState(model: tfjs.LayersModel) {
    const [iter, ...slots] = await model.optimizer.getWeights();
    const state = {
      iterations: iter?.tensor.dataSync()[0],
      names: slots.map((s) => s.name),
      values: slots.map((s) => s.tensor.dataSync().slice()),
    };
    iter?.tensor.dispose();
    return state;
  }

  /** The two models' weights [W1, b1, W2, b2] agree to float32 rounding. */
  function expectSameWeights(a: tfjs.LayersModel, b: tfjs.LayersModel): void {
    const expected = b.getWeights();
    a.getWeights().forEach((w, i) => {
      expect(relativeError(w.dataSync(), (expected[i] as tfjs.Tensor).dataSync())).toBeLessThan(1e-6);
    });
  }

  it("matches the TF.js tail step by step: loss, accuracy, then W1, b1, W2, b2 and the optimizer state", async () => {
    const data = dataset(2, 0.6);
    const config = small();
    const js = buildHead(tf, config, 2);
    const reference = buildHead(tf, config, 2);
    const start = js.getWeights().map((w) => w.dataSync().slice());
    const jsMetrics = await trainSteps(js, data, config, "js", 7);
    const tfjsMetrics = await trainSteps(reference, data, config, "tfjs", 7);
    jsMetrics.forEach((m, s) => {
      const e = tfjsMetrics[s] as { loss: number; acc: number };
      expect(Math.abs(m.loss - e.loss) / e.loss).toBeLessThan(1e-6);
      expect(m.acc).toBe(e.acc);
    });
    expectSameWeights(js, reference);
    // Every parameter moved (a dropped update could not match by accident; 7 steps at lr 1e-4 move W1 ~1e-4).
    js.getWeights().forEach((w, i) => {
      expect(relativeError(w.dataSync(), start[i] as Float32Array)).toBeGreaterThan(3e-5);
    });
    const state = await optimizerState(js);
    const expected = await optimizerState(reference);
    // Slots named as the TF.js tail names them: "<variable>/rms", then "<variable>/momentum".
    const slotNames = (model: tfjs.LayersModel) =>
      ["rms", "momentum"].flatMap((kind) => model.weights.map((w) => `${w.name}/${kind}`));
    expect(expected.names).toEqual(slotNames(reference));
    expect({ iterations: state.iterations, names: state.names }).toEqual({
      iterations: 7,
      names: slotNames(js),
    });
    // The momentum slots hold the last updates, RMSprop's normalised gradients: the least exact numbers here.
    state.values.forEach((v, i) => {
      expect(relativeError(v, expected.values[i] as Float32Array)).toBeLessThan(1e-5);
    });
    js.dispose();
    reference.dispose();
    tf.dispose(Object.values(data));
  });

  it("its optimizer state round-trips through model.optimizer: continuing matches the TF.js tail continuing", async () => {
    const data = dataset(2, 0.6);
    const config = small();
    const js = buildHead(tf, config, 2);
    const reference = buildHead(tf, config, 2);
    // Both start from the TF.js tail's state, so only what the JS tail loads and saves can differ.
    await trainSteps(js, data, config, "tfjs", 4);
    await trainSteps(reference, data, config, "tfjs", 4);

    // Loading and saving without a step gives model.optimizer back what it had, bit for bit.
    const before = await optimizerState(js);
    await trainSteps(js, data, config, "js", 0);
    expect(await optimizerState(js)).toEqual(before);

    const jsMetrics = await trainSteps(js, data, config, "js", 4, 4);
    const tfjsMetrics = await trainSteps(reference, data, config, "tfjs", 4, 4);
    jsMetrics.forEach((m, s) => {
      const e = tfjsMetrics[s] as { loss: number; acc: number };
      expect(Math.abs(m.loss - e.loss) / e.loss).toBeLessThan(1e-6);
    });
    expectSameWeights(js, reference);
    const state = await optimizerState(js);
    const expected = await optimizerState(reference);
    expect(state.iterations).toBe(8);
    expect(expected.iterations).toBe(8);
    state.values.forEach((v, i) => {
      expect(relativeError(v, expected.values[i] as Float32Array)).toBeLessThan(1e-5);
    });

    // And the TF.js tail (and model.fit) continue from what the JS tail saved.
    await trainSteps(js, data, config, "tfjs", 2, 8);
    await trainSteps(reference, data, config, "tfjs", 2, 8);
    expectSameWeights(js, reference);
    js.dispose();
    reference.dispose();
    tf.dispose(Object.values(data));
  });
});
