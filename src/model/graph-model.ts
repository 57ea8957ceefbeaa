/**
 * Writes VGG16 as a TF.js graph model (`format: "graph-model"`) directly,
 * without Python or the TF.js converter: the same GraphDef-in-JSON that
 * tfjs-converter emits, with its fused ops:
 *   13 × _FusedConv2D (conv + BiasAdd + Relu), 5 × MaxPool, Reshape (Flatten),
 *   fc1/fc2 as _FusedMatMul (+BiasAdd +Relu), predictions as _FusedMatMul
 *   (+BiasAdd) then Softmax.
 * Fusing saves a pass over every activation tensor; on WASM a graph model with
 * fused ops measured ~11% faster than the equivalent layers model.
 *
 * Platform-neutral: returns model.json as an object and the weights as 4 MiB
 * shards (tensors laid end to end, cut ignoring tensor boundaries, as
 * tfjs-converter's write_weights.py does).
 */
import type { io } from "@tensorflow/tfjs";
import type { LayerWeights, Vgg16Weights } from "./keras-h5";
import type { Vgg16Metadata } from "./metadata";
import { type Quantization, quantizeFloat16, quantizeUint8 } from "./quantize";
import { FEATURE_UNITS, INPUT_NAME, INPUT_SIZE, NUM_CLASSES, type Shape, vgg16Layers } from "./vgg16-spec";

export const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;
export const CONVERTED_BY = "vgg16-browser weights writer 1";

/** Proto3-JSON attribute values, as TF.js' operation mapper reads them. */
type AttrValue =
  | { type: string }
  | { i: string }
  | { b: boolean }
  | { s: string }
  | { list: { i?: string[]; s?: string[] } }
  | { shape: { dim: Array<{ size: string }> } };

interface NodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
}

interface TensorInfo {
  name: string;
  dtype: "DT_FLOAT";
  tensorShape: { dim: Array<{ size: string }> };
}

export interface GraphModelJson extends io.ModelJSON {
  format: "graph-model";
  modelTopology: { node: NodeDef[]; library: Record<string, never>; versions: { producer: number } };
  signature: { inputs: Record<string, TensorInfo>; outputs: Record<string, TensorInfo> };
  userDefinedMetadata: { vgg16: Vgg16Metadata };
}

export interface GraphModelArtifacts {
  readonly modelJson: GraphModelJson;
  /** Shard payloads in order; names are in modelJson.weightsManifest[0].paths. */
  readonly shards: readonly Uint8Array[];
  readonly weightBytes: number;
}

// base64 of the strings TF.js lower-cases after decoding.
const b64 = (s: string): string => btoa(s);
const ints = (values: number[]): { list: { i: string[] } } => ({
  list: { i: values.map(String) },
});
const shapeAttr = (dims: Shape): { shape: { dim: Array<{ size: string }> } } => ({
  shape: { dim: dims.map((d) => ({ size: String(d) })) },
});
const FLOAT: AttrValue = { type: "DT_FLOAT" };

/**
 * The signature's outputs: key → graph node. Each node appears once: TF.js
 * keeps one signature key per node, so block5_pool is exposed only as
 * "features" (see outputNames for the alias).
 */
export function outputNodes(includeTop: boolean): Record<string, string> {
  const outputs: Record<string, string> = {};
  if (includeTop) outputs.predictions = "predictions/Softmax";
  outputs.features = "block5_pool/MaxPool";
  for (let b = 1; b <= 4; b++) outputs[`block${b}_pool`] = `block${b}_pool/MaxPool`;
  return outputs;
}

/** What views may ask for → the name to pass to GraphModel.execute(). */
export function outputNames(includeTop: boolean): Record<string, string> {
  const names: Record<string, string> = {};
  for (const key of Object.keys(outputNodes(includeTop))) names[key] = key;
  names.block5_pool = "features";
  return names;
}

function outputShapeOf(output: string): Shape {
  if (output === "predictions") return [-1, NUM_CLASSES];
  const block = output === "features" ? 5 : Number(output.slice(5, 6));
  const size = INPUT_SIZE >> block;
  const channels = [64, 128, 256, 512, 512][block - 1] as number;
  return [-1, size, size, channels];
}

interface WeightTensor {
  readonly name: string;
  readonly shape: Shape;
  readonly dtype: "float32" | "int32";
  readonly values: Float32Array | Int32Array;
  /** Biases stay float32: they are tiny and quantizing them costs accuracy for nothing. */
  readonly quantizable: boolean;
}

