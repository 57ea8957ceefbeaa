/**
 * The head's first Dense layer (features F → hidden H), trained on TF.js'
 * WASM heap with hand-written SIMD that skips zero features. VGG16 features
 * come out of ReLU and max-pooling, so many are exactly zero (the benchmark's
 * synthetic features: 60 %), and each zero feature of a sample adds nothing
 * to that sample's forward sum nor to the kernel's gradient.
 *
 * W1 and its RMSprop mean square live in a tiled layout while training:
 * tiles of 256 features × 32 hidden units (32 KB), tile (block b, group g)
 * at ((b·H/32 + g)·256 + row)·32 floats. One tile fits the L1 cache, so
 * the forward pass reads each of it from there for all samples of the batch,
 * and the update walks W1 and the mean square sequentially. (In the layers'
 * [F, H] layout, a 32-unit slice of 256 rows lies 1 KB apart, on a few cache
 * sets, and was read from L2 each time.) fast-head.ts converts with tf ops.
 *
 * A step over a batch of B ≤ 32 rows runs three kernels on a range of
 * feature blocks, so two threads can share it:
 *
 * - `gather` reads the batch's rows out of the resident training tensor and
 *   writes, per block and sample, the list of that sample's non-zero
 *   features (row within the tile, value), and per feature the list of its
 *   non-zero samples (δ row offset, value), both in ascending order (NaN
 *   counts as non-zero);
 * - `forward` computes z[n] = Σ_k x[n][k]·W[k] tile by tile: 32 units of z
 *   stay in eight registers while the sample's list of the block is
 *   summed (two entries per pass), then are added to z;
 * - `update` computes the kernel gradient g[k] = Σ_n x[n][k]·δ[n] row by row,
 *   32 units at a time in registers, and applies RMSprop to them at once
 *   (the same float32 operations, in the same order, as TF.js'
 *   RMSPropOptimizer and `rmspropInPlace`, but for subnormal mean squares,
 *   see updateFunction), so the 25 MB gradient is never
 *   written out and read back.
 *
 * Only float32 rounding differs from TF.js' matMul: the sums run over the
 * non-zero terms only, the forward ones per block of 256 features (then
 * block by block), the gradient's in sample order, and where the engine has
 * relaxed SIMD (Chromium does) each term is one fused multiply-add.
 * Measured once in Chromium (a scratch harness, not kept) on one thread of the 2-vCPU machine (batch 20, 60 %
 * zeros), against the earlier kernels on the [F, H] layout: gather
 * 1.1–1.2 ms against 0.6–0.7 (it now splits between threads), forward
 * 4.0–4.4 against 5.7–6.3, update 6.4–7.7 against 8.1–8.9.
 */
import {
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
  tee,
  wasmModule,
  whileLess,
} from "../wasm/encoder";

export interface SparseHeadKernels {
  /**
   * (rows, b, blk0, blk1, sampleLists, sampleCounts, featureLists, featureIndex, hb): rows is the byte offset
   * of b int32 byte offsets, one per row start; hb is H·4. Fills the lists of feature blocks [blk0, blk1).
   */
  gather(
    rows: number,
    b: number,
    blk0: number,
    blk1: number,
    sampleLists: number,
    sampleCounts: number,
    featureLists: number,
    featureIndex: number,
    hb: number,
  ): void;
  /** (w, hb, sampleLists, sampleCounts, b, blk0, blk1, z): z ([b, H]) is overwritten with the sum over blocks [blk0, blk1). */
  forward(
    w: number,
    hb: number,
    sampleLists: number,
    sampleCounts: number,
    b: number,
    blk0: number,
    blk1: number,
    z: number,
  ): void;
  /** RMSprop (no momentum, not centred) on feature blocks [blk0, blk1) of the tiled w and ms, with δ ([b, H]) at `dz`. */
  update(
    w: number,
    ms: number,
    hb: number,
    featureIndex: number,
    dz: number,
    blk0: number,
    blk1: number,
    learningRate: number,
    rho: number,
    oneMinusRho: number,
    epsilon: number,
  ): void;
}

