/**
 * VGG16's forward pass on TF.js' WASM backend with the 3×3 convolutions as
 * Winograd F(4×4, 3×3) (blocks 1–4) or F(2×2, 3×3) (block 5; see
 * kernels.ts): per layer one input-transform pass, 36 (or 16) matrix
 * products, one output-transform pass that adds the bias, applies ReLU and,
 * before a pool layer, max-pools. Layers hand each other zero-padded
 * activations, so no separate pad, pool or reshuffle pass runs between them.
 * fc1–fc3 run in the streaming dense kernel (no packed copy of their 494 MB).
 *
 * Where the engine has relaxed SIMD (Chromium), the products run in our own
 * fused multiply-add gemm and each layer runs whole, block of tile rows by
 * block, on this thread and on helper threads sharing the heap, one share
 * each (winograd-rows.ts, the "rows path"). Elsewhere the products are
 * XNNPACK's (tf.matMul, on its own threads) between the two transform
 * kernels.
 *
 * It takes over a GraphModel: it runs its bias and dense weight tensors and
 * replaces 12 conv kernels by their transforms U (172 MB instead of 59 MB:
 * the model's tensors grow from 553 to 667 MB), freeing the originals, so
 * the GraphModel itself must not run afterwards. Results equal tf.conv2d's
 * within float32 rounding (the sums are taken in another order);
 * tests/wasm-runner.test.ts checks both.
 */
import type * as tfjs from "@tensorflow/tfjs";
import { CONV_BASE_LAYERS, type ConvLayer, FEATURE_UNITS, TOP_LAYERS } from "../../model/vgg16-spec";
import { HeapHelper } from "../../wasm/heap-helper";
import { heapOffset, type WasmBackendLike, type WasmInternals, wasmInternals } from "../../wasm/tfjs-heap";
import { GEMM_COLUMNS, type WinogradKernels, type WinogradTile, winogradKernels } from "./kernels";
import {
  encodeRowsJob,
  ROWS_JOBS,
  type RowsJob,
  rowsScratchBytes,
  runWinogradRows,
  type WinogradRowsJob,
} from "./winograd-rows";

type TF = typeof tfjs;

/** What the worker runs: a GraphModel, or this runner in front of one. */
export interface Vgg16Runnable {
  execute(input: tfjs.Tensor, output: string): tfjs.Tensor | tfjs.Tensor[];
  dispose(): void;
  /** The runner's: threads its convolutions run on. */
  readonly convolutionThreads?: number;
}

export const WINOGRAD_INPUT = "Vgg16WinogradInput";
export const WINOGRAD_OUTPUT = "Vgg16WinogradOutput";
export const WINOGRAD_WEIGHTS = "Vgg16WinogradWeights";
export const DENSE = "Vgg16Dense";
/** An output tensor in the heap, uninitialised or zeroed, for the rows path to write into. */
export const HEAP_TENSOR = "Vgg16HeapTensor";

/**
 * The Winograd tile of each conv layer, or null for a direct convolution:
 * block1_conv1 stays direct (3 input channels; the SIMD passes need multiples
 * of 4); F(4×4) where the size allows (blocks 1–4), F(2×2) in block 5 (14×14).
 */
export function winogradTileFor(layer: ConvLayer): WinogradTile | null {
  if (layer.inChannels % 4 !== 0 || layer.outChannels % 4 !== 0) return null;
  if (layer.size % 4 === 0) return 4;
  return layer.size % 2 === 0 ? 2 : null;
}

/** Input tile side n = m + 2: the transform has n² matrices. */
const matricesOf = (tile: WinogradTile) => (tile + 2) * (tile + 2);
const tileOf = (matrices: number): WinogradTile => (matrices === 36 ? 4 : 2);

/** The backend inside a kernelFunc: its heap, and outputs allocated in it. */
interface KernelBackend extends WasmBackendLike {
  makeOutput(shape: number[], dtype: "float32"): tfjs.TensorInfo;
  wasm: { HEAPU8: Uint8Array };
}

