/**
 * The sparse head kernels (src/transfer/sparse-head-kernels.ts) against TF.js
 * ops on the same data: the batch gather and its lists of non-zero values,
 * x·W1 over ranges of feature blocks, and the fused gradient + RMSprop row
 * update on the tiled layout; in both variants, plain SIMD and relaxed SIMD's
 * fused multiply-add (which Node 20 compiles only behind a V8 flag, set here
 * before any module is compiled).
 */
import { setFlagsFromString } from "node:v8";
import type * as tfjs from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { fromTiles, toTiles } from "../src/transfer/fast-head";
import { mulberry32 } from "../src/transfer/random";
import {
  SPARSE_HEAD_TILE_ROWS,
  SPARSE_HEAD_UNIT_GROUP,
  type SparseHeadKernels,
  sparseHeadKernels,
  sparseHeadModule,
  sparseHeadScratchBytes,
} from "../src/transfer/sparse-head-kernels";
import { type WasmInternals, wasmInternals } from "../src/wasm/tfjs-heap";
import { tfWasm } from "./helpers/tf-node";

setFlagsFromString("--experimental-wasm-relaxed-simd");

let tf: typeof tfjs;
let internals: WasmInternals;
let kernels: SparseHeadKernels;
beforeAll(async () => {
  tf = await tfWasm();
  const found = wasmInternals(tf);
  if (!found) throw new Error("WASM internals not available");
  internals = found;
});

/** Binds the variant under test to `kernels`. */
function useVariant(fused: boolean): void {
  const bound = sparseHeadKernels(internals.memory, { relaxed: fused });
  if (!bound) throw new Error("WASM SIMD kernels not available");
  expect(bound.fused).toBe(fused);
  kernels = bound.kernels;
}

const BLOCKS = 3;
const F = BLOCKS * SPARSE_HEAD_TILE_ROWS;
const H = 2 * SPARSE_HEAD_UNIT_GROUP;
const HB = H * 4;
const N = 9;

/** 32 rows (the most a batch may have), repeating, row 3 first. */
const ROWS_32 = Array.from({ length: 32 }, (_, n) => (n * 5 + 3) % N);

/** [N, F] features, `zeros` of them exactly 0 (some −0), the rest in (0, 2). */
function features(zeros: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: N * F }, () => {
    const r = random();
    if (r < zeros / 2) return 0;
    if (r < zeros) return -0;
    return r * 2;
  });
}

const offset = (t: tfjs.Tensor) => internals.offsetOf(t);

interface Lists {
  sampleLists: tfjs.Tensor;
  sampleCounts: tfjs.Tensor;
  featureLists: tfjs.Tensor;
  featureIndex: tfjs.Tensor;
}

/** Gathers `rows` of x with the kernel, blocks [blk0, blk1) at a time (the whole range by default). */
function gather(x: tfjs.Tensor2D, rows: number[], splits: number[] = []): Lists {
  const bytes = sparseHeadScratchBytes(F, rows.length);
  const lists: Lists = {
    sampleLists: tf.zeros([bytes.sampleLists / 4]),
    sampleCounts: tf.zeros([bytes.sampleCounts / 4]),
    featureLists: tf.zeros([bytes.featureLists / 4]),
    featureIndex: tf.zeros([bytes.featureIndex / 4]),
  };
  const offsets = tf.zeros([rows.length]);
  const view = new Int32Array(internals.memory.buffer, offset(offsets), rows.length);
  rows.forEach((r, i) => {
    view[i] = offset(x) + r * F * 4;
  });
  const bounds = [0, ...splits, BLOCKS];
  for (let i = 0; i + 1 < bounds.length; i++) {
    kernels.gather(
      offset(offsets),
      rows.length,
      bounds[i] as number,
      bounds[i + 1] as number,
      offset(lists.sampleLists),
      offset(lists.sampleCounts),
      offset(lists.featureLists),
      offset(lists.featureIndex),
      HB,
    );
  }
  offsets.dispose();
  return lists;
}

