/**
 * The two data-reordering halves of a Winograd convolution F(m×m, 3×3), as
 * hand-written WASM SIMD that runs directly on TF.js' WASM heap, and, where
 * the engine has relaxed SIMD, the (m+2)² matrix products between them
 * (`gemm`); elsewhere those run on XNNPACK (tf.matMul).
 *
 * Why: a 3×3 convolution computes 9 multiply-adds per output and channel
 * pair; F(2×2, 3×3) computes 16/4 = 4 and F(4×4, 3×3) 36/16 = 2.25, in
 * exchange for a linear transform of the input tiles and one of the products.
 * Written with TF.js ops (strided slices, adds, depthToSpace) those
 * transforms cost more than the products save on 1–2 WASM threads
 * (measured); here each is one pass over the data.
 *
 * Notation (Lavin & Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2015), with d an n×n input tile (n = m + 2), g the 3×3 kernel
 * and matrix index q = r·n + s:
 *   V = Bᵀ d B,  U = G g Gᵀ,  M_q = V_q · U_q (over channels),  Y = Aᵀ M A.
 * This computes a cross-correlation, as tf.conv2d does.
 */
import {
  elementAddress,
  f32,
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
  vload,
  vstore,
  wasmModule,
  whileLess,
} from "../../wasm/encoder";

export type WinogradTile = 2 | 4;

interface Transform {
  /** n × n */
  readonly BT: readonly (readonly number[])[];
  /** n × 3 */
  readonly G: readonly (readonly number[])[];
  /** m × n */
  readonly AT: readonly (readonly number[])[];
}

export const TRANSFORMS: Readonly<Record<WinogradTile, Transform>> = {
  2: {
    BT: [
      [1, 0, -1, 0],
      [0, 1, 1, 0],
      [0, -1, 1, 0],
      [0, 1, 0, -1],
    ],
    G: [
      [1, 0, 0],
      [0.5, 0.5, 0.5],
      [0.5, -0.5, 0.5],
      [0, 0, 1],
    ],
    AT: [
      [1, 1, 1, 0],
      [0, 1, -1, -1],
    ],
  },
  // Interpolation points 0, ±1, ±2, ∞ (Lavin & Gray): the usual choice, whose float32 error stays ~1e-6 relative per layer.
  4: {
    BT: [
      [4, 0, -5, 0, 1, 0],
      [0, -4, -4, 1, 1, 0],
      [0, 4, -4, -1, 1, 0],
      [0, -2, -1, 2, 1, 0],
      [0, 2, -1, -2, 1, 0],
      [0, 4, 0, -5, 0, 1],
    ],
    G: [
      [1 / 4, 0, 0],
      [-1 / 6, -1 / 6, -1 / 6],
      [-1 / 6, 1 / 6, -1 / 6],
      [1 / 24, 1 / 12, 1 / 6],
      [1 / 24, -1 / 12, 1 / 6],
      [0, 0, 1],
    ],
    AT: [
      [1, 1, 1, 1, 1, 0],
      [0, 1, -1, 2, -2, 0],
      [0, 1, 1, 4, 4, 0],
      [0, 1, -1, 8, -8, 1],
    ],
  },
};

/**
 * Input transform of one image. `x` is the byte offset of a zero-padded NHWC
 * image [rows + 2][cols + 2][channels]; for every m×m output tile t
 * (row-major, (rows/m)·(cols/m) tiles) and channel c it writes V_q[t][c] at
 * `v[q] + tileOffset + (t·channels + c)·4`. Channels must be a multiple of 4.
 */
export type WinogradInputKernel = (
  x: number,
  rows: number,
  cols: number,
  channels: number,
  tileOffset: number,
  ...v: number[]
) => void;

/**
 * Output transform of one image: reads M_q[t][k] at `m[q] + tileOffset +
 * (t·channels + k)·4`, adds the bias (byte offset `bias`) and applies ReLU.
 * Without pooling it writes output pixel (i, j) at `y + i·rowStride +
 * j·channels·4`; with `pool` = 1 it writes the 2×2 max-pool instead (pixel
 * (i, j) of the pooled image at the same formula).
 */
export type WinogradOutputKernel = (
  y: number,
  rowStride: number,
  rows: number,
  cols: number,
  channels: number,
  tileOffset: number,
  bias: number,
  pool: number,
  ...m: number[]
) => void;