function buildGraph(weights: Vgg16Weights): { nodes: NodeDef[]; tensors: WeightTensor[] } {
  const nodes: NodeDef[] = [
    {
      name: INPUT_NAME,
      op: "Placeholder",
      attr: { dtype: FLOAT, shape: shapeAttr([-1, INPUT_SIZE, INPUT_SIZE, 3]) },
    },
  ];
  const tensors: WeightTensor[] = [];
  const addConst = (name: string, shape: Shape, values: Float32Array | Int32Array, quantizable: boolean) => {
    const dtype = values instanceof Int32Array ? "int32" : "float32";
    nodes.push({ name, op: "Const", attr: { dtype: { type: dtype === "int32" ? "DT_INT32" : "DT_FLOAT" } } });
    tensors.push({ name, shape, dtype, values, quantizable });
  };
  const layerWeights = (name: string): LayerWeights => {
    const w = weights.layers.get(name);
    if (!w) throw new Error(`weights for layer "${name}" are missing`);
    return w;
  };

  let previous = INPUT_NAME;
  for (const layer of vgg16Layers(weights.includeTop)) {
    switch (layer.kind) {
      case "conv": {
        const { kernel, bias } = layerWeights(layer.name);
        addConst(`${layer.name}/kernel`, [3, 3, layer.inChannels, layer.outChannels], kernel, true);
        addConst(`${layer.name}/bias`, [layer.outChannels], bias, false);
        const name = `${layer.name}/Relu`;
        nodes.push({
          name,
          op: "_FusedConv2D",
          input: [previous, `${layer.name}/kernel`, `${layer.name}/bias`],
          attr: {
            T: FLOAT,
            strides: ints([1, 1, 1, 1]),
            padding: { s: b64("SAME") },
            data_format: { s: b64("NHWC") },
            dilations: ints([1, 1, 1, 1]),
            use_cudnn_on_gpu: { b: true },
            explicit_paddings: { list: {} },
            num_args: { i: "1" },
            fused_ops: { list: { s: [b64("BiasAdd"), b64("Relu")] } },
          },
        });
        previous = name;
        break;
      }
      case "pool": {
        const name = `${layer.name}/MaxPool`;
        nodes.push({
          name,
          op: "MaxPool",
          input: [previous],
          attr: {
            T: FLOAT,
            ksize: ints([1, 2, 2, 1]),
            strides: ints([1, 2, 2, 1]),
            padding: { s: b64("VALID") },
            data_format: { s: b64("NHWC") },
          },
        });
        previous = name;
        break;
      }
      case "flatten": {
        // NHWC flatten, as Keras' Flatten: fc1's rows are indexed (h*7+w)*512+c.
        addConst(`${layer.name}/shape`, [2], Int32Array.from([-1, FEATURE_UNITS]), false);
        const name = `${layer.name}/Reshape`;
        nodes.push({
          name,
          op: "Reshape",
          input: [previous, `${layer.name}/shape`],
          attr: { T: FLOAT, Tshape: { type: "DT_INT32" } },
        });
        previous = name;
        break;
      }
      case "dense": {
        const { kernel, bias } = layerWeights(layer.name);
        addConst(`${layer.name}/kernel`, [layer.inputs, layer.units], kernel, true);
        addConst(`${layer.name}/bias`, [layer.units], bias, false);
        const relu = layer.activation === "relu";
        const name = relu ? `${layer.name}/Relu` : `${layer.name}/BiasAdd`;
        nodes.push({
          name,
          op: "_FusedMatMul",
          input: [previous, `${layer.name}/kernel`, `${layer.name}/bias`],
          attr: {
            T: FLOAT,
            transpose_a: { b: false },
            transpose_b: { b: false },
            num_args: { i: "1" },
            fused_ops: { list: { s: relu ? [b64("BiasAdd"), b64("Relu")] : [b64("BiasAdd")] } },
          },
        });
        previous = name;
        if (!relu) {
          nodes.push({ name: `${layer.name}/Softmax`, op: "Softmax", input: [name], attr: { T: FLOAT } });
          previous = `${layer.name}/Softmax`;
        }
        break;
      }
    }
  }
  return { nodes, tensors };
}

interface EncodedTensor {
  readonly entry: io.WeightsManifestEntry;
  readonly bytes: Uint8Array;
}

/**
 * Which storage each weight gets under a quantization mode. Biases always
 * stay float32 (tiny; quantizing them costs accuracy for nothing). In "uint8"
 * mode only the dense kernels (fc1, fc2, predictions: 89% of the parameters)
 * are uint8 and the conv kernels are float16: quantization error compounds
 * through 13 conv layers, and with every kernel in uint8 the top-1 class
 * changed on 3 of the 18 test photos, with this split on none.
 */