type Attrs = Record<string, unknown>;

/** A kernel of the WASM backend: inputs, the backend's heap access and attrs, typed once here. */
function wasmKernel(
  kernelName: string,
  run: (
    inputs: tfjs.NamedTensorInfoMap,
    b: KernelBackend,
    attrs: Attrs,
  ) => tfjs.TensorInfo | tfjs.TensorInfo[],
): tfjs.KernelConfig {
  return {
    kernelName,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) =>
      run(inputs, backend as unknown as KernelBackend, (attrs ?? {}) as unknown as Attrs),
  };
}

const KERNEL_NAMES = [WINOGRAD_INPUT, WINOGRAD_OUTPUT, WINOGRAD_WEIGHTS, DENSE, HEAP_TENSOR];
/** The kernels instance the registered TF.js kernels call (a new worker or heap gets new ones). */
let registeredKernels: WinogradKernels | null = null;

/** Registers the transforms and the dense layer as TF.js kernels of the WASM backend (once per kernels instance). */
export function registerWinogradKernels(tf: TF, kernels: WinogradKernels): void {
  if (registeredKernels === kernels && tf.getKernel(WINOGRAD_INPUT, "wasm")) return;
  for (const name of KERNEL_NAMES) if (tf.getKernel(name, "wasm")) tf.unregisterKernel(name, "wasm");
  registeredKernels = kernels;

  const input = wasmKernel(WINOGRAD_INPUT, (inputs, b, attrs) => {
    const tile = attrs.tile as WinogradTile;
    const x = inputs.x as tfjs.TensorInfo;
    const [n, paddedRows, paddedCols, channels] = x.shape as [number, number, number, number];
    const [rows, cols] = [paddedRows - 2, paddedCols - 2];
    const tiles = (rows / tile) * (cols / tile);
    const outs = Array.from({ length: matricesOf(tile) }, () =>
      b.makeOutput([n * tiles, channels], "float32"),
    );
    const v = outs.map((o) => heapOffset(b, o));
    const xOffset = heapOffset(b, x);
    const imageBytes = paddedRows * paddedCols * channels * 4;
    for (let i = 0; i < n; i++) {
      kernels[tile].input(xOffset + i * imageBytes, rows, cols, channels, i * tiles * channels * 4, ...v);
    }
    return outs;
  });

  const output = wasmKernel(WINOGRAD_OUTPUT, (inputs, b, attrs) => {
    const { rows, cols, pool, pad, tile } = attrs as {
      rows: number;
      cols: number;
      pool: boolean;
      pad: boolean;
      tile: WinogradTile;
    };
    const m = Array.from({ length: matricesOf(tile) }, (_, i) => inputs[`m${i}`] as tfjs.TensorInfo);
    const [rowsTimesN, channels] = (m[0] as tfjs.TensorInfo).shape as [number, number];
    const tiles = (rows / tile) * (cols / tile);
    const n = rowsTimesN / tiles;
    const [outRows, outCols] = pool ? [rows / 2, cols / 2] : [rows, cols];
    const border = pad ? 2 : 0;
    const out = b.makeOutput([n, outRows + border, outCols + border, channels], "float32");
    const outOffset = heapOffset(b, out);
    const rowStride = (outCols + border) * channels * 4;
    const imageBytes = (outRows + border) * rowStride;
    // The zero border is the next layer's "same" padding.
    if (pad) new Uint8Array(b.wasm.HEAPU8.buffer, outOffset, n * imageBytes).fill(0);
    const firstPixel = pad ? rowStride + channels * 4 : 0;
    const mOffsets = m.map((t) => heapOffset(b, t));
    const biasOffset = heapOffset(b, inputs.bias as tfjs.TensorInfo);
    for (let i = 0; i < n; i++) {
      const y = outOffset + i * imageBytes + firstPixel;
      const tileOffset = i * tiles * channels * 4;
      kernels[tile].output(
        y,
        rowStride,
        rows,
        cols,
        channels,
        tileOffset,
        biasOffset,
        pool ? 1 : 0,
        ...mOffsets,
      );
    }
    return out;
  });

  const weights = wasmKernel(WINOGRAD_WEIGHTS, (inputs, b, attrs) => {
    const { tile, panels } = attrs as { tile: WinogradTile; panels: boolean };
    const kernel = inputs.kernel as tfjs.TensorInfo;
    const [rows, cols, c, k] = kernel.shape as [number, number, number, number];
    if (rows !== 3 || cols !== 3 || (c * k) % 4 !== 0 || (panels && k % GEMM_COLUMNS !== 0)) {
      throw new Error(`Winograd: cannot transform a [${kernel.shape}] kernel`);
    }
    const outs = Array.from({ length: matricesOf(tile) }, () => b.makeOutput([c, k], "float32"));
    const panelK = panels ? k : 0;
    kernels[tile].weights(heapOffset(b, kernel), c * k, panelK, ...outs.map((o) => heapOffset(b, o)));
    return outs;
  });

  const dense = wasmKernel(DENSE, (inputs, b, attrs) => {
    const { x, w, bias } = inputs as { x: tfjs.TensorInfo; w: tfjs.TensorInfo; bias: tfjs.TensorInfo };
    const [n, inputsPerRow, units] = [x.shape[0] as number, w.shape[0] as number, w.shape[1] as number];
    const out = b.makeOutput([n, units], "float32");
    const relu = attrs.relu ? 1 : 0;
    kernels.dense(
      heapOffset(b, x),
      n,
      inputsPerRow,
      heapOffset(b, w),
      units,
      heapOffset(b, bias),
      heapOffset(b, out),
      relu,
    );
    return out;
  });

  const heapTensor = wasmKernel(HEAP_TENSOR, (_inputs, b, attrs) => {
    const { shape, zero } = attrs as { shape: number[]; zero: boolean };
    const out = b.makeOutput(shape, "float32");
    const bytes = shape.reduce((a, d) => a * d, 4);
    if (zero) new Uint8Array(b.wasm.HEAPU8.buffer, heapOffset(b, out), bytes).fill(0);
    return out;
  });

  for (const config of [input, output, weights, dense, heapTensor]) tf.registerKernel(config);
}

