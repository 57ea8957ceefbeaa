/**
 * StreamingWeights against tf.io.decodeWeights over the same bytes (TF.js'
 * CPU backend in Node): float32 weights inside one shard and across shard
 * boundaries, an int32 weight and a uint8-quantized one, shards arriving out
 * of order; a missing shard is reported, and dispose frees what was made.
 * Also on the WASM backend with weights that span shards written into their
 * heap tensors as the shards come (the worker's way there).
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { wasmInternals } from "../wasm/tfjs-heap";
import { StreamingWeights } from "./streaming-weights";

const specs: tf.io.WeightsManifestEntry[] = [
  { name: "a", shape: [3], dtype: "float32" }, // bytes 0–12: inside shard 0
  { name: "b", shape: [2, 5], dtype: "float32" }, // 12–52: across shards 0, 1 and 2
  { name: "axes", shape: [2], dtype: "int32" }, // 52–60
  { name: "q", shape: [5], dtype: "float32", quantization: { dtype: "uint8", scale: 0.5, min: -1 } }, // 60–65
  { name: "c", shape: [1], dtype: "float32" }, // 65–69: at an odd offset
];

function joinedBytes(): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(69);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 13; i++) view.setFloat32(i * 4, i * 1.5 - 4, true);
  view.setInt32(52, 1, true);
  view.setInt32(56, 2, true);
  bytes.set([0, 1, 2, 200, 255], 60);
  view.setFloat32(65, 7.25, true);
  return bytes;
}

/** Shard boundaries that cut weights: [0, 20), [20, 28), [28, 61), [61, 69). */
function shardsOf(bytes: Uint8Array): ArrayBuffer[] {
  return [
    [0, 20],
    [20, 28],
    [28, 61],
    [61, 69],
  ].map(([start, end]) => bytes.slice(start, end).buffer);
}

describe.each([
  { backend: "cpu", inPlace: false },
  { backend: "wasm", inPlace: true },
])("weight tensors made as the shards arrive ($backend, in place: $inPlace)", ({ backend, inPlace }) => {
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
  });
  const target = () => {
    if (!inPlace) return null;
    const internals = wasmInternals(tf);
    if (!internals) throw new Error("no WASM heap");
    return internals;
  };

  it("equal tf.io.decodeWeights over the joined shards, whatever order the shards come in", async () => {
    const bytes = joinedBytes();
    const expected = tf.io.decodeWeights(bytes.buffer.slice(0), specs);
    const shards = shardsOf(bytes);
    const weights = new StreamingWeights(tf, specs, shards.length, { inPlace: target() });
    const made: string[][] = [];
    const tensorsSoFar = () => tf.memory().numTensors;
    const before = tensorsSoFar();
    for (const index of [2, 0, 3, 1]) {
      weights.add(index, shards[index] as ArrayBuffer);
      made.push([String(tensorsSoFar() - before)]);
    }
    // Shard 2 alone covers nothing (shard 0 is missing); shard 0 then covers "a" (and in place, "b" is
    // allocated and its first 8 bytes written); shard 3 waits for 1; shard 1 completes the rest.
    expect(made.flat()).toEqual(inPlace ? ["0", "2", "2", "5"] : ["0", "1", "1", "5"]);
    const actual = weights.finish();
    expect(Object.keys(actual)).toEqual(specs.map((s) => s.name));
    for (const spec of specs) {
      const [want, got] = [expected[spec.name] as tf.Tensor, actual[spec.name] as tf.Tensor];
      expect(got.dtype, spec.name).toBe(want.dtype);
      expect(got.shape, spec.name).toEqual(want.shape);
      expect(Array.from(await got.data()), spec.name).toEqual(Array.from(await want.data()));
    }
    expect(Array.from(await (actual.q as tf.Tensor).data())).toEqual([-1, -0.5, 0, 99, 126.5]);
    tf.dispose([...Object.values(expected), ...Object.values(actual)]);
  });

  it("says which weights are missing when a shard never came, and frees what it made on dispose", () => {
    const shards = shardsOf(joinedBytes());
    const weights = new StreamingWeights(tf, specs, shards.length, { inPlace: target() });
    const before = tf.memory().numTensors;
    weights.add(0, shards[0] as ArrayBuffer);
    weights.add(2, shards[2] as ArrayBuffer);
    expect(() => weights.finish()).toThrow(/4 of 5 weights were not made \(20 bytes arrived\)/);
    expect(tf.memory().numTensors).toBe(before + (inPlace ? 2 : 1)); // in place: "b" half written
    expect(() => weights.add(0, shards[0] as ArrayBuffer)).toThrow(/shard 0 given twice/);
    weights.dispose();
    expect(tf.memory().numTensors).toBe(before);
    weights.add(1, shards[1] as ArrayBuffer); // after dispose: ignored, nothing made
    expect(tf.memory().numTensors).toBe(before);
  });
});
