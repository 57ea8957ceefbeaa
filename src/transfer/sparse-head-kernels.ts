/**
 * The head's first Dense layer (features F → hidden H), trained on TF.js'
 * WASM heap with hand-written SIMD that skips zero features. VGG16 features
 * come out of ReLU and max-pooling, so many are exactly zero (the benchmark's
 * synthetic features: 60 %), and each zero feature of a sample adds nothing
 * to that sample's forward sum nor to the kernel's gradient.
 *
 * A step over a batch of B ≤ 32 rows runs three kernels:
 *
 * - `gather` copies the batch's rows out of the resident training tensor,
 *   transposed to xt[k][n] (feature-major), and records per feature k a bit
 *   mask of the samples whose value is not zero (NaN counts as non-zero);
 * - `forward` computes z[n] = Σ_k x[n][k]·W[k] over the set bits, W in the
 *   layers' own [F, H] layout (row k is the 4·H bytes feature k feeds);
 * - `update` computes the kernel gradient g[k] = Σ_n x[n][k]·δ[n] row by row
 *   and applies RMSprop to that row at once (the same float32 operations, in
 *   the same order, as TF.js' RMSPropOptimizer and `rmspropInPlace`), so the
 *   25 MB gradient is never written out and read back.
 *
 * `forward` and `update` take a feature range [k0, k1), so two threads can
 * share a step (each `forward` writes its own partial z).
 *
 * Only float32 rounding differs from TF.js' matMul: the sums run over the
 * non-zero terms only, in feature (forward) or sample (gradient) order, and
 * where the engine has relaxed SIMD (Chromium does) each term is one fused
 * multiply-add. Measured in Chromium on 2 vCPUs with 2 threads, the fused
 * variant took a training step from ~23 to ~14 ms.
 */
import {
  elementAddress,
  F32,
  get,
  I32,
  i32,
  Locals,
  memarg,
  multiplyAdd,
  op,
  range,
  relaxedOrPlainKernels,
  set,
  simd,
  vstore,
  wasmModule,
  whileLess,
  whileNonZero,
} from "../wasm/encoder";

export interface SparseHeadKernels {
  /** (rows, b, f, xt, masks): rows is the byte offset of b int32 byte offsets, one per row start. */
  gather(rows: number, b: number, f: number, xt: number, masks: number): void;
  /** (w, h, xt, masks, b, k0, k1, z): z ([b, h]) is overwritten with the partial sum over features [k0, k1). */
  forward(
    w: number,
    h: number,
    xt: number,
    masks: number,
    b: number,
    k0: number,
    k1: number,
    z: number,
  ): void;
  /** RMSprop (no momentum, not centred) on rows [k0, k1) of w and ms, with δ ([b, h]) at `dz`. */
  update(
    w: number,
    ms: number,
    h: number,
    xt: number,
    masks: number,
    b: number,
    dz: number,
    k0: number,
    k1: number,
    learningRate: number,
    rho: number,
    oneMinusRho: number,
    epsilon: number,
  ): void;
}

/** The kernels a helper thread runs (sparse-head-helper.worker.ts), by name. */
export const SPARSE_HEAD_JOBS = ["forward", "update"] as const;
export type SparseHeadJob = (typeof SPARSE_HEAD_JOBS)[number];

/** Hidden units are processed in groups of this many floats (4 vectors): H must be a multiple. */
export const SPARSE_HEAD_UNIT_GROUP = 16;
/** Sample masks are one int32 per feature. */
export const SPARSE_HEAD_MAX_BATCH = 32;

const VECTORS = SPARSE_HEAD_UNIT_GROUP / 4;

function gatherFunction() {
  const [ROWS, B, F, XT, MASKS] = [0, 1, 2, 3, 4];
  const L = new Locals(5);
  const { K, N, NEND, KEND, MASK, OUT, V } = L.i32s("K", "N", "NEND", "KEND", "MASK", "OUT", "V");
  const body = [
    ...[...get(B), ...i32(2), op.i32Shl, ...set(NEND)],
    ...[...get(F), ...i32(2), op.i32Shl, ...set(KEND)],
    ...[...get(XT), ...set(OUT)],
    // K and N are byte offsets (4 per step).
    ...whileLess(K, KEND, i32(4), [
      ...[...i32(0), ...set(MASK), ...i32(0), ...set(N)],
      ...whileLess(N, NEND, i32(4), [
        // v = bits of x[rows[n]][k] (copied as an int, so NaN payloads survive)
        ...[...get(ROWS), ...get(N), op.i32Add, op.i32Load, ...memarg(), ...get(K), op.i32Add],
        ...[op.i32Load, ...memarg(), ...set(V)],
        ...[...get(OUT), ...get(V), op.i32Store, ...memarg()],
        ...[...get(OUT), ...i32(4), op.i32Add, ...set(OUT)],
        // mask |= (v as float ≠ 0) << n: the bits of +0 and −0 are 0 and 0x80000000.
        ...[...get(V), ...i32(0x7fffffff), op.i32And, ...i32(0), op.i32Ne],
        ...[...get(N), ...i32(2), op.i32ShrU, op.i32Shl, ...get(MASK), op.i32Or, ...set(MASK)],
      ]),
      ...[...get(MASKS), ...get(K), op.i32Add, ...get(MASK), op.i32Store, ...memarg()],
    ]),
  ];
  return { name: "gather", params: range(5).map(() => I32), locals: L.declarations(), body };
}

