/**
 * The conversion core: validated VGG16 weights → TF.js graph model artifacts
 * with metadata. Shared by the CLI and (later) the browser worker.
 */
import type { Group } from "h5wasm";
import { buildVgg16GraphModel, CONVERTED_BY, type GraphModelArtifacts, outputNames } from "./graph-model";
import { type ReadOptions, readKerasVgg16, type Vgg16Weights } from "./keras-h5";
import { fallbackLabels, type ImagenetLabels } from "./labels";
import { CAFFE_MEAN_BGR, type ModelSource, modelIdFor, type Vgg16Metadata } from "./metadata";
import type { Quantization } from "./quantize";
import { syntheticVgg16Weights } from "./synthetic";
import { totalParams } from "./vgg16-spec";

export interface ConvertOptions {
  readonly quantization: Quantization;
  /** Keras class index; when absent a full model gets fallbackLabels(). */
  readonly labels?: ImagenetLabels | null;
  readonly shardBytes?: number;
  /** For reproducible output in tests. */
  readonly now?: Date;
}

export function buildMetadata(
  weights: Vgg16Weights,
  source: ModelSource,
  options: ConvertOptions,
): Vgg16Metadata {
  const { includeTop } = weights;
  return {
    schema: 1,
    architecture: "vgg16",
    modelId: modelIdFor(source, options.quantization, includeTop),
    includeTop,
    synthetic: source.kind === "synthetic",
    source,
    quantization: options.quantization,
    params: { total: totalParams(includeTop), convBase: totalParams(false) },
    preprocessing: {
      mode: "caffe",
      inputSize: 224,
      channelOrder: "BGR",
      mean: [...CAFFE_MEAN_BGR],
      resize: "nearest",
    },
    outputs: outputNames(includeTop),
    labels: includeTop ? (options.labels ?? fallbackLabels()) : null,
    convertedBy: CONVERTED_BY,
    createdAt: (options.now ?? new Date()).toISOString(),
  };
}

export function convertWeights(
  weights: Vgg16Weights,
  source: ModelSource,
  options: ConvertOptions,
): GraphModelArtifacts {
  return buildVgg16GraphModel(weights, {
    quantization: options.quantization,
    metadata: buildMetadata(weights, source, options),
    shardBytes: options.shardBytes,
  });
}

export function convertKerasH5(
  root: Group,
  file: { readonly name: string; readonly md5: string; readonly bytes: number },
  options: ConvertOptions & ReadOptions,
): GraphModelArtifacts {
  const weights = readKerasVgg16(root, file.name, options);
  return convertWeights(
    weights,
    { kind: "keras-h5", file: file.name, md5: file.md5, bytes: file.bytes },
    options,
  );
}

export function syntheticModel(
  seed: number,
  includeTop: boolean,
  options: ConvertOptions,
): GraphModelArtifacts {
  return convertWeights(syntheticVgg16Weights(seed, includeTop), { kind: "synthetic", seed }, options);
}
