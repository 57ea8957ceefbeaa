/**
 * Fetches a converted VGG16 graph model (model.json, then its shards) with
 * explicit progress, through Cache Storage:
 *
 * - model.json is stored under its own URL; every shard under its URL plus
 *   `?vgg16-model-id=<modelId>`, so a changed model never mixes shards with an
 *   older one;
 * - on a later load, a cached model.json is used as is and its shards come
 *   from the cache with no network request at all; a shard missing from the
 *   cache is fetched (and stored);
 * - model.json is stored last, only after every shard was stored: its presence
 *   means a complete model. When storing fails (quota, private mode) loading
 *   goes on, this model's partial entries are removed, and a cache event says
 *   why.
 *
 * - every shard is checked as it arrives, from the network or the cache: its
 *   size (from the metadata's shard digests, or else the standard layout of
 *   4 MiB shards with the rest in the last) and, when the metadata carries
 *   them, its SHA-256. A bad shard from the network fails the load naming the
 *   file; a bad shard from the cache is dropped and downloaded again (the
 *   cache repairs itself, and a cache event lists what was repaired);
 * - a shard is stored with a fast checksum of its checked bytes in a header
 *   (XXH64, src/model/shard-checksum.ts), and read back against that instead
 *   of the SHA-256: ~0.15 s for VGG16's 553 MB instead of ~0.8 s of CPU on
 *   every cached reload;
 * - shards cached without that header (by an earlier version) are checked by
 *   SHA-256 as before; with `verifyCacheLater` their size is checked at once
 *   but their SHA-256 in the background (ModelFiles.cacheCheck), overlapping
 *   the caller's upload and warm-up. The caller must await the check before
 *   using the weights and, when it fails, load again without the option
 *   (which repairs).
 *
 * No TF.js here (types only): runs in the worker and in Node tests, with fetch
 * and Cache Storage passed in.
 */
import type { io } from "@tensorflow/tfjs";
import { vgg16ManifestProblems } from "../model/manifest-check";
import { readVgg16Metadata, shardDigestsProblem, type Vgg16Metadata } from "../model/metadata";
import { sha256Hex } from "../model/sha256";
import {
  isShardChecksum,
  SHARD_CHECKSUM_HEADER,
  shardChecksum,
  shardChecksumProblem,
} from "../model/shard-checksum";
import type { LoadEvent } from "./api";
import { errorMessage, Vgg16Error } from "./errors";

export const MODEL_CACHE_NAME = "vgg16-models-v1";
export const MODEL_ID_PARAM = "vgg16-model-id";

export interface ModelFiles {
  /** Absolute URL of model.json. */
  readonly url: string;
  readonly modelJson: io.ModelJSON;
  readonly metadata: Vgg16Metadata;
  /** Every group's weights, flattened in manifest order (what tf.io.decodeWeights walks). */
  readonly weightSpecs: io.WeightsManifestEntry[];
  /** The shards in manifest order (TF.js joins them as a CompositeArrayBuffer). */
  readonly weightData: ArrayBuffer[];
  /** Bytes the manifest describes (= the shards' total size). */
  readonly totalBytes: number;
  /** model.json and every shard came from Cache Storage: no network request was made. */
  readonly fromCache: boolean;
  readonly downloadMs: number;
  /**
   * With `verifyCacheLater`: resolves to true when every cached shard's SHA-256 matched, false when one
   * did not (never rejects). null when nothing was left to check.
   */
  readonly cacheCheck: Promise<boolean> | null;
}

export interface FetchModelOptions {
  readonly fetch: typeof fetch;
  /** null: no Cache Storage (not a secure context, or it threw). */
  readonly caches: CacheStorage | null;
  readonly emit: (event: LoadEvent) => void;
  readonly now?: () => number;
  /**
   * Shards read at once (default 12). From the network a browser runs 6 per host on HTTP/1.1 and queues the
   * rest; from Cache Storage more at once helped: 12 cached reloads of VGG16 in Chromium here took 2.64 s on
   * average with 12 (2.43–3.25 s), 2.78 s with 6 (2.66–2.99 s).
   */
  readonly concurrency?: number;
  /** Minimum ms between two download progress events (the last one always comes). */
  readonly progressIntervalMs?: number;
  /** Check the manifest against VGG16's layers (default true; unit tests use tiny stand-in manifests). */
  readonly checkArchitecture?: boolean;
  /** Check cached shards' SHA-256 in the background: see ModelFiles.cacheCheck. */
  readonly verifyCacheLater?: boolean;
  /** Stops reading: no shard is requested after it fires, and the call rejects with its reason (unless every shard was already requested). */
  readonly signal?: AbortSignal;
  /**
   * Called once the manifest is known; the function it returns gets each
   * shard's final buffer (in any order) as soon as it is read and, unless
   * its SHA-256 check was deferred, verified (streaming-weights.ts).
   */
  readonly onShards?: (
    weightSpecs: readonly io.WeightsManifestEntry[],
    shardCount: number,
  ) => (index: number, buffer: ArrayBuffer) => void;
}

