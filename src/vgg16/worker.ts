/**
 * The VGG16 module worker: owns TF.js, the backend and the model, and
 * exposes Vgg16WorkerApi with Comlink. One model at a time (a singleton
 * loader, as transformers.js' pipelines are): loading the same model again
 * returns the loaded one; loading another replaces it.
 */

import type { io } from "@tensorflow/tfjs";
import * as tf from "@tensorflow/tfjs";
import * as Comlink from "comlink";
import type { Vgg16Metadata } from "../model/metadata";
import type { TransferWorkerApi } from "../transfer/api";
import { createTransferApi } from "../transfer/worker-side";
import { wasmInternals } from "../wasm/tfjs-heap";
import type {
  BackendInfo,
  Capabilities,
  ClassifyOptions,
  ImageInput,
  ImageResult,
  LoadEvent,
  LoadedLocalModel,
  LoadedModel,
  LoadFilesOptions,
  LoadOptions,
  MemoryInfo,
  Vgg16WorkerApi,
} from "./api";
import { createLossWatcher } from "./backend-loss";
import { activeBackend, initBackend } from "./backends";
import { callbackSink } from "./callback-sink";
import { measureCapabilities } from "./capabilities";
import { type DecodedInput, decodeAllForVgg16, releaseDecodeCanvas } from "./decode-image";
import { errorMessage, installErrorTransfer, modelRunError, Vgg16Error } from "./errors";
import { buildVgg16Model, outputName, predictBatch, type Vgg16Runnable, warmUp } from "./graph";
import { IdleWarmUp } from "./idle-warmup";
import { isLocalModelUrl, localModelUrl, matchShards, modelFileSet, storeLocalModel } from "./local-files";
import {
  clearModelCache,
  fetchModelFiles,
  type ModelFiles,
  manifestTotalBytes,
  parseModelJson,
} from "./model-files";
import { modelStorage as storageFor } from "./opfs-cache";
import { ShardReader } from "./shard-reader";
import { streamWhileBackendStarts } from "./streamed-weights";
import { disposeEarlyWeights, transformWhileLoading } from "./wasm-runner/runner";

installErrorTransfer();

/** Reports a lost WebGL context / WebGPU device to the page at once (the client moves to the next backend). */
const lossWatcher = createLossWatcher((message) => self.postMessage(message));

/** Initialises the backend (never one lost earlier in this session) and watches it for a GPU loss. */
async function startBackend(
  choice: LoadOptions["backend"],
  caps: Capabilities,
  threads: number | undefined,
  lost: LoadOptions["lostBackends"],
): Promise<BackendInfo> {
  const backend = await initBackend(choice, caps, threads, lost ?? []);
  lossWatcher.watch(backend.name, tf.backend());
  return backend;
}

const DEFAULT_BATCH_SIZE = 4;
const MAX_BATCH_SIZE = 32;

interface Loaded {
  readonly key: string;
  readonly model: Vgg16Runnable;
  readonly info: LoadedModel;
  /** The WASM runner's warm-up, unless a classification comes first (null: warmed up before ready). */
  readonly idleWarmUp: IdleWarmUp | null;
}

/** With no classification this long after a WASM runner is ready, it warms up in the background (see uploadAndWarm). */
const IDLE_WARMUP_MS = 100;

/** The current model for a classification: it does the warm-up's work when none has run yet. */
function currentForJob(): Loaded | null {
  current?.idleWarmUp?.claim();
  return current;
}

let current: Loaded | null = null;
let inflight: {
  readonly key: string;
  readonly promise: Promise<LoadedModel>;
  readonly listeners: Set<Emit>;
} | null = null;
const cancelled = new Set<string>();

type Emit = (event: LoadEvent) => void;

function cacheStorage(): CacheStorage | null {
  try {
    return typeof caches === "undefined" ? null : caches;
  } catch {
    return null; // opaque origins throw on access
  }
}

let storage: Promise<CacheStorage | null> | null = null;
/** Where models are kept: Cache Storage, with the shards in OPFS files (opfs-cache.ts). */
function modelStorage(): Promise<CacheStorage | null> {
  storage ??= storageFor(
    cacheStorage(),
    () =>
      new ShardReader(new Worker(new URL("./shard-reader.worker.ts", import.meta.url), { type: "module" })),
  );
  return storage;
}

function keyOf(options: LoadOptions): string {
  return JSON.stringify([
    new URL(options.modelUrl, self.location.href).href,
    options.backend,
    options.wasmThreadCount,
    options.lostBackends ?? [],
  ]);
}