/**
 * Kernel transform U = G g Gᵀ: `g` is the byte offset of a [3][3][C·K]
 * kernel (TF.js' [3, 3, C, K] layout), `size` = C·K (a multiple of 4); it
 * writes U_q[C·K] at `u[q]` for the (m+2)² matrices. One pass, at load time.
 * With `panelK` = K (a multiple of 8) each U_q is written in gemm's panel
 * layout [K/8][C][8] instead of row-major [C][K]; 0 keeps row-major.
 */
export type WinogradWeightsKernel = (g: number, size: number, panelK: number, ...u: number[]) => void;

export interface WinogradKernelPair {
  readonly input: WinogradInputKernel;
  readonly output: WinogradOutputKernel;
  readonly weights: WinogradWeightsKernel;
}

/**
 * A dense layer, y = x·W + b (then ReLU when `relu` = 1), for n rows:
 * x [n][inputs], W [inputs][units] (Keras' layout, row-major), b [units],
 * y [n][units]; byte offsets. Units must be a multiple of 4.
 *
 * Why not XNNPACK: its fully-connected operator packs (and transposes) the
 * weights on first use, 4.4 s for fc1's 411 MB, which a reload pays before
 * its first prediction, and keeps the packed copy (another 494 MB for fc1–3).
 * This streams W once per call, row by row (sequential reads), and skips the
 * rows whose input is zero (ReLU outputs: the features and fc1's output are
 * mostly zeros), so it is as fast as XNNPACK at the small batches the app
 * classifies in.
 */
export type DenseKernel = (
  x: number,
  n: number,
  inputs: number,
  w: number,
  units: number,
  bias: number,
  y: number,
  relu: number,
) => void;

/**
 * A matrix product C = A·B with relaxed SIMD's fused multiply-add: A [m][k]
 * and C [m][n] row-major, B in panels of 8 columns ([n/8][k][8]: each panel
 * is read sequentially; the weights kernel writes U in it), byte offsets; n a
 * multiple of 8. Panel by panel, every row of A meets the panel while it is
 * in L1 (a one-off Node run: 36–40 GFLOP/s, against 19–21 with B row-major).
 *
 * Why not XNNPACK: TF.js' WASM build has plain SIMD only, so each of its
 * multiply-adds is a multiply and an add; where the engine has relaxed SIMD
 * (Chromium) this kernel does one fused instruction, and it runs on whichever
 * thread calls it, so the Winograd layer can run whole on two threads (see
 * winograd-rows.ts). In one-off Node runs on one thread for the Winograd
 * products' shapes: 30–40 GFLOP/s against XNNPACK's 22–26.
 */
export type GemmKernel = (a: number, b: number, c: number, m: number, k: number, n: number) => void;

/** The module's functions, on one thread. */
export interface WinogradFunctions extends Readonly<Record<WinogradTile, WinogradKernelPair>> {
  readonly dense: DenseKernel;
  /** Only where the engine has relaxed SIMD. */
  readonly gemm: GemmKernel | null;
}

export interface WinogradKernels extends WinogradFunctions {
  /** The compiled module, for a helper thread on the same (shared) memory. */
  readonly module: WebAssembly.Module;
}

/**
 * The kernels bound to a WASM heap, or null where WASM SIMD or instantiation
 * is unavailable. `gemm` is there where the engine has relaxed SIMD, unless
 * asked with `relaxed: false` (tests of the XNNPACK path).
 */
export const winogradKernels = relaxedOrPlainKernels<WinogradKernels>(winogradModule, (exports, module) => ({
  ...winogradFunctions(exports),
  module,
}));

/** The functions of an instance of winogradModule (on either thread). */
export function winogradFunctions(exports: WebAssembly.Exports): WinogradFunctions {
  const pair = (m: WinogradTile): WinogradKernelPair => ({
    input: exports[`input${m}`] as WinogradInputKernel,
    output: exports[`output${m}`] as WinogradOutputKernel,
    weights: exports[`weights${m}`] as WinogradWeightsKernel,
  });
  const gemm = (exports.gemm as GemmKernel | undefined) ?? null;
  return { 2: pair(2), 4: pair(4), dense: exports.dense as DenseKernel, gemm };
}

/**
 * Σ c_i·x_i over v128 locals, leaving the vector on the stack. ±1 become adds
 * and subtracts; other coefficients multiply by a splatted constant (from
 * `constant(c)`, |c| only). Terms with a positive coefficient go first, so no
 * negation is needed unless every coefficient is negative.
 */
