/**
 * An independent reference VGG16 for the parity test: src/model/layers-vgg16.ts
 * (tf.layers + setWeights, sharing nothing with the graph writer but the
 * weight arrays) on Node's WASM backend.
 */
import type * as tfType from "@tensorflow/tfjs";
import type { Vgg16Weights } from "../../src/model/keras-h5";
import { buildLayersVgg16 as buildLayers } from "../../src/model/layers-vgg16";
import { tfWasm } from "./tf-node";

/** Outputs [predictions, features] with the top, [features] without. */
export async function buildLayersVgg16(weights: Vgg16Weights): Promise<tfType.LayersModel> {
  const tf = await tfWasm();
  return buildLayers(tf, weights.includeTop, (name) => weights.layers.get(name)).both;
}