/** The shard size of our converter and of tfjs-converter (4 MiB). */
export const STANDARD_SHARD_BYTES = 4 * 1024 * 1024;

/** What one shard must be: its size and SHA-256 (hex) when known. */
export interface ShardExpectation {
  readonly bytes: number | null;
  readonly sha256: string | null;
}

/**
 * Per shard, what it must be: the metadata's digests when it has one per shard; else, for a manifest of one
 * group whose total fits the standard layout (4 MiB shards, the remainder in the last), those sizes; else
 * nothing known (each group of a multi-group manifest has its own remainder shard, so its layout is not
 * the standard one; the total byte count is still checked after the load).
 */
export function expectedShards(
  metadata: Vgg16Metadata,
  totalBytes: number,
  count: number,
  groups = 1,
): ShardExpectation[] {
  // parseModelJson refused malformed digests (shardDigestsProblem).
  const digests = metadata.shards;
  if (digests && digests.length === count) {
    return digests.map((d) => ({ bytes: d.bytes, sha256: d.sha256.toLowerCase() }));
  }
  const size = STANDARD_SHARD_BYTES;
  const fits = groups === 1 && count > 0 && Math.ceil(totalBytes / size) === count;
  return Array.from({ length: count }, (_, i) => ({
    bytes: fits ? (i < count - 1 ? size : totalBytes - (count - 1) * size) : null,
    sha256: null,
  }));
}

/** What is wrong with a shard's bytes, in words ("has 10 bytes, model.json says 32"), or null when it is right. */
export async function shardProblem(buffer: ArrayBuffer, expected: ShardExpectation): Promise<string | null> {
  const size = sizeProblem(buffer, expected);
  if (size !== null) return size;
  if (expected.sha256 !== null) {
    const actual = await sha256Hex(buffer);
    if (actual !== expected.sha256) return `has SHA-256 ${actual}, model.json says ${expected.sha256}`;
  }
  return null;
}

/** The Cache Storage header with the SHA-256 model.json gave for a shard when it was stored. */
export const SHARD_SHA256_HEADER = "X-VGG16-SHA256";

/**
 * What is wrong with a shard read back from the cache, given the headers stored with it, or null: its size,
 * then its checksum. The SHA-256 was checked before it was stored: the entry must carry the SHA-256 the current
 * model.json gives (bytes cached for an earlier model.json of the same modelId are not these).
 * undefined: the entry cannot be checked this way (cached by an earlier version, another kind of checksum, no
 * hasher here): check its SHA-256.
 */
export async function cachedShardProblem(
  buffer: ArrayBuffer,
  expected: ShardExpectation,
  headers: Headers,
  /** The buffer's checksum where it was computed already (shard-reader.ts); absent or null: computed here. */
  computed?: string | null,
): Promise<string | null | undefined> {
  const stored = headers.get(SHARD_CHECKSUM_HEADER);
  if (!isShardChecksum(stored)) return undefined;
  if (expected.sha256 !== null && headers.get(SHARD_SHA256_HEADER) !== expected.sha256) return undefined;
  const size = sizeProblem(buffer, expected);
  if (size !== null) return size;
  return shardChecksumProblem(buffer, stored, computed);
}

function sizeProblem(buffer: ArrayBuffer, expected: ShardExpectation): string | null {
  return expected.bytes !== null && buffer.byteLength !== expected.bytes
    ? `has ${buffer.byteLength} bytes, model.json says ${expected.bytes}`
    : null;
}

