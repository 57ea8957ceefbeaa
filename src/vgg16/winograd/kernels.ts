/**
 * The two data-reordering halves of a Winograd F(2×2, 3×3) convolution, as
 * hand-written WASM SIMD that runs directly on TF.js' WASM heap. The middle
 * half, 16 matrix products, stays on XNNPACK (tf.matMul, every thread).
 *
 * Why: a 3×3 convolution computes 36 multiply-adds per 2×2 output tile and
 * channel pair; Winograd computes 16 (2.25× fewer), in exchange for a linear
 * transform of the input tiles and one of the products. Written with TF.js
 * ops (strided slices, adds, depthToSpace) those transforms cost more than
 * the products save on 1–2 WASM threads (measured); here each is one pass.
 *
 * Notation (Lavin & Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2015), with d a 4×4 input tile, g the 3×3 kernel, m = r·4 + s:
 *   V = Bᵀ d B,  U = G g Gᵀ,  M_m = V_m · U_m (over channels),  Y = Aᵀ M A
 *   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
 *   G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
 *   Aᵀ = [1 1 1 0; 0 1 −1 −1]
 * This computes a cross-correlation, as tf.conv2d does.
 */
import { get, I32, i32, memarg, op, set, simd, tee, V128, wasmModule, whileLess } from "../../wasm/encoder";

/**
 * Input transform of one image. `x` is the byte offset of a zero-padded NHWC
 * image [rows + 2][cols + 2][channels]; for every 2×2 output tile t (row-major,
 * (rows/2)·(cols/2) tiles) and channel c it writes V_m[t][c] at
 * `v[m] + tileOffset + (t·channels + c)·4`. Channels must be a multiple of 4.
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
 * Output transform of one image: reads M_m[t][k] at `m[m] + tileOffset +
 * (t·channels + k)·4`, adds the bias (byte offset `bias`) and applies ReLU.
 * Without pooling it writes output pixel (i, j) at `y + i·rowStride +
 * j·channels·4`; with `pool` = 1 it writes the 2×2 max-pool of each tile
 * (pixel (i, j) of the pooled image at the same formula).
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

export interface WinogradKernels {
  readonly input: WinogradInputKernel;
  readonly output: WinogradOutputKernel;
}

const kernelsByMemory = new WeakMap<WebAssembly.Memory, WinogradKernels | null>();

/** The kernels bound to a WASM heap, or null where WASM SIMD or instantiation is unavailable. */
export function winogradKernels(memory: WebAssembly.Memory): WinogradKernels | null {
  if (kernelsByMemory.has(memory)) return kernelsByMemory.get(memory) ?? null;
  let kernels: WinogradKernels | null = null;
  try {
    const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
    const bytes = winogradModule(shared);
    if (WebAssembly.validate(bytes)) {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
      kernels = {
        input: instance.exports.winogradInput as WinogradInputKernel,
        output: instance.exports.winogradOutput as WinogradOutputKernel,
      };
    }
  } catch {
    kernels = null;
  }
  kernelsByMemory.set(memory, kernels);
  return kernels;
}