async function loadModel(options: LoadOptions, emit: Emit): Promise<LoadedModel> {
  const started = performance.now();
  const url = new URL(options.modelUrl, self.location.href).href;
  // The files are read while the backend starts (on a cached reload, 0.15-0.3 s of the ~2 s of reading);
  // the weights become tensors once it has started. A backend that fails stops the reading.
  const stopReading = new AbortController();
  const backendStarted = measureCapabilities().then((caps) =>
    startBackend(options.backend, caps, options.wasmThreadCount, options.lostBackends),
  );
  backendStarted.catch(() => stopReading.abort());

  // Cached shards are checked by the checksum stored with them; those cached by an earlier version, by their
  // SHA-256 while the weights are uploaded and warmed up (model-files.ts).
  const repairedFirst: string[] = [];
  const streamed = streamedWeights(backendStarted);
  const [backendResult, filesResult] = await Promise.allSettled([
    backendStarted,
    fetchModelFiles(url, {
      fetch: localAwareFetch,
      caches: await modelStorage(),
      emit: (event) => {
        if (event.type === "cache" && event.repaired) repairedFirst.push(...event.repaired);
        emit(event);
      },
      verifyCacheLater: true,
      onShards: streamed.onShards,
      signal: stopReading.signal,
    }),
  ]);
  if (backendResult.status === "rejected" || filesResult.status === "rejected") {
    streamed.dispose();
    // The backend's failure comes first: it also stopped the reading.
    throw backendResult.status === "rejected"
      ? backendResult.reason
      : (filesResult as PromiseRejectedResult).reason;
  }
  const backend = backendResult.value;
  const files = filesResult.value;
  try {
    return await uploadAndWarm(files, backend, keyOf(options), started, emit, streamed);
  } catch (error) {
    // uploadAndWarm refuses weights that failed the check; damaged weights may also have failed the build or
    // the warm-up. Either way the check says so: repair before reporting anything else.
    if (files.cacheCheck === null || (await files.cacheCheck)) throw error;
  }
  // A cached shard changed since it was stored (it matched its size, not its SHA-256): load again, this
  // time checking every cached shard before use, which drops and downloads the damaged ones. The cache
  // event lists what both passes repaired.
  const again = await fetchModelFiles(url, {
    fetch: localAwareFetch,
    caches: await modelStorage(),
    emit: (event) =>
      emit(
        event.type === "cache" && event.repaired
          ? { ...event, repaired: [...new Set([...repairedFirst, ...event.repaired])] }
          : event,
      ),
  });
  return uploadAndWarm(again, backend, keyOf(options), started, emit);
}

/**
 * Weight tensors made as the shards arrive (streamed-weights.ts). Only while no model is loaded: a model
 * switch keeps the old model until the new one's files are all there (a failed download must not lose it),
 * and never holds both models' tensors.
 */
function streamedWeights(backendStarted: Promise<unknown>) {
  /** Kernels given to transformWhileLoading: what releaseEarly frees if winogradVgg16 did not take it. */
  const early: tf.Tensor[] = [];
  const stream = streamWhileBackendStarts(tf, backendStarted, {
    // On WASM, weights that span shards are written straight into their heap tensors, and each conv kernel's
    // Winograd transform is made while the later shards are read.
    options: () => ({
      inPlace: wasmInternals(tf),
      onWeight(name, tensor) {
        try {
          transformWhileLoading(tf, name, tensor);
          early.push(tensor);
        } catch {
          // winogradVgg16 makes it again, or says what is wrong.
        }
      },
    }),
    releaseEarly: () => disposeEarlyWeights(tf, early.splice(0)),
  });
  return { ...stream, onShards: current === null ? stream.onShards : undefined };
}

/** Local models (__local-models__) live only in Cache Storage: never ask a server for them. */
const localAwareFetch: typeof fetch = (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  if (isLocalModelUrl(url)) {
    return Promise.reject(
      new Error(
        "this model was loaded from your files and is no longer in the browser's cache; load its files again",
      ),
    );
  }
  return self.fetch(input, init);
};

/**
 * The shared tail of every load: weights to tensors ("upload"), a warm-up run (the GraphModel; the WASM runner
 * leaves it to its first job); becomes the current model.
 */