function combination(
  coefficients: readonly number[],
  xs: readonly number[],
  constant: (c: number) => number,
  zero: number,
) {
  const terms = coefficients
    .map((c, i) => ({ c, x: xs[i] as number }))
    .filter((t) => t.c !== 0)
    .sort((a, b) => Number(b.c > 0) - Number(a.c > 0));
  const scaled = (t: { c: number; x: number }) =>
    Math.abs(t.c) === 1 ? get(t.x) : [...get(t.x), ...get(constant(Math.abs(t.c))), ...simd.f32x4Mul];
  const [first, ...rest] = terms;
  if (!first) return get(zero);
  const code = first.c > 0 ? scaled(first) : [...get(zero), ...scaled(first), ...simd.f32x4Sub];
  for (const t of rest) code.push(...scaled(t), ...(t.c > 0 ? simd.f32x4Add : simd.f32x4Sub));
  return code;
}

/** Splatted constants for every |coefficient| other than 0 and 1 in the matrices, set at function entry. */
function constantsFor(locals: Locals, matrices: readonly (readonly (readonly number[])[])[]) {
  const values = [...new Set(matrices.flat(2).map(Math.abs))].filter((c) => c !== 0 && c !== 1);
  const byValue = new Map(values.map((c) => [c, locals.v128()]));
  const init = values.flatMap((c) => [...f32(c), ...simd.f32x4Splat, ...set(byValue.get(c) as number)]);
  const constant = (c: number) => {
    const local = byValue.get(c);
    if (local === undefined) throw new Error(`no constant ${c}`);
    return local;
  };
  return { init, constant };
}

function inputFunction(m: WinogradTile) {
  const { BT } = TRANSFORMS[m];
  const n = m + 2;
  // Params: x, rows, cols, channels, tileOffset, v_0 … v_{n²−1}.
  const [X, ROWS, COLS, CH, TILE_OFFSET] = [0, 1, 2, 3, 4];
  const V = range(n * n).map((q) => 5 + q);
  const L = new Locals(5 + n * n);
  const { TI, TJ, C, TH, TW, CS, TILE_BYTES, ROW_STRIDE, TILE_ROW_STRIDE, ROW_BASE, P, OUT, OC } = L.i32s(
    ...([
      "TI",
      "TJ",
      "C",
      "TH",
      "TW",
      "CS",
      "TILE_BYTES",
      "ROW_STRIDE",
      "TILE_ROW_STRIDE",
      "ROW_BASE",
      "P",
      "OUT",
      "OC",
    ] as const),
  );
  const R = range(n).map(() => L.i32()); // the tile's row pointers
  const COL = range(n).map(() => L.i32()); // v·channels·4
  const ZERO = L.v128();
  const { init, constant } = constantsFor(L, [BT]);
  const D = range(n).map(() => L.v128()); // one column of the tile
  const T = range(n * n).map(() => L.v128()); // Bᵀ d, row-major

  // Column by column: load d[·][v], then t[i][v] = Σ_u Bᵀ[i][u]·d[u][v].
  const rowPass = range(n).flatMap((v) => [
    ...range(n).flatMap((u) =>
      vload([...get(R[u] as number), ...get(COL[v] as number), op.i32Add], D[u] as number),
    ),
    ...range(n).flatMap((i) => [
      ...combination(BT[i] as number[], D, constant, ZERO),
      ...set(T[i * n + v] as number),
    ]),
  ]);
  // Row by row: V[i][j] = Σ_v t[i][v]·Bᵀ[j][v], stored straight to the n² matrices.
  const colPass = range(n).flatMap((i) =>
    range(n).flatMap((j) =>
      vstore(
        [...get(V[i * n + j] as number), ...get(OC), op.i32Add],
        combination(BT[j] as number[], T.slice(i * n, i * n + n), constant, ZERO),
      ),
    ),
  );
  const channelLoop = whileLess(C, CS, i32(16), [
    ...range(n).flatMap((u) => [
      ...(u === 0
        ? [...get(P), ...get(C), op.i32Add]
        : [...get(R[u - 1] as number), ...get(ROW_STRIDE), op.i32Add]),
      ...set(R[u] as number),
    ]),
    ...[...get(OUT), ...get(C), op.i32Add, ...set(OC)],
    ...rowPass,
    ...colPass,
  ]);
  const tileLoop = whileLess(TJ, TW, i32(1), [
    ...[...get(ROW_BASE), ...get(TJ), ...get(TILE_BYTES), op.i32Mul, op.i32Add, ...set(P)], // p = rowBase + tj·m·cs
    ...[...i32(0), ...set(C)],
    ...channelLoop,
    ...[...get(OUT), ...get(CS), op.i32Add, ...set(OUT)],
  ]);
  const body = [
    ...init,
    ...[...get(CH), ...i32(2), op.i32Shl, ...set(CS)],
    ...[...get(CS), ...i32(m), op.i32Mul, ...set(TILE_BYTES)],
    ...range(n).flatMap((v) => [...get(CS), ...i32(v), op.i32Mul, ...set(COL[v] as number)]),
    ...[...get(COLS), ...i32(2), op.i32Add, ...get(CS), op.i32Mul, ...set(ROW_STRIDE)],
    ...[...get(ROW_STRIDE), ...i32(m), op.i32Mul, ...set(TILE_ROW_STRIDE)],
    ...[...get(ROWS), ...i32(m), op.i32DivU, ...set(TH)],
    ...[...get(COLS), ...i32(m), op.i32DivU, ...set(TW)],
    ...[...get(TILE_OFFSET), ...set(OUT)],
    ...whileLess(TI, TH, i32(1), [
      ...[...get(X), ...get(TI), ...get(TILE_ROW_STRIDE), op.i32Mul, op.i32Add, ...set(ROW_BASE)],
      ...[...i32(0), ...set(TJ)],
      ...tileLoop,
    ]),
  ];
  return { name: `input${m}`, params: [...range(5), ...V].map(() => I32), locals: L.declarations(), body };
}

