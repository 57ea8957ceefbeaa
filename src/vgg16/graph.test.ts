/**
 * The upload / warm-up / predict path on a tiny graph with VGG16's input and
 * our metadata, on TF.js' CPU backend in Node: quantized weights are
 * dequantized, nothing leaks, and a features-only model refuses to classify.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import type { Vgg16Metadata } from "../model/metadata";
import { isVgg16Error } from "./errors";
import { buildGraphModel, predictBatch, warmUp } from "./graph";
import type { ModelFiles } from "./model-files";
import { StreamingWeights } from "./streaming-weights";

/** x [-1,224,224,3] → mean over H,W → [-1,3] → MatMul W [3,4] (uint8-quantized) → Softmax. */
function tinyModel(includeTop: boolean): { files: ModelFiles; w: Float32Array } {
  const scale = 0.02;
  const min = -1;
  const q = Uint8Array.from([0, 50, 100, 150, 200, 250, 25, 75, 125, 175, 225, 255]);
  const w = Float32Array.from(q, (v) => v * scale + min);
  const axes = Int32Array.from([1, 2]);
  const weightData = new Uint8Array(axes.byteLength + q.byteLength);
  weightData.set(new Uint8Array(axes.buffer), 0);
  weightData.set(q, axes.byteLength);
  const metadata = {
    schema: 1,
    architecture: "vgg16",
    modelId: `tiny-${includeTop ? "full" : "notop"}`,
    includeTop,
    synthetic: true,
    outputs: includeTop ? { predictions: "predictions", features: "features" } : { features: "features" },
    labels: null,
  } as unknown as Vgg16Metadata;
  const node = [
    {
      name: "input_1",
      op: "Placeholder",
      attr: {
        dtype: { type: "DT_FLOAT" },
        shape: { shape: { dim: [-1, 224, 224, 3].map((d) => ({ size: String(d) })) } },
      },
    },
    { name: "axes", op: "Const", attr: { dtype: { type: "DT_INT32" } } },
    { name: "w", op: "Const", attr: { dtype: { type: "DT_FLOAT" } } },
    { name: "features/Mean", op: "Mean", input: ["input_1", "axes"], attr: { keep_dims: { b: false } } },
    { name: "logits", op: "MatMul", input: ["features/Mean", "w"], attr: {} },
    { name: "predictions/Softmax", op: "Softmax", input: ["logits"] },
  ];
  const tensorInfo = (name: string) => ({ name, dtype: "DT_FLOAT" });
  const modelJson = {
    format: "graph-model",
    modelTopology: { node, library: {}, versions: { producer: 1 } },
    weightsManifest: [
      {
        paths: ["shard1"],
        weights: [
          { name: "axes", shape: [2], dtype: "int32" as const },
          {
            name: "w",
            shape: [3, 4],
            dtype: "float32" as const,
            quantization: { dtype: "uint8" as const, scale, min },
          },
        ],
      },
    ],
    signature: {
      inputs: { input_1: tensorInfo("input_1:0") },
      outputs: {
        ...(includeTop ? { predictions: tensorInfo("predictions/Softmax:0") } : {}),
        features: tensorInfo("features/Mean:0"),
      },
    },
    userDefinedMetadata: { vgg16: metadata as unknown as Record<string, never> },
  };
  return {
    w,
    files: {
      url: "https://example.test/tiny/model.json",
      modelJson,
      metadata,
      weightSpecs: modelJson.weightsManifest[0]?.weights ?? [],
      weightData: [weightData.buffer.slice(0)],
      totalBytes: weightData.byteLength,
      fromCache: false,
      downloadMs: 0,
      cacheCheck: null,
    },
  };
}