async function uploadAndWarm(
  files: ModelFiles,
  backend: BackendInfo,
  key: string,
  started: number,
  emit: Emit,
  streamed: ReturnType<typeof streamedWeights> | null = null,
): Promise<LoadedModel> {
  const url = files.url;
  // A different model replaces the loaded one: free it before uploading the new weights.
  if (current) {
    current.idleWarmUp?.cancel();
    current.model.dispose();
    current = null;
  }

  const uploadStart = performance.now();
  emit({ type: "phase", phase: "upload", fraction: 0, elapsedMs: 0 });
  let model: Vgg16Runnable;
  try {
    model = await buildVgg16Model(files, streamed?.take() ?? null);
  } finally {
    streamed?.releaseEarly();
  }
  files.weightData.length = 0; // the tensors hold the weights now
  const uploadMs = performance.now() - uploadStart;
  emit({ type: "phase", phase: "upload", fraction: 1, elapsedMs: uploadMs });

  // The GraphModel (WebGL, WebGPU, CPU) warms up before it is ready: shaders compile and a lost context shows
  // there. The WASM runner compiles nothing: its first run only pays first-call costs (0.35-0.5 s of warm-up
  // on a cached reload here, of which a first image pays ~0.1-0.2 s anyway). So it is ready without one; a job
  // within IDLE_WARMUP_MS does that work (an image dropped while the model loads is classified ~0.3 s sooner),
  // else a warm-up runs in the background then.
  const warmBeforeReady = model instanceof tf.GraphModel;
  let warmupMs: number | null = null;
  if (warmBeforeReady) {
    const warmStart = performance.now();
    emit({ type: "phase", phase: "warmup", fraction: 0, elapsedMs: 0 });
    try {
      await warmUp(model, files.metadata);
    } catch (error) {
      model.dispose();
      if (error instanceof Vgg16Error) throw error;
      const message = errorMessage(error);
      if (/op is not supported/i.test(message)) {
        throw new Vgg16Error("model-invalid", `${url}: ${message}`, { url, cause: error });
      }
      throw new Vgg16Error("backend-failed", `VGG16 does not run on ${backend.name}: ${message}`, {
        cause: error,
      });
    }
    warmupMs = performance.now() - warmStart;
  }
  if (files.cacheCheck && !(await files.cacheCheck)) {
    model.dispose();
    throw new Error("a cached weights shard does not match its SHA-256");
  }
  emit(
    warmupMs === null
      ? { type: "phase", phase: "warmup", fraction: 1, elapsedMs: 0, deferred: true }
      : { type: "phase", phase: "warmup", fraction: 1, elapsedMs: warmupMs },
  );

  const info: LoadedModel = {
    metadata: files.metadata,
    backend: activeBackend() ?? backend,
    engine: model instanceof tf.GraphModel ? "graph-model" : "wasm-runner",
    ...(model.convolutionThreads ? { convolutionThreads: model.convolutionThreads } : {}),
    fromCache: files.fromCache,
    timings: {
      downloadMs: files.downloadMs,
      uploadMs,
      warmupMs,
      totalMs: performance.now() - started,
    },
  };
  const idleWarmUp = warmBeforeReady
    ? null
    : new IdleWarmUp(() => warmUp(model, files.metadata), IDLE_WARMUP_MS);
  current = { key, model, info, idleWarmUp };
  idleWarmUp?.start();
  return info;
}

/** A Uint8Array's bytes as an ArrayBuffer of exactly that length (no copy when it is the whole buffer). */
function exactBuffer(bytes: Uint8Array): ArrayBuffer {
  if (
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
  ) {
    return bytes.buffer;
  }
  return bytes.slice().buffer as ArrayBuffer;
}

