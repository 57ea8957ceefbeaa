/**
 * What a converted model says about itself, in `userDefinedMetadata.vgg16`.
 * Everything downstream (the UI's synthetic badge, caches keyed by model
 * identity, the summary table) reads this instead of guessing.
 */
import type { ImagenetLabels } from "./labels";
import type { Quantization } from "./quantize";

export type ModelSource =
  | { readonly kind: "keras-h5"; readonly file: string; readonly md5: string; readonly bytes: number }
  | { readonly kind: "synthetic"; readonly seed: number };

export const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68] as const;

export interface Vgg16Metadata {
  readonly schema: 1;
  readonly architecture: "vgg16";
  /** Stable identity for caches: source + quantization + top. */
  readonly modelId: string;
  readonly includeTop: boolean;
  readonly synthetic: boolean;
  readonly source: ModelSource;
  readonly quantization: Quantization;
  readonly params: { readonly total: number; readonly convBase: number };
  readonly preprocessing: {
    readonly mode: "caffe";
    readonly inputSize: 224;
    readonly channelOrder: "BGR";
    readonly mean: readonly number[];
    readonly resize: "nearest";
  };
  /** Output name (predictions, features, block1_pool … block5_pool) → the name GraphModel.execute() takes. */
  readonly outputs: Readonly<Record<string, string>>;
  readonly labels: ImagenetLabels | null;
  readonly convertedBy: string;
  readonly createdAt: string;
  /**
   * Size and SHA-256 (hex) of every shard, in manifest order, as written to disk by `npm run weights`; the app
   * checks each shard against them after downloading it and when reading it from its cache. Absent in models
   * written before, or converted in the browser (their shards are then checked by size only).
   */
  readonly shards?: readonly ShardDigest[];
}

export interface ShardDigest {
  readonly bytes: number;
  readonly sha256: string;
}

export function modelIdFor(source: ModelSource, quantization: Quantization, includeTop: boolean): string {
  const origin = source.kind === "synthetic" ? `synthetic-seed${source.seed}` : `keras-${source.md5}`;
  return `vgg16-${includeTop ? "full" : "notop"}-${origin}-${quantization}`;
}

/**
 * What is wrong with the metadata's shard digests for a manifest of `shardCount` files, or null when they are
 * absent or right. Malformed digests would otherwise turn a shard's check off without anyone noticing.
 */
export function shardDigestsProblem(metadata: Vgg16Metadata, shardCount: number): string | null {
  const digests: unknown = metadata.shards;
  if (digests === undefined) return null;
  if (!Array.isArray(digests)) return "shards is not a list";
  if (digests.length !== shardCount) {
    return `shards lists ${digests.length} digests for ${shardCount} shard files`;
  }
  const bad = digests.findIndex((d: { bytes?: unknown; sha256?: unknown } | null) => {
    const bytes = d?.bytes;
    return (
      typeof bytes !== "number" ||
      !Number.isInteger(bytes) ||
      bytes < 0 ||
      typeof d?.sha256 !== "string" ||
      !/^[0-9a-f]{64}$/i.test(d.sha256)
    );
  });
  return bad < 0 ? null : `shards[${bad}] is not {bytes, sha256 (64 hex digits)}`;
}

/** Reads our metadata back from a loaded model (`GraphModel.metadata`) or a model.json. */
export function readVgg16Metadata(userDefinedMetadata: unknown): Vgg16Metadata | null {
  if (typeof userDefinedMetadata !== "object" || userDefinedMetadata === null) return null;
  const meta = (userDefinedMetadata as { vgg16?: unknown }).vgg16;
  if (typeof meta !== "object" || meta === null) return null;
  const m = meta as Partial<Vgg16Metadata>;
  if (m.schema !== 1 || m.architecture !== "vgg16" || typeof m.modelId !== "string") return null;
  return m as Vgg16Metadata;
}
