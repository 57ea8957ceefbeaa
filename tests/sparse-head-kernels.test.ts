/**
 * The sparse head kernels (src/transfer/sparse-head-kernels.ts) against TF.js
 * ops on the same data: the batch gather and its zero masks, x·W1 over
 * feature ranges, and the fused gradient + RMSprop row update; in both
 * variants, plain SIMD and relaxed SIMD's fused multiply-add (which Node 20
 * compiles only behind a V8 flag, set here before any module is compiled).
 */
import { setFlagsFromString } from "node:v8";
import type * as tfjs from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { mulberry32 } from "../src/transfer/random";
import {
  type SparseHeadKernels,
  sparseHeadKernels,
  sparseHeadModule,
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

const F = 203; // not a multiple of anything the kernels step by
const H = 32;
const N = 9;

/** 32 rows (the most a batch may have: one mask bit each, bit 31 the sign), repeating, row 3 first. */
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

/** Gathers `rows` of x with the kernel; returns the xt and masks tensors (caller disposes). */
function gather(x: tfjs.Tensor2D, rows: number[]): { xt: tfjs.Tensor; masks: tfjs.Tensor } {
  const offsets = tf.zeros([rows.length]);
  const xt = tf.zeros([F * rows.length]);
  const masks = tf.zeros([F]);
  const view = new Int32Array(internals.memory.buffer, offset(offsets), rows.length);
  rows.forEach((r, i) => {
    view[i] = offset(x) + r * F * 4;
  });
  kernels.gather(offset(offsets), rows.length, F, offset(xt), offset(masks));
  offsets.dispose();
  return { xt, masks };
}

describe.each([
  ["plain SIMD", false],
  ["relaxed SIMD (fused multiply-add)", true],
])("sparse head kernels, %s", (_name, fused) => {
  beforeAll(() => useVariant(fused));

  it("are valid WebAssembly for plain and shared memories", () => {
    expect(WebAssembly.validate(sparseHeadModule(false, fused))).toBe(true);
    expect(WebAssembly.validate(sparseHeadModule(true, fused))).toBe(true);
  });

  it("gather transposes the batch and marks exactly its non-zero values (−0 is zero, NaN is not)", async () => {
    const data = features(0.5, 1);
    data[3 * F + 7] = Number.NaN;
    const x = tf.tensor2d(data, [N, F]);
    const rows = ROWS_32;
    const { xt, masks } = gather(x, rows);
    const got = await xt.data();
    const bits = new Int32Array((await masks.data()).buffer);
    for (let k = 0; k < F; k++) {
      let mask = 0;
      rows.forEach((r, n) => {
        const v = data[r * F + k] as number;
        expect(Object.is(got[k * rows.length + n], v)).toBe(true);
        if (v !== 0) mask |= 1 << n;
      });
      expect(bits[k]).toBe(mask);
    }
    // The NaN row (3, at n = 0, 9, 18, 27) is marked; bit 31 (the last sample) is used.
    const nanBits = (1 << 0) | (1 << 9) | (1 << 18) | (1 << 27);
    expect((bits[7] as number) & nanBits).toBe(nanBits);
    expect(bits.some((m) => m < 0)).toBe(true);
    tf.dispose([x, xt, masks]);
  });

  it.each([0, 0.6, 1])(
    "forward equals tf.matMul with %f zeros, whole and split at any feature",
    async (zeros) => {
      const x = tf.tensor2d(features(zeros, 2), [N, F]);
      const w = tf.randomNormal([F, H], 0, 0.1, "float32", 3);
      for (const rows of [[1, 4, 4, 7, 0, 2, 8], ROWS_32]) {
        const { xt, masks } = gather(x, rows);
        const expected = tf.tidy(() => tf.matMul(tf.gather(x, tf.tensor1d(rows, "int32")), w));
        const forward = (k0: number, k1: number) => {
          const z = tf.zeros([rows.length, H]);
          kernels.forward(offset(w), H, offset(xt), offset(masks), rows.length, k0, k1, offset(z));
          return z;
        };
        const scale = Math.max(1e-6, (await tf.max(tf.abs(expected)).data())[0] as number);
        // Whole, then in two ranges split anywhere (F >> 1 is the helper thread's split).
        for (const split of [F, 1, 77, F >> 1, F - 1]) {
          const low = forward(0, split);
          const got = split === F ? low : tf.add(low, forward(split, F));
          const diff = (await tf.max(tf.abs(tf.sub(got, expected))).data())[0] as number;
          expect(diff / scale, `split at ${split}`).toBeLessThan(1e-6);
          if (zeros === 1) expect(Array.from(await got.data()).every((v) => v === 0)).toBe(true);
        }
        if (zeros < 1) expect(scale).toBeGreaterThan(0.1);
        tf.dispose([xt, masks, expected]);
      }
      tf.dispose([x, w]);
    },
  );

  it("update applies x·δ and RMSprop to every row, in two ranges, as TF.js' ops do", async () => {
    // 80 % zeros: some features are zero in all 9 distinct rows.
    const x = tf.tensor2d(features(0.8, 4), [N, F]);
    const rows = ROWS_32;
    const { xt, masks } = gather(x, rows);
    const w = tf.randomNormal([F, H], 0, 0.05, "float32", 5);
    const ms = tf.randomUniform([F, H], 0, 1e-3, "float32", 6);
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
    const wBefore = tf.clone(w);
    const args = [offset(w), offset(ms), H, offset(xt), offset(masks), rows.length, offset(dz)] as const;
    kernels.update(...args, 0, F >> 1, lr, rho, 1 - rho, eps);
    kernels.update(...args, F >> 1, F, lr, rho, 1 - rho, eps);
    const maxDiff = async (a: tfjs.Tensor, b: tfjs.Tensor) =>
      (await tf.max(tf.abs(tf.sub(a, b))).data())[0] as number;
    const step = await maxDiff(expected.w, wBefore);
    expect(step).toBeGreaterThan(1e-6);
    // Within 1e-3 of the step: a couple of float32 ulps of w (~0.05) after 32 terms summed in another
    // order, where one sample's term missing or wrong would be ~1e-2 of it.
    expect(await maxDiff(w, expected.w)).toBeLessThan(step * 1e-3);
    // Relative: a fused multiply-add rounds the gradient's sums once per term instead of twice.
    const msScale = (await tf.max(expected.ms).data())[0] as number;
    expect(await maxDiff(ms, expected.ms)).toBeLessThan(msScale * 1e-5);
    // A feature that is zero in every row of the batch only decays its mean square.
    const bits = new Int32Array((await masks.data()).buffer);
    const idle = bits.indexOf(0);
    expect(idle).toBeGreaterThanOrEqual(0);
    const row = (t: tfjs.Tensor) => t.slice([idle, 0], [1, H]).dataSync();
    expect(Array.from(row(w))).toEqual(Array.from(row(wBefore)));
    tf.dispose([x, xt, masks, w, ms, dz, expected.w, expected.ms, wBefore]);
  });
});