/**
 * A shard as stored in Cache Storage, once its bytes were checked: with their checksum and the SHA-256 that
 * model.json gave (when known) in headers, which cachedShardProblem reads back.
 */
export async function shardResponse(buffer: ArrayBuffer, sha256: string | null): Promise<Response> {
  const headers: Record<string, string> = { "Content-Type": "application/octet-stream" };
  const checksum = await shardChecksum(buffer);
  if (checksum !== null) headers[SHARD_CHECKSUM_HEADER] = checksum;
  if (sha256 !== null) headers[SHARD_SHA256_HEADER] = sha256;
  return new Response(buffer, { headers });
}

/** The file name at the end of a URL ("group1-shard3of132.bin"). */
export function fileNameOf(url: string): string {
  try {
    return new URL(url).pathname.split("/").at(-1) || url;
  } catch {
    return url;
  }
}

/** Bytes per element as stored in the shards (quantized dtype if any, else the weight's dtype). */
export function storedBytesPerElement(entry: io.WeightsManifestEntry): number {
  const stored = entry.quantization?.dtype ?? entry.dtype;
  switch (stored) {
    case "float32":
    case "int32":
      return 4;
    case "float16":
    case "uint16":
      return 2;
    case "uint8":
    case "bool":
      return 1;
    case "complex64":
      return 8;
    default:
      throw new Error(`weight "${entry.name}": dtype ${stored} has no fixed size`);
  }
}

export function weightBytes(entry: io.WeightsManifestEntry): number {
  return entry.shape.reduce((a, b) => a * b, 1) * storedBytesPerElement(entry);
}

/** Sum over the manifest of shape × stored bytes: what the shards must add up to. */
export function manifestTotalBytes(manifest: io.WeightsManifestConfig): number {
  let total = 0;
  for (const group of manifest) for (const entry of group.weights) total += weightBytes(entry);
  return total;
}

/** Cache key of a shard: its URL with the model's identity in the query. */
export function shardCacheKey(shardUrl: string, modelId: string): string {
  const url = new URL(shardUrl);
  url.searchParams.set(MODEL_ID_PARAM, modelId);
  return url.href;
}

/** Shard URLs in manifest order, resolved against model.json's URL (and keeping its query, as tf.io.http does). */
export function shardUrls(modelUrl: string, manifest: io.WeightsManifestConfig): string[] {
  const base = new URL(modelUrl);
  return manifest.flatMap((group) =>
    group.paths.map((path) => {
      const url = new URL(path, base);
      if (base.search && !url.search) url.search = base.search;
      return url.href;
    }),
  );
}

/** Parses and checks model.json: a graph model carrying our VGG16 metadata, or a typed error naming the URL. */
export function parseModelJson(
  url: string,
  text: string,
  checkArchitecture = true,
): { modelJson: io.ModelJSON; metadata: Vgg16Metadata } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Vgg16Error("model-invalid", `${url} is not JSON (${errorMessage(error)})`, {
      url,
      cause: error,
    });
  }
  const invalid = (why: string): never => {
    throw new Vgg16Error("model-invalid", `${url} is not a VGG16 graph model: ${why}`, { url });
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) return invalid("not a JSON object");
  const m = json as Partial<io.ModelJSON>;
  if (m.format !== undefined && m.format !== "graph-model") return invalid(`format is "${m.format}"`);
  if (typeof m.modelTopology !== "object" || m.modelTopology === null) return invalid("no modelTopology");
  if (!Array.isArray(m.weightsManifest)) return invalid("no weightsManifest");
  for (const group of m.weightsManifest) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
      return invalid("a weightsManifest group lacks paths or weights");
    }
  }
  const metadata = readVgg16Metadata(m.userDefinedMetadata);
  if (!metadata) return invalid("no VGG16 metadata (userDefinedMetadata.vgg16)");
  const digestProblem = shardDigestsProblem(
    metadata,
    m.weightsManifest.reduce((n, group) => n + group.paths.length, 0),
  );
  if (digestProblem) return invalid(`userDefinedMetadata.vgg16.${digestProblem}`);
  if (checkArchitecture) {
    const weights = m.weightsManifest.flatMap((group) => group.weights);
    const problems = vgg16ManifestProblems(
      weights.filter((w) => typeof w?.name === "string" && Array.isArray(w.shape)),
      metadata.includeTop !== false,
    );
    if (problems.length > 0) return invalid(problems.join(" "));
  }
  return { modelJson: m as io.ModelJSON, metadata };
}