/** A dense layer (x·W + b, then ReLU) by the streaming WASM kernel: no packed copy of W (see DenseKernel). */
export function denseLayer(
  tf: TF,
  x: tfjs.Tensor2D,
  w: tfjs.Tensor2D,
  bias: tfjs.Tensor1D,
  relu: boolean,
): tfjs.Tensor2D {
  if (x.shape[1] !== w.shape[0] || w.shape[1] !== bias.shape[0] || w.shape[1] % 4 !== 0) {
    throw new Error(`dense: shapes [${x.shape}] · [${w.shape}] + [${bias.shape}] do not fit`);
  }
  return tf
    .engine()
    .runKernel(DENSE, { x, w, bias }, { relu } as unknown as tfjs.NamedAttrMap) as tfjs.Tensor2D;
}

/**
 * U = G g Gᵀ for a [3, 3, C, K] kernel: (tile + 2)² matrices [C, K], q =
 * r·(tile + 2) + s; with `panels` in the rows path's gemm layout [K/8][C][8]
 * (the tensors keep the shape [C, K]: only that gemm reads them).
 */
export function winogradWeights(
  tf: TF,
  kernel: tfjs.Tensor4D,
  tile: WinogradTile,
  options: { readonly panels?: boolean } = {},
): tfjs.Tensor2D[] {
  const attrs = { tile, panels: options.panels === true };
  return tf
    .engine()
    .runKernel(WINOGRAD_WEIGHTS, { kernel }, attrs as unknown as tfjs.NamedAttrMap) as tfjs.Tensor2D[];
}

