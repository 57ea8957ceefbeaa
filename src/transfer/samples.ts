/**
 * Pure helpers of the worker's transfer-learning side (src/transfer/worker-side.ts):
 * where features live in memory, gathering a split's features by content
 * hash into one flat [N, F] array, and extraction progress maths.
 */
import type { Preprocessing } from "./feature-cache";

/** The in-memory key of one image's features: the same triple as the IndexedDB cache's key. */
export function memoryKey(modelId: string, preprocessing: Preprocessing, contentHash: string): string {
  return `${modelId}\u0000${preprocessing}\u0000${contentHash}`;
}

export interface Gathered {
  /** Row-major [N, featureSize]; rows of missing samples are left as zeros. */
  readonly x: Float32Array;
  readonly labels: Int32Array;
  /** Content hashes (deduplicated, in order of first use) with no features. */
  readonly missing: readonly string[];
  /** Rows whose features have the wrong length (a cache entry of another model, or corrupt). */
  readonly wrongSize: readonly string[];
}

/** Copies each sample's features (from `lookup`) into one flat array, in sample order. */
export function gatherFeatures(
  samples: readonly { readonly contentHash: string; readonly label: number }[],
  lookup: (contentHash: string) => Float32Array | undefined,
  featureSize: number,
): Gathered {
  const x = new Float32Array(samples.length * featureSize);
  const labels = new Int32Array(samples.length);
  const missing = new Set<string>();
  const wrongSize = new Set<string>();
  samples.forEach((sample, i) => {
    labels[i] = sample.label;
    const features = lookup(sample.contentHash);
    if (!features) missing.add(sample.contentHash);
    else if (features.length !== featureSize) wrongSize.add(sample.contentHash);
    else x.set(features, i * featureSize);
  });
  return { x, labels, missing: [...missing], wrongSize: [...wrongSize] };
}

/** Labels outside [0, numClasses), as "index:label" strings (empty when all are valid). */
export function badLabels(samples: readonly { readonly label: number }[], numClasses: number): string[] {
  const bad: string[] = [];
  samples.forEach((s, i) => {
    if (!Number.isInteger(s.label) || s.label < 0 || s.label >= numClasses) bad.push(`${i}:${s.label}`);
  });
  return bad;
}

/** Images computed per second: 0 before anything was computed or timed. */
export function imagesPerSecond(computed: number, computeMs: number): number {
  return computed > 0 && computeMs > 0 ? (computed * 1000) / computeMs : 0;
}

/** The same classes in the same order (a head only continues on the labels it was trained for). */
export function sameClasses(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}

/** Splits a flat [N, F] array into N row copies (each owns its buffer, so it can be stored or transferred). */
export function splitRows(flat: Float32Array, rows: number): Float32Array[] {
  if (rows <= 0) return [];
  const size = flat.length / rows;
  if (!Number.isInteger(size)) throw new RangeError(`${flat.length} values do not split into ${rows} rows`);
  return Array.from({ length: rows }, (_, i) => flat.slice(i * size, (i + 1) * size));
}
