/**
 * The VGG16 spec against Keras' published numbers and hand-computed values:
 * layer counts, per-layer parameters, output shapes and the summary() table.
 */
import { describe, expect, it } from "vitest";
import {
  biasShape,
  CONV_BASE_LAYERS,
  FEATURE_SHAPE,
  FEATURE_UNITS,
  KERAS_PARAM_COUNTS,
  kernelShape,
  layerParams,
  outputShape,
  POOL_LAYER_NAMES,
  summaryRows,
  TOP_LAYERS,
  totalParams,
  type Vgg16Layer,
  vgg16Layers,
  weightedLayers,
} from "../src/model/vgg16-spec";

function layer(name: string): Vgg16Layer {
  const found = vgg16Layers(true).find((l) => l.name === name);
  if (!found) throw new Error(`no layer ${name}`);
  return found;
}

/** Keras' VGG16 model.summary() (include_top=True): name, output shape, params. */
const KERAS_SUMMARY: ReadonlyArray<readonly [string, string, number]> = [
  ["input_1", "(None, 224, 224, 3)", 0],
  ["block1_conv1", "(None, 224, 224, 64)", 1_792],
  ["block1_conv2", "(None, 224, 224, 64)", 36_928],
  ["block1_pool", "(None, 112, 112, 64)", 0],
  ["block2_conv1", "(None, 112, 112, 128)", 73_856],
  ["block2_conv2", "(None, 112, 112, 128)", 147_584],
  ["block2_pool", "(None, 56, 56, 128)", 0],
  ["block3_conv1", "(None, 56, 56, 256)", 295_168],
  ["block3_conv2", "(None, 56, 56, 256)", 590_080],
  ["block3_conv3", "(None, 56, 56, 256)", 590_080],
  ["block3_pool", "(None, 28, 28, 256)", 0],
  ["block4_conv1", "(None, 28, 28, 512)", 1_180_160],
  ["block4_conv2", "(None, 28, 28, 512)", 2_359_808],
  ["block4_conv3", "(None, 28, 28, 512)", 2_359_808],
  ["block4_pool", "(None, 14, 14, 512)", 0],
  ["block5_conv1", "(None, 14, 14, 512)", 2_359_808],
  ["block5_conv2", "(None, 14, 14, 512)", 2_359_808],
  ["block5_conv3", "(None, 14, 14, 512)", 2_359_808],
  ["block5_pool", "(None, 7, 7, 512)", 0],
  ["flatten", "(None, 25088)", 0],
  ["fc1", "(None, 4096)", 102_764_544],
  ["fc2", "(None, 4096)", 16_781_312],
  ["predictions", "(None, 1000)", 4_097_000],
];

describe("VGG16 layer structure", () => {
  it("has 13 conv and 5 pool layers in the conv base, and 3 dense + flatten on top", () => {
    expect(CONV_BASE_LAYERS.filter((l) => l.kind === "conv")).toHaveLength(13);
    expect(CONV_BASE_LAYERS.filter((l) => l.kind === "pool")).toHaveLength(5);
    expect(CONV_BASE_LAYERS).toHaveLength(18);
    expect(TOP_LAYERS.map((l) => l.kind)).toEqual(["flatten", "dense", "dense", "dense"]);
    expect(vgg16Layers(false)).toHaveLength(18);
    expect(vgg16Layers(true)).toHaveLength(22);
    expect(weightedLayers(false)).toHaveLength(13);
    expect(weightedLayers(true)).toHaveLength(16);
    expect(POOL_LAYER_NAMES).toEqual([
      "block1_pool",
      "block2_pool",
      "block3_pool",
      "block4_pool",
      "block5_pool",
    ]);
  });

  it("lists the layers in Keras order", () => {
    expect(vgg16Layers(true).map((l) => l.name)).toEqual(KERAS_SUMMARY.slice(1).map(([name]) => name));
  });

  it("chains channels: each conv's input channels are the previous conv's outputs", () => {
    let channels = 3;
    for (const l of CONV_BASE_LAYERS) {
      if (l.kind !== "conv") continue;
      expect(l.inChannels, l.name).toBe(channels);
      channels = l.outChannels;
    }
    expect(channels).toBe(512);
  });
});