const vload = (address: number[], to: number) => [...address, ...simd.load, ...memarg(0, 4), ...set(to)];
const add = (a: number, b: number) => [...get(a), ...get(b), ...simd.f32x4Add];
const sub = (a: number, b: number) => [...get(a), ...get(b), ...simd.f32x4Sub];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function inputFunction() {
  // Params: x, rows, cols, channels, tileOffset, v0…v15.
  const [X, ROWS, COLS, CH, TILE_OFFSET] = [0, 1, 2, 3, 4];
  const V = range(16).map((m) => 5 + m);
  // i32 locals.
  let next = 21;
  const alloc = () => next++;
  const [TI, TJ, C, TH, TW, CS, ROW_STRIDE, ROW_BASE, P, OUT, OC] = [
    alloc(),
    alloc(),
    alloc(),
    alloc(),
    alloc(),
    alloc(),
    alloc(),
    alloc(),
    alloc(),
    alloc(),
    alloc(),
  ];
  const R = range(4).map(() => next++); // row pointers of the tile
  const CS2 = next++;
  const CS3 = next++;
  const i32Count = next - 21;
  // v128 locals: the tile d (16), then its row-transformed rows t (16).
  const D = range(16).map(() => next++);
  const T = range(16).map(() => next++);

  const colOffset = (v: number) => (v === 0 ? [] : [...get(v === 1 ? CS : v === 2 ? CS2 : CS3), op.i32Add]);
  const loads = range(16).flatMap((i) => {
    const [u, v] = [Math.floor(i / 4), i % 4];
    return vload([...get(R[u] as number), ...colOffset(v)], D[i] as number);
  });
  // Rows: t_u = (Bᵀ d)_u for each column v.
  const rowPass = range(4).flatMap((v) => {
    const d = (u: number) => D[u * 4 + v] as number;
    const t = (u: number) => T[u * 4 + v] as number;
    return [
      ...sub(d(0), d(2)),
      ...set(t(0)),
      ...add(d(1), d(2)),
      ...set(t(1)),
      ...sub(d(2), d(1)),
      ...set(t(2)),
      ...sub(d(1), d(3)),
      ...set(t(3)),
    ];
  });
  // Columns: V = t B, stored straight to the 16 matrices.
  const colPass = range(4).flatMap((r) => {
    const t = (s: number) => T[r * 4 + s] as number;
    const store = (s: number, value: number[]) => [
      ...get(V[r * 4 + s] as number),
      ...get(OC),
      op.i32Add,
      ...value,
      ...simd.store,
      ...memarg(0, 4),
    ];
    return [
      ...store(0, sub(t(0), t(2))),
      ...store(1, add(t(1), t(2))),
      ...store(2, sub(t(2), t(1))),
      ...store(3, sub(t(1), t(3))),
    ];
  });

  const channelLoop = whileLess(C, CS, i32(16), [
    // Row pointers of this channel group: p + u·rowStride.
    ...get(P),
    ...get(C),
    op.i32Add,
    ...tee(R[0] as number),
    ...get(ROW_STRIDE),
    op.i32Add,
    ...tee(R[1] as number),
    ...get(ROW_STRIDE),
    op.i32Add,
    ...tee(R[2] as number),
    ...get(ROW_STRIDE),
    op.i32Add,
    ...set(R[3] as number),
    ...get(OUT),
    ...get(C),
    op.i32Add,
    ...set(OC),
    ...loads,
    ...rowPass,
    ...colPass,
  ]);
  const tileLoop = whileLess(TJ, TW, i32(1), [
    // p = rowBase + tj·2·channels·4
    ...get(ROW_BASE),
    ...get(TJ),
    ...get(CS2),
    op.i32Mul,
    op.i32Add,
    ...set(P),
    ...i32(0),
    ...set(C),
    ...channelLoop,
    ...get(OUT),
    ...get(CS),
    op.i32Add,
    ...set(OUT),
  ]);
  const body = [
    ...[...get(CH), ...i32(2), op.i32Shl, ...set(CS)],
    ...[...get(CS), ...get(CS), op.i32Add, ...tee(CS2), ...get(CS), op.i32Add, ...set(CS3)],
    ...[...get(COLS), ...i32(2), op.i32Add, ...get(CS), op.i32Mul, ...set(ROW_STRIDE)],
    ...[...get(ROWS), ...i32(1), op.i32ShrU, ...set(TH)],
    ...[...get(COLS), ...i32(1), op.i32ShrU, ...set(TW)],
    ...[...get(TILE_OFFSET), ...set(OUT)],
    ...whileLess(TI, TH, i32(1), [
      // rowBase = x + ti·2·rowStride
      ...get(X),
      ...get(TI),
      ...i32(1),
      op.i32Shl,
      ...get(ROW_STRIDE),
      op.i32Mul,
      op.i32Add,
      ...set(ROW_BASE),
      ...i32(0),
      ...set(TJ),
      ...tileLoop,
    ]),
  ];
  return {
    name: "winogradInput",
    params: [I32, I32, I32, I32, I32, ...V.map(() => I32)],
    locals: [
      [i32Count, I32],
      [32, V128],
    ] as const,
    body,
  };
}