/** The kernels a helper thread runs (sparse-head-helper.worker.ts), by name: `gatherForward` is gather, then forward. */
export const SPARSE_HEAD_JOBS = ["gatherForward", "update"] as const;
export type SparseHeadJob = (typeof SPARSE_HEAD_JOBS)[number];

/** Features per tile (a block): F must be a multiple. */
export const SPARSE_HEAD_TILE_ROWS = 256;
/** Hidden units per tile (8 vectors): H must be a multiple. */
export const SPARSE_HEAD_UNIT_GROUP = 32;
/** The scratch lists are sized for at most this many rows per batch. */
export const SPARSE_HEAD_MAX_BATCH = 32;

const VECTORS = SPARSE_HEAD_UNIT_GROUP / 4;
/** Bytes of one tile row. */
const ROW_BYTES = SPARSE_HEAD_UNIT_GROUP * 4;
/** A sample's list in a block: one entry per feature, plus the padding entry. */
const SAMPLE_LIST_BYTES = (SPARSE_HEAD_TILE_ROWS + 1) * 8;

/** Bytes of the scratch buffers for batches of b rows over F features (see SparseHeadKernels.gather). */
export function sparseHeadScratchBytes(features: number, b: number) {
  const blocks = features / SPARSE_HEAD_TILE_ROWS;
  return {
    sampleLists: blocks * b * SAMPLE_LIST_BYTES,
    sampleCounts: blocks * b * 4,
    featureLists: features * b * 8,
    featureIndex: features * 8,
  };
}

/** Number of int32 arguments of `gather` (`gatherForward`'s come first, then `forward`'s). */
const GATHER_INTS = 9;

/**
 * Runs job `name` on this thread: `gatherForward` (the forward pass of one range of blocks: `gather`'s
 * arguments, then `forward`'s) or `update`. The helper thread runs its half through this too.
 */
export function runSparseHeadJob(
  kernels: SparseHeadKernels,
  name: SparseHeadJob,
  ints: ArrayLike<number>,
  floats: ArrayLike<number> = [],
): void {
  const args = Array.from(ints);
  if (name === "update") {
    (kernels.update as (...values: number[]) => void)(...args, ...Array.from(floats));
    return;
  }
  (kernels.gather as (...values: number[]) => void)(...args.slice(0, GATHER_INTS));
  (kernels.forward as (...values: number[]) => void)(...args.slice(GATHER_INTS));
}

/** Pushes whether the int32 bits in local `v` are a float other than ±0 (NaN included). */
const nonZero = (v: number) => [...get(v), ...i32(0x7fffffff), op.i32And, ...i32(0), op.i32Ne];

