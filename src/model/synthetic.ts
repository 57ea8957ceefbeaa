/**
 * Seeded random VGG16 weights for tests, demos and benchmarks (speed does not
 * depend on weight values). Never a stand-in for a real result: models built
 * from these carry `synthetic: true` in their metadata.
 *
 * Scaling, so that activations neither vanish nor explode and predictions are
 * far from uniform:
 * - He-uniform kernels (limit √(6/fan_in)) keep the activations' second
 *   moment roughly constant through ReLU layers;
 * - every output unit's kernel is made zero-sum over its inputs, so the
 *   network responds to image structure rather than to the (always positive)
 *   mean of the ReLU activations, which would otherwise give every image the
 *   same top class;
 * - block1_conv1 is scaled by 1/64 because caffe-preprocessed pixels are
 *   ±128, not ±1;
 * - the logits are scaled so softmax gives a clear top class;
 * - biases are small but non-zero, so a bias wired to the wrong layer shows.
 * Each layer draws from its own seeded stream, so the conv base of a
 * full model and of a `notop` model with the same seed are identical.
 */
import type { LayerWeights, Vgg16Weights } from "./keras-h5";
import { createRandom, deriveSeed } from "./random";
import { biasShape, kernelShape, sizeOf, type WeightedLayer, weightedLayers } from "./vgg16-spec";

const FIRST_LAYER_SCALE = 1 / 64;
const LOGIT_SCALE = 24;
const BIAS_LIMIT = 0.05;

function layerScale(layer: WeightedLayer): number {
  if (layer.name === "block1_conv1") return FIRST_LAYER_SCALE;
  if (layer.name === "predictions") return LOGIT_SCALE;
  return 1;
}

export function syntheticLayerWeights(layer: WeightedLayer, index: number, seed: number): LayerWeights {
  const kShape = kernelShape(layer);
  const outputs = kShape[kShape.length - 1] as number;
  const fanIn = sizeOf(kShape) / outputs;
  const limit = Math.sqrt(6 / fanIn) * layerScale(layer);
  const random = createRandom(deriveSeed(seed, index));
  const kernel = new Float32Array(sizeOf(kShape));
  for (let i = 0; i < kernel.length; i++) kernel[i] = (random() * 2 - 1) * limit;
  // Zero-sum per output unit: kernels are laid out [..., fanIn, outputs].
  const sums = new Float64Array(outputs);
  for (let i = 0; i < kernel.length; i++) {
    const o = i % outputs;
    sums[o] = (sums[o] as number) + (kernel[i] as number);
  }
  for (let i = 0; i < kernel.length; i++) {
    kernel[i] = (kernel[i] as number) - (sums[i % outputs] as number) / fanIn;
  }
  const bias = new Float32Array(sizeOf(biasShape(layer)));
  for (let i = 0; i < bias.length; i++) bias[i] = (random() * 2 - 1) * BIAS_LIMIT;
  return { kernel, bias };
}

export function syntheticVgg16Weights(seed: number, includeTop: boolean): Vgg16Weights {
  const layers = new Map<string, LayerWeights>();
  weightedLayers(includeTop).forEach((layer, index) => {
    layers.set(layer.name, syntheticLayerWeights(layer, index, seed));
  });
  return { includeTop, layers };
}