/** Reads the files (converting a .h5), keeps them in Cache Storage under a local URL, then uploadAndWarm. */
async function loadModelFiles(
  files: readonly File[],
  options: LoadFilesOptions,
  emit: Emit,
): Promise<LoadedLocalModel> {
  const started = performance.now();
  const set = modelFileSet(files);
  if (!set) {
    throw new Vgg16Error(
      "model-invalid",
      `None of ${files.map((f) => f.name).join(", ") || "the files"} is a model: give a Keras .h5 file, or a model.json with its .bin files.`,
    );
  }
  const caps = await measureCapabilities();
  const backend = await startBackend(options.backend, caps, options.wasmThreadCount, options.lostBackends);

  const convertStart = performance.now();
  const progress = (fraction: number) =>
    emit({ type: "phase", phase: "convert", fraction, elapsedMs: performance.now() - convertStart });
  progress(0);
  let modelJson: io.ModelJSON;
  let metadata: Vgg16Metadata;
  let buffers: ArrayBuffer[];
  let jsonName: string;
  if (set.kind === "h5") {
    // Loaded on demand: h5wasm is a 4.5 MB module that every worker start would otherwise parse (and a model
    // load would wait for), while few users ever convert an .h5 file.
    const { convertH5File } = await import("./convert-file");
    const artifacts = await convertH5File(set.file, progress);
    const parsed = parseModelJson(set.file.name, JSON.stringify(artifacts.modelJson));
    modelJson = parsed.modelJson;
    metadata = parsed.metadata;
    buffers = artifacts.shards.map(exactBuffer);
    jsonName = set.file.name;
  } else {
    jsonName = set.modelJson.name;
    const parsed = parseModelJson(jsonName, await set.modelJson.text());
    modelJson = parsed.modelJson;
    metadata = parsed.metadata;
    const shardFiles = matchShards(jsonName, modelJson.weightsManifest, set.others);
    buffers = [];
    for (const [i, shard] of shardFiles.entries()) {
      buffers.push(await shard.arrayBuffer());
      progress((i + 1) / shardFiles.length);
    }
  }
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
  let totalBytes: number;
  try {
    totalBytes = manifestTotalBytes(modelJson.weightsManifest);
  } catch (error) {
    throw new Vgg16Error("model-invalid", `${jsonName}: ${errorMessage(error)}`, { cause: error });
  }
  const loadedBytes = buffers.reduce((sum, b) => sum + b.byteLength, 0);
  if (loadedBytes !== totalBytes) {
    throw new Vgg16Error(
      "model-invalid",
      `${jsonName}: the weight files hold ${loadedBytes} bytes but the manifest describes ${totalBytes}`,
    );
  }
  progress(1);
  const convertMs = performance.now() - convertStart;

  const url = localModelUrl(self.location.origin, metadata.modelId);
  const problem = await storeLocalModel(
    await modelStorage(),
    url,
    JSON.stringify(modelJson),
    modelJson.weightsManifest,
    metadata.modelId,
    buffers,
  );
  emit({
    type: "cache",
    hit: false,
    modelId: metadata.modelId,
    stored: problem === null,
    ...(problem === null ? {} : { reason: problem }),
  });

  const modelFiles: ModelFiles = {
    url,
    modelJson,
    metadata,
    weightSpecs,
    weightData: buffers,
    totalBytes,
    fromCache: false,
    downloadMs: convertMs,
    cacheCheck: null,
  };
  const key = keyOf({
    modelUrl: url,
    backend: options.backend,
    wasmThreadCount: options.wasmThreadCount,
    lostBackends: options.lostBackends,
  });
  const info = await uploadAndWarm(modelFiles, backend, key, started, emit);
  const { weightsManifest, ...rest } = modelJson;
  return { ...info, modelUrl: url, stored: problem === null, modelJson: { ...rest, weightsManifest } };
}

/** Starts a load as the one in flight; callers that join it (same key) get its events too. */
async function runAsInflight<T extends LoadedModel>(
  key: string,
  first: Emit,
  start: (emit: Emit) => Promise<T>,
): Promise<T> {
  const listeners = new Set<Emit>([first]);
  const promise = start((event) => {
    for (const listener of listeners) listener(event);
  });
  inflight = { key, promise, listeners };
  try {
    return await promise;
  } finally {
    inflight = null;
  }
}

/** One load at a time: a files load waits for any other to settle. */
async function loadFiles(
  files: readonly File[],
  options: LoadFilesOptions,
  onEvent: (event: LoadEvent) => void,
): Promise<LoadedLocalModel> {
  const sink = callbackSink(onEvent);
  try {
    while (inflight) await inflight.promise.catch(() => undefined);
    return await runAsInflight(`files:${Math.random()}`, sink.send, (emit) =>
      loadModelFiles(files, options, emit),
    );
  } finally {
    await sink.flush();
    sink.release();
  }
}

async function load(options: LoadOptions, onEvent: (event: LoadEvent) => void): Promise<LoadedModel> {
  const sink = callbackSink(onEvent);
  try {
    const key = keyOf(options);
    if (current?.key === key && !inflight) return current.info;
    // One load at a time: join the same one, or wait for another to settle first.
    while (inflight) {
      if (inflight.key === key) {
        inflight.listeners.add(sink.send);
        try {
          return await inflight.promise;
        } finally {
          inflight?.listeners.delete(sink.send);
        }
      }
      await inflight.promise.catch(() => undefined);
    }
    if (current?.key === key) return current.info;
    return await runAsInflight(key, sink.send, (emit) => loadModel(options, emit));
  } finally {
    await sink.flush();
    sink.release();
  }
}

