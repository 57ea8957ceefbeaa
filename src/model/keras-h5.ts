/**
 * Reads VGG16 weights out of a Keras HDF5 file opened with h5wasm.
 *
 * Platform-neutral: it only touches the h5wasm object API (types imported,
 * no runtime import), so the CLI (h5wasm/node) and a browser worker (h5wasm
 * ESM with WORKERFS) share it. Layers and datasets are discovered at run time
 * the way Keras' legacy loader does (`layer_names` → per-layer `weight_names`,
 * matched to the model's weighted layers by order), never by hard-coded
 * dataset names, and every shape is checked against the VGG16 spec.
 */
import type { Dataset, Group } from "h5wasm";
import { WeightsError } from "./errors";
import {
  biasShape,
  kernelShape,
  type Shape,
  sameShape,
  shapeText,
  sizeOf,
  type WeightedLayer,
  weightedLayers,
} from "./vgg16-spec";

export interface LayerWeights {
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
}

export interface Vgg16Weights {
  readonly includeTop: boolean;
  /** Keyed by the canonical VGG16 layer name (block1_conv1 … predictions). */
  readonly layers: ReadonlyMap<string, LayerWeights>;
}

/** HDF5 files start with this signature (at offset 0, 512, 1024, … with a user block). */
const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export function hasHdf5Signature(head: Uint8Array): boolean {
  for (let offset = 0; offset + 8 <= head.length; offset = offset === 0 ? 512 : offset * 2) {
    if (HDF5_SIGNATURE.every((b, i) => head[offset + i] === b)) return true;
  }
  return false;
}

type Entity = ReturnType<Group["get"]>;

function isGroup(e: Entity): e is Group {
  return e != null && (e as { type?: string }).type === "Group";
}

function isDataset(e: Entity): e is Dataset {
  return e != null && (e as { type?: string }).type === "Dataset";
}

function stringArrayAttr(group: Group, name: string): string[] | null {
  const attr = group.attrs[name];
  if (attr === undefined) return null;
  const value = attr.value;
  if (typeof value === "string") return [value];
  // h5py writes an empty list as float64 of shape (0,): not a string array.
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  return [];
}

/** Keras splits long attributes into `name0`, `name1`, … past 64 KB. */
function readChunkedStringAttr(group: Group, name: string): string[] | null {
  const whole = stringArrayAttr(group, name);
  if (whole !== null) return whole;
  const parts: string[] = [];
  for (let i = 0; group.attrs[`${name}${i}`] !== undefined; i++) {
    parts.push(...(stringArrayAttr(group, `${name}${i}`) ?? []));
  }
  return parts.length > 0 ? parts : null;
}

interface FileWeight {
  readonly path: string;
  readonly dataset: Dataset;
}

interface FileLayer {
  readonly name: string;
  readonly weights: readonly FileWeight[];
}

/** The layers with weights, in file order, as Keras' `load_weights` sees them. */
function discoverWeightedLayers(root: Group, fileName: string): FileLayer[] {
  let group = root;
  let layerNames = readChunkedStringAttr(group, "layer_names");
  if (layerNames === null) {
    // Full-model saves keep the weights under /model_weights.
    const nested = root.get("model_weights");
    if (isGroup(nested)) {
      group = nested;
      layerNames = readChunkedStringAttr(group, "layer_names");
    }
  }
  if (layerNames === null) {
    throw new WeightsError(
      "not-vgg16",
      `${fileName}: not a Keras weights file (no "layer_names" attribute at the root or under /model_weights).`,
      { file: fileName },
    );
  }
  const layers: FileLayer[] = [];
  for (const layerName of layerNames) {
    try {
      const layer = readFileLayer(group, layerName, fileName);
      if (layer) layers.push(layer);
    } catch (error) {
      throw asCorruptFileError(error, fileName, layerName);
    }
  }
  return layers;
}

function readFileLayer(group: Group, layerName: string, fileName: string): FileLayer | null {
  const layerGroup = group.get(layerName);
  if (!isGroup(layerGroup)) {
    throw new WeightsError(
      "missing-layer",
      `${fileName}: layer "${layerName}" is listed in layer_names but its group is missing.`,
      { file: fileName, layer: layerName },
    );
  }
  const weightNames = readChunkedStringAttr(layerGroup, "weight_names") ?? [];
  if (weightNames.length === 0) return null; // pooling, flatten, input: no weights
  const weights = weightNames.map((weightName) => {
    const dataset = layerGroup.get(weightName);
    if (!isDataset(dataset)) {
      throw new WeightsError(
        "missing-layer",
        `${fileName}: layer "${layerName}" lists weight "${weightName}" but that dataset is missing.`,
        { file: fileName, layer: layerName },
      );
    }
    return { path: `${layerName}/${weightName}`, dataset };
  });
  return { name: layerName, weights };
}

function describeShape(shape: Shape | null): string {
  return shape === null ? "a scalar" : shapeText(shape);
}