/** Pops the set bits of `m`, lowest first: n = ctz(m), m &= m − 1, then `body`. */
const forEachBit = (m: number, n: number, body: number[]) =>
  whileNonZero(m, [
    ...[...get(m), op.i32Ctz, ...set(n)],
    ...[...get(m), ...get(m), ...i32(1), op.i32Sub, op.i32And, ...set(m)],
    ...body,
  ]);

function forwardFunction(fused: boolean) {
  const [W, H, XT, MASKS, B, K0, K1, Z] = [0, 1, 2, 3, 4, 5, 6, 7];
  const L = new Locals(8);
  const { K, M, N, J, HB, WROW, ZROW, END } = L.i32s("K", "M", "N", "J", "HB", "WROW", "ZROW", "END");
  const ZERO = L.v128();
  const XV = L.v128();
  // Vector u of the current group of a row: address base + j, constant offset 16·u.
  const at = (base: number) => [...get(base), ...get(J), op.i32Add];
  const body = [
    ...[...get(H), ...i32(2), op.i32Shl, ...set(HB)],
    ...[...get(B), ...get(HB), op.i32Mul, ...set(END)],
    // z = 0
    ...whileLess(J, END, i32(16), vstore([...get(Z), ...get(J), op.i32Add], get(ZERO))),
    ...[...get(K0), ...set(K)],
    ...whileLess(K, K1, i32(1), [
      ...[...get(MASKS), ...get(K), ...i32(2), op.i32Shl, op.i32Add, op.i32Load, ...memarg(), ...set(M)],
      ...[...get(W), ...get(K), ...get(HB), op.i32Mul, op.i32Add, ...set(WROW)],
      ...forEachBit(M, N, [
        // x = xt[k][n]
        ...elementAddress(XT, K, B, N),
        ...[op.f32Load, ...memarg(), ...simd.f32x4Splat, ...set(XV)],
        ...[...get(Z), ...get(N), ...get(HB), op.i32Mul, op.i32Add, ...set(ZROW)],
        ...[...i32(0), ...set(J)],
        // z[n] += x·W[k], four vectors at a time
        ...whileLess(
          J,
          HB,
          i32(SPARSE_HEAD_UNIT_GROUP * 4),
          range(VECTORS).flatMap((u) => [
            ...at(ZROW),
            ...multiplyAdd(
              [...at(ZROW), ...simd.load, ...memarg(16 * u, 4)],
              get(XV),
              [...at(WROW), ...simd.load, ...memarg(16 * u, 4)],
              fused,
            ),
            ...[...simd.store, ...memarg(16 * u, 4)],
          ]),
        ),
      ]),
    ]),
  ];
  return { name: "forward", params: range(8).map(() => I32), locals: L.declarations(), body };
}

