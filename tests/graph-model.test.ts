/**
 * The graph-model writer on the notop model (58 MB, fast): model.json
 * structure, shard layout and bytes, quantized storage, metadata, and a TF.js
 * load + block1_pool run compared with a manual conv/relu/maxPool.
 *
 * TF.js runs on the WASM backend (tests/helpers/tf-node): the pure-JS CPU
 * backend needs ~9 s for one 224×224×64→64 convolution.
 */
import { endianness } from "node:os";
import type * as tfType from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildMetadata } from "../src/model/convert";
import {
  buildVgg16GraphModel,
  DEFAULT_SHARD_BYTES,
  type GraphModelArtifacts,
  outputNames,
  outputNodes,
  shardFileName,
  storageFor,
} from "../src/model/graph-model";
import type { LayerWeights, Vgg16Weights } from "../src/model/keras-h5";
import { modelIdFor, readVgg16Metadata } from "../src/model/metadata";
import { type Quantization, quantizeFloat16, quantizeUint8 } from "../src/model/quantize";
import { createRandom } from "../src/model/random";
import { syntheticVgg16Weights } from "../src/model/synthetic";
import { FEATURE_UNITS, totalParams, weightedLayers } from "../src/model/vgg16-spec";
import { tfWasm } from "./helpers/tf-node";

const SEED = 31;
const NOW = new Date("2024-01-02T03:04:05Z");
const MiB4 = 4 * 1024 * 1024;

type Node = GraphModelArtifacts["modelJson"]["modelTopology"]["node"][number];

function build(weights: Vgg16Weights, quantization: Quantization, shardBytes?: number): GraphModelArtifacts {
  return buildVgg16GraphModel(weights, {
    quantization,
    metadata: buildMetadata(weights, { kind: "synthetic", seed: SEED }, { quantization, now: NOW }),
    shardBytes,
  });
}

function concat(shards: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(shards.reduce((n, s) => n + s.length, 0));
  let offset = 0;
  for (const s of shards) {
    out.set(s, offset);
    offset += s.length;
  }
  return out;
}

function manifestOf(artifacts: GraphModelArtifacts) {
  const [group, ...rest] = artifacts.modelJson.weightsManifest;
  expect(rest).toHaveLength(0);
  if (!group) throw new Error("empty manifest");
  return group;
}

/** Little-endian float32 bytes, written explicitly. */
function float32LE(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    view.setFloat32(i * 4, v, true);
  });
  return out;
}