const ints = (t: tfjs.Tensor) => new Int32Array(internals.memory.buffer, offset(t), t.size);
const floats = (t: tfjs.Tensor) => new Float32Array(internals.memory.buffer, offset(t), t.size);

describe.each([
  ["plain SIMD", false],
  ["relaxed SIMD (fused multiply-add)", true],
])("sparse head kernels, %s", (_name, fused) => {
  beforeAll(() => useVariant(fused));

  it("are valid WebAssembly for plain and shared memories", () => {
    expect(WebAssembly.validate(sparseHeadModule(false, fused))).toBe(true);
    expect(WebAssembly.validate(sparseHeadModule(true, fused))).toBe(true);
  });

  it("gather lists exactly the batch's non-zero values per sample and per feature (−0 is zero, NaN is not)", () => {
    const data = features(0.5, 1);
    data[3 * F + 7] = Number.NaN;
    const x = tf.tensor2d(data, [N, F]);
    const rows = ROWS_32;
    const b = rows.length;
    // In two calls (as two threads would): the lists do not depend on the split.
    const lists = gather(x, rows, [1]);
    const counts = ints(lists.sampleCounts);
    const listBase = offset(lists.sampleLists);
    const heapInts = new Int32Array(internals.memory.buffer);
    const heapFloats = new Float32Array(internals.memory.buffer);
    let nanEntries = 0;
    for (let bl = 0; bl < BLOCKS; bl++) {
      rows.forEach((r, n) => {
        const expected: [number, number][] = [];
        for (let row = 0; row < SPARSE_HEAD_TILE_ROWS; row++) {
          const v = data[r * F + bl * SPARSE_HEAD_TILE_ROWS + row] as number;
          if (v !== 0) expected.push([row * SPARSE_HEAD_UNIT_GROUP * 4, v]);
        }
        const slot = bl * b + n;
        expect(counts[slot]).toBe(expected.length);
        // Entries, then the zero padding entry.
        const at = (listBase + slot * (SPARSE_HEAD_TILE_ROWS + 1) * 8) / 4;
        const got = Array.from({ length: expected.length + 1 }, (_, e) => [
          heapInts[at + 2 * e] as number,
          heapFloats[at + 2 * e + 1] as number,
        ]);
        expect(got).toEqual([...expected, [0, 0]]);
        nanEntries += expected.filter(([, v]) => Number.isNaN(v)).length;
      });
    }
    // The NaN (row 3, at n = 0, 9, 18, 27) is listed each time.
    expect(nanEntries).toBe(4);
    const index = ints(lists.featureIndex);
    for (let k = 0; k < F; k++) {
      const expected: [number, number][] = [];
      rows.forEach((r, n) => {
        const v = data[r * F + k] as number;
        if (v !== 0) expected.push([n * HB, v]);
      });
      const [start, end] = [index[2 * k] as number, index[2 * k + 1] as number];
      expect((end - start) / 8).toBe(expected.length);
      const got = Array.from({ length: expected.length }, (_, e) => [
        heapInts[start / 4 + 2 * e] as number,
        heapFloats[start / 4 + 2 * e + 1] as number,
      ]);
      expect(got).toEqual(expected);
    }
    tf.dispose([x, ...Object.values(lists)]);
  });

  it.each([0, 0.6, 1])(
    "forward equals tf.matMul with %f zeros, whole and split at any block",
    async (zeros) => {
      const x = tf.tensor2d(features(zeros, 2), [N, F]);
      const w = tf.randomNormal([F, H], 0, 0.1, "float32", 3);
      const tiles = toTiles(tf, w);
      for (const rows of [[1, 4, 4, 7, 0, 2, 8], ROWS_32]) {
        const lists = gather(x, rows);
        const expected = tf.tidy(() => tf.matMul(tf.gather(x, tf.tensor1d(rows, "int32")), w));
        const forward = (blk0: number, blk1: number) => {
          // Not zeros: the kernel must overwrite z.
          const z = tf.fill([rows.length, H], 7);
          kernels.forward(
            offset(tiles),
            HB,
            offset(lists.sampleLists),
            offset(lists.sampleCounts),
            rows.length,
            blk0,
            blk1,
            offset(z),
          );
          return z;
        };
        const scale = Math.max(1e-6, (await tf.max(tf.abs(expected)).data())[0] as number);
        for (const split of [BLOCKS, 1, 2]) {
          const low = forward(0, split);
          const got = split === BLOCKS ? low : tf.add(low, forward(split, BLOCKS));
          const diff = (await tf.max(tf.abs(tf.sub(got, expected))).data())[0] as number;
          // Float32 rounding of 768-term sums in another order (~1e-6); one wrong or missing term would be ~1e-2.
          expect(diff / scale, `split at block ${split}`).toBeLessThan(4e-6);
          if (zeros === 1) expect(Array.from(await got.data()).every((v) => v === 0)).toBe(true);
        }
        if (zeros < 1) expect(scale).toBeGreaterThan(0.1);
        tf.dispose([expected, ...Object.values(lists)]);
      }
      tf.dispose([x, w, tiles]);
    },
  );

  it("update applies x·δ and RMSprop to every row, in two ranges of blocks, as TF.js' ops do", async () => {
    // 80 % zeros: some features are zero in all 9 distinct rows.
    const x = tf.tensor2d(features(0.8, 4), [N, F]);
    const rows = ROWS_32;
    const lists = gather(x, rows);
    const w = tf.randomNormal([F, H], 0, 0.05, "float32", 5);
    const ms = tf.randomUniform([F, H], 0, 1e-3, "float32", 6);
    const wTiles = toTiles(tf, w);
    const msTiles = toTiles(tf, ms);
    // δ with zeros, as ReLU and dropout leave it
    const dz = tf.tidy(() =>
      tf.mul(
        tf.randomNormal([rows.length, H], 0, 1, "float32", 7),
        tf.cast(tf.greater(tf.randomUniform([rows.length, H], 0, 1, "float32", 8), 0.7), "float32"),
      ),
    );
    const [lr, rho, eps] = [2e-5, 0.9, 1e-7];
    const expected = tf.tidy(() => {
      const g = tf.matMul(tf.gather(x, tf.tensor1d(rows, "int32")), dz, true, false);
      const m = tf.add(tf.mul(ms, rho), tf.mul(tf.mul(g, g), 1 - rho));
      return { w: tf.sub(w, tf.div(tf.mul(g, lr), tf.sqrt(tf.add(m, eps)))), ms: m };
    });
    const args = [offset(wTiles), offset(msTiles), HB, offset(lists.featureIndex), offset(dz)] as const;
    kernels.update(...args, 0, 1, lr, rho, 1 - rho, eps);
    kernels.update(...args, 1, BLOCKS, lr, rho, 1 - rho, eps);
    const wAfter = fromTiles(tf, wTiles, [F, H]);
    const msAfter = fromTiles(tf, msTiles, [F, H]);
    const maxDiff = async (a: tfjs.Tensor, b: tfjs.Tensor) =>
      (await tf.max(tf.abs(tf.sub(a, b))).data())[0] as number;
    const step = await maxDiff(expected.w, w);
    expect(step).toBeGreaterThan(1e-6);
    // Within 1e-3 of the step: a couple of float32 ulps of w (~0.05) after 32 terms summed in another
    // order, where one sample's term missing or wrong would be ~1e-2 of it.
    expect(await maxDiff(wAfter, expected.w)).toBeLessThan(step * 1e-3);
    // Relative: a fused multiply-add rounds the gradient's sums once per term instead of twice.
    const msScale = (await tf.max(expected.ms).data())[0] as number;
    expect(await maxDiff(msAfter, expected.ms)).toBeLessThan(msScale * 1e-5);
    // A feature that is zero in every row of the batch only decays its mean square.
    const index = ints(lists.featureIndex);
    const idle = Array.from({ length: F }, (_, k) => k).find((k) => index[2 * k] === index[2 * k + 1]);
    if (idle === undefined) throw new Error("no feature is zero in the whole batch");
    const row = (t: tfjs.Tensor) => Array.from(t.slice([idle, 0], [1, H]).dataSync());
    expect(row(wAfter)).toEqual(row(w));
    expect(row(msAfter)).toEqual(row(tf.mul(ms, rho)));
    tf.dispose([
      x,
      w,
      ms,
      wTiles,
      msTiles,
      dz,
      expected.w,
      expected.ms,
      wAfter,
      msAfter,
      ...Object.values(lists),
    ]);
  });

  it("stores a mean square that decays below float32's normal range as +0, and leaves w as it was", async () => {
    // Zero features only: every gradient is 0, so each mean square is multiplied by rho.
    const x = tf.tensor2d(features(1, 9), [N, F]);
    const lists = gather(x, ROWS_32);
    const w = tf.randomNormal([F, H], 0, 0.05, "float32", 10);
    const dz = tf.randomNormal([ROWS_32.length, H], 0, 1, "float32", 11);
    const smallestNormal = 2 ** -126;
    // Half the columns just above the smallest normal (×0.9 falls below it), half well above.
    const ms = tf.tidy(() => tf.tile(tf.tensor2d([[smallestNormal * 1.05, smallestNormal * 4]]), [F, H / 2]));
    const [wTiles, msTiles] = [toTiles(tf, w), toTiles(tf, ms)];
    kernels.update(
      offset(wTiles),
      offset(msTiles),
      HB,
      offset(lists.featureIndex),
      offset(dz),
      0,
      BLOCKS,
      2e-5,
      0.9,
      0.1,
      1e-7,
    );
    const msAfter = Array.from(await fromTiles(tf, msTiles, [F, H]).data());
    const decayed = Math.fround(Math.fround(smallestNormal * 4) * Math.fround(0.9));
    expect(msAfter.filter((_, i) => i % 2 === 0).every((v) => Object.is(v, 0))).toBe(true);
    expect(msAfter.filter((_, i) => i % 2 === 1).every((v) => v === decayed)).toBe(true);
    expect(Array.from(await fromTiles(tf, wTiles, [F, H]).data())).toEqual(Array.from(await w.data()));
    tf.dispose([x, w, dz, ms, wTiles, msTiles, ...Object.values(lists)]);
  });
});

