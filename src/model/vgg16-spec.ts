/**
 * VGG16's architecture as data: the single source of truth for layer names,
 * weight shapes, output shapes and parameter counts. The HDF5 reader validates
 * against it, the graph writer builds from it and the UI's summary() table
 * renders it.
 */

export type Shape = readonly number[];

/** A shape as error messages show it: "[3, 3, 64, 128]". */
export const shapeText = (shape: Shape): string => `[${shape.join(", ")}]`;

/** Whether `a` (null: a scalar) is exactly shape `b`. */
export function sameShape(a: Shape | null, b: Shape): boolean {
  return a !== null && a.length === b.length && a.every((d, i) => d === b[i]);
}

export interface ConvLayer {
  readonly kind: "conv";
  readonly name: string;
  readonly block: number;
  readonly inChannels: number;
  readonly outChannels: number;
  /** Spatial size of this layer's output (square). */
  readonly size: number;
}

export interface PoolLayer {
  readonly kind: "pool";
  readonly name: string;
  readonly block: number;
  readonly channels: number;
  readonly size: number;
}

export interface DenseLayer {
  readonly kind: "dense";
  readonly name: string;
  readonly inputs: number;
  readonly units: number;
  readonly activation: "relu" | "softmax";
}

export interface FlattenLayer {
  readonly kind: "flatten";
  readonly name: string;
  readonly units: number;
}

export type Vgg16Layer = ConvLayer | PoolLayer | DenseLayer | FlattenLayer;
export type WeightedLayer = ConvLayer | DenseLayer;

export const INPUT_SIZE = 224;
export const INPUT_NAME = "input_1";
export const NUM_CLASSES = 1000;
/** block5_pool: 7×7×512, the conv base's output and the transfer-learning features. */
export const FEATURE_SHAPE: Shape = [7, 7, 512];
export const FEATURE_UNITS = 7 * 7 * 512;

const BLOCKS: ReadonlyArray<{ convs: number; channels: number }> = [
  { convs: 2, channels: 64 },
  { convs: 2, channels: 128 },
  { convs: 3, channels: 256 },
  { convs: 3, channels: 512 },
  { convs: 3, channels: 512 },
];

function buildConvBase(): Vgg16Layer[] {
  const layers: Vgg16Layer[] = [];
  let inChannels = 3;
  let size = INPUT_SIZE;
  BLOCKS.forEach(({ convs, channels }, i) => {
    const block = i + 1;
    for (let c = 1; c <= convs; c++) {
      layers.push({
        kind: "conv",
        name: `block${block}_conv${c}`,
        block,
        inChannels,
        outChannels: channels,
        size,
      });
      inChannels = channels;
    }
    size /= 2;
    layers.push({ kind: "pool", name: `block${block}_pool`, block, channels, size });
  });
  return layers;
}

/** The 13 conv and 5 pool layers (Keras `include_top=False`). */
export const CONV_BASE_LAYERS: readonly Vgg16Layer[] = buildConvBase();

/** The classifier on top (Keras `include_top=True`). */
export const TOP_LAYERS: readonly Vgg16Layer[] = [
  { kind: "flatten", name: "flatten", units: FEATURE_UNITS },
  { kind: "dense", name: "fc1", inputs: FEATURE_UNITS, units: 4096, activation: "relu" },
  { kind: "dense", name: "fc2", inputs: 4096, units: 4096, activation: "relu" },
  { kind: "dense", name: "predictions", inputs: 4096, units: NUM_CLASSES, activation: "softmax" },
];

export function vgg16Layers(includeTop: boolean): readonly Vgg16Layer[] {
  return includeTop ? [...CONV_BASE_LAYERS, ...TOP_LAYERS] : CONV_BASE_LAYERS;
}

export function isWeighted(layer: Vgg16Layer): layer is WeightedLayer {
  return layer.kind === "conv" || layer.kind === "dense";
}

export function weightedLayers(includeTop: boolean): readonly WeightedLayer[] {
  return vgg16Layers(includeTop).filter(isWeighted);
}

/** Keras shapes: conv kernels HWIO, dense kernels [in, out], biases [out]. */
export function kernelShape(layer: WeightedLayer): Shape {
  return layer.kind === "conv" ? [3, 3, layer.inChannels, layer.outChannels] : [layer.inputs, layer.units];
}

export function biasShape(layer: WeightedLayer): Shape {
  return [layer.kind === "conv" ? layer.outChannels : layer.units];
}

export function sizeOf(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function layerParams(layer: Vgg16Layer): number {
  return isWeighted(layer) ? sizeOf(kernelShape(layer)) + sizeOf(biasShape(layer)) : 0;
}

/** Output shape without the batch dimension, as Keras' summary() prints it. */
export function outputShape(layer: Vgg16Layer): Shape {
  switch (layer.kind) {
    case "conv":
      return [layer.size, layer.size, layer.outChannels];
    case "pool":
      return [layer.size, layer.size, layer.channels];
    case "flatten":
      return [layer.units];
    case "dense":
      return [layer.units];
  }
}

export function totalParams(includeTop: boolean): number {
  return vgg16Layers(includeTop).reduce((sum, l) => sum + layerParams(l), 0);
}

/** Keras' published counts; tests check the spec against them. */
export const KERAS_PARAM_COUNTS = { total: 138_357_544, convBase: 14_714_688 } as const;

export const POOL_LAYER_NAMES = CONV_BASE_LAYERS.filter((l) => l.kind === "pool").map((l) => l.name);

export interface SummaryRow {
  readonly layer: string;
  readonly type: string;
  readonly outputShape: string;
  readonly params: number;
}

const KERAS_TYPES: Record<Vgg16Layer["kind"], string> = {
  conv: "Conv2D",
  pool: "MaxPooling2D",
  flatten: "Flatten",
  dense: "Dense",
};

/** Rows of Keras' `model.summary()` for VGG16, input layer first. */
export function summaryRows(includeTop: boolean): SummaryRow[] {
  return [
    { layer: INPUT_NAME, type: "InputLayer", outputShape: "(None, 224, 224, 3)", params: 0 },
    ...vgg16Layers(includeTop).map((l) => ({
      layer: l.name,
      type: KERAS_TYPES[l.kind],
      outputShape: `(None, ${outputShape(l).join(", ")})`,
      params: layerParams(l),
    })),
  ];
}
