import type * as tfjs from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import {
  buildHead,
  defaultHeadConfig,
  evaluateHead,
  exportHead,
  FEATURE_SIZE,
  type HeadConfig,
  HeadTrainingError,
  importHead,
  labelsTensor,
  trainHead,
  validateHeadConfig,
} from "../src/transfer/head";
import { mulberry32 } from "../src/transfer/random";
import { tfWasm } from "./helpers/tf-node";

let tf: typeof tfjs;
beforeAll(async () => {
  tf = await tfWasm();
});

/** Separable synthetic "features": non-negative like ReLU outputs; class 1 is brighter on the first 2000 dims. */
function synthetic(n: number, seed: number, numClasses = 2): { x: tfjs.Tensor2D; labels: Int32Array } {
  const random = mulberry32(seed);
  const data = new Float32Array(n * FEATURE_SIZE);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % numClasses;
    labels[i] = label;
    const row = i * FEATURE_SIZE;
    for (let d = 0; d < FEATURE_SIZE; d++) data[row + d] = random();
    for (let d = label * 2000; d < (label + 1) * 2000; d++) data[row + d] = (data[row + d] as number) + 0.5;
  }
  return { x: tf.tensor2d(data, [n, FEATURE_SIZE]), labels };
}

/** Fast settings for tests: small hidden layer, higher learning rate, a few epochs. */
const fast = (overrides: Partial<HeadConfig> = {}): HeadConfig => ({
  ...defaultHeadConfig(),
  hiddenUnits: 32,
  learningRate: 1e-4,
  epochs: 3,
  seed: 1234,
  ...overrides,
});

describe("head config", () => {
  it("defaults are the book's values exactly", () => {
    expect(defaultHeadConfig()).toEqual({
      epochs: 20,
      batchSize: 20,
      learningRate: 2e-5,
      hiddenUnits: 256,
      dropout: 0.5,
      optimizer: "rmsprop",
      seed: null,
    });
    expect(validateHeadConfig(defaultHeadConfig())).toEqual([]);
    expect(
      validateHeadConfig({ ...defaultHeadConfig(), epochs: 0, dropout: 1, learningRate: -1 }),
    ).toHaveLength(3);
  });

  it("builds Chollet's architecture: sigmoid for 2 classes, softmax for 3; a seed fixes the initial weights", async () => {
    const binary = buildHead(tf, defaultHeadConfig(), 2);
    expect(binary.layers.map((l) => l.getClassName())).toEqual(["Flatten", "Dense", "Dropout", "Dense"]);
    expect(binary.outputs[0]?.shape).toEqual([null, 1]);
    expect(binary.countParams()).toBe(25088 * 256 + 256 + 256 + 1);
    expect(binary.loss).toBe("binaryCrossentropy");
    expect((binary.getLayer("predictions").getConfig() as { activation: string }).activation).toBe("sigmoid");
    const three = buildHead(tf, { ...defaultHeadConfig(), hiddenUnits: 8 }, 3);
    expect(three.outputs[0]?.shape).toEqual([null, 3]);
    expect(three.loss).toBe("categoricalCrossentropy");
    expect((three.getLayer("predictions").getConfig() as { activation: string }).activation).toBe("softmax");

    const a = buildHead(tf, fast({ hiddenUnits: 4 }), 2);
    const b = buildHead(tf, fast({ hiddenUnits: 4 }), 2);
    const c = buildHead(tf, fast({ hiddenUnits: 4, seed: 99 }), 2);
    const w = async (m: tfjs.LayersModel) => Array.from(await (m.getWeights()[0] as tfjs.Tensor).data());
    expect(await w(a)).toEqual(await w(b));
    expect(await w(a)).not.toEqual(await w(c));
    for (const m of [binary, three, a, b, c]) m.dispose();
  });
});