function outputFunction(m: WinogradTile) {
  const { AT } = TRANSFORMS[m];
  const n = m + 2;
  const half = m / 2;
  // Params: y, rowStride, rows, cols, channels, tileOffset, bias, pool, m_0 … m_{n²−1}.
  const [Y, ROW_STRIDE, ROWS, COLS, CH, TILE_OFFSET, BIAS, POOL] = [0, 1, 2, 3, 4, 5, 6, 7];
  const M = range(n * n).map((q) => 8 + q);
  const L = new Locals(8 + n * n);
  const { TI, TJ, K, TH, TW, KS, IN, IK, STEP, STEP_ROW } = L.i32s(
    ...(["TI", "TJ", "K", "TH", "TW", "KS", "IN", "IK", "STEP", "STEP_ROW"] as const),
  );
  const YR = range(m).map(() => L.i32()); // output row pointers of the tile (pooled: the first m/2)
  const COL = range(m).map(() => L.i32()); // b·ks
  const ZERO = L.v128();
  const B = L.v128();
  const { init, constant } = constantsFor(L, [AT]);
  const MV = range(n).map(() => L.v128()); // one column of M
  const S = range(m * n).map(() => L.v128()); // Aᵀ M, row-major
  const YV = range(m * m).map(() => L.v128());

  const rowPass = range(n).flatMap((s) => [
    ...range(n).flatMap((r) =>
      vload([...get(M[r * n + s] as number), ...get(IK), op.i32Add], MV[r] as number),
    ),
    ...range(m).flatMap((a) => [
      ...combination(AT[a] as number[], MV, constant, ZERO),
      ...set(S[a * n + s] as number),
    ]),
  ]);
  const colPass = range(m).flatMap((a) =>
    range(m).flatMap((b) => [
      ...combination(AT[b] as number[], S.slice(a * n, a * n + n), constant, ZERO),
      ...set(YV[a * m + b] as number),
    ]),
  );
  const relu = (value: number[]) => [...value, ...get(B), ...simd.f32x4Add, ...get(ZERO), ...simd.f32x4Pmax];
  const pmax = (a: number[], b: number[]) => [...a, ...b, ...simd.f32x4Pmax];
  const at = (row: number, col: number) => [
    ...get(YR[row] as number),
    ...get(COL[col] as number),
    op.i32Add,
    ...get(K),
    op.i32Add,
  ];
  const full = range(m * m).flatMap((i) => vstore(at(Math.floor(i / m), i % m), relu(get(YV[i] as number))));
  // Max-pool: bias and ReLU after the max give the same values (both are monotonic).
  const pooled = range(half * half).flatMap((i) => {
    const [a, b] = [Math.floor(i / half) * 2, (i % half) * 2];
    const y = (da: number, db: number) => get(YV[(a + da) * m + b + db] as number);
    return vstore(at(a / 2, b / 2), relu(pmax(pmax(y(0, 0), y(0, 1)), pmax(y(1, 0), y(1, 1)))));
  });
  const channelLoop = whileLess(K, KS, i32(16), [
    ...[...get(IN), ...get(K), op.i32Add, ...set(IK)],
    ...rowPass,
    ...colPass,
    ...vload([...get(BIAS), ...get(K), op.i32Add], B),
    ...[...get(POOL), op.if, 0x40, ...pooled, op.else, ...full, op.end],
  ]);
  const tileLoop = whileLess(TJ, TW, i32(1), [
    // The tile's first output pixel: y + ti·step_row + tj·step (step = m or m/2 pixels).
    ...[
      ...get(Y),
      ...get(TI),
      ...get(STEP_ROW),
      op.i32Mul,
      op.i32Add,
      ...get(TJ),
      ...get(STEP),
      op.i32Mul,
      op.i32Add,
    ],
    ...[...set(YR[0] as number)],
    ...range(m - 1).flatMap((a) => [
      ...get(YR[a] as number),
      ...get(ROW_STRIDE),
      op.i32Add,
      ...set(YR[a + 1] as number),
    ]),
    ...[...i32(0), ...set(K)],
    ...channelLoop,
    ...[...get(IN), ...get(KS), op.i32Add, ...set(IN)],
  ]);
  const body = [
    ...init,
    ...[...get(CH), ...i32(2), op.i32Shl, ...set(KS)],
    ...range(m).flatMap((b) => [...get(KS), ...i32(b), op.i32Mul, ...set(COL[b] as number)]),
    // Pixels per tile step: m, or m/2 when pooled.
    ...[...i32(m), ...get(POOL), op.i32ShrU, ...set(STEP)],
    ...[...get(STEP), ...get(ROW_STRIDE), op.i32Mul, ...set(STEP_ROW)],
    ...[...get(STEP), ...get(KS), op.i32Mul, ...set(STEP)],
    ...[...get(ROWS), ...i32(m), op.i32DivU, ...set(TH)],
    ...[...get(COLS), ...i32(m), op.i32DivU, ...set(TW)],
    ...[...get(TILE_OFFSET), ...set(IN)],
    ...whileLess(TI, TH, i32(1), [...i32(0), ...set(TJ), ...tileLoop]),
  ];
  return { name: `output${m}`, params: [...range(8), ...M].map(() => I32), locals: L.declarations(), body };
}