/** Zero padding of one pixel on each side: the input of a Winograd layer ("same" padding). */
export function padSame(tf: TF, x: tfjs.Tensor4D): tfjs.Tensor4D {
  return tf.pad(x, [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ]);
}

/**
 * A 3×3 "same" convolution + bias + ReLU (+ 2×2 max-pool) of a zero-padded
 * NHWC input [n, rows + 2, cols + 2, C] with transformed kernels `u`
 * (winogradWeights). With `pad` the result comes zero-padded too, ready for
 * the next Winograd layer.
 */
export interface WinogradLayer {
  readonly xPadded: tfjs.Tensor4D;
  readonly u: readonly tfjs.Tensor2D[];
  readonly bias: tfjs.Tensor1D;
  /** A 2×2 max-pool follows (fused into the output transform). */
  readonly pool: boolean;
  readonly pad: boolean;
}

/** A Winograd layer with XNNPACK's products. Needs the kernels registered (winogradVgg16 or registerWinogradKernels). */
export function winogradConv(tf: TF, layer: WinogradLayer): tfjs.Tensor4D {
  const { xPadded, u, bias } = layer;
  const [, paddedRows, paddedCols] = xPadded.shape;
  const tile = tileOf(u.length);
  // Not a tf.tidy: each V_q is freed as soon as its product exists, so the
  // transformed inputs and the products never all live at once.
  const v = tf
    .engine()
    .runKernel(WINOGRAD_INPUT, { x: xPadded }, { tile } as unknown as tfjs.NamedAttrMap) as tfjs.Tensor2D[];
  const m: Record<string, tfjs.Tensor2D> = {};
  v.forEach((vi, i) => {
    m[`m${i}`] = tf.matMul(vi, u[i] as tfjs.Tensor2D);
    vi.dispose();
  });
  const attrs = { rows: paddedRows - 2, cols: paddedCols - 2, pool: layer.pool, pad: layer.pad, tile };
  const y = tf.engine().runKernel(WINOGRAD_OUTPUT, { ...m, bias }, attrs as unknown as tfjs.NamedAttrMap);
  tf.dispose(Object.values(m));
  return y as tfjs.Tensor4D;
}

/** The rows path (winograd-rows.ts): this thread's kernels, the helper threads, and every thread's scratch. */
export interface RowsContext {
  readonly kernels: WinogradKernels;
  /** HeapHelpers on rows-helper.worker.ts (a test may run the jobs in this thread). */
  readonly helpers: readonly { run(name: RowsJob, ints: readonly number[]): void; wait(): void }[];
  /** Byte offset of the scratch: one part per thread. */
  readonly scratch: number;
  readonly scratchBytesPerThread: number;
}

/**
 * A Winograd layer with `u` in gemm's panel layout (winogradWeights with
 * `panels`), run by winograd-rows.ts on this thread and each helper thread of
 * `rows`, each on an equal share of the tile rows.
 */