/**
 * A Cache that can also hand over an entry's body as an ArrayBuffer (opfs-cache.ts): wrapping the bytes in a
 * Response and reading them back out cost a cached reload of VGG16 ~0.6 s in Chromium here.
 */
export interface BodyCache {
  /** `checksum`: the body's XXH64 where it was already computed (by the reader that read it), else absent. */
  matchBody(
    key: string,
  ): Promise<{ body: ArrayBuffer; headers: Headers; checksum?: string | null } | undefined>;
}

/** A cached entry's body (null when it could not be read) and headers, or undefined when there is none. */
async function cachedBody(
  cache: Cache,
  key: string,
): Promise<{ body: ArrayBuffer | null; headers: Headers; checksum?: string | null } | undefined> {
  const direct = (cache as Partial<BodyCache>).matchBody;
  if (direct) return direct.call(cache, key).catch(() => undefined);
  const hit = await cache.match(key).catch(() => undefined);
  if (!hit) return undefined;
  return { body: await hit.arrayBuffer().catch(() => null), headers: hit.headers };
}

async function openCache(caches: CacheStorage | null): Promise<{ cache: Cache | null; why: string | null }> {
  if (!caches) return { cache: null, why: "Cache Storage is not available here" };
  try {
    return { cache: await caches.open(MODEL_CACHE_NAME), why: null };
  } catch (error) {
    return { cache: null, why: `Cache Storage could not be opened (${describeError(error)})` };
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error || error instanceof DOMException) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * Every model request: CORS without credentials, whoever's server it is, so a
 * `?model=` URL on another host never receives the user's cookies or HTTP
 * auth for that host (and needs no Access-Control-Allow-Credentials). Model
 * files are public data; none needs credentials.
 */
export const MODEL_REQUEST_INIT = { mode: "cors", credentials: "omit" } as const satisfies RequestInit;

async function fetchOrThrow(
  fetchFn: typeof fetch,
  url: string,
  init: RequestInit,
  what: "model.json" | "shard",
): Promise<Response> {
  let response: Response;
  try {
    response = await fetchFn(url, { ...init, ...MODEL_REQUEST_INIT });
  } catch (error) {
    throw new Vgg16Error("download-failed", `Could not fetch ${url} (${errorMessage(error)})`, {
      url,
      cause: error,
    });
  }
  if (response.ok) return response;
  if (what === "model.json" && (response.status === 404 || response.status === 410)) {
    throw new Vgg16Error("model-not-found", `No model at ${url} (HTTP ${response.status})`, { url });
  }
  const kind = what === "shard" ? "weights shard" : "model.json";
  throw new Vgg16Error("download-failed", `Could not download ${kind} ${url} (HTTP ${response.status})`, {
    url,
  });
}

/** Deletes cached shards of other model versions stored for the same model folder. */
async function deleteStaleShards(cache: Cache, modelUrl: string, modelId: string): Promise<void> {
  const folder = new URL(".", modelUrl).href;
  for (const request of await cache.keys()) {
    const url = new URL(request.url);
    const id = url.searchParams.get(MODEL_ID_PARAM);
    if (id === null || id === modelId) continue;
    url.searchParams.delete(MODEL_ID_PARAM);
    if (url.href.startsWith(folder)) await cache.delete(request);
  }
}

async function deleteModelEntries(cache: Cache, modelUrl: string, modelId: string, shards: string[]) {
  await Promise.allSettled([
    cache.delete(modelUrl),
    ...shards.map((shard) => cache.delete(shardCacheKey(shard, modelId))),
  ]);
}

/** Downloads (or reads from Cache Storage) model.json and every shard, emitting "cache" and "download" events. */
export async function fetchModelFiles(modelUrl: string, options: FetchModelOptions): Promise<ModelFiles> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const url = new URL(modelUrl).href;
  const { cache, why: noCache } = await openCache(options.caches);

  // model.json: from the cache when there, else the network.
  let parsed: { modelJson: io.ModelJSON; metadata: Vgg16Metadata } | null = null;
  let jsonText: string | null = null;
  if (cache) {
    const hit = await cache.match(url).catch(() => undefined);
    if (hit) {
      try {
        parsed = parseModelJson(url, await hit.text(), options.checkArchitecture);
      } catch {
        await cache.delete(url).catch(() => false); // a broken entry: fetch afresh
      }
    }
  }
  const jsonFromCache = parsed !== null;
  if (!parsed) {
    const response = await fetchOrThrow(options.fetch, url, { cache: "no-cache" }, "model.json");
    jsonText = await response.text();
    parsed = parseModelJson(url, jsonText, options.checkArchitecture);
  }
  const { modelJson, metadata } = parsed;
  const { modelId } = metadata;
  options.emit({ type: "cache", hit: jsonFromCache, modelId });

  const manifest = modelJson.weightsManifest;
  const weightSpecs = manifest.flatMap((group) => group.weights);
  let totalBytes: number;
  try {
    totalBytes = manifestTotalBytes(manifest);
  } catch (error) {
    throw new Vgg16Error("model-invalid", `${url}: ${errorMessage(error)}`, { url, cause: error });
  }
  const shards = shardUrls(url, manifest);
  const expected = expectedShards(metadata, totalBytes, shards.length, manifest.length);
  const onShard = options.onShards?.(weightSpecs, shards.length);
  /** Indices of the shards that were damaged in the cache and downloaded again. */
  const repaired: number[] = [];

  // Storing: only while nothing has failed; cleared of other versions first to free space.
  let storeFailure: string | null = cache ? null : noCache;
  let storedAnything = false;
  if (cache && !jsonFromCache) await deleteStaleShards(cache, url, modelId).catch(() => undefined);
  const store = async (key: string, response: Response): Promise<void> => {
    if (!cache || storeFailure !== null) return;
    try {
      await cache.put(key, response);
      storedAnything = true;
    } catch (error) {
      storeFailure ??= `could not store ${key} in Cache Storage (${describeError(error)})`;
    }
  };

  // Shards, a few at a time, with throttled progress.
  const interval = options.progressIntervalMs ?? 100;
  const buffers: ArrayBuffer[] = new Array(shards.length);
  let loadedBytes = 0;
  let lastEmit = Number.NEGATIVE_INFINITY;
  let fromNetwork = 0;
  // Cached shards whose SHA-256 is checked in the background, as they are read: one digest at a time
  // (WebCrypto copies its input, so starting all at once would hold a second copy of the weights), stopping
  // at the first mismatch. In one comparison in Chromium on 2 vCPUs (two reloads each, a noisy machine),
  // this beat starting the check after all reads, which then competed with the warm-up's two threads.
  let cacheCheck: Promise<boolean> | null = null;
  // A shard cached by an earlier version whose SHA-256 matched is stored again with its checksum, so that later
  // reloads skip the SHA-256 (once; a failure to store leaves it as it was).
  const upgrade = (key: string, buffer: ArrayBuffer, want: ShardExpectation): Promise<unknown> =>
    cache
      ? shardResponse(buffer, want.sha256)
          .then((r) => cache.put(key, r))
          .catch(() => undefined)
      : Promise.resolve();
  const checkLater = (key: string, buffer: ArrayBuffer, want: ShardExpectation) => {
    cacheCheck = (cacheCheck ?? Promise.resolve(true)).then(async (ok) => {
      if (!ok) return false;
      const problem = await shardProblem(buffer, want).catch(() => "could not be hashed");
      if (problem !== null) return false;
      await upgrade(key, buffer, want);
      return true;
    });
  };
  const progress = (force: boolean) => {
    const t = now();
    if (!force && t - lastEmit < interval) return;
    lastEmit = t;
    options.emit({
      type: "phase",
      phase: "download",
      fraction: totalBytes > 0 ? Math.min(1, loadedBytes / totalBytes) : 1,
      loadedBytes,
      totalBytes,
      elapsedMs: t - started,
    });
  };
  progress(true);

  const fetchShard = async (index: number): Promise<void> => {
    const shardUrl = shards[index] as string;
    const want = expected[index] as ShardExpectation;
    const key = shardCacheKey(shardUrl, modelId);
    let buffer: ArrayBuffer | null = null;
    if (cache) {
      const hit = await cachedBody(cache, key);
      buffer = hit?.body ?? null;
      // Stored by this version for this model.json: checked when stored, so its checksum settles it.
      const byChecksum =
        hit && buffer !== null
          ? await cachedShardProblem(buffer, want, hit.headers, hit.checksum)
          : undefined;
      if (buffer === null || byChecksum === null) {
        // nothing cached, or intact
      } else if (byChecksum !== undefined) {
        buffer = null;
        repaired.push(index);
        await cache.delete(key).catch(() => false);
      } else if (
        // Digests always carry the size: a shard of the right size may wait for its SHA-256.
        options.verifyCacheLater &&
        want.sha256 !== null &&
        buffer.byteLength === want.bytes
      ) {
        checkLater(key, buffer, want);
      } else if ((await shardProblem(buffer, want)) !== null) {
        // A damaged entry (truncated, altered) is dropped and downloaded again: the cache heals itself.
        buffer = null;
        repaired.push(index);
        await cache.delete(key).catch(() => false);
      } else if (want.sha256 !== null) {
        await upgrade(key, buffer, want);
      }
    }
    if (buffer === null) {
      fromNetwork++;
      const caching = cache !== null && storeFailure === null;
      const response = await fetchOrThrow(
        options.fetch,
        shardUrl,
        caching ? { cache: "no-store" } : {},
        "shard",
      );
      try {
        buffer = await response.arrayBuffer();
      } catch (error) {
        throw new Vgg16Error(
          "download-failed",
          `Download of ${shardUrl} broke off (${errorMessage(error)})`,
          {
            url: shardUrl,
            cause: error,
          },
        );
      }
      const problem = await shardProblem(buffer, want);
      if (problem !== null) {
        throw new Vgg16Error(
          "download-failed",
          `The weights shard ${fileNameOf(shardUrl)} is damaged: it ${problem} (${shardUrl})`,
          { url: shardUrl },
        );
      }
      if (caching) await store(key, await shardResponse(buffer, want.sha256));
    }
    buffers[index] = buffer;
    onShard?.(index, buffer);
    loadedBytes += buffer.byteLength;
    progress(false);
  };

  let next = 0;
  let failed = false;
  const laneCount = Math.max(1, Math.min(options.concurrency ?? 12, shards.length));
  const lanes = Array.from({ length: laneCount }, async () => {
    try {
      while (!failed && next < shards.length) {
        options.signal?.throwIfAborted();
        await fetchShard(next++);
      }
    } catch (error) {
      failed = true; // the other lanes stop after their current shard
      throw error;
    }
  });
  await Promise.all(lanes);
  progress(true);
  if (repaired.length > 0) {
    const names = repaired.sort((a, b) => a - b).map((i) => fileNameOf(shards[i] as string));
    options.emit({ type: "cache", hit: jsonFromCache, modelId, repaired: names });
  }

  if (loadedBytes !== totalBytes) {
    if (cache) await deleteModelEntries(cache, url, modelId, shards);
    throw new Vgg16Error(
      "model-invalid",
      `${url}: the shards hold ${loadedBytes} bytes but the manifest describes ${totalBytes}` +
        (jsonFromCache || fromNetwork < shards.length ? " (the cached copy was removed; load again)" : ""),
      { url },
    );
  }

  const fromCache = jsonFromCache && fromNetwork === 0;
  if (!fromCache) {
    if (cache && storeFailure === null && !jsonFromCache && jsonText !== null) {
      await store(url, new Response(jsonText, { headers: { "Content-Type": "application/json" } }));
    }
    if (storeFailure === null && cache) {
      options.emit({ type: "cache", hit: jsonFromCache, modelId, stored: true });
    } else {
      if (cache && storedAnything) await deleteModelEntries(cache, url, modelId, shards);
      options.emit({
        type: "cache",
        hit: jsonFromCache,
        modelId,
        stored: false,
        reason: storeFailure ?? "not stored",
      });
    }
  }

  return {
    url,
    modelJson,
    metadata,
    weightSpecs,
    weightData: buffers,
    totalBytes,
    fromCache,
    downloadMs: now() - started,
    cacheCheck,
  };
}

/** Removes every cached model. */
export async function clearModelCache(caches: CacheStorage | null): Promise<void> {
  if (!caches) return;
  try {
    await caches.delete(MODEL_CACHE_NAME);
  } catch (error) {
    throw new Vgg16Error("cache-failed", `Could not clear Cache Storage (${describeError(error)})`, {
      cause: error,
    });
  }
}
