/**
 * The hand-written training step (src/transfer/fast-head.ts) against the
 * reference, model.fit, on small data: same per-epoch metrics for the same
 * seed, optimizer state that moves both ways between the two, and the WASM
 * RMSprop kernel bit-identical to TF.js' optimizer.
 */
import type * as tfjs from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { FastHeadTrainer, fastHeadPlan } from "../src/transfer/fast-head";
import {
  buildHead,
  defaultHeadConfig,
  type EpochLogs,
  FEATURE_SIZE,
  type HeadConfig,
  type HeadData,
  labelsTensor,
  type TrainOptions,
  trainHead,
} from "../src/transfer/head";
import { mulberry32 } from "../src/transfer/random";
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
  hiddenUnits: 16,
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
): Promise<EpochLogs[]> {
  const model = buildHead(tf, config, numClasses);
  const result = await trainHead(tf, model, data, config, {}, { history: [] }, { loop });
  model.dispose();
  return result.history;
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
    expect(fastHeadPlan(tf, head)?.activation).toBe("sigmoid");
    const three = buildHead(tf, small(), 3);
    expect(fastHeadPlan(tf, three)?.activation).toBe("softmax");
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

  it.each([
    ["2 classes, RMSprop (sparse step)", 2, small(), 0],
    ["2 classes, RMSprop, 60 % zero features (sparse step)", 2, small(), 0.6],
    ["3 classes (softmax), RMSprop (sparse step)", 3, small(), 0],
    [
      "2 classes, RMSprop, batches of 32, 32 hidden units (sparse step)",
      2,
      small({ batchSize: 32, hiddenUnits: 32 }),
      0.6,
    ],
    ["2 classes, RMSprop, batches of 40 (XNNPACK step)", 2, small({ batchSize: 40 }), 0.6],
    ["2 classes, RMSprop, 24 hidden units (XNNPACK step)", 2, small({ hiddenUnits: 24 }), 0],
    ["2 classes, Adam", 2, small({ optimizer: "adam" }), 0],
    ["2 classes, SGD", 2, small({ optimizer: "sgd", learningRate: 1e-3 }), 0],
    ["no dropout", 2, small({ dropout: 0 }), 0],
  ] as const)(
    "%s: same per-epoch loss, accuracy and validation metrics as model.fit",
    async (_name, classes, config, zeros) => {
      const data = dataset(classes, zeros);
      const reference = await run(data, config, classes, "fit");
      const fast = await run(data, config, classes, "auto");
      expectSameCurves(fast, reference);
      // The curve moves: a wrong gradient or a dropped update could not match by accident.
      expect(reference[2]?.loss).not.toBeCloseTo(reference[0]?.loss ?? 0, 2);
      tf.dispose(Object.values(data));
    },
  );

  it("optimizer state moves both ways between the fast step and model.fit", async () => {
    const data = dataset(2);
    const config = small({ epochs: 4 });
    const reference = await run(data, config, 2, "fit");

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
    const updater = async (c: HeadConfig, sparse?: boolean) => {
      const trainer = await FastHeadTrainer.start(tf, model, plan, c, data.xTrain, data.yTrain, { sparse });
      const { updater, threads } = trainer;
      trainer.dispose();
      return { updater, threads };
    };
    // Node's WASM build has one thread and no shared memory: no helper thread.
    expect(await updater(config)).toEqual({ updater: "wasm-sparse-rmsprop", threads: 1 });
    expect((await updater(config, false)).updater).toBe("wasm-rmsprop-kernel");
    expect((await updater({ ...config, batchSize: 33 })).updater).toBe("wasm-rmsprop-kernel");
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
      const reference = await run(data, config, 2, "fit");
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
