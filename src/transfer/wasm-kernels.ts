/**
 * Two helpers for training the head on TF.js' WASM backend, where two of its
 * generic kernels dominate a training step (measured on a 2-vCPU machine):
 *
 * - Gathering 20 rows of 25088 floats with tf.gather takes ~30 ms (an
 *   element-by-element loop); copying the rows out of the WASM heap takes
 *   ~0.4 ms.
 * - RMSprop's update of the 25088×256 kernel as TF.js writes it is 10 tensor
 *   ops, each a full pass over 25 MB (~130 ms). `rmspropInPlace` does the
 *   same float32 operations, in the same order, in one SIMD pass (~15 ms).
 *
 * Both read TF.js WASM backend internals (src/wasm/tfjs-heap.ts): when
 * anything is missing, `wasmInternals` returns null and the caller uses plain
 * tf ops.
 */
import type * as tfjs from "@tensorflow/tfjs";
import {
  F32,
  get,
  I32,
  i32,
  kernelsOnMemory,
  memarg as memargAt,
  op,
  set,
  simd,
  V128,
  wasmModule,
  whileLess,
} from "../wasm/encoder";
import type { WasmInternals } from "../wasm/tfjs-heap";

/**
 * Copies rows of a [N, F] float32 tensor into `out` (rows.length × F floats).
 * The caller turns `out` into a tensor (tf.tensor2d copies it into the heap).
 */
export function copyRows(
  internals: WasmInternals,
  x: tfjs.Tensor2D,
  rows: ArrayLike<number>,
  out: Float32Array,
): void {
  const f = x.shape[1];
  const heap = internals.heapF32();
  const base = internals.offsetOf(x) / 4;
  for (let i = 0; i < rows.length; i++) {
    const start = base + (rows[i] as number) * f;
    out.set(heap.subarray(start, start + f), i * f);
  }
}

/**
 * One RMSprop step (no momentum, not centred) over `n` float32s, in place:
 *   ms ← ms·rho + (g·g)·(1 − rho)
 *   w  ← w − (g·lr) / sqrt(ms + eps)
 * Arguments are byte offsets in the WASM heap; every operation rounds to
 * float32, exactly as TF.js' RMSPropOptimizer's tensor ops do.
 */
export type RmspropKernel = (
  w: number,
  ms: number,
  g: number,
  n: number,
  lr: number,
  rho: number,
  oneMinusRho: number,
  eps: number,
) => void;

const kernels = new WeakMap<WebAssembly.Memory, RmspropKernel | null>();

/** The kernel bound to the backend's memory, or null where WASM SIMD or instantiation is unavailable. */
export function rmspropKernel(memory: WebAssembly.Memory): RmspropKernel | null {
  return kernelsOnMemory(kernels, memory, rmspropModule, (exports) => exports.rmsprop as RmspropKernel);
}

/**
 * Applies the kernel to a tensor's data. Only for tensors nobody else reads
 * as a cached operand: TF.js WASM caches XNNPACK operators (with a packed
 * copy of the weights) per matMul B-operand, which would not see the change.
 */
export function rmspropInPlace(
  internals: WasmInternals,
  kernel: RmspropKernel,
  w: tfjs.Tensor,
  ms: tfjs.Tensor,
  g: tfjs.Tensor,
  learningRate: number,
  rho: number,
  epsilon: number,
): void {
  if (w.size !== ms.size || w.size !== g.size) throw new Error("rmsprop: size mismatch");
  kernel(
    internals.offsetOf(w),
    internals.offsetOf(ms),
    internals.offsetOf(g),
    w.size,
    learningRate,
    rho,
    // As TF.js computes it: `1 - this.decay` in double precision, then rounded to float32.
    1 - rho,
    epsilon,
  );
}

/** memarg: alignment 4 bytes (a hint), offset 0. */
const memarg = memargAt();

/** The module's bytes: imports env.memory, exports `rmsprop` (see RmspropKernel). */
export function rmspropModule(sharedMemory: boolean): Uint8Array<ArrayBuffer> {
  // Params 0–7: w, ms, g, n (i32), lr, rho, oneMinusRho, eps (f32).
  const [W, MS, G, N, LR, RHO, OM, EPS] = [0, 1, 2, 3, 4, 5, 6, 7];
  // Locals: i, vecEnd, end (i32, byte offsets); splatted constants, g, ms (v128); g, ms (f32).
  const [I, VEC_END, END, VLR, VRHO, VOM, VEPS, VG, VM, SG, SM] = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18];
  const addr = (base: number) => [...get(base), ...get(I), op.i32Add];
  const splat = (from: number, to: number) => [...get(from), ...simd.f32x4Splat, ...set(to)];
  // while (i < limit) { …; i += step }
  const loop = (limit: number, step: number, steps: number[][]) => [
    whileLess(I, limit, i32(step), steps.flat()),
  ];

  // One instruction sequence per line, in the order a WebAssembly text file would list them.
  const body = [
    [...get(N), ...i32(-4), op.i32And, ...i32(2), op.i32Shl, ...set(VEC_END)], // vecEnd = (n & ~3) · 4
    [...get(N), ...i32(2), op.i32Shl, ...set(END)], // end = n · 4
    [...splat(LR, VLR), ...splat(RHO, VRHO), ...splat(OM, VOM), ...splat(EPS, VEPS)],
    // Four lanes at a time.
    ...loop(VEC_END, 16, [
      [...addr(G), ...simd.load, ...memarg, ...set(VG)], // g
      [...addr(MS), ...simd.load, ...memarg, ...get(VRHO), ...simd.f32x4Mul], // ms·rho
      [...get(VG), ...get(VG), ...simd.f32x4Mul, ...get(VOM), ...simd.f32x4Mul], // (g·g)·(1 − rho)
      [...simd.f32x4Add, ...set(VM)], // m = sum
      [...addr(MS), ...get(VM), ...simd.store, ...memarg], // ms ← m
      [...addr(W), ...addr(W), ...simd.load, ...memarg], // (store address), w
      [...get(VG), ...get(VLR), ...simd.f32x4Mul], // g·lr
      [...get(VM), ...get(VEPS), ...simd.f32x4Add, ...simd.f32x4Sqrt], // sqrt(m + eps)
      [...simd.f32x4Div, ...simd.f32x4Sub, ...simd.store, ...memarg], // w ← w − quotient
    ]),
    // The remaining 0–3 elements, one at a time, with the same operations.
    ...loop(END, 4, [
      [...addr(G), op.f32Load, ...memarg, ...set(SG)],
      [...addr(MS), op.f32Load, ...memarg, ...get(RHO), op.f32Mul],
      [...get(SG), ...get(SG), op.f32Mul, ...get(OM), op.f32Mul],
      [op.f32Add, ...set(SM)],
      [...addr(MS), ...get(SM), op.f32Store, ...memarg],
      [...addr(W), ...addr(W), op.f32Load, ...memarg],
      [...get(SG), ...get(LR), op.f32Mul],
      [...get(SM), ...get(EPS), op.f32Add, op.f32Sqrt],
      [op.f32Div, op.f32Sub, op.f32Store, ...memarg],
    ]),
  ].flat();
  return wasmModule(
    [
      {
        name: "rmsprop",
        params: [I32, I32, I32, I32, F32, F32, F32, F32],
        locals: [
          [3, I32],
          [6, V128],
          [2, F32],
        ],
        body,
      },
    ],
    sharedMemory,
  );
}