export function storageFor(
  tensor: { readonly name: string; readonly quantizable: boolean },
  mode: Quantization,
): Storage {
  if (!tensor.quantizable || mode === "none") return "float32";
  if (mode === "float16") return "float16";
  return /^(fc\d|predictions)\//.test(tensor.name) ? "uint8" : "float16";
}

type Storage = "float32" | "float16" | "uint8";

const BYTES_PER_VALUE: Record<Storage, number> = { float32: 4, float16: 2, uint8: 1 };

function encodeTensor(tensor: WeightTensor, quantization: Quantization): EncodedTensor {
  const entry: io.WeightsManifestEntry = { name: tensor.name, shape: [...tensor.shape], dtype: tensor.dtype };
  const raw = (v: ArrayBufferView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const storage = storageFor(tensor, quantization);
  if (storage === "float32") return { entry, bytes: raw(tensor.values) };
  const values = tensor.values as Float32Array;
  if (storage === "float16") {
    return { entry: { ...entry, quantization: { dtype: "float16" } }, bytes: raw(quantizeFloat16(values)) };
  }
  const q = quantizeUint8(values);
  return {
    entry: { ...entry, quantization: { dtype: "uint8", scale: q.scale, min: q.min } },
    bytes: q.data,
  };
}

/** Cuts a stream of byte chunks into fixed-size shards without concatenating it whole. */
class ShardWriter {
  readonly shards: Uint8Array[] = [];
  private current: Uint8Array;
  private filled = 0;
  private remaining: number;

  constructor(
    private readonly totalBytes: number,
    private readonly shardBytes: number,
  ) {
    this.remaining = totalBytes;
    this.current = new Uint8Array(Math.min(shardBytes, totalBytes));
  }

  write(bytes: Uint8Array): void {
    if (bytes.length > this.remaining - this.filled) {
      throw new Error(`shard writer: ${bytes.length} more bytes than the ${this.totalBytes} announced`);
    }
    let offset = 0;
    while (offset < bytes.length) {
      const n = Math.min(bytes.length - offset, this.current.length - this.filled);
      this.current.set(bytes.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === this.current.length) {
        this.shards.push(this.current);
        this.remaining -= this.current.length;
        this.filled = 0;
        this.current = new Uint8Array(Math.min(this.shardBytes, this.remaining));
      }
    }
  }

  finish(): Uint8Array[] {
    if (this.remaining !== 0) {
      throw new Error(`shard writer: ${this.remaining} of ${this.totalBytes} bytes never arrived`);
    }
    return this.shards;
  }
}

export function shardFileName(index: number, count: number): string {
  return `group1-shard${index + 1}of${count}.bin`;
}

export interface BuildOptions {
  readonly quantization: Quantization;
  readonly metadata: Vgg16Metadata;
  readonly shardBytes?: number;
}

export function buildVgg16GraphModel(weights: Vgg16Weights, options: BuildOptions): GraphModelArtifacts {
  const { nodes, tensors } = buildGraph(weights);
  const shardBytes = options.shardBytes ?? DEFAULT_SHARD_BYTES;
  // Encode lazily, one tensor at a time, so peak memory is the weights plus
  // one quantized tensor plus the shards, never a second full copy.
  const totalBytes = tensors.reduce(
    (sum, t) => sum + t.values.length * BYTES_PER_VALUE[storageFor(t, options.quantization)],
    0,
  );
  const writer = new ShardWriter(totalBytes, shardBytes);
  const entries: io.WeightsManifestEntry[] = [];
  for (const tensor of tensors) {
    const { entry, bytes } = encodeTensor(tensor, options.quantization);
    entries.push(entry);
    writer.write(bytes);
  }
  const shards = writer.finish();

  const tensorInfo = (node: string, shape: Shape): TensorInfo => ({
    name: `${node}:0`,
    dtype: "DT_FLOAT",
    tensorShape: shapeAttr(shape).shape,
  });
  const outputs: Record<string, TensorInfo> = {};
  for (const [key, node] of Object.entries(outputNodes(weights.includeTop))) {
    outputs[key] = tensorInfo(node, outputShapeOf(key));
  }
  const modelJson: GraphModelJson = {
    format: "graph-model",
    generatedBy: CONVERTED_BY,
    convertedBy: CONVERTED_BY,
    modelTopology: { node: nodes, library: {}, versions: { producer: 1 } },
    weightsManifest: [{ paths: shards.map((_, i) => shardFileName(i, shards.length)), weights: entries }],
    signature: {
      inputs: { [INPUT_NAME]: tensorInfo(INPUT_NAME, [-1, INPUT_SIZE, INPUT_SIZE, 3]) },
      outputs,
    },
    userDefinedMetadata: { vgg16: options.metadata },
  };
  return { modelJson, shards, weightBytes: totalBytes };
}