function float16LE(values: Float32Array): Uint8Array {
  const halves = quantizeFloat16(values);
  const out = new Uint8Array(halves.length * 2);
  const view = new DataView(out.buffer);
  halves.forEach((h, i) => {
    view.setUint16(i * 2, h, true);
  });
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

const decodeList = (node: Node | undefined, attr: string): string[] => {
  const value = node?.attr?.[attr] as { list?: { s?: string[] } } | undefined;
  return (value?.list?.s ?? []).map((s) => atob(s));
};
const decodeString = (node: Node | undefined, attr: string): string | undefined => {
  const value = node?.attr?.[attr] as { s?: string } | undefined;
  return value?.s === undefined ? undefined : atob(value.s);
};
const intList = (node: Node | undefined, attr: string): string[] | undefined =>
  (node?.attr?.[attr] as { list?: { i?: string[] } } | undefined)?.list?.i;

function layerOf(weights: Vgg16Weights, name: string): LayerWeights {
  const w = weights.layers.get(name);
  if (!w) throw new Error(`no weights for ${name}`);
  return w;
}

describe("graph model writer (notop, synthetic)", () => {
  let weights: Vgg16Weights;
  let f32: GraphModelArtifacts;
  let f16: GraphModelArtifacts;
  let nodes: Node[];

  beforeAll(() => {
    weights = syntheticVgg16Weights(SEED, false);
    f32 = build(weights, "none");
    f16 = build(weights, "float16");
    nodes = f32.modelJson.modelTopology.node;
  });

  describe("model.json", () => {
    it("is a graph model with a Placeholder input", () => {
      expect(f32.modelJson.format).toBe("graph-model");
      const input = nodes[0];
      expect(input?.name).toBe("input_1");
      expect(input?.op).toBe("Placeholder");
      expect(input?.attr?.shape).toEqual({
        shape: { dim: [{ size: "-1" }, { size: "224" }, { size: "224" }, { size: "3" }] },
      });
    });

    it("has 13 _FusedConv2D nodes with BiasAdd+Relu and SAME padding", () => {
      const convs = nodes.filter((n) => n.op === "_FusedConv2D");
      expect(convs.map((n) => n.name)).toEqual(weightedLayers(false).map((l) => `${l.name}/Relu`));
      for (const conv of convs) {
        const layer = conv.name.replace("/Relu", "");
        const fusedOps = conv.attr?.fused_ops as { list: { s: string[] } };
        expect(fusedOps.list.s).toEqual(["Qmlhc0FkZA==", "UmVsdQ=="]); // base64 of BiasAdd, Relu
        expect(decodeList(conv, "fused_ops")).toEqual(["BiasAdd", "Relu"]);
        expect(decodeString(conv, "padding")).toBe("SAME");
        expect(decodeString(conv, "data_format")).toBe("NHWC");
        expect(intList(conv, "strides")).toEqual(["1", "1", "1", "1"]);
        expect(conv.attr?.num_args).toEqual({ i: "1" });
        expect(conv.input?.slice(1)).toEqual([`${layer}/kernel`, `${layer}/bias`]);
      }
    });

    it("has 5 MaxPool nodes, 2×2 stride 2 VALID", () => {
      const pools = nodes.filter((n) => n.op === "MaxPool");
      expect(pools.map((n) => n.name)).toEqual([1, 2, 3, 4, 5].map((b) => `block${b}_pool/MaxPool`));
      for (const pool of pools) {
        expect(intList(pool, "ksize")).toEqual(["1", "2", "2", "1"]);
        expect(intList(pool, "strides")).toEqual(["1", "2", "2", "1"]);
        expect(decodeString(pool, "padding")).toBe("VALID");
      }
    });

    it("is a chain in topological order with only the expected ops", () => {
      const seen = new Set<string>();
      for (const node of nodes) {
        for (const input of node.input ?? []) expect(seen.has(input), `${node.name} ← ${input}`).toBe(true);
        seen.add(node.name);
      }
      expect(new Set(nodes.map((n) => n.op))).toEqual(
        new Set(["Placeholder", "Const", "_FusedConv2D", "MaxPool"]),
      );
      // The data path: input → conv/pool chain, each op consuming the previous one.
      const ops = nodes.filter((n) => n.op === "_FusedConv2D" || n.op === "MaxPool");
      ops.forEach((op, i) => {
        expect(op.input?.[0]).toBe(i === 0 ? "input_1" : ops[i - 1]?.name);
      });
    });

    it("declares one manifest weight per Const node", () => {
      const consts = nodes.filter((n) => n.op === "Const").map((n) => n.name);
      expect(consts).toHaveLength(26);
      expect(manifestOf(f32).weights.map((w) => w.name)).toEqual(consts);
    });

    it("exposes features and the pools of blocks 1-4 (block5_pool is features), and no predictions", () => {
      const { inputs, outputs } = f32.modelJson.signature;
      expect(Object.keys(inputs)).toEqual(["input_1"]);
      expect(inputs.input_1?.name).toBe("input_1:0");
      expect(Object.keys(outputs).sort()).toEqual(
        ["features", "block1_pool", "block2_pool", "block3_pool", "block4_pool"].sort(),
      );
      expect(outputs.predictions).toBeUndefined();
      expect(outputs.features?.name).toBe("block5_pool/MaxPool:0");
      expect(outputs.features?.tensorShape.dim.map((d) => d.size)).toEqual(["-1", "7", "7", "512"]);
      expect(outputs.block1_pool?.name).toBe("block1_pool/MaxPool:0");
      expect(outputs.block1_pool?.tensorShape.dim.map((d) => d.size)).toEqual(["-1", "112", "112", "64"]);
      expect(outputs.block3_pool?.tensorShape.dim.map((d) => d.size)).toEqual(["-1", "28", "28", "256"]);
      expect(outputNodes(true).predictions).toBe("predictions/Softmax");
      expect(outputNodes(false).predictions).toBeUndefined();
      // Views may still ask for block5_pool: metadata maps it to "features".
      expect(outputNames(false).block5_pool).toBe("features");
      expect(outputNames(true).predictions).toBe("predictions");
    });
  });

  describe("manifest and shards (float32)", () => {
    it("uses Keras shapes and float32 in manifest order", () => {
      const entries = manifestOf(f32).weights;
      expect(entries[0]).toEqual({ name: "block1_conv1/kernel", shape: [3, 3, 3, 64], dtype: "float32" });
      expect(entries[1]).toEqual({ name: "block1_conv1/bias", shape: [64], dtype: "float32" });
      expect(entries[25]).toEqual({ name: "block5_conv3/bias", shape: [512], dtype: "float32" });
      expect(entries.every((e) => e.quantization === undefined)).toBe(true);
    });

    it("cuts 4 MiB shards named group1-shard{i}of{N}.bin", () => {
      const totalBytes = totalParams(false) * 4;
      expect(DEFAULT_SHARD_BYTES).toBe(4_194_304);
      expect(f32.weightBytes).toBe(totalBytes);
      const n = Math.ceil(totalBytes / MiB4);
      expect(n).toBe(15);
      expect(f32.shards).toHaveLength(n);
      expect(manifestOf(f32).paths).toEqual(
        Array.from({ length: n }, (_, i) => `group1-shard${i + 1}of${n}.bin`),
      );
      expect(shardFileName(0, 15)).toBe("group1-shard1of15.bin");
      f32.shards.slice(0, -1).forEach((s) => {
        expect(s.length).toBe(4_194_304);
      });
      expect(f32.shards.at(-1)?.length).toBe(totalBytes - (n - 1) * MiB4);
    });

    it("stores the weights as little-endian float32 laid end to end in manifest order", () => {
      expect(endianness()).toBe("LE"); // raw Float32Array bytes below are little-endian
      const all = concat(f32.shards);
      const entries = manifestOf(f32).weights;
      const first = layerOf(weights, "block1_conv1").kernel;
      const last = layerOf(weights, "block5_conv3").bias;
      expect(sameBytes(all.subarray(0, first.length * 4), float32LE(first))).toBe(true);
      expect(sameBytes(all.subarray(all.length - last.length * 4), float32LE(last))).toBe(true);
      let offset = 0;
      for (const entry of entries) {
        const [layer, part] = entry.name.split("/") as [string, "kernel" | "bias"];
        const values = layerOf(weights, layer)[part];
        const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
        expect(sameBytes(all.subarray(offset, offset + bytes.length), bytes), entry.name).toBe(true);
        offset += bytes.length;
      }
      expect(offset).toBe(all.length);
    });

    it("honours a custom shard size, including an exact multiple", () => {
      const quarter = (totalParams(false) * 4) / 4;
      const exact = build(weights, "none", quarter);
      expect(exact.shards.map((s) => s.length)).toEqual([quarter, quarter, quarter, quarter]);
      expect(manifestOf(exact).paths).toEqual([1, 2, 3, 4].map((i) => `group1-shard${i}of4.bin`));
      const odd = build(weights, "none", 9_999_991);
      expect(odd.shards).toHaveLength(Math.ceil(odd.weightBytes / 9_999_991));
      expect(sameBytes(concat(odd.shards), concat(f32.shards))).toBe(true);
    });
  });

  describe("quantized storage", () => {
    it("chooses storage per tensor: biases always float32, uint8 only for dense kernels", () => {
      const kernel = (name: string) => ({ name: `${name}/kernel`, quantizable: true });
      const bias = (name: string) => ({ name: `${name}/bias`, quantizable: false });
      expect(storageFor(kernel("block1_conv1"), "none")).toBe("float32");
      expect(storageFor(kernel("block1_conv1"), "float16")).toBe("float16");
      expect(storageFor(kernel("fc1"), "float16")).toBe("float16");
      expect(storageFor(kernel("fc1"), "uint8")).toBe("uint8");
      expect(storageFor(kernel("fc2"), "uint8")).toBe("uint8");
      expect(storageFor(kernel("predictions"), "uint8")).toBe("uint8");
      expect(storageFor(kernel("block1_conv1"), "uint8")).toBe("float16");
      expect(storageFor(kernel("block5_conv3"), "uint8")).toBe("float16");
      for (const mode of ["none", "float16", "uint8"] as const) {
        expect(storageFor(bias("fc1"), mode)).toBe("float32");
        expect(storageFor(bias("block1_conv1"), mode)).toBe("float32");
        expect(storageFor({ name: "flatten/shape", quantizable: false }, mode)).toBe("float32");
      }
    });

    it("float16 halves the conv kernels while biases stay float32", () => {
      const layers = weightedLayers(false);
      const kernelValues = layers.reduce((n, l) => n + layerOf(weights, l.name).kernel.length, 0);
      const biasValues = layers.reduce((n, l) => n + layerOf(weights, l.name).bias.length, 0);
      expect(kernelValues + biasValues).toBe(totalParams(false));
      expect(f16.weightBytes).toBe(kernelValues * 2 + biasValues * 4);
      expect(f16.shards).toHaveLength(Math.ceil(f16.weightBytes / MiB4));
      expect(concat(f16.shards)).toHaveLength(f16.weightBytes);

      for (const entry of manifestOf(f16).weights) {
        expect(entry.dtype, entry.name).toBe("float32");
        if (entry.name.endsWith("/kernel")) expect(entry.quantization).toEqual({ dtype: "float16" });
        else expect(entry.quantization).toBeUndefined();
      }
      const all = concat(f16.shards);
      const k1 = layerOf(weights, "block1_conv1").kernel;
      const b1 = layerOf(weights, "block1_conv1").bias;
      expect(sameBytes(all.subarray(0, k1.length * 2), float16LE(k1))).toBe(true);
      expect(sameBytes(all.subarray(k1.length * 2, k1.length * 2 + b1.length * 4), float32LE(b1))).toBe(true);
      const last = layerOf(weights, "block5_conv3").bias;
      expect(sameBytes(all.subarray(all.length - last.length * 4), float32LE(last))).toBe(true);
    });

    it("uint8 on a full model quantizes only the dense kernels, with the manifest's scale and min", () => {
      // Placeholder-sized tensors: the full model is 553 MB, and the writer
      // encodes whatever values it is given (it does not check them against
      // the manifest shapes), so small arrays exercise the same code path.
      const random = createRandom(SEED + 1);
      const small = (n: number) => Float32Array.from({ length: n }, () => random() * 2 - 1);
      const layers = new Map<string, LayerWeights>();
      for (const l of weightedLayers(true)) layers.set(l.name, { kernel: small(10), bias: small(3) });
      const full = build({ includeTop: true, layers }, "uint8");
      const entries = manifestOf(full).weights;
      expect(entries.map((e) => e.name)).toContain("flatten/shape");

      const all = concat(full.shards);
      let offset = 0;
      for (const entry of entries) {
        const [layer, part] = entry.name.split("/") as [string, string];
        if (entry.name === "flatten/shape") {
          expect(entry).toEqual({ name: "flatten/shape", shape: [2], dtype: "int32" });
          const view = new DataView(all.buffer, all.byteOffset + offset, 8);
          expect([view.getInt32(0, true), view.getInt32(4, true)]).toEqual([-1, FEATURE_UNITS]);
          offset += 8;
          continue;
        }
        const values = layerOf({ includeTop: true, layers }, layer)[part as "kernel" | "bias"];
        if (part === "bias") {
          expect(entry.quantization, entry.name).toBeUndefined();
          expect(sameBytes(all.subarray(offset, offset + values.length * 4), float32LE(values))).toBe(true);
          offset += values.length * 4;
        } else if (/^(fc1|fc2|predictions)$/.test(layer)) {
          const q = quantizeUint8(values);
          expect(entry.quantization, entry.name).toEqual({ dtype: "uint8", scale: q.scale, min: q.min });
          expect(entry.dtype).toBe("float32");
          expect(sameBytes(all.subarray(offset, offset + values.length), q.data)).toBe(true);
          offset += values.length;
        } else {
          expect(entry.quantization, entry.name).toEqual({ dtype: "float16" });
          expect(sameBytes(all.subarray(offset, offset + values.length * 2), float16LE(values))).toBe(true);
          offset += values.length * 2;
        }
      }
      expect(offset).toBe(full.weightBytes);
      expect(all).toHaveLength(full.weightBytes);
    });
  });

  describe("metadata", () => {
    it("carries the synthetic metadata with a stable modelId", () => {
      const meta = readVgg16Metadata(f32.modelJson.userDefinedMetadata);
      expect(meta).not.toBeNull();
      expect(meta?.modelId).toBe(`vgg16-notop-synthetic-seed${SEED}-none`);
      expect(meta?.synthetic).toBe(true);
      expect(meta?.includeTop).toBe(false);
      expect(meta?.quantization).toBe("none");
      expect(meta?.labels).toBeNull();
      expect(meta?.params).toEqual({ total: 14_714_688, convBase: 14_714_688 });
      expect(meta?.outputs).toEqual(outputNames(false));
      expect(meta?.createdAt).toBe(NOW.toISOString());
      expect(readVgg16Metadata(f16.modelJson.userDefinedMetadata)?.modelId).toBe(
        `vgg16-notop-synthetic-seed${SEED}-float16`,
      );
    });

    it("gives different modelIds for different quantizations, seeds, tops and sources", () => {
      const ids = new Set<string>();
      for (const q of ["none", "float16", "uint8"] as const) {
        for (const seed of [1, 2]) {
          for (const top of [true, false]) ids.add(modelIdFor({ kind: "synthetic", seed }, q, top));
        }
        ids.add(modelIdFor({ kind: "keras-h5", file: "a.h5", md5: "abc", bytes: 1 }, q, true));
      }
      expect(ids.size).toBe(15);
    });
  });

  describe("TF.js loads and runs it", () => {
    let tf: typeof tfType;
    let model: tfType.GraphModel<tfType.io.IOHandlerSync>;

    beforeAll(async () => {
      tf = await tfWasm();
      const bytes = concat(f32.shards);
      model = tf.loadGraphModelSync([f32.modelJson, bytes.buffer as ArrayBuffer]);
    });

    it("sees the signature's inputs and outputs", () => {
      expect(model.inputNodes).toEqual(["input_1"]);
      expect(model.inputs[0]?.shape).toEqual([-1, 224, 224, 3]);
      // One signature key per node: TF.js keeps a single key per node, so
      // block5_pool/MaxPool is exposed once, as "features".
      const pools = [5, 1, 2, 3, 4].map((b) => `block${b}_pool/MaxPool`);
      expect(model.outputs.map((o) => o.name).sort()).toEqual([...pools].sort());
      expect([...model.outputNodes].sort()).toEqual([
        "block1_pool",
        "block2_pool",
        "block3_pool",
        "block4_pool",
        "features",
      ]);
      expect(model.modelSignature).toBeDefined();
      const signature = model.modelSignature as { outputs: Record<string, { name: string }> };
      expect(signature.outputs.features?.name).toBe("block5_pool/MaxPool:0");
      expect(readVgg16Metadata(model.metadata)?.modelId).toBe(`vgg16-notop-synthetic-seed${SEED}-none`);
    });

    it("computes block1_pool like conv2d + bias + relu twice then maxPool", async () => {
      const random = createRandom(SEED);
      const input = Float32Array.from({ length: 224 * 224 * 3 }, () => random() * 250 - 120);
      const x = tf.tensor4d(input, [1, 224, 224, 3]);
      const got = model.execute(x, "block1_pool") as tfType.Tensor;
      expect(got.shape).toEqual([1, 112, 112, 64]);

      const c1 = layerOf(weights, "block1_conv1");
      const c2 = layerOf(weights, "block1_conv2");
      const want = tf.tidy(() => {
        const a = tf.relu(
          tf.add(tf.conv2d(x, tf.tensor4d(c1.kernel, [3, 3, 3, 64]), 1, "same"), tf.tensor1d(c1.bias)),
        ) as tfType.Tensor4D;
        const b = tf.relu(
          tf.add(tf.conv2d(a, tf.tensor4d(c2.kernel, [3, 3, 64, 64]), 1, "same"), tf.tensor1d(c2.bias)),
        ) as tfType.Tensor4D;
        return tf.maxPool(b, 2, 2, "valid");
      });
      const [g, w] = [await got.data(), await want.data()];
      tf.dispose([x, got, want]);
      let maxDiff = 0;
      let maxValue = 0;
      let positive = 0;
      for (let i = 0; i < g.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs((g[i] as number) - (w[i] as number)));
        maxValue = Math.max(maxValue, w[i] as number);
        if ((w[i] as number) > 0) positive++;
      }
      // Meaningful activations: not all zero, not all positive (the ReLU matters).
      expect(maxValue).toBeGreaterThan(0.1);
      expect(positive).toBeGreaterThan(g.length / 10);
      expect(positive).toBeLessThan(g.length);
      expect(maxDiff).toBeLessThan(1e-4);
    });
  });
});
