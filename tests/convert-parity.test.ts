/**
 * The proof that the weights pipeline is exact: a Keras file with the real
 * legacy layout and full VGG16 shapes → `npm run weights -- convert` (the same
 * function) → tf.loadGraphModel, compared on the real photos in
 * ../shared/data/photos with an independent tf.layers VGG16 given the same
 * weights. float32 must match to 1e-5; float16 and uint8 must keep every top-1.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as tfType from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Vgg16Weights } from "../src/model/keras-h5";
import { readVgg16Metadata } from "../src/model/metadata";
import type { Quantization } from "../src/model/quantize";
import { syntheticVgg16Weights } from "../src/model/synthetic";
import { KERAS_PARAM_COUNTS } from "../src/model/vgg16-spec";
import { preprocessForVgg16 } from "../src/preprocess/preprocess";
import { convertCommand } from "../tools/weights/commands";
import { writeFakeKerasH5 } from "./helpers/fake-keras-h5";
import { CLASS_INDEX, listPhotos, loadPhoto, missingSharedData } from "./helpers/images";
import { buildLayersVgg16 } from "./helpers/layers-reference";
import { loadGraphModelFromDir, tfWasm } from "./helpers/tf-node";

const SEED = 7;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

function argmaxRows(values: Float32Array, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < values.length / cols; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++)
      if ((values[r * cols + c] as number) > (values[r * cols + best] as number)) best = c;
    out.push(best);
  }
  return out;
}

describe.skipIf(missingSharedData !== null)("Keras .h5 → graph model parity on real photos", () => {
  let tf: typeof tfType;
  let dir: string;
  let weights: Vgg16Weights;
  let photos: string[];
  let batch: tfType.Tensor4D;
  const reference: { predictions: Float32Array; features: Float32Array } = {
    predictions: new Float32Array(),
    features: new Float32Array(),
  };

  async function run(model: tfType.GraphModel) {
    const [p, f] = model.execute(batch, ["predictions", "features"]) as tfType.Tensor[];
    const out = {
      predictions: (await p?.data()) as Float32Array,
      features: (await f?.data()) as Float32Array,
    };
    expect(p?.shape).toEqual([photos.length, 1000]);
    expect(f?.shape).toEqual([photos.length, 7, 7, 512]);
    tf.dispose([p as tfType.Tensor, f as tfType.Tensor]);
    return out;
  }

  beforeAll(async () => {
    tf = await tfWasm();
    dir = await mkdtemp(join(tmpdir(), "vgg16-parity-"));
    weights = syntheticVgg16Weights(SEED, true);
    await writeFakeKerasH5(join(dir, "vgg16_weights_tf_dim_ordering_tf_kernels.h5"), weights);
    photos = listPhotos();
    const data = new Float32Array(photos.length * 224 * 224 * 3);
    for (const [i, name] of photos.entries()) {
      data.set(preprocessForVgg16(await loadPhoto(name)), i * 224 * 224 * 3);
    }
    batch = tf.tensor4d(data, [photos.length, 224, 224, 3]);

    const layers = await buildLayersVgg16(weights);
    const [p, f] = layers.predict(batch) as tfType.Tensor[];
    reference.predictions = (await p?.data()) as Float32Array;
    reference.features = (await f?.data()) as Float32Array;
    tf.dispose([p as tfType.Tensor, f as tfType.Tensor]);
    layers.dispose();
  });

  afterAll(async () => {
    batch?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("has 18 real photos and a reference that is neither uniform nor degenerate", () => {
    expect(photos.length).toBe(18);
    const top1 = argmaxRows(reference.predictions, 1000);
    // Synthetic weights are scaled so predictions are decisive and differ between photos.
    expect(new Set(top1).size).toBeGreaterThanOrEqual(12);
    // Uniform would be 0.001 everywhere: every photo's top class is ≥ 20× that,
    // and the typical photo's ≥ 100×.
    const tops: number[] = [];
    for (let r = 0; r < photos.length; r++) {
      const row = reference.predictions.subarray(r * 1000, (r + 1) * 1000);
      tops.push(Math.max(...row));
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    }
    tops.sort((a, b) => a - b);
    expect(tops[0]).toBeGreaterThan(0.02);
    expect(tops[Math.floor(tops.length / 2)]).toBeGreaterThan(0.1);
  });

  const cases: Array<{ quantization: Quantization; maxShards: number }> = [
    { quantization: "none", maxShards: 132 },
    { quantization: "float16", maxShards: 66 },
    { quantization: "uint8", maxShards: 37 },
  ];

  for (const { quantization, maxShards } of cases) {
    it(`converts with --quantize ${quantization} and matches the tf.layers reference`, async () => {
      const out = join(dir, `model-${quantization}`);
      const result = await convertCommand(join(dir, "vgg16_weights_tf_dim_ordering_tf_kernels.h5"), {
        quantize: quantization,
        out,
        labels: missingSharedData ? undefined : CLASS_INDEX,
      });
      const shards = (await readdir(out)).filter((f) => f.endsWith(".bin"));
      expect(shards.length).toBeLessThanOrEqual(maxShards);
      expect(result.metadata.params).toEqual(KERAS_PARAM_COUNTS);
      expect(result.metadata.synthetic).toBe(false);
      expect(result.metadata.source).toMatchObject({
        kind: "keras-h5",
        file: "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
      });
      expect(result.metadata.labels?.classes[0]).toEqual(["n01440764", "tench"]);

      const model = await loadGraphModelFromDir(out);
      expect(readVgg16Metadata(model.metadata)?.quantization).toBe(quantization);
      const got = await run(model);
      model.dispose();

      const dPred = maxAbsDiff(got.predictions, reference.predictions);
      const dFeat = maxAbsDiff(got.features, reference.features);
      const top1 = argmaxRows(got.predictions, 1000);
      const refTop1 = argmaxRows(reference.predictions, 1000);
      const agree = top1.filter((c, i) => c === refTop1[i]).length;
      console.log(
        `[parity] quantize=${quantization.padEnd(7)} shards=${shards.length} max|Δ| predictions=${dPred.toExponential(2)} features=${dFeat.toExponential(2)} top-1 agreement ${agree}/${photos.length} (${result.seconds.total.toFixed(1)} s to convert)`,
      );
      if (quantization === "none") {
        expect(dPred).toBeLessThanOrEqual(1e-5);
        expect(dFeat).toBeLessThanOrEqual(1e-5);
      }
      expect(top1).toEqual(refTop1);
    });
  }
});