function weightsFunction(m: WinogradTile) {
  const { G } = TRANSFORMS[m];
  const n = m + 2;
  // Params: g, size, panelK, u_0 … u_{n²−1}.
  const [GW, SIZE, PANEL_K] = [0, 1, 2];
  const U = range(n * n).map((q) => 3 + q);
  const L = new Locals(3 + n * n);
  const { P, END, PLANE, DEST, E, CH } = L.i32s(...(["P", "END", "PLANE", "DEST", "E", "CH"] as const));
  const ZERO = L.v128();
  const { init, constant } = constantsFor(L, [G]);
  const GV = range(9).map(() => L.v128()); // g[i][j] for one group of 4 elements
  const T = range(n * 3).map(() => L.v128()); // G g, row-major [n][3]
  const loads = range(9).flatMap((ij) =>
    vload(
      [...get(GW), ...get(P), op.i32Add, ...get(PLANE), ...i32(ij), op.i32Mul, op.i32Add],
      GV[ij] as number,
    ),
  );
  // t[r][j] = Σ_i G[r][i]·g[i][j]
  const rows = range(n).flatMap((r) =>
    range(3).flatMap((j) => [
      ...combination(
        G[r] as number[],
        range(3).map((i) => GV[i * 3 + j] as number),
        constant,
        ZERO,
      ),
      ...set(T[r * 3 + j] as number),
    ]),
  );
  // Where element e = c·K + k (4 of them, k ≡ 0 mod 4, within one panel) goes: P, or ((k/8)·C + c)·32 + (k mod 8)·4.
  const destination = [
    ...[...get(PANEL_K), op.if, 0x40],
    ...[...get(P), ...i32(2), op.i32ShrU, ...set(E)],
    ...[...get(E), ...get(PANEL_K), op.i32DivU, ...set(CH)], // c
    ...[...get(E), ...get(CH), ...get(PANEL_K), op.i32Mul, op.i32Sub, ...set(E)], // k
    ...[...get(E), ...i32(3), op.i32ShrU, ...get(SIZE), ...get(PANEL_K), op.i32DivU, op.i32Mul], // (k/8)·C
    ...[...get(CH), op.i32Add, ...i32(5), op.i32Shl],
    ...[...get(E), ...i32(7), op.i32And, ...i32(2), op.i32Shl, op.i32Add, ...set(DEST)],
    op.else,
    ...[...get(P), ...set(DEST)],
    op.end,
  ];
  // U[r][s] = Σ_j t[r][j]·G[s][j]
  const outs = range(n * n).flatMap((q) => {
    const [r, c] = [Math.floor(q / n), q % n];
    return vstore(
      [...get(U[q] as number), ...get(DEST), op.i32Add],
      combination(G[c] as number[], T.slice(r * 3, r * 3 + 3), constant, ZERO),
    );
  });
  const body = [
    ...init,
    ...[...get(SIZE), ...i32(2), op.i32Shl, ...tee(PLANE), ...set(END)],
    ...whileLess(P, END, i32(16), [...loads, ...rows, ...destination, ...outs]),
  ];
  return { name: `weights${m}`, params: [0, 1, 2, ...U].map(() => I32), locals: L.declarations(), body };
}

