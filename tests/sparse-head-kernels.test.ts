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
  const bound = sparseHeadKernels(internals.memory, { fused });
  if (!bound) throw new Error("WASM SIMD kernels not available");
  expect(bound.fused).toBe(fused);
  kernels = bound.kernels;
}

const F = 203; // not a multiple of anything the kernels step by
const H = 32;
const N = 9;

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
    const rows = [3, 0, 8, 3, 5];
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
    expect((bits[7] as number) & 0b01001).toBe(0b01001); // the NaN row (3, at n = 0 and 3) is marked
    tf.dispose([x, xt, masks]);
  });

  it.each([0, 0.6, 1])(
    "forward equals tf.matMul with %f zeros, whole and split at any feature",
    async (zeros) => {
      const x = tf.tensor2d(features(zeros, 2), [N, F]);
      const w = tf.randomNormal([F, H], 0, 0.1, "float32", 3);
      const rows = [1, 4, 4, 7, 0, 2, 8];
      const { xt, masks } = gather(x, rows);
      const expected = tf.tidy(() => tf.matMul(tf.gather(x, tf.tensor1d(rows, "int32")), w));
      const whole = tf.zeros([rows.length, H]);
      const low = tf.zeros([rows.length, H]);
      const high = tf.zeros([rows.length, H]);
      kernels.forward(offset(w), H, offset(xt), offset(masks), rows.length, 0, F, offset(whole));
      kernels.forward(offset(w), H, offset(xt), offset(masks), rows.length, 0, 77, offset(low));
      kernels.forward(offset(w), H, offset(xt), offset(masks), rows.length, 77, F, offset(high));
      const split = tf.add(low, high);
      const scale = Math.max(1e-6, (await tf.max(tf.abs(expected)).data())[0] as number);
      for (const got of [whole, split]) {
        const diff = (await tf.max(tf.abs(tf.sub(got, expected))).data())[0] as number;
        expect(diff / scale).toBeLessThan(1e-6);
      }
      if (zeros === 1) expect(Array.from(await whole.data()).every((v) => v === 0)).toBe(true);
      else expect(scale).toBeGreaterThan(0.1);
      tf.dispose([x, w, xt, masks, expected, whole, low, high, split]);
    },
  );

  it("update applies x·δ and RMSprop to every row, in two ranges, as TF.js' ops do", async () => {
    const x = tf.tensor2d(features(0.6, 4), [N, F]);
    const rows = [2, 6, 1, 1, 3];
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
    kernels.update(...args, 0, 100, lr, rho, 1 - rho, eps);
    kernels.update(...args, 100, F, lr, rho, 1 - rho, eps);
    const maxDiff = async (a: tfjs.Tensor, b: tfjs.Tensor) =>
      (await tf.max(tf.abs(tf.sub(a, b))).data())[0] as number;
    const step = await maxDiff(expected.w, wBefore);
    expect(step).toBeGreaterThan(1e-6);
    expect(await maxDiff(w, expected.w)).toBeLessThan(step * 1e-5);
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
