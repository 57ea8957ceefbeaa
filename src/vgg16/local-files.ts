/**
 * A model the user gives as files (a Keras .h5, or a TF.js model folder:
 * model.json + shards), as pure functions: which dropped files are a model,
 * matching a model.json's shards by base name (as tf.io.browserFiles does),
 * and the Cache Storage keys a local model is kept under.
 *
 * A local model lives in Cache Storage under
 * `<origin>/__local-models__/<modelId>/model.json` (shards: the usual
 * `shardCacheKey`s next to it), a URL no server serves: the worker never
 * fetches it, so a reload loads it from the cache with no network at all.
 *
 * No TF.js and no DOM here (types only): unit-tested in Node.
 */
import type { io } from "@tensorflow/tfjs";
import { Vgg16Error } from "./errors";
import { MODEL_CACHE_NAME, shardCacheKey, shardResponse, shardUrls } from "./model-files";

export const LOCAL_MODELS_PATH = "/__local-models__/";

/** Where a local model is kept in Cache Storage (never fetched from the network). */
export function localModelUrl(origin: string, modelId: string): string {
  return new URL(`${LOCAL_MODELS_PATH}${encodeURIComponent(modelId)}/model.json`, origin).href;
}

export function isLocalModelUrl(url: string): boolean {
  try {
    return new URL(url).pathname.startsWith(LOCAL_MODELS_PATH);
  } catch {
    return false;
  }
}

/** The last part of a path ("a/b/group1-shard1of2.bin" → "group1-shard1of2.bin"). */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] ?? path;
}

export interface NamedFile {
  readonly name: string;
}

export type ModelFileSet<F extends NamedFile> =
  | { readonly kind: "h5"; readonly file: F }
  | { readonly kind: "folder"; readonly modelJson: F; readonly others: readonly F[] };

/**
 * Which of the given files (dropped, picked) are a model: a `.h5` / `.hdf5`
 * file, or a `model.json` (with its shards among the others). null: none,
 * so they are images to classify. A `.h5` wins over a model.json.
 */
export function modelFileSet<F extends NamedFile>(files: readonly F[]): ModelFileSet<F> | null {
  const h5 = files.find((f) => /\.(h5|hdf5|keras)$/i.test(f.name));
  if (h5) return { kind: "h5", file: h5 };
  const json = files.find((f) => baseName(f.name).toLowerCase() === "model.json");
  if (json) return { kind: "folder", modelJson: json, others: files.filter((f) => f !== json) };
  return null;
}

/** Whether dropped files should go to model loading instead of classification. */
export function isModelDrop(files: readonly NamedFile[]): boolean {
  return modelFileSet(files) !== null;
}

/**
 * The shard files in manifest order, matched by base name (tf.io.browserFiles'
 * rule). Throws a Vgg16Error "model-invalid" naming every missing shard.
 */
export function matchShards<F extends NamedFile>(
  modelJsonName: string,
  manifest: io.WeightsManifestConfig,
  files: readonly F[],
): F[] {
  const byName = new Map<string, F>();
  for (const file of files) byName.set(baseName(file.name), file);
  const wanted = manifest.flatMap((group) => group.paths.map((path) => baseName(path)));
  const missing = wanted.filter((name) => !byName.has(name));
  if (missing.length > 0) {
    throw new Vgg16Error(
      "model-invalid",
      `${modelJsonName}: ${missing.length} of its ${wanted.length} weight file${wanted.length === 1 ? " is" : "s are"} missing: ${missing.join(", ")}. Give model.json together with all its .bin files.`,
    );
  }
  return wanted.map((name) => byName.get(name) as F);
}

/**
 * Keeps a local model in Cache Storage: every shard first, model.json last
 * (its presence means a complete model). On failure this model's entries are
 * removed and the reason is returned; null when stored.
 */
export async function storeLocalModel(
  caches: CacheStorage | null,
  url: string,
  modelJsonText: string,
  manifest: io.WeightsManifestConfig,
  modelId: string,
  shards: readonly ArrayBuffer[],
): Promise<string | null> {
  if (!caches) return "Cache Storage is not available here";
  const keys = shardUrls(url, manifest).map((shard) => shardCacheKey(shard, modelId));
  let cache: Cache;
  try {
    cache = await caches.open(MODEL_CACHE_NAME);
  } catch (error) {
    return `Cache Storage could not be opened (${describeError(error)})`;
  }
  try {
    for (const [i, key] of keys.entries()) {
      const body = shards[i];
      if (!body) throw new Error(`shard ${i + 1} of ${keys.length} is missing`);
      await cache.put(key, await shardResponse(body, null));
    }
    await cache.put(url, new Response(modelJsonText, { headers: { "Content-Type": "application/json" } }));
    return null;
  } catch (error) {
    await Promise.allSettled([cache.delete(url), ...keys.map((key) => cache.delete(key))]);
    return `could not store the model in Cache Storage (${describeError(error)})`;
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error || error instanceof DOMException) return `${error.name}: ${error.message}`;
  return String(error);
}
