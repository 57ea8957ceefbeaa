/**
 * From fetched model files to a running GraphModel ("upload"), a warm-up run,
 * and batched classification. TF.js only (no DOM): the worker uses it, and so
 * can Node tests with the CPU backend.
 */
import * as tf from "@tensorflow/tfjs";
import type { Prediction } from "../model/decode";
import { decodePredictions } from "../model/decode";
import type { ImagenetLabels } from "../model/labels";
import type { Vgg16Metadata } from "../model/metadata";
import { errorMessage, Vgg16Error } from "./errors";
import type { ModelFiles } from "./model-files";
import { type Vgg16Runnable, winogradVgg16 } from "./wasm-runner/runner";

export type { Vgg16Runnable } from "./wasm-runner/runner";

export const INPUT_SIZE = 224;
export const INPUT_ELEMENTS = INPUT_SIZE * INPUT_SIZE * 3;
const NO_LABELS: ImagenetLabels = { source: "none", classes: [] };

/** GraphModel's own step from a weight map to a model (not in its typings; feature-detected). */
interface WeightMapLoader {
  loadWithWeightMap?(artifacts: tf.io.ModelArtifacts, weightMap: tf.NamedTensorMap): boolean;
}

/**
 * tf.loadGraphModel over the in-memory artifacts: tf.io.decodeWeights
 * dequantizes uint8/uint16/float16 weights to float32 as it creates the
 * tensors. The artifacts' weightData is dropped afterwards: GraphModel keeps
 * its artifacts (for save()), which would otherwise pin a second copy of
 * every weight in JS memory. With `weights` (made while the shards arrived,
 * streaming-weights.ts) the graph takes those tensors instead; they are
 * freed if it cannot be built.
 */
export async function buildGraphModel(
  files: ModelFiles,
  weights: tf.NamedTensorMap | null = null,
): Promise<tf.GraphModel> {
  const json = files.modelJson;
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology,
    weightSpecs: files.weightSpecs,
    weightData: files.weightData,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    signature: json.signature,
    userDefinedMetadata: json.userDefinedMetadata,
    modelInitializer: json.modelInitializer,
    initializerSignature: json.initializerSignature,
  };
  try {
    if (weights) {
      const graph = new tf.GraphModel(tf.io.fromMemory(artifacts));
      const loader = graph as unknown as WeightMapLoader;
      if (typeof loader.loadWithWeightMap !== "function") {
        throw new Error("this TF.js GraphModel cannot take a weight map");
      }
      loader.loadWithWeightMap(artifacts, weights);
      return graph;
    }
    return await tf.loadGraphModel(tf.io.fromMemory(artifacts));
  } catch (error) {
    if (weights) tf.dispose(Object.values(weights));
    throw new Vgg16Error(
      "model-invalid",
      `${files.url}: TF.js could not build the graph (${errorMessage(error)})`,
      { url: files.url, cause: error },
    );
  } finally {
    delete artifacts.weightData;
  }
}

/**
 * The model the worker runs. On WASM: the WASM runner (wasm-runner/runner.ts)
 * over the GraphModel's weights, whose conv layers do 2.25× fewer
 * multiply-adds; elsewhere, or when its kernels cannot be instantiated, the
 * GraphModel itself.
 */
export async function buildVgg16Model(
  files: ModelFiles,
  weights: tf.NamedTensorMap | null = null,
): Promise<Vgg16Runnable> {
  const graph = await buildGraphModel(files, weights);
  try {
    return (await winogradVgg16(tf, graph, files.metadata.outputs)) ?? graph;
  } catch (error) {
    graph.dispose();
    throw error;
  }
}

/** The name GraphModel.execute() takes for an output, or null when the model lacks it. */
export function outputName(metadata: Vgg16Metadata, output: "predictions" | "features"): string | null {
  if (output === "predictions" && !metadata.includeTop) return null;
  return metadata.outputs[output] ?? null;
}

/** One run on zeros [1,224,224,3] (compiles kernels, packs weights), everything disposed. */
export async function warmUp(model: Vgg16Runnable, metadata: Vgg16Metadata): Promise<void> {
  const name = outputName(metadata, "predictions") ?? outputName(metadata, "features");
  if (name === null) throw new Vgg16Error("model-invalid", `model ${metadata.modelId} has no usable output`);
  const out = tf.tidy(() => model.execute(tf.zeros([1, INPUT_SIZE, INPUT_SIZE, 3]), name) as tf.Tensor);
  try {
    await out.data();
  } finally {
    out.dispose();
  }
}

/**
 * Runs a batch of preprocessed inputs ([224,224,3] float32 BGR each) through
 * `predictions` and decodes each row's top-k. Every tensor is disposed.
 */
export async function predictBatch(
  model: Vgg16Runnable,
  metadata: Vgg16Metadata,
  inputs: readonly Float32Array[],
  k = 5,
): Promise<Prediction[][]> {
  const name = outputName(metadata, "predictions");
  if (name === null) {
    throw new Vgg16Error(
      "no-predictions",
      `model ${metadata.modelId} has no "predictions" output (a features-only model cannot classify)`,
    );
  }
  if (inputs.length === 0) return [];
  const batch = new Float32Array(inputs.length * INPUT_ELEMENTS);
  inputs.forEach((input, i) => {
    batch.set(input, i * INPUT_ELEMENTS);
  });
  const probabilities = tf.tidy(
    () => model.execute(tf.tensor4d(batch, [inputs.length, INPUT_SIZE, INPUT_SIZE, 3]), name) as tf.Tensor,
  );
  let values: Float32Array;
  try {
    values = (await probabilities.data()) as Float32Array;
  } finally {
    probabilities.dispose();
  }
  const classes = values.length / inputs.length;
  const labels = metadata.labels ?? NO_LABELS;
  return inputs.map((_, i) => decodePredictions(values.subarray(i * classes, (i + 1) * classes), labels, k));
}