describe("training", () => {
  it("reaches ≥ 95% validation accuracy on separable features, streaming batch and epoch metrics", async () => {
    const train = synthetic(200, 1);
    const val = synthetic(100, 2);
    const yTrain = labelsTensor(tf, train.labels, 2);
    const yVal = labelsTensor(tf, val.labels, 2);
    const model = buildHead(tf, fast(), 2);
    const batches: number[] = [];
    const epochs: number[] = [];
    const result = await trainHead(tf, model, { xTrain: train.x, yTrain, xVal: val.x, yVal }, fast(), {
      onBatchEnd: (b) => {
        batches.push(b.batch);
        expect(b.batchesPerEpoch).toBe(10);
      },
      onEpochEnd: (epoch, logs) => {
        epochs.push(epoch);
        expect(logs.epoch).toBe(epoch + 1);
      },
    });
    expect(result.stopped).toBe(false);
    expect(result.seed).toBe(1234);
    expect(result.history).toHaveLength(3);
    expect(epochs).toEqual([0, 1, 2]);
    expect(batches).toHaveLength(30);
    const last = result.history[2];
    expect(last?.val_acc).toBeGreaterThanOrEqual(0.95);
    expect(last?.acc).toBeGreaterThan(0.9);
    expect(last?.loss).toBeLessThan(result.history[0]?.loss ?? 0);

    // Test-split evaluation: values agree with Keras' own evaluate().
    const evaluation = await evaluateHead(tf, model, val.x, val.labels, 2);
    expect(evaluation.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(evaluation.predictions).toHaveLength(100);
    expect(evaluation.confusion.flat().reduce((s, v) => s + v, 0)).toBe(100);
    expect((evaluation.confusion[0]?.[0] ?? 0) + (evaluation.confusion[1]?.[1] ?? 0)).toBe(
      Math.round(evaluation.accuracy * 100),
    );
    const [kerasLoss, kerasAcc] = (model.evaluate(val.x.reshape([-1, 7, 7, 512]), yVal) as tfjs.Scalar[]).map(
      (t) => t.dataSync()[0],
    );
    expect(evaluation.loss).toBeCloseTo(kerasLoss ?? Number.NaN, 4);
    expect(evaluation.accuracy).toBeCloseTo(kerasAcc ?? Number.NaN, 6);

    // Export → import gives identical predictions and carries the metadata.
    const artifacts = await exportHead(tf, model, {
      classes: ["cats", "dogs"],
      config: fast(),
      modelId: "vgg16",
    });
    const { model: imported, meta } = await importHead(tf, artifacts);
    expect(meta?.classes).toEqual(["cats", "dogs"]);
    expect(meta?.config).toEqual(fast());
    const again = await evaluateHead(tf, imported, val.x, val.labels, 2);
    expect(Array.from(again.predictions)).toEqual(Array.from(evaluation.predictions));
    expect(imported.loss).toBe("binaryCrossentropy");

    for (const t of [train.x, val.x, yTrain, yVal]) t.dispose();
    model.dispose();
    imported.dispose();
  });

  it("continuing from epoch 3 to 5 gives 5 entries, identical to an uninterrupted seeded run", async () => {
    const train = synthetic(60, 3);
    const val = synthetic(20, 4);
    const data = {
      xTrain: train.x,
      yTrain: labelsTensor(tf, train.labels, 2),
      xVal: val.x,
      yVal: labelsTensor(tf, val.labels, 2),
    };
    const config = fast({ hiddenUnits: 8, learningRate: 1e-4 });
    const straight = await trainHead(tf, buildHead(tf, config, 2), data, { ...config, epochs: 5 });

    const model = buildHead(tf, config, 2);
    const first = await trainHead(tf, model, data, { ...config, epochs: 3 });
    expect(first.history).toHaveLength(3);
    const resumedEpochs: number[] = [];
    const second = await trainHead(
      tf,
      model,
      data,
      { ...config, epochs: 5 },
      { onEpochEnd: (e) => void resumedEpochs.push(e) },
      first,
    );
    expect(resumedEpochs).toEqual([3, 4]);
    expect(second.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5]);
    for (let i = 0; i < 5; i++) {
      expect(second.history[i]?.loss).toBeCloseTo(straight.history[i]?.loss ?? Number.NaN, 5);
      expect(second.history[i]?.val_loss).toBeCloseTo(straight.history[i]?.val_loss ?? Number.NaN, 5);
    }
  });

  it("stops when asked, keeping only completed epochs", async () => {
    const train = synthetic(40, 5);
    const y = labelsTensor(tf, train.labels, 2);
    let batchesSeen = 0;
    const result = await trainHead(
      tf,
      buildHead(tf, fast({ hiddenUnits: 4 }), 2),
      { xTrain: train.x, yTrain: y },
      fast({ hiddenUnits: 4, epochs: 10 }),
      {
        onBatchEnd: () => void batchesSeen++,
        shouldStop: () => batchesSeen >= 3, // mid-epoch 2 (2 batches per epoch)
      },
    );
    expect(result.stopped).toBe(true);
    expect(batchesSeen).toBe(3);
    expect(result.history).toHaveLength(1);
    expect(result.history[0]?.val_loss).toBeNull();
  });

  it("a NaN feature stops training with an explanation and restores finite weights", async () => {
    const train = synthetic(40, 6);
    const poisoned = train.x.bufferSync();
    poisoned.set(Number.NaN, 7, 123);
    const xTrain = poisoned.toTensor() as tfjs.Tensor2D;
    const model = buildHead(tf, fast({ hiddenUnits: 4 }), 2);
    const before = Array.from(await (model.getWeights()[0] as tfjs.Tensor).data());
    const error = await trainHead(
      tf,
      model,
      { xTrain, yTrain: labelsTensor(tf, train.labels, 2) },
      fast({ hiddenUnits: 4 }),
    ).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HeadTrainingError);
    const e = error as HeadTrainingError;
    expect(e.kind).toBe("non-finite-features");
    expect(e.likelyCause).toBe("non-finite-features");
    expect(e.at.epoch).toBe(0);
    expect(e.history).toEqual([]);
    expect(e.explanation).toMatch(/did not start.*NaN or Infinity.*clear the feature cache/);
    const after = Array.from(await (model.getWeights()[0] as tfjs.Tensor).data());
    expect(after).toEqual(before);
  });

  it("a diverging learning rate is explained as such", async () => {
    const train = synthetic(40, 7);
    const config = fast({ hiddenUnits: 4, optimizer: "sgd", learningRate: 1e39 });
    const error = await trainHead(
      tf,
      buildHead(tf, config, 2),
      { xTrain: train.x, yTrain: labelsTensor(tf, train.labels, 2) },
      config,
    ).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HeadTrainingError);
    expect((error as HeadTrainingError).likelyCause).toBe("diverged");
    expect((error as HeadTrainingError).explanation).toMatch(
      /weights became.*learning rate \(1e\+39\) is too high/,
    );
  });
});
