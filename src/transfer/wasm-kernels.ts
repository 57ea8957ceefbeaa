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
 * Both read TF.js WASM backend internals (the tensor's offset in the module's
 * heap and its WebAssembly.Memory). They are feature-detected: when anything
 * is missing, `wasmInternals` returns null and the caller uses plain tf ops.
 */
import type * as tfjs from "@tensorflow/tfjs";

type TF = typeof tfjs;

interface WasmModuleLike {
  HEAPU8: Uint8Array;
  /** The threaded build's (shared) memory. */
  wasmMemory?: WebAssembly.Memory;
  /** The single-threaded build exports its memory. */
  asm?: { memory?: WebAssembly.Memory };
}

interface WasmBackendLike {
  wasm?: WasmModuleLike;
  dataIdMap?: { get(dataId: object): { memoryOffset?: number | null } | undefined };
}

export interface WasmInternals {
  /** Byte offset of a float32 tensor's data in the WASM heap. */
  offsetOf(t: tfjs.Tensor): number;
  /** A view of the current heap (re-made on each call: the heap's buffer changes when memory grows). */
  heapF32(): Float32Array;
  memory: WebAssembly.Memory;
}

/** Access to the active WASM backend's heap, or null on any other backend (or an unexpected build). */
export function wasmInternals(tf: TF): WasmInternals | null {
  if (tf.getBackend() !== "wasm") return null;
  const backend = tf.backend() as unknown as WasmBackendLike;
  const module = backend.wasm;
  const dataIdMap = backend.dataIdMap;
  const memory = module?.wasmMemory ?? module?.asm?.memory;
  if (!module || !dataIdMap || !(memory instanceof WebAssembly.Memory)) return null;
  return {
    offsetOf(t) {
      const offset = dataIdMap.get(t.dataId)?.memoryOffset;
      if (typeof offset !== "number" || t.dtype !== "float32") {
        throw new Error("tensor has no float32 data in the WASM heap");
      }
      return offset;
    },
    heapF32: () => new Float32Array(module.HEAPU8.buffer),
    memory,
  };
}

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
  if (kernels.has(memory)) return kernels.get(memory) ?? null;
  let kernel: RmspropKernel | null = null;
  try {
    const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
    const bytes = rmspropModule(shared);
    if (WebAssembly.validate(bytes)) {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
      kernel = instance.exports.rmsprop as RmspropKernel;
    }
  } catch {
    kernel = null;
  }
  kernels.set(memory, kernel);
  return kernel;
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

// --- A minimal WebAssembly encoder for the kernel above ---------------------

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const op = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  i32Const: 0x41,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32And: 0x71,
  i32Shl: 0x74,
  f32Load: 0x2a,
  f32Store: 0x38,
  f32Sqrt: 0x91,
  f32Add: 0x92,
  f32Sub: 0x93,
  f32Mul: 0x94,
  f32Div: 0x95,
} as const;
/** SIMD instructions: prefix 0xfd, then the opcode as unsigned LEB128. */
const simd = {
  load: [0xfd, 0x00],
  store: [0xfd, 0x0b],
  f32x4Splat: [0xfd, 0x13],
  f32x4Sqrt: [0xfd, 0xe3, 0x01],
  f32x4Add: [0xfd, 0xe4, 0x01],
  f32x4Sub: [0xfd, 0xe5, 0x01],
  f32x4Mul: [0xfd, 0xe6, 0x01],
  f32x4Div: [0xfd, 0xe7, 0x01],
} as const;

function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const utf8 = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
/** memarg: alignment 4 bytes (a hint), offset 0. */
const memarg = [2, 0];

/** The module's bytes: imports env.memory, exports `rmsprop` (see RmspropKernel). */
export function rmspropModule(sharedMemory: boolean): Uint8Array<ArrayBuffer> {
  // Params 0–7: w, ms, g, n (i32), lr, rho, oneMinusRho, eps (f32).
  const [W, MS, G, N, LR, RHO, OM, EPS] = [0, 1, 2, 3, 4, 5, 6, 7];
  // Locals: i, vecEnd, end (i32, byte offsets); splatted constants, g, ms (v128); g, ms (f32).
  const [I, VEC_END, END, VLR, VRHO, VOM, VEPS, VG, VM, SG, SM] = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18];
  const get = (l: number) => [op.localGet, l];
  const set = (l: number) => [op.localSet, l];
  const i32 = (v: number) => [op.i32Const, ...sleb(v)];
  const addr = (base: number) => [...get(base), ...get(I), op.i32Add];
  const splat = (from: number, to: number) => [...get(from), ...simd.f32x4Splat, ...set(to)];
  // while (i < limit) { …; i += step }
  const loop = (limit: number, step: number, steps: number[][]) => [
    [op.block, 0x40, op.loop, 0x40],
    [...get(I), ...get(limit), op.i32GeU, op.brIf, 1],
    ...steps,
    [...get(I), ...i32(step), op.i32Add, ...set(I), op.br, 0, op.end, op.end],
  ];

  // One instruction sequence per line, in the order a WebAssembly text file would list them.
  const body = [
    [3, 3, I32, 6, V128, 2, F32], // local declarations: (count, type) × 3
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
    [op.end],
  ].flat();
  // Shared memory must declare a maximum; 65536 pages (4 GiB) admits any wasm32 memory.
  const limits = sharedMemory ? [0x03, ...uleb(1), ...uleb(65536)] : [0x00, ...uleb(1)];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 8, I32, I32, I32, I32, F32, F32, F32, F32, 0]),
    ...section(2, [1, ...utf8("env"), ...utf8("memory"), 0x02, ...limits]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...utf8("rmsprop"), 0x00, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ];
  return new Uint8Array(bytes);
}