describe("VGG16 parameter counts", () => {
  it("matches Keras' totals", () => {
    expect(totalParams(true)).toBe(138_357_544);
    expect(totalParams(false)).toBe(14_714_688);
    expect(KERAS_PARAM_COUNTS).toEqual({ total: 138_357_544, convBase: 14_714_688 });
  });

  it("matches hand-computed per-layer counts", () => {
    expect(layerParams(layer("block1_conv1"))).toBe(3 * 3 * 3 * 64 + 64);
    expect(layerParams(layer("block1_conv1"))).toBe(1792);
    expect(layerParams(layer("block2_conv1"))).toBe(3 * 3 * 64 * 128 + 128);
    expect(layerParams(layer("block5_conv3"))).toBe(3 * 3 * 512 * 512 + 512);
    expect(layerParams(layer("fc1"))).toBe(25088 * 4096 + 4096);
    expect(layerParams(layer("fc1"))).toBe(102_764_544);
    expect(layerParams(layer("fc2"))).toBe(4096 * 4096 + 4096);
    expect(layerParams(layer("predictions"))).toBe(4096 * 1000 + 1000);
    expect(layerParams(layer("predictions"))).toBe(4_097_000);
    expect(layerParams(layer("block3_pool"))).toBe(0);
    expect(layerParams(layer("flatten"))).toBe(0);
  });

  it("uses Keras weight shapes (HWIO kernels, [in, out] dense)", () => {
    const conv = layer("block3_conv1");
    const dense = layer("fc1");
    if (conv.kind !== "conv" || dense.kind !== "dense") throw new Error("unexpected kinds");
    expect(kernelShape(conv)).toEqual([3, 3, 128, 256]);
    expect(biasShape(conv)).toEqual([256]);
    expect(kernelShape(dense)).toEqual([25088, 4096]);
    expect(biasShape(dense)).toEqual([4096]);
  });
});

describe("VGG16 output shapes", () => {
  it("halves the spatial size at each pool", () => {
    expect(outputShape(layer("block1_conv1"))).toEqual([224, 224, 64]);
    expect(outputShape(layer("block1_pool"))).toEqual([112, 112, 64]);
    expect(outputShape(layer("block3_conv3"))).toEqual([56, 56, 256]);
    expect(outputShape(layer("block4_pool"))).toEqual([14, 14, 512]);
    expect(outputShape(layer("block5_pool"))).toEqual([7, 7, 512]);
    expect(outputShape(layer("flatten"))).toEqual([25088]);
    expect(outputShape(layer("predictions"))).toEqual([1000]);
  });

  it("exports the features shape as block5_pool's", () => {
    expect(FEATURE_SHAPE).toEqual([7, 7, 512]);
    expect(FEATURE_UNITS).toBe(7 * 7 * 512);
    expect(outputShape(layer("block5_pool"))).toEqual(FEATURE_SHAPE);
  });
});

describe("summaryRows", () => {
  it("reproduces Keras' model.summary() for include_top=True", () => {
    const rows = summaryRows(true);
    expect(rows).toHaveLength(23);
    expect(rows.map((r) => [r.layer, r.outputShape, r.params])).toEqual(KERAS_SUMMARY);
    expect(rows[0]?.type).toBe("InputLayer");
    expect(rows[1]?.type).toBe("Conv2D");
    expect(rows[3]?.type).toBe("MaxPooling2D");
    expect(rows[19]?.type).toBe("Flatten");
    expect(rows[22]?.type).toBe("Dense");
    expect(rows.reduce((s, r) => s + r.params, 0)).toBe(138_357_544);
  });

  it("has input + 18 rows summing to the conv base for include_top=False", () => {
    const rows = summaryRows(false);
    expect(rows).toHaveLength(19);
    expect(rows.map((r) => [r.layer, r.outputShape, r.params])).toEqual(KERAS_SUMMARY.slice(0, 19));
    expect(rows.reduce((s, r) => s + r.params, 0)).toBe(14_714_688);
  });
});