export function winogradConvRows(tf: TF, layer: WinogradLayer, rows: RowsContext): tfjs.Tensor4D {
  const { xPadded, u, bias, pool, pad } = layer;
  const internals = wasmInternals(tf);
  if (!internals) throw new Error("Winograd rows: not on the WASM backend");
  const [n, paddedRows, paddedCols, channels] = xPadded.shape;
  const [height, width] = [paddedRows - 2, paddedCols - 2];
  const tile = tileOf(u.length);
  const outChannels = bias.shape[0];
  const [outRows, outCols] = pool ? [height / 2, width / 2] : [height, width];
  const border = pad ? 2 : 0;
  const shape = [n, outRows + border, outCols + border, outChannels];
  // The zero border is the next layer's "same" padding; without one, every byte is written.
  const out = tf.engine().runKernel(HEAP_TENSOR, {}, {
    shape,
    zero: pad,
  } as unknown as tfjs.NamedAttrMap) as tfjs.Tensor4D;
  const yRowStride = (outCols + border) * outChannels * 4;
  const units = (n * height) / tile;
  // Shares by thread; helpers take the larger ones: this thread also runs the JavaScript around the layer.
  const threads = rows.helpers.length + 1;
  const bound = (thread: number) => Math.floor((thread * units) / threads);
  const layerJob = {
    tile,
    x: internals.offsetOf(xPadded),
    rows: height,
    cols: width,
    channels,
    outChannels,
    y: internals.offsetOf(out) + (pad ? yRowStride + outChannels * 4 : 0),
    yRowStride,
    yImageBytes: (outRows + border) * yRowStride,
    bias: internals.offsetOf(bias),
    pool,
    scratchBytes: rows.scratchBytesPerThread,
    u: u.map((t) => internals.offsetOf(t)),
  };
  const job = (start: number, end: number, thread: number): WinogradRowsJob => ({
    ...layerJob,
    start,
    end,
    scratch: rows.scratch + thread * rows.scratchBytesPerThread,
  });
  const started: RowsContext["helpers"][number][] = [];
  const failures: unknown[] = [];
  try {
    rows.helpers.forEach((helper, i) => {
      const [start, end] = [bound(i + 1), bound(i + 2)];
      if (start === end) return;
      helper.run("rows", encodeRowsJob(job(start, end, i + 1)));
      started.push(helper);
    });
    runWinogradRows(rows.kernels, job(0, bound(1), 0));
  } catch (error) {
    failures.push(error);
  }
  // Even when this share failed: every helper must be done writing before `out` can be freed.
  for (const helper of started) {
    try {
      helper.wait();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) {
    out.dispose();
    throw failures[0];
  }
  return out;
}

interface ConvWeights {
  readonly layer: ConvLayer;
  /** The next layer is a 2×2 max-pool (fused into this one's output transform). */
  readonly poolAfter: boolean;
  readonly kernel: tfjs.Tensor4D;
  readonly bias: tfjs.Tensor1D;
  /** Transformed kernels, for Winograd layers. */
  readonly u: tfjs.Tensor2D[] | null;
  /** Run by the rows path: U is in gemm's panel layout. */
  readonly rows: boolean;
}

/** U made while the weights were still arriving (transformWhileLoading), by kernel tensor. */
const earlyWeights = new WeakMap<
  tfjs.Tensor,
  { readonly u: tfjs.Tensor2D[]; readonly tile: WinogradTile; readonly panels: boolean }
>();

/**
 * Makes a conv kernel's U as soon as the kernel is there (streaming-weights.ts
 * reports each weight): VGG16's conv kernels are its first 58 MB, so their
 * transforms (0.2–0.4 s on a cached reload here) run while the dense
 * layers' 480 MB are still being read, instead of after. winogradVgg16 takes
 * U from here when the tile and layout match, else makes it again. Until then
 * a layer's kernel and U are both held (at most the conv kernels' 58 MB
 * more, during loading only). A name that is not a Winograd layer's kernel,
 * or a heap without the kernels, is ignored.
 */
export function transformWhileLoading(tf: TF, name: string, kernel: tfjs.Tensor): void {
  const layer = CONV_BASE_LAYERS.find((l) => l.kind === "conv" && `${l.name}/kernel` === name);
  if (layer?.kind !== "conv" || kernel.dtype !== "float32" || kernel.rank !== 4) return;
  const tile = winogradTileFor(layer);
  const internals = wasmInternals(tf);
  const kernels = internals ? winogradKernels(internals.memory) : null;
  if (tile === null || !kernels || earlyWeights.has(kernel)) return;
  registerWinogradKernels(tf, kernels);
  // The same choice of layout as winogradVgg16 with its default options.
  const panels = kernels.gemm !== null && layer.outChannels % GEMM_COLUMNS === 0;
  earlyWeights.set(kernel, {
    u: winogradWeights(tf, kernel as tfjs.Tensor4D, tile, { panels }),
    tile,
    panels,
  });
}

/** Frees U made early for kernels that never reached winogradVgg16 (a load that failed). */
export function disposeEarlyWeights(tf: TF, kernels: readonly tfjs.Tensor[]): void {
  for (const kernel of kernels) {
    const early = earlyWeights.get(kernel);
    if (!early) continue;
    earlyWeights.delete(kernel);
    tf.dispose(early.u);
  }
}

/**
 * The runner for a loaded VGG16 GraphModel, or null where it cannot run
 * (another backend than WASM, no WASM SIMD, weights not found): the caller
 * then runs the GraphModel itself.
 */
export async function winogradVgg16(
  tf: TF,
  model: tfjs.GraphModel,
  outputs: { readonly predictions?: string | null; readonly features?: string | null },
  options: { readonly rows?: boolean } = {},
): Promise<Vgg16Runnable | null> {
  const internals = wasmInternals(tf);
  if (!internals) return null;
  const kernels = winogradKernels(internals.memory, { relaxed: options.rows !== false });
  if (!kernels) return null;
  const weight = (name: string) => model.weights[name]?.[0];
  const convs: ConvWeights[] = [];
  for (const [index, layer] of CONV_BASE_LAYERS.entries()) {
    if (layer.kind !== "conv") continue;
    const poolAfter = CONV_BASE_LAYERS[index + 1]?.kind === "pool";
    const kernel = weight(`${layer.name}/kernel`);
    const bias = weight(`${layer.name}/bias`);
    if (!kernel || !bias || kernel.dtype !== "float32") return null;
    // The rows path (our gemm) where the engine has relaxed SIMD and the channels fit its panels.
    const rows = kernels.gemm !== null && layer.outChannels % GEMM_COLUMNS === 0;
    const [k, b] = [kernel as tfjs.Tensor4D, bias as tfjs.Tensor1D];
    convs.push({ layer, poolAfter, kernel: k, bias: b, u: null, rows });
  }
  registerWinogradKernels(tf, kernels);
  const prepared = convs.map((c) => {
    const tile = winogradTileFor(c.layer);
    if (tile === null) return c;
    const early = earlyWeights.get(c.kernel);
    earlyWeights.delete(c.kernel);
    const u =
      early && early.tile === tile && early.panels === c.rows
        ? early.u
        : winogradWeights(tf, c.kernel, tile, { panels: c.rows });
    if (early && early.u !== u) tf.dispose(early.u);
    c.kernel.dispose(); // U replaces it (GraphModel.dispose() later skips a disposed tensor)
    return { ...c, u };
  });
  const dense = TOP_LAYERS.flatMap((layer) => {
    if (layer.kind !== "dense") return [];
    const kernel = weight(`${layer.name}/kernel`);
    const bias = weight(`${layer.name}/bias`);
    return kernel && bias ? [{ layer, kernel: kernel as tfjs.Tensor2D, bias: bias as tfjs.Tensor1D }] : [];
  });
  let rows: Awaited<ReturnType<typeof rowsContext>> | null = null;
  try {
    rows = prepared.some((c) => c.rows) ? await rowsContext(tf, internals, kernels, prepared) : null;
  } catch (error) {
    for (const c of prepared) if (c.u) tf.dispose(c.u); // the kernels they replaced are gone already
    throw error;
  }

  /** The conv base on a few images; every intermediate is freed as soon as the next layer has read it. */
  const convBase = (x: tfjs.Tensor4D): tfjs.Tensor4D => {
    let h = x;
    let padded = false;
    const replace = (next: tfjs.Tensor4D) => {
      if (h !== x) h.dispose();
      h = next;
    };
    prepared.forEach((conv, index) => {
      const pool = conv.poolAfter;
      if (!conv.u) {
        if (padded) throw new Error("Winograd: a direct conv after a Winograd layer is not supported");
        const filter = conv.kernel;
        replace(
          tf.fused.conv2d({ x: h, filter, strides: 1, pad: "same", bias: conv.bias, activation: "relu" }),
        );
        if (pool) replace(tf.maxPool(h, 2, 2, "valid"));
        return;
      }
      const pad = prepared[index + 1]?.u != null;
      if (!padded) replace(padSame(tf, h));
      const layer = { xPadded: h, u: conv.u, bias: conv.bias, pool, pad };
      replace(rows && conv.rows ? winogradConvRows(tf, layer, rows) : winogradConv(tf, layer));
      padded = pad;
    });
    return h;
  };

  /** Images at a time through the conv base: caps the transient V and M matrices (~54 MB per image in block 1). */
  const chunk = 4;
  const features = (input: tfjs.Tensor4D): tfjs.Tensor4D => {
    const n = input.shape[0];
    if (n <= chunk) return convBase(input);
    const parts: tfjs.Tensor4D[] = [];
    for (let start = 0; start < n; start += chunk) {
      const images = input.slice(start, Math.min(chunk, n - start));
      parts.push(convBase(images));
      images.dispose();
    }
    const all = tf.concat(parts);
    tf.dispose(parts);
    return all;
  };

  return {
    convolutionThreads: rows ? rows.helpers.length + 1 : internals.threads(),
    execute(input, output) {
      const known = output === outputs.features || (output === outputs.predictions && dense.length === 3);
      if (!known) throw new Error(`Winograd runner: unknown output "${output}"`);
      const base = features(input as tfjs.Tensor4D);
      if (output === outputs.features) return base;
      return tf.tidy(() => {
        let h: tfjs.Tensor = base.reshape([-1, FEATURE_UNITS]);
        base.dispose();
        for (const { layer, kernel, bias } of dense) {
          const relu = layer.activation === "relu";
          h = denseLayer(tf, h as tfjs.Tensor2D, kernel, bias, relu);
        }
        return tf.softmax(h);
      });
    },
    dispose() {
      rows?.dispose();
      for (const c of prepared) for (const u of c.u ?? []) u.dispose();
      model.dispose();
    },
  };
}

/**
 * The rows path's scratch (one part per thread, sized for the largest layer)
 * and, where the backend computes with more than one thread, as many helper
 * threads less one. They do the other threads' shares of each Winograd
 * layer (XNNPACK's own threads are idle meanwhile). A helper that does not
 * start leaves fewer threads, never none.
 */
async function rowsContext(
  tf: TF,
  internals: WasmInternals,
  kernels: WinogradKernels,
  convs: readonly ConvWeights[],
): Promise<RowsContext & { dispose(): void }> {
  let scratchBytesPerThread = 0;
  for (const { layer, u } of convs) {
    if (!u) continue;
    const bytes = rowsScratchBytes(layer.size, layer.inChannels, layer.outChannels, tileOf(u.length));
    scratchBytesPerThread = Math.max(scratchBytesPerThread, bytes);
  }
  const started = await Promise.all(
    Array.from({ length: internals.threads() - 1 }, () =>
      HeapHelper.start(
        internals.memory,
        kernels.module,
        () => new Worker(new URL("./rows-helper.worker.ts", import.meta.url), { type: "module" }),
        ROWS_JOBS,
        "a convolution helper thread",
      ),
    ),
  );
  const helpers = started.filter((h): h is HeapHelper<RowsJob> => h !== null);
  const scratch = tf.zeros([((helpers.length + 1) * scratchBytesPerThread) / 4]);
  return {
    kernels,
    helpers,
    scratch: internals.offsetOf(scratch),
    scratchBytesPerThread,
    dispose() {
      for (const helper of helpers) helper.dispose();
      scratch.dispose();
    },
  };
}