function gatherFunction() {
  const [ROWS, B, BLK0, BLK1, SL, SC, FL, FI, HB] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const L = new Locals(9);
  const { BL, N, K, K0, KEND, SRC, P, START, V, SLOT } = L.i32s(
    "BL",
    "N",
    "K",
    "K0",
    "KEND",
    "SRC",
    "P",
    "START",
    "V",
    "SLOT",
  );
  // Each entry is written, then kept (p += 8) only when the value is not zero: no branch per value.
  const append = (offset: number[]) => [
    ...[...get(P), ...offset, op.i32Store, ...memarg()],
    ...[...get(P), ...get(V), op.i32Store, ...memarg(4)],
    ...[...get(P), ...nonZero(V), ...i32(3), op.i32Shl, op.i32Add, ...set(P)],
  ];
  const rowStart = (n: number[]) => [
    ...get(ROWS),
    ...n,
    ...i32(2),
    op.i32Shl,
    op.i32Add,
    op.i32Load,
    ...memarg(),
  ];
  const body = [
    ...[...get(BLK0), ...set(BL)],
    ...whileLess(BL, BLK1, i32(1), [
      ...[...get(BL), ...i32(SPARSE_HEAD_TILE_ROWS), op.i32Mul, ...tee(K0), ...i32(SPARSE_HEAD_TILE_ROWS)],
      ...[op.i32Add, ...set(KEND)],
      // Per sample: its non-zero features in the block, as (row in tile · ROW_BYTES, x), then a zero entry so
      // `forward` may take them in pairs; the count (without it) in sampleCounts[bl·b + n].
      ...[...i32(0), ...set(N)],
      ...whileLess(N, B, i32(1), [
        ...[...rowStart(get(N)), ...get(K0), ...i32(2), op.i32Shl, op.i32Add, ...set(SRC)],
        ...[...get(BL), ...get(B), op.i32Mul, ...get(N), op.i32Add, ...tee(SLOT), ...i32(SAMPLE_LIST_BYTES)],
        ...[op.i32Mul, ...get(SL), op.i32Add, ...tee(P), ...set(START)],
        ...[...get(K0), ...set(K)],
        ...whileLess(K, KEND, i32(1), [
          ...[...get(SRC), op.i32Load, ...memarg(), ...set(V)],
          ...append([...get(K), ...get(K0), op.i32Sub, ...i32(ROW_BYTES), op.i32Mul]),
          ...[...get(SRC), ...i32(4), op.i32Add, ...set(SRC)],
        ]),
        ...[...get(P), ...i32(0), op.i32Store, ...memarg(), ...get(P), ...i32(0), op.i32Store, ...memarg(4)],
        ...[...get(SC), ...get(SLOT), ...i32(2), op.i32Shl, op.i32Add],
        ...[...get(P), ...get(START), op.i32Sub, ...i32(3), op.i32ShrU, op.i32Store, ...memarg()],
      ]),
      // Per feature: its non-zero samples, as (n · hb, x), in sample order; featureIndex[k] = (start, end).
      ...[...get(FL), ...get(K0), ...get(B), op.i32Mul, ...i32(3), op.i32Shl, op.i32Add, ...set(P)],
      ...[...get(K0), ...set(K)],
      ...whileLess(K, KEND, i32(1), [
        ...[...get(FI), ...get(K), ...i32(3), op.i32Shl, op.i32Add, ...get(P), op.i32Store, ...memarg()],
        ...[...i32(0), ...set(N)],
        ...whileLess(N, B, i32(1), [
          ...[
            ...rowStart(get(N)),
            ...get(K),
            ...i32(2),
            op.i32Shl,
            op.i32Add,
            op.i32Load,
            ...memarg(),
            ...set(V),
          ],
          ...append([...get(N), ...get(HB), op.i32Mul]),
        ]),
        ...[...get(FI), ...get(K), ...i32(3), op.i32Shl, op.i32Add, ...get(P), op.i32Store, ...memarg(4)],
      ]),
    ]),
  ];
  return { name: "gather", params: range(9).map(() => I32), locals: L.declarations(), body };
}

/** Pushes the byte offset of tile (block BL, group at byte GO of a z row) from W1's start: (bl·hb + GO)·256. */
const tileOffset = (BL: number, GO: number, HB: number) => [
  ...[...get(BL), ...get(HB), op.i32Mul, ...get(GO), op.i32Add, ...i32(8), op.i32Shl],
];