/** Where a loaded model runs, for error messages: "wasm, the WASM runner". */
const runsOn = (info: LoadedModel) =>
  `${info.backend.name}, ${info.engine === "wasm-runner" ? "the WASM runner" : "the TF.js graph model"}`;

async function classify(
  images: readonly ImageInput[],
  options: ClassifyOptions,
  onResult: (result: ImageResult) => void,
): Promise<void> {
  const sink = callbackSink(onResult);
  const { jobId } = options;
  try {
    const loaded = currentForJob();
    if (!loaded) throw new Vgg16Error("not-loaded", "No model is loaded: call load() first");
    const { model, info } = loaded;
    if (outputName(info.metadata, "predictions") === null) {
      throw new Vgg16Error(
        "no-predictions",
        `model ${info.metadata.modelId} has no "predictions" output (a features-only model cannot classify)`,
      );
    }
    const batchSize = Math.max(
      1,
      Math.min(MAX_BATCH_SIZE, Math.floor(options.batchSize ?? DEFAULT_BATCH_SIZE)),
    );
    const resize = options.resize ?? "stretch";
    for (let start = 0; start < images.length; start += batchSize) {
      if (cancelled.has(jobId)) break;
      const batch = images.slice(start, start + batchSize);
      const decoded = await decodeAllForVgg16(
        batch.map((image) => image.blob),
        resize,
      );

      const inputs = decoded.flatMap((d) => (d.ok ? [d.input] : []));
      const inferStart = performance.now();
      let top5s: Awaited<ReturnType<typeof predictBatch>>;
      try {
        top5s = await predictBatch(model, info.metadata, inputs, 5);
      } catch (error) {
        lossWatcher.check(); // a lost GPU backend is the cause, not what it threw
        throw modelRunError(error, runsOn(info));
      }
      const perImageMs = inputs.length > 0 ? (performance.now() - inferStart) / inputs.length : 0;
      // Numbers read back from a lost GPU context are not results: the batch is done again on the next backend.
      lossWatcher.check();

      let row = 0;
      batch.forEach((image, i) => {
        const d = decoded[i] as DecodedInput;
        if (!d.ok) {
          sink.send({ id: image.id, name: image.name, ok: false, error: d.error });
          return;
        }
        const top5 = top5s[row++] ?? [];
        sink.send({
          id: image.id,
          name: image.name,
          ok: true,
          top5,
          ms: perImageMs + d.decodeMs,
          width: d.width,
          height: d.height,
        });
      });
      // Results reach the page before the next batch starts (and before this call returns).
      await sink.flush();
    }
  } finally {
    cancelled.delete(jobId);
    releaseDecodeCanvas();
    await sink.flush();
    sink.release();
  }
}

const transfer = createTransferApi({
  current: () =>
    current ? { model: current.model, metadata: current.info.metadata, where: runsOn(current.info) } : null,
  modelRuns: () => current?.idleWarmUp?.claim(),
  cancelled,
  checkBackend: () => lossWatcher.check(),
});

const api: Vgg16WorkerApi & TransferWorkerApi = {
  ...transfer,
  capabilities(): Promise<Capabilities> {
    return measureCapabilities();
  },
  load,
  loadFiles,
  classify,
  cancel(jobId: string): void {
    cancelled.add(jobId);
  },
  async memory(): Promise<MemoryInfo> {
    const backend = activeBackend();
    // tf.memory() would initialise the best backend on its own: ask only once one is chosen.
    if (!backend) return { numTensors: 0, numBytes: 0, backend: null };
    const m = tf.memory();
    return { numTensors: m.numTensors, numBytes: m.numBytes, backend: backend.name };
  },
  async clearCache(): Promise<void> {
    await clearModelCache(await modelStorage());
  },
  crashForTesting(delayMs: number): void {
    setTimeout(() => {
      throw new Error("crash requested for testing");
    }, delayMs);
  },
};

/**
 * Every call's error becomes Vgg16Error "backend-lost" when the GPU backend was lost meanwhile: whatever TF.js
 * threw then (a failed texture, a rejected buffer map) is a symptom, not the cause.
 */
function guardBackendLoss<T extends object>(target: T): T {
  const guarded: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(target)) {
    guarded[name] =
      typeof value === "function"
        ? async (...args: unknown[]) => {
            try {
              return await (value as (...a: unknown[]) => unknown).apply(target, args);
            } catch (error) {
              throw (await lossWatcher.explain(error)) ?? error;
            }
          }
        : value;
  }
  return guarded as T;
}

Comlink.expose(guardBackendLoss(api));
