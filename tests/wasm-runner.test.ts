/**
 * Winograd F(2×2, 3×3) and F(4×4, 3×3) convolutions (src/vgg16/wasm-runner)
 * against TF.js' conv2d on the same WASM backend: one layer in each output
 * mode (plain, max-pooled, zero-padded for the next layer) by both paths
 * (XNNPACK products; the rows path with the relaxed-SIMD product, its tile
 * rows split between two "threads"), then the whole conv base of a synthetic
 * VGG16 against the GraphModel it runs, by both paths.
 *
 * Node 20 compiles relaxed SIMD only behind a V8 flag (Chromium has it on).
 */
import { setFlagsFromString } from "node:v8";
import type * as tfType from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildMetadata } from "../src/model/convert";
import { buildVgg16GraphModel } from "../src/model/graph-model";
import { createRandom } from "../src/model/random";
import { syntheticVgg16Weights } from "../src/model/synthetic";
import {
  TRANSFORMS,
  type WinogradKernels,
  winogradKernels,
  winogradModule,
} from "../src/vgg16/wasm-runner/kernels";
import {
  denseLayer,
  disposeEarlyWeights,
  padSame,
  type RowsContext,
  registerWinogradKernels,
  transformWhileLoading,
  type Vgg16Runnable,
  WINOGRAD_WEIGHTS,
  winogradConv,
  winogradConvRows,
  winogradVgg16,
  winogradWeights,
} from "../src/vgg16/wasm-runner/runner";
import { decodeRowsJob, runWinogradRows } from "../src/vgg16/wasm-runner/winograd-rows";
import { type WasmInternals, wasmInternals } from "../src/wasm/tfjs-heap";
import { tfWasm } from "./helpers/tf-node";

setFlagsFromString("--experimental-wasm-relaxed-simd");

let tf: typeof tfType;
let internals: WasmInternals;
let kernels: WinogradKernels;
beforeAll(async () => {
  tf = await tfWasm();
  const found = wasmInternals(tf);
  const bound = found && winogradKernels(found.memory);
  if (!found || !bound) throw new Error("the Winograd kernels did not instantiate on the WASM backend");
  if (!bound.gemm) throw new Error("no relaxed-SIMD gemm: the V8 flag did not take");
  [internals, kernels] = [found, bound];
  registerWinogradKernels(tf, kernels);
});

/**
 * The rows path with a stand-in helper that runs its half in this thread
 * when awaited: the split, the job's int32 encoding and both scratch parts
 * are exercised as with a real second thread.
 */
function rowsInThisThread(scratchBytesPerThread: number, helperCount = 1): RowsContext & { dispose(): void } {
  const scratch = tf.zeros([((helperCount + 1) * scratchBytesPerThread) / 4]);
  const standIn = () => {
    let pending: number[] | null = null;
    return {
      run: (_name: string, ints: readonly number[]) => {
        pending = [...ints];
      },
      wait: () => {
        if (pending) runWinogradRows(kernels, decodeRowsJob(pending));
        pending = null;
      },
    };
  };
  return {
    kernels,
    helpers: Array.from({ length: helperCount }, standIn),
    scratch: internals.offsetOf(scratch),
    scratchBytesPerThread,
    dispose: () => scratch.dispose(),
  };
}

function randomTensor(shape: number[], seed: number, scale = 1): tfType.Tensor {
  const random = createRandom(seed);
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = (random() * 2 - 1) * scale;
  return tf.tensor(values, shape);
}

async function maxAbs(t: tfType.Tensor): Promise<number> {
  const m = tf.tidy(() => tf.abs(t).max());
  const [value] = await m.data();
  m.dispose();
  return value as number;
}

async function maxAbsDiff(a: tfType.Tensor, b: tfType.Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const d = tf.sub(a, b);
  const value = await maxAbs(d);
  d.dispose();
  return value;
}

describe("Winograd kernels module", () => {
  it("validates with a shared and with an unshared memory import", () => {
    expect(WebAssembly.validate(winogradModule(false))).toBe(true);
    expect(WebAssembly.validate(winogradModule(true))).toBe(true);
    expect(WebAssembly.validate(winogradModule(true, true))).toBe(true);
  });

  it.each([
    [1, 12, 8],
    [7, 12, 24],
    [13, 5, 16],
  ])(
    "gemm: [%i, %i] · [·, %i] with B in panels of 8 columns equals tf.matMul (4-row blocks and single rows)",
    async (m, k, n) => {
      const a = randomTensor([m, k], 31);
      const b = randomTensor([k, n], 32);
      const panels = tf.tidy(() => b.reshape([k, n / 8, 8]).transpose([1, 0, 2]));
      const c = tf.fill([m, n], Number.NaN); // every element must be written
      const expected = tf.matMul(a as tfType.Tensor2D, b as tfType.Tensor2D);
      kernels.gemm?.(internals.offsetOf(a), internals.offsetOf(panels), internals.offsetOf(c), m, k, n);
      expect(await maxAbs(expected)).toBeGreaterThan(1);
      expect(await maxAbsDiff(c, expected)).toBeLessThan(1e-5);
      tf.dispose([a, b, panels, c, expected]);
    },
  );
});