function forwardFunction(fused: boolean) {
  const [W, HB, SL, SC, B, BLK0, BLK1, Z] = [0, 1, 2, 3, 4, 5, 6, 7];
  const L = new Locals(8);
  const { BL, GO, N, P, END, TILE, A0, A1, ZA, J, ZEND } = L.i32s(
    "BL",
    "GO",
    "N",
    "P",
    "END",
    "TILE",
    "A0",
    "A1",
    "ZA",
    "J",
    "ZEND",
  );
  const XV = [L.v128(), L.v128()] as const;
  const ACC = range(VECTORS).map(() => L.v128());
  const address = [A0, A1] as const;
  // Entry e of the pair at p: the W row's address in the tile, and x in all four lanes.
  const entry = (e: 0 | 1) => [
    ...[...get(TILE), ...get(P), op.i32Load, ...memarg(8 * e), op.i32Add, ...set(address[e])],
    ...[...get(P), ...simd.load32Splat, ...memarg(8 * e + 4, 2), ...set(XV[e])],
  ];
  const accumulate = (e: 0 | 1) =>
    ACC.flatMap((a, u) => [
      ...multiplyAdd(get(a), get(XV[e]), [...get(address[e]), ...simd.load, ...memarg(16 * u, 4)], fused),
      ...set(a),
    ]);
  const body = [
    // z = 0
    ...[...get(B), ...get(HB), op.i32Mul, ...set(ZEND)],
    ...whileLess(J, ZEND, i32(16), [
      ...get(Z),
      ...get(J),
      op.i32Add,
      ...simd.zero,
      ...simd.store,
      ...memarg(0, 4),
    ]),
    ...[...get(BLK0), ...set(BL)],
    ...whileLess(BL, BLK1, i32(1), [
      ...[...i32(0), ...set(GO)],
      // GO: the group's byte offset in a row of z.
      ...whileLess(GO, HB, i32(ROW_BYTES), [
        ...[...get(W), ...tileOffset(BL, GO, HB), op.i32Add],
        ...set(TILE),
        ...[...i32(0), ...set(N)],
        ...whileLess(N, B, i32(1), [
          ...ACC.flatMap((a) => [...simd.zero, ...set(a)]),
          // p = the list of (bl, n); end = p + 8·(count rounded up to even: the padding entry adds 0·w)
          ...[
            ...get(BL),
            ...get(B),
            op.i32Mul,
            ...get(N),
            op.i32Add,
            ...tee(P),
            ...i32(2),
            op.i32Shl,
            ...get(SC),
          ],
          ...[
            op.i32Add,
            op.i32Load,
            ...memarg(),
            ...i32(1),
            op.i32Add,
            ...i32(-2),
            op.i32And,
            ...i32(3),
            op.i32Shl,
          ],
          ...[
            ...get(P),
            ...i32(SAMPLE_LIST_BYTES),
            op.i32Mul,
            ...get(SL),
            op.i32Add,
            ...tee(P),
            op.i32Add,
            ...set(END),
          ],
          ...whileLess(P, END, i32(16), [...entry(0), ...entry(1), ...accumulate(0), ...accumulate(1)]),
          // z[n][group] += the block's sum
          ...[...get(Z), ...get(N), ...get(HB), op.i32Mul, op.i32Add, ...get(GO), op.i32Add, ...set(ZA)],
          ...ACC.flatMap((a, u) => [
            ...[...get(ZA), ...get(ZA), ...simd.load, ...memarg(16 * u, 4), ...get(a), ...simd.f32x4Add],
            ...[...simd.store, ...memarg(16 * u, 4)],
          ]),
        ]),
      ]),
    ]),
  ];
  return { name: "forward", params: range(8).map(() => I32), locals: L.declarations(), body };
}

/**
 * The update. Mean squares that fall below float32's normal range are stored
 * as +0: a hidden unit that stays inactive, or a feature that stays zero,
 * has a zero gradient, and its mean square decays by rho each step until it
 * is subnormal (~610 steps from 1e-10), where x86 takes a slow microcode path
 * for every operation on it (in Chromium, an update over all-subnormal mean
 * squares took 108 ms instead of 7, one-off). W1 gets the same bits either way:
 * ms + epsilon rounds to epsilon whether ms is a subnormal or 0.
 */