function denseFunction() {
  const [X, N, INPUTS, W, UNITS, BIAS, Y, RELU] = [0, 1, 2, 3, 4, 5, 6, 7];
  const L = new Locals(8);
  const { B, I, J, US, YB, WI, END } = L.i32s(...(["B", "I", "J", "US", "YB", "WI", "END"] as const));
  const ZERO = L.v128();
  const XV = L.v128();
  const addr = (base: number) => [...get(base), ...get(J), op.i32Add];
  // y[b] = bias, for every row b.
  const initRows = whileLess(B, N, i32(1), [
    ...[...get(Y), ...get(B), ...get(US), op.i32Mul, op.i32Add, ...set(YB)],
    ...[...i32(0), ...set(J)],
    ...whileLess(J, US, i32(16), vstore(addr(YB), [...addr(BIAS), ...simd.load, ...memarg(0, 4)])),
  ]);
  // For each input i and row b with x[b][i] ≠ 0: y[b] += x[b][i]·W[i].
  const accumulate = whileLess(I, INPUTS, i32(1), [
    ...[...get(W), ...get(I), ...get(US), op.i32Mul, op.i32Add, ...set(WI)],
    ...[...i32(0), ...set(B)],
    ...whileLess(B, N, i32(1), [
      ...elementAddress(X, B, INPUTS, I),
      ...[op.f32Load, ...memarg()],
      ...simd.f32x4Splat,
      ...set(XV),
      // Skip a zero input: its row adds nothing.
      ...[...get(XV), ...simd.anyTrue, op.if, 0x40],
      ...[...get(Y), ...get(B), ...get(US), op.i32Mul, op.i32Add, ...set(YB)],
      ...[...i32(0), ...set(J)],
      ...whileLess(
        J,
        US,
        i32(16),
        vstore(addr(YB), [
          ...addr(YB),
          ...simd.load,
          ...memarg(0, 4),
          ...get(XV),
          ...addr(WI),
          ...simd.load,
          ...memarg(0, 4),
          ...simd.f32x4Mul,
          ...simd.f32x4Add,
        ]),
      ),
      op.end,
    ]),
  ]);
  const reluRows = [
    ...[...get(RELU), op.if, 0x40],
    ...[...get(N), ...get(US), op.i32Mul, ...set(END)], // bytes of y
    ...[...i32(0), ...set(J)],
    ...whileLess(
      J,
      END,
      i32(16),
      vstore(addr(Y), [...addr(Y), ...simd.load, ...memarg(0, 4), ...get(ZERO), ...simd.f32x4Pmax]),
    ),
    op.end,
  ];
  const body = [
    ...[...get(UNITS), ...i32(2), op.i32Shl, ...set(US)],
    ...initRows,
    ...accumulate,
    ...reluRows,
  ];
  return { name: "dense", params: range(8).map(() => I32), locals: L.declarations(), body };
}