function readFloat32(weight: FileWeight, expected: Shape, fileName: string, layer: string): Float32Array {
  const { dataset, path } = weight;
  const shape = dataset.shape;
  if (!sameShape(shape, expected)) {
    throw new WeightsError(
      "shape-mismatch",
      `${fileName}: layer "${layer}" weight "${path}" has shape ${describeShape(shape)}, VGG16 expects ${describeShape(expected)}.`,
      { file: fileName, layer },
    );
  }
  let value: unknown;
  try {
    value = dataset.value;
  } catch (cause) {
    throw new WeightsError(
      "unreadable",
      `${fileName}: could not read "${path}" (layer "${layer}"): the file is truncated or corrupt.`,
      { file: fileName, layer, cause },
    );
  }
  if (value instanceof Float32Array) return value;
  if (value instanceof Float64Array) return Float32Array.from(value);
  throw new WeightsError(
    "bad-dtype",
    `${fileName}: layer "${layer}" weight "${path}" has dtype ${JSON.stringify(dataset.dtype)}, expected float32.`,
    { file: fileName, layer },
  );
}

function rankOf(weight: FileWeight): number {
  return weight.dataset.shape?.length ?? 0;
}

/**
 * Validates the file's weighted layers against VGG16 (with or without the
 * top) and returns float32 arrays keyed by canonical layer names.
 */
export interface ReadOptions {
  /** Called after each layer is read and validated (for progress bars). */
  readonly onLayer?: (layer: string, index: number, count: number) => void;
}

/**
 * h5wasm throws plain errors ("name not defined", HDF5 stack traces) when the
 * file's structure is damaged; turn them into an error that names the file
 * and, when known, the layer.
 */
function asCorruptFileError(error: unknown, fileName: string, layer?: string): WeightsError {
  if (error instanceof WeightsError) return error;
  const where = layer ? ` at layer "${layer}"` : "";
  return new WeightsError(
    "unreadable",
    `${fileName}: the HDF5 file is corrupt${where} (${error instanceof Error ? error.message : String(error)}).`,
    { file: fileName, layer, cause: error },
  );
}

export function readKerasVgg16(root: Group, fileName: string, options: ReadOptions = {}): Vgg16Weights {
  let fileLayers: FileLayer[];
  try {
    fileLayers = discoverWeightedLayers(root, fileName);
  } catch (error) {
    throw asCorruptFileError(error, fileName);
  }
  const full = weightedLayers(true);
  const notop = weightedLayers(false);
  let expected: readonly WeightedLayer[];
  if (fileLayers.length === full.length) expected = full;
  else if (fileLayers.length === notop.length) expected = notop;
  else {
    // Name the first VGG16 layer that has no counterpart, to make the error
    // actionable; a file sharing no layer name with VGG16 is another network.
    const fileNames = new Set(fileLayers.map((l) => l.name));
    const candidates = fileLayers.length > notop.length ? full : notop;
    const known = candidates.some((l) => fileNames.has(l.name));
    const missing = known ? candidates.find((l) => !fileNames.has(l.name)) : undefined;
    throw new WeightsError(
      missing ? "missing-layer" : "not-vgg16",
      `${fileName}: ${missing ? `layer "${missing.name}" is missing. ` : "not VGG16: "}Found ${fileLayers.length} layers with weights (${fileLayers
        .map((l) => l.name)
        .join(", ")}); VGG16 has ${full.length} (or ${notop.length} without the top).`,
      { file: fileName, layer: missing?.name },
    );
  }

  const layers = new Map<string, LayerWeights>();
  expected.forEach((spec, i) => {
    // Keras matches by order, not name; both usually agree, and the errors use both.
    const fileLayer = fileLayers[i] as FileLayer;
    const label = fileLayer.name === spec.name ? spec.name : `${spec.name}" (file: "${fileLayer.name}`;
    const kernels = fileLayer.weights.filter((w) => rankOf(w) > 1);
    const biases = fileLayer.weights.filter((w) => rankOf(w) === 1);
    if (fileLayer.weights.length !== 2 || kernels.length !== 1 || biases.length !== 1) {
      throw new WeightsError(
        "not-vgg16",
        `${fileName}: layer "${label}" has ${fileLayer.weights.length} weights of shapes ${fileLayer.weights
          .map((w) => describeShape(w.dataset.shape))
          .join(", ")}; VGG16 expects a kernel and a bias.`,
        { file: fileName, layer: spec.name },
      );
    }
    let kernel: Float32Array;
    let bias: Float32Array;
    try {
      kernel = readFloat32(kernels[0] as FileWeight, kernelShape(spec), fileName, label);
      bias = readFloat32(biases[0] as FileWeight, biasShape(spec), fileName, label);
    } catch (error) {
      throw asCorruptFileError(error, fileName, spec.name);
    }
    if (kernel.length !== sizeOf(kernelShape(spec)) || bias.length !== sizeOf(biasShape(spec))) {
      throw new WeightsError("unreadable", `${fileName}: layer "${label}" returned too few values.`, {
        file: fileName,
        layer: spec.name,
      });
    }
    layers.set(spec.name, { kernel, bias });
    options.onLayer?.(spec.name, i, expected.length);
  });
  return { includeTop: expected === full, layers };
}