function updateFunction(fused: boolean) {
  const [W, MS, H, XT, MASKS, B, DZ, K0, K1, LR, RHO, OM, EPS] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const L = new Locals(13);
  const { K, M0, M, N, J, HB, WROW, MSROW, XROW, DROW } = L.i32s(
    "K",
    "M0",
    "M",
    "N",
    "J",
    "HB",
    "WROW",
    "MSROW",
    "XROW",
    "DROW",
  );
  const [VLR, VRHO, VOM, VEPS, XV, ZERO, MV] = [
    L.v128(),
    L.v128(),
    L.v128(),
    L.v128(),
    L.v128(),
    L.v128(),
    L.v128(),
  ];
  const ACC = range(VECTORS).map(() => L.v128());
  const splat = (from: number, to: number) => [...get(from), ...simd.f32x4Splat, ...set(to)];
  // Vector u of the current group of a row: address base + j, constant offset 16·u.
  const at = (base: number) => [...get(base), ...get(J), op.i32Add];
  const rmsprop = (u: number) => {
    const g = ACC[u] as number;
    return [
      // ms ← ms·rho + (g·g)·(1 − rho)
      ...at(MSROW),
      ...[...at(MSROW), ...simd.load, ...memarg(16 * u, 4), ...get(VRHO), ...simd.f32x4Mul],
      ...[...get(g), ...get(g), ...simd.f32x4Mul, ...get(VOM), ...simd.f32x4Mul, ...simd.f32x4Add],
      ...[...set(MV), ...get(MV), ...simd.store, ...memarg(16 * u, 4)],
      // w ← w − (g·lr) / sqrt(ms + eps)
      ...at(WROW),
      ...[...at(WROW), ...simd.load, ...memarg(16 * u, 4)],
      ...[...get(g), ...get(VLR), ...simd.f32x4Mul],
      ...[...get(MV), ...get(VEPS), ...simd.f32x4Add, ...simd.f32x4Sqrt],
      ...[...simd.f32x4Div, ...simd.f32x4Sub, ...simd.store, ...memarg(16 * u, 4)],
    ];
  };
  const body = [
    ...[...get(H), ...i32(2), op.i32Shl, ...set(HB)],
    ...[...splat(LR, VLR), ...splat(RHO, VRHO), ...splat(OM, VOM), ...splat(EPS, VEPS)],
    ...[...get(K0), ...set(K)],
    ...whileLess(K, K1, i32(1), [
      ...[...get(MASKS), ...get(K), ...i32(2), op.i32Shl, op.i32Add, op.i32Load, ...memarg(), ...set(M0)],
      ...[...get(W), ...get(K), ...get(HB), op.i32Mul, op.i32Add, ...set(WROW)],
      ...[...get(MS), ...get(K), ...get(HB), op.i32Mul, op.i32Add, ...set(MSROW)],
      ...[...get(XT), ...get(K), ...get(B), op.i32Mul, ...i32(2), op.i32Shl, op.i32Add, ...set(XROW)],
      ...[...i32(0), ...set(J)],
      // One group of hidden units at a time: its gradient stays in registers.
      ...whileLess(J, HB, i32(SPARSE_HEAD_UNIT_GROUP * 4), [
        ...ACC.flatMap((a) => [...get(ZERO), ...set(a)]),
        ...[...get(M0), ...set(M)],
        ...forEachBit(M, N, [
          ...[...get(XROW), ...get(N), ...i32(2), op.i32Shl, op.i32Add, op.f32Load, ...memarg()],
          ...[...simd.f32x4Splat, ...set(XV)],
          ...[...get(DZ), ...get(N), ...get(HB), op.i32Mul, op.i32Add, ...set(DROW)],
          // g += x[n][k]·δ[n]
          ...ACC.flatMap((a, u) => [
            ...multiplyAdd(get(a), get(XV), [...at(DROW), ...simd.load, ...memarg(16 * u, 4)], fused),
            ...set(a),
          ]),
        ]),
        ...range(VECTORS).flatMap(rmsprop),
      ]),
    ]),
  ];
  return {
    name: "update",
    params: [...range(9).map(() => I32), F32, F32, F32, F32],
    locals: L.declarations(),
    body,
  };
}

/**
 * The module's bytes: imports env.memory, exports `gather`, `forward` and
 * `update` (see SparseHeadKernels). `fused` uses relaxed SIMD's multiply-add
 * (Chromium ≥ 114; Node 20 only behind --experimental-wasm-relaxed-simd).
 */
export function sparseHeadModule(sharedMemory: boolean, fused: boolean): Uint8Array<ArrayBuffer> {
  return wasmModule([gatherFunction(), forwardFunction(fused), updateFunction(fused)], sharedMemory);
}

export interface BoundSparseHeadKernels {
  kernels: SparseHeadKernels;
  /** Whether the fused (relaxed SIMD) variant runs. */
  fused: boolean;
  /** The compiled module, for a helper thread on the same memory. */
  module: WebAssembly.Module;
}

/**
 * The kernels bound to the backend's memory (once per memory): the fused
 * variant where the engine has relaxed SIMD, else the plain one; null where
 * WASM SIMD or instantiation is unavailable. `relaxed: false` asks for the
 * plain variant only (tests).
 */
export const sparseHeadKernels = relaxedOrPlainKernels<BoundSparseHeadKernels>(
  sparseHeadModule,
  (exports, module, fused) => ({ kernels: exports as unknown as SparseHeadKernels, fused, module }),
);