/** Rows of C per pass over a column panel: 4 rows × 8 columns is 8 accumulators, which stay in registers. */
const GEMM_ROWS = 4;
/** Columns per panel: two vectors. */
export const GEMM_COLUMNS = 8;

function gemmFunction() {
  const [A, B, C, M, K, N] = [0, 1, 2, 3, 4, 5];
  const L = new Locals(6);
  const { I, J, KK, KS, NS, PB, PC, PANEL, ROW_A, M4 } = L.i32s(
    ...(["I", "J", "KK", "KS", "NS", "PB", "PC", "PANEL", "ROW_A", "M4"] as const),
  );
  const PA = range(GEMM_ROWS).map(() => L.i32()); // the block's row pointers into A
  const ACC = range(GEMM_ROWS * 2).map(() => L.v128());
  const BV = range(2).map(() => L.v128());
  const AV = L.v128();
  const acc = (r: number, v: number) => ACC[r * 2 + v] as number;
  /** Rows I … I + rows − 1 of C's panel J: Σ_k a[r][k]·panel[k]. */
  const block = (rows: number) => [
    ...[...get(A), ...get(I), ...get(KS), op.i32Mul, op.i32Add, ...set(ROW_A)],
    ...range(rows).flatMap((r) =>
      r === 0
        ? [...get(ROW_A), ...set(PA[0] as number)]
        : [...get(PA[r - 1] as number), ...get(KS), op.i32Add, ...set(PA[r] as number)],
    ),
    ...range(rows * 2).flatMap((i) => [...simd.zero, ...set(ACC[i] as number)]),
    ...[...get(PANEL), ...set(PB)],
    ...[...i32(0), ...set(KK)],
    ...whileLess(KK, KS, i32(4), [
      ...range(2).flatMap((v) => [...get(PB), ...simd.load, ...memarg(v * 16, 4), ...set(BV[v] as number)]),
      ...range(rows).flatMap((r) => [
        ...[...get(PA[r] as number), ...get(KK), op.i32Add, ...simd.load32Splat, ...memarg(0, 2), ...set(AV)],
        ...range(2).flatMap((v) => [
          ...multiplyAdd(get(acc(r, v)), get(AV), get(BV[v] as number), true),
          ...set(acc(r, v)),
        ]),
      ]),
      ...[...get(PB), ...i32(GEMM_COLUMNS * 4), op.i32Add, ...set(PB)],
    ]),
    ...[...get(C), ...get(I), ...get(NS), op.i32Mul, op.i32Add, ...get(J), op.i32Add, ...set(PC)],
    ...range(rows).flatMap((r) => [
      ...range(2).flatMap((v) => [...get(PC), ...get(acc(r, v)), ...simd.store, ...memarg(v * 16, 4)]),
      ...[...get(PC), ...get(NS), op.i32Add, ...set(PC)],
    ]),
  ];
  const body = [
    ...[...get(K), ...i32(2), op.i32Shl, ...set(KS)],
    ...[...get(N), ...i32(2), op.i32Shl, ...set(NS)],
    ...[...get(M), ...i32(-GEMM_ROWS), op.i32And, ...set(M4)],
    // Panel J (bytes into a row of C) starts at B + (J / 32)·K·32 = B + J·K.
    ...whileLess(J, NS, i32(GEMM_COLUMNS * 4), [
      ...[...get(B), ...get(J), ...get(K), op.i32Mul, op.i32Add, ...set(PANEL)],
      ...[...i32(0), ...set(I)],
      ...whileLess(I, M4, i32(GEMM_ROWS), block(GEMM_ROWS)),
      ...whileLess(I, M, i32(1), block(1)),
    ]),
  ];
  return { name: "gemm", params: range(6).map(() => I32), locals: L.declarations(), body };
}

/**
 * The module's bytes: imports env.memory, exports `input2`, `output2`,
 * `weights2`, the same for 4, `dense`, and with `gemm` (relaxed SIMD) `gemm`.
 */
export function winogradModule(sharedMemory: boolean, gemm = false): Uint8Array<ArrayBuffer> {
  return wasmModule(
    [
      inputFunction(2),
      outputFunction(2),
      weightsFunction(2),
      inputFunction(4),
      outputFunction(4),
      weightsFunction(4),
      denseFunction(),
      ...(gemm ? [gemmFunction()] : []),
    ],
    sharedMemory,
  );
}
