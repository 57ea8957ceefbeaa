/**
 * The one typed API between the UI and the VGG16 worker (exposed with
 * Comlink). The worker owns TF.js and the model; the UI never posts messages
 * by hand. Callbacks are passed as Comlink proxies.
 */
import type { Prediction } from "../model/decode";
import type { Vgg16Metadata } from "../model/metadata";
import type { ResizeMode } from "../preprocess/preprocess";

export type BackendName = "webgpu" | "webgl" | "wasm" | "cpu";
export type BackendChoice = BackendName | "auto";

/** What the worker's environment offers, measured without initialising any backend. */
export interface Capabilities {
  /** null: navigator.gpu absent; false: requestAdapter() returned null. */
  readonly webgpuAdapter: boolean | null;
  readonly webgpuFallbackAdapter: boolean;
  /** 0 when no WebGL2 context can be made (in a worker: on an OffscreenCanvas). */
  readonly webglMaxTextureSize: number;
  /**
   * The WebGL2 context is a software rasteriser (SwiftShader, llvmpipe, "Software" in the unmasked renderer,
   * or Chrome refuses a context with failIfMajorPerformanceCaveat): VGG16 takes 30+ s per image there.
   */
  readonly webglSoftware: boolean;
  /** The unmasked WebGL renderer string when the browser reveals it (WEBGL_debug_renderer_info), else null. */
  readonly webglRenderer?: string | null;
  /** WebAssembly available at all; absent means yes. */
  readonly wasm?: boolean;
  readonly wasmSimd: boolean;
  /** SharedArrayBuffer + cross-origin isolation: threaded WASM possible. */
  readonly wasmThreads: boolean;
  readonly hardwareConcurrency: number;
}

export interface BackendDecision {
  readonly backend: BackendName;
  /** Human-readable, e.g. "WASM, 2 threads, SIMD: no WebGPU adapter". */
  readonly reason: string;
  /** Threads to give the WASM backend (null for other backends). */
  readonly threads: number | null;
  /** Backends to try next, in order, if this one fails to initialise. */
  readonly fallbacks: readonly BackendName[];
}

export interface BackendInfo {
  readonly name: BackendName;
  readonly reason: string;
  readonly threads: number | null;
  readonly simd: boolean | null;
}

/** "convert": a model given as files is read (and a Keras .h5 converted) in the worker. */
export type LoadPhase = "download" | "convert" | "upload" | "warmup";

export type LoadEvent =
  | {
      readonly type: "phase";
      readonly phase: LoadPhase;
      /** 0..1 within the phase. */
      readonly fraction: number;
      readonly loadedBytes?: number;
      readonly totalBytes?: number;
      readonly elapsedMs: number;
      /** The warm-up is left to the first image (the WASM runner: see LoadedModel.timings.warmupMs). */
      readonly deferred?: boolean;
    }
  | {
      readonly type: "cache";
      readonly hit: boolean;
      readonly modelId?: string;
      /**
       * Set after a download from the network: true once the model is in Cache Storage, false when storing
       * failed (quota, private mode, no Cache Storage); loading goes on either way.
       */
      readonly stored?: boolean;
      /** Why storing failed, in words (e.g. "QuotaExceededError: …"). */
      readonly reason?: string;
      /** Shards found damaged in the cache (file names): dropped and downloaded again. */
      readonly repaired?: readonly string[];
    };

export interface LoadOptions {
  readonly modelUrl: string;
  readonly backend: BackendChoice;
  /**
   * WASM only: the number of XNNPACK threads, overriding the capability-based choice (benchmarks, tests).
   * Takes effect when the WASM backend first initialises in a worker.
   */
  readonly wasmThreadCount?: number;
  /**
   * Backends whose GPU context or device was lost earlier in this session (set by the client): never chosen
   * again, so the model reloads on the next backend in the chooser's order.
   */
  readonly lostBackends?: readonly BackendName[];
}

/** Loading a model the user gave as files (a Keras .h5, or model.json + its shards). */
export interface LoadFilesOptions {
  readonly backend: BackendChoice;
  readonly wasmThreadCount?: number;
  readonly lostBackends?: readonly BackendName[];
}