describe("the tiled layout", () => {
  it("puts W[k][j] at ((k/256·H/32 + j/32)·256 + k%256)·32 + j%32, and back", async () => {
    const w = tf.tensor2d(
      Float32Array.from({ length: F * H }, (_, i) => i),
      [F, H],
    );
    const tiles = toTiles(tf, w);
    const got = floats(tiles);
    const groups = H / SPARSE_HEAD_UNIT_GROUP;
    for (const [k, j] of [
      [0, 0],
      [1, 0],
      [0, 33],
      [255, 31],
      [256, 0],
      [600, 63],
      [F - 1, H - 1],
    ] as const) {
      const at =
        ((Math.floor(k / SPARSE_HEAD_TILE_ROWS) * groups + Math.floor(j / SPARSE_HEAD_UNIT_GROUP)) *
          SPARSE_HEAD_TILE_ROWS +
          (k % SPARSE_HEAD_TILE_ROWS)) *
          SPARSE_HEAD_UNIT_GROUP +
        (j % SPARSE_HEAD_UNIT_GROUP);
      expect(got[at], `W[${k}][${j}]`).toBe(k * H + j);
    }
    const back = fromTiles(tf, tiles, [F, H]);
    expect(Array.from(await back.data())).toEqual(Array.from(await w.data()));
    tf.dispose([w, tiles, back]);
  });
});