function outputFunction() {
  // Params: y, rowStride, rows, cols, channels, tileOffset, bias, pool, m0…m15.
  const [Y, ROW_STRIDE, ROWS, COLS, CH, TILE_OFFSET, BIAS, POOL] = [0, 1, 2, 3, 4, 5, 6, 7];
  const M = range(16).map((m) => 8 + m);
  let next = 24;
  const alloc = () => next++;
  const [TI, TJ, K, TH, TW, KS, IN, IK, YB, YK] = [
    alloc(),
    alloc(),
    alloc(),
    alloc(),
    alloc(),
    alloc(),
    alloc(),
    alloc(),
    alloc(),
    alloc(),
  ];
  const i32Count = next - 24;
  const MV = range(16).map(() => next++); // the 16 products for one channel group
  const S = range(8).map(() => next++); // Aᵀ M, 2 rows × 4
  const [Y00, Y01, Y10, Y11, B, ZERO] = [alloc(), alloc(), alloc(), alloc(), alloc(), alloc()];
  const v128Count = next - 24 - i32Count;

  const loads = range(16).flatMap((m) =>
    vload([...get(M[m] as number), ...get(IK), op.i32Add], MV[m] as number),
  );
  // Rows of Aᵀ M for each column s: s0 = M0 + M1 + M2, s1 = M1 − M2 − M3.
  const rowPass = range(4).flatMap((s) => {
    const mv = (r: number) => MV[r * 4 + s] as number;
    return [
      ...add(mv(0), mv(1)),
      ...get(mv(2)),
      ...simd.f32x4Add,
      ...set(S[s] as number),
      ...sub(mv(1), mv(2)),
      ...get(mv(3)),
      ...simd.f32x4Sub,
      ...set(S[4 + s] as number),
    ];
  });
  // Columns: y_a0 = s_a0 + s_a1 + s_a2, y_a1 = s_a1 − s_a2 − s_a3.
  const colPass = [0, 1].flatMap((a) => {
    const s = (j: number) => S[a * 4 + j] as number;
    return [
      ...add(s(0), s(1)),
      ...get(s(2)),
      ...simd.f32x4Add,
      ...set(a === 0 ? Y00 : Y10),
      ...sub(s(1), s(2)),
      ...get(s(3)),
      ...simd.f32x4Sub,
      ...set(a === 0 ? Y01 : Y11),
    ];
  });
  const relu = (value: number[]) => [...value, ...get(B), ...simd.f32x4Add, ...get(ZERO), ...simd.f32x4Pmax];
  const store = (address: number[], value: number[]) => [
    ...address,
    ...value,
    ...simd.store,
    ...memarg(0, 4),
  ];
  const pmax = (a: number[], b: number[]) => [...a, ...b, ...simd.f32x4Pmax];
  // Max-pool: bias and ReLU after the max give the same values (both are monotonic).
  const pooled = store(
    [...get(YB), ...get(K), op.i32Add],
    relu(pmax(pmax(get(Y00), get(Y01)), pmax(get(Y10), get(Y11)))),
  );
  const full = [
    ...store([...get(YB), ...get(K), op.i32Add, ...tee(YK)], relu(get(Y00))),
    ...store([...get(YK), ...get(KS), op.i32Add], relu(get(Y01))),
    ...store([...get(YK), ...get(ROW_STRIDE), op.i32Add], relu(get(Y10))),
    ...store([...get(YK), ...get(ROW_STRIDE), op.i32Add, ...get(KS), op.i32Add], relu(get(Y11))),
  ];

  const channelLoop = whileLess(K, KS, i32(16), [
    ...[...get(IN), ...get(K), op.i32Add, ...set(IK)],
    ...loads,
    ...rowPass,
    ...colPass,
    ...vload([...get(BIAS), ...get(K), op.i32Add], B),
    ...get(POOL),
    op.if,
    0x40,
    ...pooled,
    op.else,
    ...full,
    op.end,
  ]);
  const tileLoop = whileLess(TJ, TW, i32(1), [
    // Pooled: y + ti·rowStride + tj·ks; full: y + 2ti·rowStride + 2tj·ks.
    ...get(Y),
    ...get(TI),
    ...get(POOL),
    op.i32Eqz,
    op.i32Shl,
    ...get(ROW_STRIDE),
    op.i32Mul,
    op.i32Add,
    ...get(TJ),
    ...get(POOL),
    op.i32Eqz,
    op.i32Shl,
    ...get(KS),
    op.i32Mul,
    op.i32Add,
    ...set(YB),
    ...i32(0),
    ...set(K),
    ...channelLoop,
    ...get(IN),
    ...get(KS),
    op.i32Add,
    ...set(IN),
  ]);
  const body = [
    ...[...get(CH), ...i32(2), op.i32Shl, ...set(KS)],
    ...[...get(ROWS), ...i32(1), op.i32ShrU, ...set(TH)],
    ...[...get(COLS), ...i32(1), op.i32ShrU, ...set(TW)],
    ...[...get(TILE_OFFSET), ...set(IN)],
    // ZERO stays the zero vector (locals start zeroed).
    ...whileLess(TI, TH, i32(1), [...i32(0), ...set(TJ), ...tileLoop]),
  ];
  return {
    name: "winogradOutput",
    params: [I32, I32, I32, I32, I32, I32, I32, I32, ...M.map(() => I32)],
    locals: [
      [i32Count, I32],
      [v128Count, V128],
    ] as const,
    body,
  };
}

/** The module's bytes: imports env.memory, exports `winogradInput` and `winogradOutput`. */
export function winogradModule(sharedMemory: boolean): Uint8Array<ArrayBuffer> {
  return wasmModule([inputFunction(), outputFunction()], sharedMemory);
}