function softmax(v: number[]): number[] {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe("graph model from memory", () => {
  it("dequantizes uint8 weights, predicts a batch, frees every tensor and drops the JS weight copy", async () => {
    const { files, w } = tinyModel(true);
    const model = await buildGraphModel(files);
    expect(
      (model as unknown as { artifacts: { weightData?: unknown } }).artifacts.weightData,
    ).toBeUndefined();
    const baseline = tf.memory().numTensors;

    await warmUp(model, files.metadata);
    expect(tf.memory().numTensors).toBe(baseline);

    // Two constant images: mean (per channel) = the constant.
    const inputs = [
      [1, 2, 3],
      [-2, 0.5, 4],
    ].map((c) => Float32Array.from({ length: 224 * 224 * 3 }, (_, i) => c[i % 3] as number));
    const top = await predictBatch(model, files.metadata, inputs, 4);
    expect(tf.memory().numTensors).toBe(baseline);

    inputs.forEach((_, n) => {
      const c = n === 0 ? [1, 2, 3] : [-2, 0.5, 4];
      const logits = [0, 1, 2, 3].map((j) => c.reduce((s, x, i) => s + x * (w[i * 4 + j] as number), 0));
      const p = softmax(logits);
      const want = p
        .map((probability, index) => ({ index, probability }))
        .sort((a, b) => b.probability - a.probability);
      const got = top[n] ?? [];
      expect(got.map((g) => g.index)).toEqual(want.map((x) => x.index));
      got.forEach((g, i) => {
        expect(g.probability).toBeCloseTo(want[i]?.probability ?? Number.NaN, 5);
        expect(g.name).toBe(`class ${g.index}`);
      });
    });
    model.dispose();
  });

  it("builds the same model from weight tensors made while the shards arrived, and frees them on failure", async () => {
    const { files } = tinyModel(true);
    const plain = await buildGraphModel(files);
    // The one shard cut in two inside the quantized weight.
    const bytes = new Uint8Array(files.weightData[0] as ArrayBuffer);
    const streamed = new StreamingWeights(tf, files.weightSpecs, 2);
    streamed.add(1, bytes.slice(13).buffer);
    streamed.add(0, bytes.slice(0, 13).buffer);
    const model = await buildGraphModel({ ...files, weightData: [] }, streamed.finish());
    const input = [Float32Array.from({ length: 224 * 224 * 3 }, (_, i) => [1, -2, 3][i % 3] as number)];
    const [want, got] = await Promise.all(
      [plain, model].map((m) => predictBatch(m, files.metadata, input, 4)),
    );
    expect(got).toEqual(want);
    expect(got?.[0]?.[0]?.probability).toBeGreaterThan(0.25);
    plain.dispose();
    model.dispose();

    const before = tf.memory().numTensors;
    const broken = new StreamingWeights(tf, files.weightSpecs, 1);
    broken.add(0, bytes.slice(0).buffer);
    const bad = { ...files, modelJson: { ...files.modelJson, modelTopology: { node: "not a graph" } } };
    await expect(buildGraphModel(bad, broken.finish())).rejects.toThrow(/could not build the graph/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("refuses to classify with a features-only model", async () => {
    const { files } = tinyModel(false);
    const model = await buildGraphModel(files);
    await warmUp(model, files.metadata); // warms up on `features`
    const error = await predictBatch(model, files.metadata, [new Float32Array(224 * 224 * 3)]).catch(
      (e) => e,
    );
    expect(isVgg16Error(error, "no-predictions")).toBe(true);
    model.dispose();
  });

  it("reports a graph TF.js cannot build as model-invalid, naming the URL", async () => {
    const { files } = tinyModel(true);
    const broken: ModelFiles = {
      ...files,
      modelJson: {
        ...files.modelJson,
        modelTopology: { node: [] }, // no `versions`: TF.js 4.22 throws
      },
    };
    const error = await buildGraphModel(broken).catch((e: unknown) => e);
    expect(isVgg16Error(error, "model-invalid")).toBe(true);
    expect((error as Error).message).toMatch(
      /^https:\/\/example\.test\/tiny\/model\.json: TF\.js could not build the graph \(/,
    );
  });
});