describe.each([
  [2, "XNNPACK products"],
  [4, "XNNPACK products"],
  [2, "rows path"],
  [4, "rows path"],
] as const)("one F(%i×·, 3×3) layer by the %s equals conv2d + bias + ReLU", (tile, path) => {
  // 3 images: the rows path's split (half of the 9 or 18 tile rows) falls inside image 1.
  const [n, size, c, k] = [3, 12, 8, 16];
  let rows: (RowsContext & { dispose(): void }) | null = null;
  const conv = (x: tfType.Tensor4D, u: tfType.Tensor2D[], b: tfType.Tensor1D, pool: boolean, pad: boolean) =>
    rows
      ? winogradConvRows(tf, { xPadded: x, u, bias: b, pool, pad }, rows)
      : winogradConv(tf, { xPadded: x, u, bias: b, pool, pad });
  let x: tfType.Tensor4D;
  let kernel: tfType.Tensor4D;
  let bias: tfType.Tensor1D;
  let u: tfType.Tensor2D[];
  /** U as the layer's path reads it: in gemm's panels for the rows path. */
  let pathU: tfType.Tensor2D[];
  let reference: tfType.Tensor4D;

  beforeAll(() => {
    x = randomTensor([n, size, size, c], 1) as tfType.Tensor4D;
    kernel = randomTensor([3, 3, c, k], 2, 0.3) as tfType.Tensor4D;
    bias = randomTensor([k], 3, 0.2) as tfType.Tensor1D;
    u = winogradWeights(tf, kernel, tile);
    pathU = path === "rows path" ? winogradWeights(tf, kernel, tile, { panels: true }) : u;
    reference = tf.fused.conv2d({ x, filter: kernel, strides: 1, pad: "same", bias, activation: "relu" });
    // Scratch for the wider of the two layers below (k → c and c → k channels).
    if (path === "rows path") rows = rowsInThisThread((tile + 2) ** 2 * (size * size) * (c + k) * 4);
  });
  afterAll(() => rows?.dispose());

  it("transforms a [3, 3, C, K] kernel into (tile + 2)² matrices [C, K] = G g Gᵀ", async () => {
    const n = tile + 2;
    expect(u).toHaveLength(n * n);
    // The reference in double precision, element by element: U[r][s] = Σ_ij G[r][i]·g[i][j]·G[s][j].
    const { G } = TRANSFORMS[tile];
    const g = (await kernel.data()) as Float32Array;
    let worst = 0;
    for (const [q, uq] of u.entries()) {
      expect(uq.shape).toEqual([c, k]);
      const [r, s] = [Math.floor(q / n), q % n];
      const values = (await uq.data()) as Float32Array;
      for (let e = 0; e < c * k; e++) {
        let want = 0;
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 3; j++)
            want += (G[r]?.[i] ?? 0) * (g[(i * 3 + j) * c * k + e] ?? 0) * (G[s]?.[j] ?? 0);
        worst = Math.max(worst, Math.abs((values[e] as number) - want));
      }
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it("writes the same U in gemm's panel layout [K/8][C][8] when asked", async () => {
    const panels = winogradWeights(tf, kernel, tile, { panels: true });
    for (const [q, uq] of u.entries()) {
      const expected = tf.tidy(() =>
        uq
          .reshape([c, k / 8, 8])
          .transpose([1, 0, 2])
          .reshape([c, k]),
      );
      expect(Array.from(await (panels[q] as tfType.Tensor).data())).toEqual(
        Array.from(await expected.data()),
      );
      expected.dispose();
    }
    tf.dispose(panels);
  });

  it("plain output: same values as tf.fused.conv2d (both images)", async () => {
    const y = conv(padSame(tf, x), pathU, bias, false, false);
    expect(y.shape).toEqual([n, size, size, k]);
    // Half the outputs are ReLU zeros; the rest are O(1): the difference is float32 rounding.
    expect(await maxAbs(reference)).toBeGreaterThan(1);
    expect(await maxAbsDiff(y, reference)).toBeLessThan(1e-5);
    y.dispose();
  });

  // The XNNPACK path has no threads of its own: this one is the rows path's only.
  if (path === "rows path") {
    it("plain output split three ways (two helper threads) also equals tf.fused.conv2d", async () => {
      const three = rowsInThisThread((tile + 2) ** 2 * (size * size) * (c + k) * 4, 2);
      const y = winogradConvRows(
        tf,
        { xPadded: padSame(tf, x), u: pathU, bias, pool: false, pad: false },
        three,
      );
      expect(await maxAbsDiff(y, reference)).toBeLessThan(1e-5);
      tf.dispose(y);
      three.dispose();
    });
  }

  it("pooled output: same values as conv2d then a 2×2 max-pool", async () => {
    const pooledReference = tf.maxPool(reference, 2, 2, "valid");
    const y = conv(padSame(tf, x), pathU, bias, true, false);
    expect(y.shape).toEqual([n, size / 2, size / 2, k]);
    expect(await maxAbsDiff(y, pooledReference)).toBeLessThan(1e-5);
    y.dispose();
    pooledReference.dispose();
  });

  it("padded output: a zero border around the same values, which the next layer reads as its input", async () => {
    const y = conv(padSame(tf, x), pathU, bias, false, true);
    expect(y.shape).toEqual([n, size + 2, size + 2, k]);
    const inner = y.slice([0, 1, 1, 0], [n, size, size, k]);
    expect(await maxAbsDiff(inner, reference)).toBeLessThan(1e-5);
    const borderSum = tf.tidy(() => tf.sub(tf.abs(y).sum(), tf.abs(inner).sum()));
    expect(Math.abs((await borderSum.data())[0] as number)).toBe(0);

    // Chained: a second layer over the padded output equals conv2d over conv2d.
    const kernel2 = randomTensor([3, 3, k, c], 4, 0.3) as tfType.Tensor4D;
    const bias2 = randomTensor([c], 5, 0.2) as tfType.Tensor1D;
    const u2 = winogradWeights(tf, kernel2, tile, { panels: path === "rows path" });
    const chained = conv(y, u2, bias2, true, false);
    const chainedReference = tf.maxPool(
      tf.fused.conv2d({
        x: reference,
        filter: kernel2,
        strides: 1,
        pad: "same",
        bias: bias2,
        activation: "relu",
      }),
      2,
      2,
      "valid",
    );
    expect(await maxAbs(chainedReference)).toBeGreaterThan(1);
    expect(await maxAbsDiff(chained, chainedReference)).toBeLessThan(1e-4);
    tf.dispose([y, inner, borderSum, kernel2, bias2, chained, chainedReference, ...u2]);
  });
});

describe("the streaming dense kernel equals tf.fused.matMul", () => {
  it.each([
    [1, true],
    [3, false],
    [5, true],
  ])("%i row(s), ReLU %s, inputs with zeros (skipped rows)", async (n, relu) => {
    const [inputs, units] = [40, 12];
    const x = tf.tidy(() => tf.relu(randomTensor([n, inputs], 21)) as tfType.Tensor2D); // about half zeros
    const w = randomTensor([inputs, units], 22) as tfType.Tensor2D;
    const bias = randomTensor([units], 23) as tfType.Tensor1D;
    const expected = tf.fused.matMul({ a: x, b: w, bias, activation: relu ? "relu" : "linear" });
    const actual = denseLayer(tf, x, w, bias, relu);
    expect(actual.shape).toEqual([n, units]);
    expect(await maxAbs(expected)).toBeGreaterThan(0.5);
    expect(await maxAbsDiff(actual, expected)).toBeLessThan(1e-5);
    if (!relu) expect((await tf.min(actual).data())[0]).toBeLessThan(0); // the negative outputs stayed
    tf.dispose([x, w, bias, expected, actual]);
  });

  it("refuses shapes that do not fit", () => {
    const x = tf.zeros([1, 8]) as tfType.Tensor2D;
    const w = tf.zeros([7, 4]) as tfType.Tensor2D;
    expect(() => denseLayer(tf, x, w, tf.zeros([4]) as tfType.Tensor1D, false)).toThrow(/do not fit/);
  });
});

describe.each([
  ["rows path", true, false],
  ["XNNPACK products", false, false],
  ["rows path, U made while the weights arrived", true, true],
])("the Winograd runner (%s) on a synthetic VGG16 conv base", (_path, rows, early) => {
  let model: tfType.GraphModel;
  let runner: Vgg16Runnable | null;
  let input: tfType.Tensor;
  let expected: tfType.Tensor;
  /** Tensors winogradVgg16 itself added (new U, scratch) less those it freed (the kernels). */
  let addedByRunner = 0;
  /** Kernel transforms winogradVgg16 ran. */
  let transformsByRunner = 0;

  beforeAll(async () => {
    const weights = syntheticVgg16Weights(7, false);
    const artifacts = buildVgg16GraphModel(weights, {
      quantization: "none",
      metadata: buildMetadata(weights, { kind: "synthetic", seed: 7 }, { quantization: "none" }),
    });
    const bytes = new Uint8Array(artifacts.shards.reduce((sum, s) => sum + s.length, 0));
    let offset = 0;
    for (const shard of artifacts.shards) {
      bytes.set(shard, offset);
      offset += shard.length;
    }
    model = tf.loadGraphModelSync([artifacts.modelJson, bytes.buffer as ArrayBuffer]) as tfType.GraphModel;
    // The GraphModel's result first: the runner frees the conv kernels it replaces.
    input = randomTensor([5, 224, 224, 3], 9, 120); // 5 images: chunks of 4 and 1
    expected = model.execute(input, "features") as tfType.Tensor;
    if (early) {
      // As the worker's StreamingWeights reports each weight: every name, kernels or not.
      for (const [name, [tensor]] of Object.entries(model.weights))
        transformWhileLoading(tf, name, tensor as tfType.Tensor);
    }
    const before = tf.memory().numTensors;
    const profile = await tf.profile(async () => {
      runner = await winogradVgg16(tf, model, { features: "features", predictions: null }, { rows });
    });
    transformsByRunner = profile.kernels.filter((k) => k.name === WINOGRAD_WEIGHTS).length;
    addedByRunner = tf.memory().numTensors - before;
  }, 120_000);

  it("makes U once: at load when it was not made early, else it takes the early U", () => {
    expect(transformsByRunner).toBe(early ? 0 : 12); // 13 conv kernels; block1_conv1 stays a direct convolution
    const uTensors = 9 * 36 + 3 * 16;
    expect(addedByRunner).toBe((early ? 0 : uTensors) - 12 + (rows ? 1 : 0));
  });

  it("gives the GraphModel's features (7×7×512) for a batch of 5 images (run in chunks of 4 and 1)", async () => {
    expect(runner).not.toBeNull();
    const actual = (runner as Vgg16Runnable).execute(input, "features") as tfType.Tensor;
    expect(actual.shape).toEqual([5, 7, 7, 512]);
    const scale = await maxAbs(expected);
    expect(scale).toBeGreaterThan(0);
    // 13 layers of float32 sums taken in another order: relative error well under 1e-4.
    expect((await maxAbsDiff(actual, expected)) / scale).toBeLessThan(1e-4);
    tf.dispose([input, expected, actual]);
  }, 120_000);

  it("refuses an output it does not have (a features-only model has no predictions)", () => {
    const input = tf.zeros([1, 224, 224, 3]);
    expect(() => (runner as Vgg16Runnable).execute(input, "predictions")).toThrow(
      /unknown output "predictions"/,
    );
    input.dispose();
  });

  it("holds U (and the rows path's scratch) instead of the 12 kernels it replaces, and frees everything with the model", () => {
    // Replaced: every conv kernel but block1_conv1's (3·3·3·64); the biases (4,224 floats) stay.
    const block5 = 3 * 9 * 512 * 512;
    const replaced = 14_714_688 - 1_728 - 4_224;
    const uFloats = ((replaced - block5) / 9) * 36 + (block5 / 9) * 16;
    const before = tf.memory();
    (runner as Vgg16Runnable).dispose();
    const after = tf.memory();
    // 9 layers × 36 matrices (F(4×4), blocks 1–4) and 3 × 16 (F(2×2), block 5), and the GraphModel's 26
    // weight tensors less the 12 kernels already freed.
    // The rows path adds one scratch tensor (one thread here: Node's WASM memory is not shared), sized for
    // block 4's 512 → 512 layers: 9 tile rows of 7 tiles, 36 matrices, V and M of 512 channels each.
    const scratch = rows ? 36 * 63 * (512 + 512) * 4 : 0;
    expect(before.numTensors - after.numTensors).toBe(9 * 36 + 3 * 16 + 26 - 12 + (rows ? 1 : 0));
    expect(before.numBytes - after.numBytes).toBe((uFloats + 1_728 + 4_224) * 4 + scratch);
  });
});

describe("U made while loading", () => {
  it("is freed by disposeEarlyWeights when no runner took it, and ignores other weights", async () => {
    const kernel = randomTensor([3, 3, 64, 64], 3, 1);
    const before = tf.memory().numTensors;
    transformWhileLoading(tf, "block1_conv2/kernel", kernel);
    expect(tf.memory().numTensors - before).toBe(36); // F(4×4): 36 matrices
    transformWhileLoading(tf, "block1_conv2/bias", kernel); // not a kernel's name
    transformWhileLoading(tf, "block1_conv1/kernel", kernel); // a direct convolution: no U
    expect(tf.memory().numTensors - before).toBe(36);
    disposeEarlyWeights(tf, [kernel]);
    expect(tf.memory().numTensors).toBe(before);
    disposeEarlyWeights(tf, [kernel]); // twice: nothing left to free
    expect(tf.memory().numTensors).toBe(before);
    kernel.dispose();
  });
});
