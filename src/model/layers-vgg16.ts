/**
 * VGG16 built the standard way, with tf.layers (Keras' architecture, as every
 * public TF.js VGG16 example does), given its weights with setWeights. It
 * shares nothing with the graph-model writer but the weight arrays, so it is
 * both the parity test's independent reference and the benchmark's baseline.
 *
 * Takes the `tf` namespace as an argument (no runtime TF.js import), so Node
 * tests and a browser worker each pass their own, already initialised one.
 */
import type * as tfjs from "@tensorflow/tfjs";

type TF = typeof tfjs;

export interface LayersVgg16 {
  /** Outputs [predictions, features] with the top, [features] without (features = block5_pool). */
  readonly both: tfjs.LayersModel;
  /** Outputs predictions only (null without the top): what a classifier calls predict() on. */
  readonly classifier: tfjs.LayersModel | null;
  /** The conv base alone (output block5_pool, [N, 7, 7, 512]), sharing the same layers and weights. */
  readonly convBase: tfjs.LayersModel;
}

/** One layer's weights, as typed arrays or tensors (tensors are only read; the caller disposes them). */
export interface LayerWeightValues {
  readonly kernel: Float32Array | tfjs.Tensor;
  readonly bias: Float32Array | tfjs.Tensor;
}

/**
 * Builds the three views of one VGG16 and copies each weighted layer's kernel
 * and bias from `weightsOf(layerName)` (Keras layer names: block1_conv1 …
 * predictions). Throws when a weighted layer gets no weights.
 */
export function buildLayersVgg16(
  tf: TF,
  includeTop: boolean,
  weightsOf: (layerName: string) => LayerWeightValues | undefined,
): LayersVgg16 {
  const input = tf.input({ shape: [224, 224, 3], name: "input_1" });
  let x: tfjs.SymbolicTensor = input;
  const blocks = [2, 2, 3, 3, 3];
  const channels = [64, 128, 256, 512, 512];
  blocks.forEach((convs, b) => {
    for (let c = 1; c <= convs; c++) {
      x = tf.layers
        .conv2d({
          filters: channels[b] as number,
          kernelSize: 3,
          padding: "same",
          activation: "relu",
          name: `block${b + 1}_conv${c}`,
        })
        .apply(x) as tfjs.SymbolicTensor;
    }
    x = tf.layers
      .maxPooling2d({ poolSize: 2, strides: 2, name: `block${b + 1}_pool` })
      .apply(x) as tfjs.SymbolicTensor;
  });
  const features = x;
  let predictions: tfjs.SymbolicTensor | null = null;
  if (includeTop) {
    let y = tf.layers.flatten({ name: "flatten" }).apply(features) as tfjs.SymbolicTensor;
    y = tf.layers.dense({ units: 4096, activation: "relu", name: "fc1" }).apply(y) as tfjs.SymbolicTensor;
    y = tf.layers.dense({ units: 4096, activation: "relu", name: "fc2" }).apply(y) as tfjs.SymbolicTensor;
    predictions = tf.layers
      .dense({ units: 1000, activation: "softmax", name: "predictions" })
      .apply(y) as tfjs.SymbolicTensor;
  }
  const both = tf.model({
    inputs: input,
    outputs: predictions ? [predictions, features] : [features],
    name: "vgg16",
  });
  for (const layer of both.layers) {
    if (layer.weights.length === 0) continue;
    const w = weightsOf(layer.name);
    if (!w) throw new Error(`no weights for layer ${layer.name}`);
    const [kernel, bias] = layer.weights;
    if (!kernel || !bias) throw new Error(`${layer.name} has no kernel or bias`);
    const owned: tfjs.Tensor[] = [];
    const asTensor = (value: Float32Array | tfjs.Tensor, shape: number[]): tfjs.Tensor => {
      if (value instanceof Float32Array) {
        const t = tf.tensor(value, shape);
        owned.push(t);
        return t;
      }
      return value;
    };
    layer.setWeights([
      asTensor(w.kernel, kernel.shape as number[]),
      asTensor(w.bias, bias.shape as number[]),
    ]);
    tf.dispose(owned); // setWeights copied the values into the layer's variables
  }
  return {
    both,
    classifier: predictions
      ? tf.model({ inputs: input, outputs: predictions, name: "vgg16_classifier" })
      : null,
    convBase: tf.model({ inputs: input, outputs: features, name: "vgg16_conv_base" }),
  };
}