/**
 * Posted by the worker (a plain message beside Comlink's) as soon as the GPU backend in use is lost: the WebGL
 * context (webglcontextlost) or the WebGPU device (GPUDevice.lost). The client then replaces the worker and
 * reloads the model on the next backend.
 */
export interface BackendLostMessage {
  readonly type: "vgg16:backend-lost";
  readonly backend: BackendName;
  /** What the browser said, e.g. "WebGL context lost" or the GPUDeviceLostInfo message. */
  readonly message: string;
}

/**
 * What runs VGG16 in the worker: on WASM with SIMD the runner of
 * src/vgg16/wasm-runner/ (Winograd convolutions, streaming dense layers);
 * elsewhere TF.js' GraphModel.
 */
export type Vgg16Engine = "wasm-runner" | "graph-model";

export interface LoadedModel {
  readonly metadata: Vgg16Metadata;
  readonly backend: BackendInfo;
  readonly engine: Vgg16Engine;
  /**
   * Threads the WASM runner's convolutions run on: its own helper thread
   * counts (relaxed SIMD), else XNNPACK's. Absent for the GraphModel.
   */
  readonly convolutionThreads?: number;
  readonly fromCache: boolean;
  readonly timings: {
    readonly downloadMs: number;
    readonly uploadMs: number;
    /**
     * The warm-up run before the model was ready; null when there was none: the WASM runner is ready without
     * one, and the first job (or, with none in 100 ms, a warm-up in the background) pays the first-call costs.
     */
    readonly warmupMs: number | null;
    readonly totalMs: number;
  };
}

export interface LoadedLocalModel extends LoadedModel {
  /**
   * Where the model is kept in Cache Storage (`<origin>/__local-models__/<modelId>/model.json`): load() with it
   * reads the cache and never the network. Usable after a reload only when `stored`.
   */
  readonly modelUrl: string;
  readonly stored: boolean;
  /** The model.json (small: topology and manifest), for the UI's facts. */
  readonly modelJson: unknown;
}

export interface ImageInput {
  readonly id: string;
  readonly name: string;
  readonly blob: Blob;
}

export type ImageResult =
  | {
      readonly id: string;
      readonly name: string;
      readonly ok: true;
      readonly top5: readonly Prediction[];
      /** Wall time for this image's share of its batch (decode + preprocess + inference). */
      readonly ms: number;
      readonly width: number;
      readonly height: number;
    }
  | { readonly id: string; readonly name: string; readonly ok: false; readonly error: string };

export interface ClassifyOptions {
  readonly jobId: string;
  readonly batchSize?: number;
  readonly resize?: ResizeMode;
}

export interface MemoryInfo {
  readonly numTensors: number;
  readonly numBytes: number;
  readonly backend: BackendName | null;
}

export interface Vgg16WorkerApi {
  capabilities(): Promise<Capabilities>;
  load(options: LoadOptions, onEvent: (event: LoadEvent) => void): Promise<LoadedModel>;
  /**
   * Loads a model given as files: one Keras .h5 (converted here) or model.json with its shards (matched by base
   * name). Kept in Cache Storage under a local URL (LoadedLocalModel.modelUrl). Errors: Vgg16Error "model-invalid"
   * naming the file (and the layer).
   */
  loadFiles(
    files: readonly File[],
    options: LoadFilesOptions,
    onEvent: (event: LoadEvent) => void,
  ): Promise<LoadedLocalModel>;
  /** Streams one result per image as each batch finishes; resolves when all are done or the job is cancelled. */
  classify(
    images: readonly ImageInput[],
    options: ClassifyOptions,
    onResult: (result: ImageResult) => void,
  ): Promise<void>;
  /** Stops a job between batches. */
  cancel(jobId: string): void;
  memory(): Promise<MemoryInfo>;
  clearCache(): Promise<void>;
  /** Test hook: throws an uncaught error in the worker's global scope after `delayMs` (a real crash). */
  crashForTesting?(delayMs: number): void;
}
