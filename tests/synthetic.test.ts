/**
 * The seeded PRNG and synthetic weights: determinism, scaling as documented in
 * synthetic.ts, and the per-layer streams that make a notop model's conv base
 * identical to the full model's.
 */
import { describe, expect, it } from "vitest";
import { createRandom, deriveSeed } from "../src/model/random";
import { syntheticLayerWeights, syntheticVgg16Weights } from "../src/model/synthetic";
import { type WeightedLayer, weightedLayers } from "../src/model/vgg16-spec";

const SEED = 2024;

function draws(seed: number, n: number): number[] {
  const random = createRandom(seed);
  return Array.from({ length: n }, () => random());
}

function weighted(name: string): { layer: WeightedLayer; index: number } {
  const index = weightedLayers(true).findIndex((l) => l.name === name);
  const layer = weightedLayers(true)[index];
  if (!layer) throw new Error(`no layer ${name}`);
  return { layer, index };
}

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

describe("createRandom", () => {
  it("is deterministic per seed and differs across seeds", () => {
    expect(draws(1, 100)).toEqual(draws(1, 100));
    expect(draws(1, 100)).not.toEqual(draws(2, 100));
    expect(draws(0, 100)).not.toEqual(draws(1, 100));
    expect(draws(0xffffffff, 10)).toEqual(draws(-1, 10)); // seeds are taken as uint32
  });

  it("draws from [0, 1) with mean ≈ 0.5 and variance ≈ 1/12", () => {
    const random = createRandom(77);
    let sum = 0;
    let sumSq = 0;
    let lo = 1;
    let hi = 0;
    const n = 100_000;
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < n; i++) {
      const v = random();
      sum += v;
      sumSq += v * v;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      buckets[Math.floor(v * 10)]++;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    const mean = sum / n;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005); // σ of the mean ≈ 0.0009
    expect(Math.abs(sumSq / n - mean * mean - 1 / 12)).toBeLessThan(0.002);
    for (const count of buckets) expect(Math.abs(count - n / 10)).toBeLessThan(500); // σ ≈ 95
  });

  it("derives distinct, deterministic seeds per stream", () => {
    expect(deriveSeed(SEED, 3)).toBe(deriveSeed(SEED, 3));
    const seeds = new Set(Array.from({ length: 16 }, (_, i) => deriveSeed(SEED, i)));
    expect(seeds.size).toBe(16);
    expect(deriveSeed(SEED, 0)).not.toBe(deriveSeed(SEED + 1, 0));
    for (const s of seeds) {
      expect(Number.isInteger(s)).toBe(true);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(2 ** 32);
    }
  });
});

describe("syntheticLayerWeights", () => {
  const cases = [
    // name, fan-in, documented scale
    ["block1_conv1", 3 * 3 * 3, 1 / 64],
    ["block3_conv1", 3 * 3 * 128, 1],
  ] as const;

  it.each(cases)("%s is deterministic and seed-dependent", (name) => {
    const { layer, index } = weighted(name);
    const a = syntheticLayerWeights(layer, index, SEED);
    const b = syntheticLayerWeights(layer, index, SEED);
    const c = syntheticLayerWeights(layer, index, SEED + 1);
    expect(bitsEqual(a.kernel, b.kernel)).toBe(true);
    expect(bitsEqual(a.bias, b.bias)).toBe(true);
    expect(bitsEqual(a.kernel, c.kernel)).toBe(false);
    expect(bitsEqual(a.bias, c.bias)).toBe(false);
  });

  it.each(cases)("%s has the spec's shapes, zero-sum kernels and He-uniform scale", (name, fanIn, scale) => {
    const { layer, index } = weighted(name);
    const { kernel, bias } = syntheticLayerWeights(layer, index, SEED);
    const outputs = layer.kind === "conv" ? layer.outChannels : layer.units;
    expect(kernel).toHaveLength(fanIn * outputs);
    expect(bias).toHaveLength(outputs);

    // Zero-sum over the inputs of every output unit ([..., fanIn, outputs] layout).
    const sums = new Float64Array(outputs);
    for (let i = 0; i < kernel.length; i++)
      sums[i % outputs] = (sums[i % outputs] as number) + (kernel[i] as number);
    for (const s of sums) expect(Math.abs(s)).toBeLessThan(1e-3);

    // Uniform(-limit, limit) minus each unit's mean: |k| < 2·limit, and the
    // spread is that of the uniform (σ = limit/√3) shrunk by √(1 - 1/fanIn).
    const limit = Math.sqrt(6 / fanIn) * scale;
    let maxAbs = 0;
    let sumSq = 0;
    for (const k of kernel) {
      maxAbs = Math.max(maxAbs, Math.abs(k));
      sumSq += k * k;
    }
    expect(maxAbs).toBeLessThan(2 * limit);
    expect(maxAbs).toBeGreaterThan(0.9 * limit);
    const std = Math.sqrt(sumSq / kernel.length);
    expect(std / ((limit / Math.sqrt(3)) * Math.sqrt(1 - 1 / fanIn))).toBeCloseTo(1, 1);

    // Biases: small, non-zero, and not all alike.
    for (const b of bias) {
      expect(Math.abs(b)).toBeLessThan(0.05);
      expect(b).not.toBe(0);
    }
    expect(Math.max(...bias) - Math.min(...bias)).toBeGreaterThan(0.05);
  });

  it("scales block1_conv1 down by 64 relative to He-uniform", () => {
    const { layer, index } = weighted("block1_conv1");
    const { kernel } = syntheticLayerWeights(layer, index, SEED);
    const heLimit = Math.sqrt(6 / 27);
    const maxAbs = kernel.reduce((m, k) => Math.max(m, Math.abs(k)), 0);
    expect(maxAbs).toBeLessThan((2 * heLimit) / 64);
    expect(maxAbs).toBeGreaterThan((0.9 * heLimit) / 64);
  });

  it("gives each layer index its own stream", () => {
    const { layer } = weighted("block5_conv2");
    const a = syntheticLayerWeights(layer, 11, SEED);
    const b = syntheticLayerWeights(layer, 12, SEED);
    expect(bitsEqual(a.kernel, b.kernel)).toBe(false);
    expect(bitsEqual(a.bias, b.bias)).toBe(false);
  });
});

describe("notop and full models share the conv base", () => {
  it("weightedLayers(false) is a prefix of weightedLayers(true)", () => {
    const notop = weightedLayers(false);
    const full = weightedLayers(true);
    expect(notop).toHaveLength(13);
    expect(full.slice(0, notop.length)).toEqual(notop);
    expect(full.slice(notop.length).map((l) => l.name)).toEqual(["fc1", "fc2", "predictions"]);
  });

  it("draws every conv layer of the notop model from the stream of its index in the full model", () => {
    // The full model is 553 MB; the guarantee rests on the same (layer, index)
    // pairs, so compare the notop model with per-layer draws at full-model indices.
    const notop = syntheticVgg16Weights(SEED, false);
    expect(notop.includeTop).toBe(false);
    expect([...notop.layers.keys()]).toEqual(weightedLayers(false).map((l) => l.name));
    weightedLayers(true).forEach((layer, index) => {
      if (layer.kind !== "conv") return;
      const got = notop.layers.get(layer.name);
      if (!got) throw new Error(`notop lacks ${layer.name}`);
      const want = syntheticLayerWeights(layer, index, SEED);
      expect(bitsEqual(got.kernel, want.kernel), `${layer.name} kernel`).toBe(true);
      expect(bitsEqual(got.bias, want.bias), `${layer.name} bias`).toBe(true);
    });
  });
});
