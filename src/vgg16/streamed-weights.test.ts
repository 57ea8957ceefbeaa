/**
 * streamed-weights.ts on TF.js' CPU backend in Node: shards read before the backend started wait and are made
 * into tensors once it has, later ones at once; what the load gets equals tf.io.decodeWeights; a load that
 * fails frees everything, and the early products go through the hooks.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { streamWhileBackendStarts } from "./streamed-weights";

const specs: tf.io.WeightsManifestEntry[] = [
  { name: "a", shape: [3], dtype: "float32" }, // bytes 0–12
  { name: "b", shape: [2, 3], dtype: "float32" }, // 12–36, across shards
  { name: "c", shape: [2], dtype: "float32" }, // 36–44
];
const bytes = Float32Array.from({ length: 11 }, (_, i) => i * 0.75 - 2);
/** Three shards cutting weight b: [0, 16), [16, 28), [28, 44). */
const shards = [
  [0, 16],
  [16, 28],
  [28, 44],
].map(([start, end]) => new Uint8Array(bytes.buffer).slice(start, end).buffer);

/** A backend start that the test finishes, and hooks that log what the stream did. */
function setUp() {
  let started!: () => void;
  const backendStarted = new Promise<void>((resolve) => {
    started = resolve;
  });
  const log: string[] = [];
  const stream = streamWhileBackendStarts(tf, backendStarted, {
    options: () => {
      log.push("weights made");
      return { onWeight: (name) => log.push(`weight ${name}`) };
    },
    releaseEarly: () => log.push("release early"),
  });
  return {
    stream,
    log,
    start: async () => {
      started();
      await backendStarted;
    },
  };
}

const values = async (map: tf.NamedTensorMap | null) =>
  Object.fromEntries(
    await Promise.all(Object.entries(map ?? {}).map(async ([k, t]) => [k, Array.from(await t.data())])),
  );

describe("weights streamed while the backend starts", () => {
  beforeAll(async () => {
    await tf.setBackend("cpu");
  });

  it("keeps shards read before the start, makes them once it started, then takes later shards at once", async () => {
    const { stream, log, start } = setUp();
    const before = tf.memory().numTensors;
    const add = stream.onShards(specs, 3);
    add(1, shards[1] as ArrayBuffer);
    add(0, shards[0] as ArrayBuffer);
    expect(log).toEqual([]); // no tensor before the backend started
    expect(tf.memory().numTensors).toBe(before);
    await start();
    expect(log).toEqual(["weights made", "weight a"]); // b still lacks shard 2
    add(2, shards[2] as ArrayBuffer);
    expect(log).toEqual(["weights made", "weight a", "weight b", "weight c"]);
    const taken = stream.take();
    const expected = tf.io.decodeWeights(bytes.buffer.slice(0), specs);
    expect(await values(taken)).toEqual(await values(expected));
    tf.dispose([...Object.values(taken ?? {}), ...Object.values(expected)]);
    expect(tf.memory().numTensors).toBe(before);
    stream.releaseEarly();
    expect(log.at(-1)).toBe("release early");
  });

  it("makes everything at take() when the backend started before the manifest was known", async () => {
    const { stream, start } = setUp();
    await start();
    const add = stream.onShards(specs, 3);
    for (const i of [2, 0, 1]) add(i, shards[i] as ArrayBuffer);
    const taken = stream.take();
    expect(Object.keys(taken ?? {}).sort()).toEqual(["a", "b", "c"]);
    tf.dispose(Object.values(taken ?? {}));
  });

  it("a load that fails frees what was made; an incomplete one is refused at take() and freed", async () => {
    const before = tf.memory().numTensors;
    const failing = setUp();
    failing.stream.onShards(specs, 3)(0, shards[0] as ArrayBuffer);
    await failing.start();
    expect(tf.memory().numTensors).toBe(before + 1); // a
    failing.stream.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(failing.log.at(-1)).toBe("release early");
    expect(failing.stream.take()).toBeNull();

    const incomplete = setUp();
    incomplete.stream.onShards(specs, 3)(0, shards[0] as ArrayBuffer);
    await incomplete.start();
    expect(() => incomplete.stream.take()).toThrow();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("is not streamed when no manifest came (take() is null)", async () => {
    const { stream, start } = setUp();
    await start();
    expect(stream.take()).toBeNull();
  });
});
