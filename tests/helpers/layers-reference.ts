/**
 * An independent reference VGG16: Keras' architecture rebuilt with tf.layers
 * (as every public TF.js VGG16 example does) and given weights with
 * setWeights. Shares nothing with the graph writer but the weight arrays.
 */
import type * as tfType from "@tensorflow/tfjs";
import type { Vgg16Weights } from "../../src/model/keras-h5";
import { tfWasm } from "./tf-node";

export async function buildLayersVgg16(weights: Vgg16Weights): Promise<tfType.LayersModel> {
  const tf = await tfWasm();
  const input = tf.input({ shape: [224, 224, 3], name: "input_1" });
  let x: tfType.SymbolicTensor = input;
  const blocks = [2, 2, 3, 3, 3];
  const channels = [64, 128, 256, 512, 512];
  const pools: tfType.SymbolicTensor[] = [];
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
        .apply(x) as tfType.SymbolicTensor;
    }
    x = tf.layers
      .maxPooling2d({ poolSize: 2, strides: 2, name: `block${b + 1}_pool` })
      .apply(x) as tfType.SymbolicTensor;
    pools.push(x);
  });
  const features = x;
  const outputs = [features];
  if (weights.includeTop) {
    let y = tf.layers.flatten({ name: "flatten" }).apply(features) as tfType.SymbolicTensor;
    y = tf.layers.dense({ units: 4096, activation: "relu", name: "fc1" }).apply(y) as tfType.SymbolicTensor;
    y = tf.layers.dense({ units: 4096, activation: "relu", name: "fc2" }).apply(y) as tfType.SymbolicTensor;
    y = tf.layers
      .dense({ units: 1000, activation: "softmax", name: "predictions" })
      .apply(y) as tfType.SymbolicTensor;
    outputs.unshift(y);
  }
  const model = tf.model({ inputs: input, outputs, name: "vgg16" });
  for (const layer of model.layers) {
    const w = weights.layers.get(layer.name);
    if (!w) continue;
    const [kernel, bias] = layer.weights;
    if (!kernel || !bias) throw new Error(`${layer.name} has no weights`);
    const values = [tf.tensor(w.kernel, kernel.shape as number[]), tf.tensor(w.bias, bias.shape as number[])];
    layer.setWeights(values); // copies into the layer's variables
    tf.dispose(values);
  }
  return model;
}