function updateFunction(fused: boolean) {
  const [W, MS, HB, FI, DZ, BLK0, BLK1, LR, RHO, OM, EPS] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const L = new Locals(11);
  const { BL, GO, K, KEND, P, END, WROW, MSROW, DG, A } = L.i32s(
    "BL",
    "GO",
    "K",
    "KEND",
    "P",
    "END",
    "WROW",
    "MSROW",
    "DG",
    "A",
  );
  const [VLR, VRHO, VOM, VEPS, VEXP, XV, MV] = range(7).map(() => L.v128()) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ACC = range(VECTORS).map(() => L.v128());
  const splat = (from: number, to: number) => [...get(from), ...simd.f32x4Splat, ...set(to)];
  const rmsprop = (u: number) => {
    const g = ACC[u] as number;
    return [
      // ms ← ms·rho + (g·g)·(1 − rho)
      ...get(MSROW),
      ...[...get(MSROW), ...simd.load, ...memarg(16 * u, 4), ...get(VRHO), ...simd.f32x4Mul],
      ...[...get(g), ...get(g), ...simd.f32x4Mul, ...get(VOM), ...simd.f32x4Mul, ...simd.f32x4Add],
      // A subnormal mean square (below 2^-126: the exponent bits are zero) becomes +0 (see above).
      ...[...set(MV), ...get(MV), ...get(MV), ...get(VEXP), ...simd.v128And, ...simd.zero, ...simd.i32x4Ne],
      ...[...simd.v128And, ...set(MV), ...get(MV), ...simd.store, ...memarg(16 * u, 4)],
      // w ← w − (g·lr) / sqrt(ms + eps)
      ...get(WROW),
      ...[...get(WROW), ...simd.load, ...memarg(16 * u, 4)],
      ...[...get(g), ...get(VLR), ...simd.f32x4Mul],
      ...[...get(MV), ...get(VEPS), ...simd.f32x4Add, ...simd.f32x4Sqrt],
      ...[...simd.f32x4Div, ...simd.f32x4Sub, ...simd.store, ...memarg(16 * u, 4)],
    ];
  };
  const body = [
    ...[...splat(LR, VLR), ...splat(RHO, VRHO), ...splat(OM, VOM), ...splat(EPS, VEPS)],
    ...[...i32(0x7f800000), ...simd.i32x4Splat, ...set(VEXP)],
    ...[...get(BLK0), ...set(BL)],
    ...whileLess(BL, BLK1, i32(1), [
      ...[
        ...get(BL),
        ...i32(SPARSE_HEAD_TILE_ROWS),
        op.i32Mul,
        ...i32(SPARSE_HEAD_TILE_ROWS),
        op.i32Add,
        ...set(KEND),
      ],
      ...[...i32(0), ...set(GO)],
      // One tile at a time, row by row: its W and mean square rows are consecutive.
      ...whileLess(GO, HB, i32(ROW_BYTES), [
        ...[...tileOffset(BL, GO, HB), ...set(A)],
        ...[...get(W), ...get(A), op.i32Add, ...set(WROW), ...get(MS), ...get(A), op.i32Add, ...set(MSROW)],
        ...[...get(DZ), ...get(GO), op.i32Add, ...set(DG)],
        ...[...get(KEND), ...i32(SPARSE_HEAD_TILE_ROWS), op.i32Sub, ...set(K)],
        ...whileLess(K, KEND, i32(1), [
          ...ACC.flatMap((a) => [...simd.zero, ...set(a)]),
          ...[
            ...get(FI),
            ...get(K),
            ...i32(3),
            op.i32Shl,
            op.i32Add,
            ...tee(P),
            op.i32Load,
            ...memarg(4),
            ...set(END),
          ],
          ...[...get(P), op.i32Load, ...memarg(), ...set(P)],
          // g += x[n][k]·δ[n], over the feature's non-zero samples in order
          ...whileLess(P, END, i32(8), [
            ...[...get(DG), ...get(P), op.i32Load, ...memarg(), op.i32Add, ...set(A)],
            ...[...get(P), ...simd.load32Splat, ...memarg(4, 2), ...set(XV)],
            ...ACC.flatMap((a, u) => [
              ...multiplyAdd(get(a), get(XV), [...get(A), ...simd.load, ...memarg(16 * u, 4)], fused),
              ...set(a),
            ]),
          ]),
          ...range(VECTORS).flatMap(rmsprop),
          ...[...get(WROW), ...i32(ROW_BYTES), op.i32Add, ...set(WROW)],
          ...[...get(MSROW), ...i32(ROW_BYTES), op.i32Add, ...set(MSROW)],
        ]),
      ]),
    ]),
  ];
  return {
    name: "update",
    params: [...range(7).map(() => I32), F32, F32, F32, F32],
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
