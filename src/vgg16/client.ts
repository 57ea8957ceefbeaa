/**
 * The main-thread side of the VGG16 worker: what the UI uses.
 *
 * - One module worker (Comlink), created on first use.
 * - Jobs (load, classify, clearCache) run one at a time, in order. An
 *   AbortSignal removes a queued job (it rejects with an AbortError
 *   DOMException); a running classify is cancelled in the worker between
 *   batches and then rejects with an AbortError; an aborted running load
 *   rejects at once while the worker finishes it.
 * - A crashed worker (its "error" event) or a hung one (no progress for
 *   longer than a job could take) is terminated and replaced; onCrash and
 *   onRestart are called; the last loaded model is loaded again; the running
 *   job is re-run: a classify only for the images not reported yet. Queued
 *   jobs stay queued. Nothing is lost unless the same job kills the worker
 *   again and again (then it fails with Vgg16Error "worker-crashed").
 * - A lost GPU backend (the worker's BackendLostMessage: WebGL context or
 *   WebGPU device lost) is handled like a crash, except that the lost
 *   backend is never used again in this session: the fresh worker loads the
 *   model on the next backend in the chooser's order, the unfinished work is
 *   re-run there, and onBackendLost / onModelRestored tell the UI.
 * - Errors from the worker arrive as Vgg16Error with their `code`.
 */
import * as Comlink from "comlink";
import type { ResizeMode } from "../preprocess/preprocess";
import type {
  EvaluateRequest,
  EvaluationResult,
  ExtractProgress,
  FeatureResult,
  HeadExport,
  HeadState,
  LessonImage,
  TrainEvent,
  TrainRequest,
  TrainSummary,
  TransferWorkerApi,
  TryResult,
} from "../transfer/api";
import type { Preprocessing } from "../transfer/feature-cache";
import type {
  BackendName,
  Capabilities,
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
import { isBackendLostMessage } from "./backend-loss";
import { abortError, errorMessage, installErrorTransfer, isVgg16Error, Vgg16Error } from "./errors";

export type {
  EvaluateRequest,
  EvaluationResult,
  ExtractProgress,
  FeatureResult,
  HeadExport,
  HeadState,
  LessonImage,
  TrainEvent,
  TrainRequest,
  TrainSummary,
  TryResult,
} from "../transfer/api";
export type {
  BackendChoice,
  BackendDecision,
  BackendInfo,
  BackendName,
  Capabilities,
  ImageInput,
  ImageResult,
  LoadEvent,
  LoadedLocalModel,
  LoadedModel,
  LoadFilesOptions,
  LoadOptions,
  LoadPhase,
  MemoryInfo,
} from "./api";
export type { Vgg16ErrorCode } from "./errors";
export { isVgg16Error, Vgg16Error } from "./errors";
export type { ResizeMode };

installErrorTransfer();

export interface BackendLoss {
  readonly backend: BackendName;
  readonly message: string;
}

export interface Vgg16ClientEvents {
  onCrash?(message: string): void;
  onRestart?(): void;
  /** The GPU backend in use was lost; the model is being loaded on the next backend (a fresh worker). */
  onBackendLost?(loss: BackendLoss): void;
  /** The last model was loaded again into a fresh worker (after a crash or a backend loss), on this backend. */
  onModelRestored?(model: LoadedModel): void;
}

/** What the client needs of a Worker (tests pass a fake over a MessageChannel). */
export type WorkerLike = Comlink.Endpoint & { terminate(): void };

export interface Vgg16ClientOptions {
  /** Default: the module worker in ./worker.ts. */
  readonly createWorker?: () => WorkerLike;
  /**
   * A job showing no sign of life (load event, result) for this long means a hung worker. Default: 5 min for a
   * load; 2 min + 2 min per image of a batch for a classify (CPU and software-GL backends take ~1 min per image).
   */
  readonly hangTimeoutMs?: number;
  /** Restarts one job may cause before it fails with "worker-crashed". Default 2. */
  readonly maxRestartsPerJob?: number;
}

const LOAD_HANG_MS = 5 * 60_000;
const CLASSIFY_HANG_BASE_MS = 2 * 60_000;
const CLASSIFY_HANG_PER_IMAGE_MS = 2 * 60_000;
const SMALL_CALL_HANG_MS = 60_000;
/** More crashes than this within a minute: stop restarting the worker eagerly (a broken build, not bad luck). */
const MAX_CRASHES_PER_MINUTE = 4;

/** What the worker exposes: the classifier's API and the transfer-learning one. */
type WorkerApi = Vgg16WorkerApi & TransferWorkerApi;

const TRANSFER_HANG_MS = 5 * 60_000;

function defaultWorker(): WorkerLike {
  return new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
}

function absoluteUrl(url: string): string {
  const base =
    typeof document !== "undefined"
      ? document.baseURI
      : (globalThis as { location?: { href: string } }).location?.href;
  try {
    return new URL(url, base).href;
  } catch {
    return url;
  }
}

function keyOf(options: LoadOptions): string {
  return JSON.stringify([options.modelUrl, options.backend, options.wasmThreadCount ?? null]);
}

function describeErrorEvent(event: Event): string {
  const e = event as ErrorEvent;
  const where = e.filename ? ` (${e.filename}:${e.lineno ?? 0})` : "";
  return e.message ? `${e.message}${where}` : "the worker failed (no message)";
}

function safely<A extends unknown[]>(fn: ((...args: A) => unknown) | undefined, ...args: A): void {
  try {
    fn?.(...args);
  } catch (error) {
    console.error("vgg16 client: a callback threw", error);
  }
}

class WorkerHandle {
  readonly api: Comlink.Remote<WorkerApi>;
  /** Rejects with Vgg16Error "worker-crashed" once this worker is given up. */
  readonly dead: Promise<never>;
  alive = true;
  /** Key of the model this worker holds (as far as the client knows). */
  loadedKey: string | null = null;
  restoring: Promise<void> | null = null;
  private kill: (error: Vgg16Error) => void = () => undefined;

  constructor(
    private readonly endpoint: WorkerLike,
    onCrash: (handle: WorkerHandle, message: string, lost?: BackendLoss) => void,
  ) {
    this.dead = new Promise<never>((_, reject) => {
      this.kill = reject;
    });
    this.dead.catch(() => undefined);
    endpoint.addEventListener("error", (event) => onCrash(this, describeErrorEvent(event)));
    // Comlink ignores messages without its id: this one is the worker saying its GPU backend is gone.
    endpoint.addEventListener("message", (event) => {
      const data = (event as MessageEvent).data;
      if (isBackendLostMessage(data)) {
        onCrash(this, `${data.backend} backend lost: ${data.message}`, {
          backend: data.backend,
          message: data.message,
        });
      }
    });
    endpoint.addEventListener("messageerror", () =>
      onCrash(this, "a message from the worker could not be read"),
    );
    this.api = Comlink.wrap<WorkerApi>(endpoint);
  }

  /** A worker call that also fails as soon as this worker is given up. */
  call<T>(fn: (api: Comlink.Remote<WorkerApi>) => Promise<T>): Promise<T> {
    if (!this.alive) return this.dead;
    return Promise.race([fn(this.api), this.dead]);
  }

  terminate(message: string): void {
    if (!this.alive) return;
    this.alive = false;
    this.kill(new Vgg16Error("worker-crashed", `The VGG16 worker crashed: ${message}`));
    try {
      this.endpoint.terminate();
    } catch {
      // already gone
    }
  }
}

type JobKind = "load" | "classify" | "clear" | "restore" | "extract" | "train" | "transfer";

/** Passes a load's events on while the job is live; each event also counts as activity for the hang watchdog. */
function loadEventForwarder(job: Job, onEvent: (e: LoadEvent) => void): (e: LoadEvent) => void {
  return Comlink.proxy((event: LoadEvent) => {
    job.lastActivity = Date.now();
    if (!job.aborted) safely(onEvent, event);
  });
}

interface Job {
  readonly id: string;
  readonly kind: JobKind;
  readonly signal: AbortSignal | undefined;
  readonly hangMs: number;
  /** Whether the worker must hold the last loaded model before run(). */
  readonly needsModel: boolean;
  readonly run: (handle: WorkerHandle, job: Job) => Promise<unknown>;
  /** False: a crash fails the job with "worker-crashed" instead of re-running it on a fresh worker. */
  readonly retry?: boolean;
  /** True: an abort of the running job cancels it in the worker and the job resolves with what it returns. */
  readonly resolveOnAbort?: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  aborted: boolean;
  lastActivity: number;
  handle: WorkerHandle | null;
  cleanup: () => void;
}

interface LastLoad {
  readonly key: string;
  readonly options: LoadOptions;
  readonly onEvent: (event: LoadEvent) => void;
}

export class Vgg16Client {
  private events: Vgg16ClientEvents;
  private readonly options: Vgg16ClientOptions;
  private handle: WorkerHandle | null = null;
  private readonly queue: Job[] = [];
  private running: Job | null = null;
  private lastLoad: LastLoad | null = null;
  private disposed = false;
  private jobCounter = 0;
  private crashTimes: number[] = [];
  /** GPU backends lost in this session: every later load (and reload) passes them over. */
  private readonly lostBackends = new Set<BackendName>();

  constructor(events: Vgg16ClientEvents = {}, options: Vgg16ClientOptions = {}) {
    this.events = events;
    this.options = options;
  }

  /** Replaces the crash/restart handlers (getVgg16Client(events) on an existing client does this). */
  setEvents(events: Vgg16ClientEvents): void {
    this.events = events;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  capabilities(): Promise<Capabilities> {
    return this.direct((api) => api.capabilities());
  }

  load(options: LoadOptions, onEvent: (e: LoadEvent) => void, signal?: AbortSignal): Promise<LoadedModel> {
    const resolved: LoadOptions = { ...options, modelUrl: absoluteUrl(options.modelUrl) };
    const key = keyOf(resolved);
    return this.enqueue<LoadedModel>({
      kind: "load",
      signal,
      hangMs: this.options.hangTimeoutMs ?? LOAD_HANG_MS,
      needsModel: false,
      run: async (handle, job) => {
        handle.loadedKey = null;
        const loaded = await handle.call((api) =>
          api.load(this.avoidingLost(resolved), loadEventForwarder(job, onEvent)),
        );
        handle.loadedKey = key;
        this.lastLoad = { key, options: resolved, onEvent: job.aborted ? () => undefined : onEvent };
        return loaded;
      },
    });
  }

  /**
   * Loads a model given as files (a Keras .h5, or model.json + shards), queued like load(). The worker keeps it
   * in Cache Storage under LoadedLocalModel.modelUrl; after a crash the client reloads it from there.
   */
  loadFiles(
    files: readonly File[],
    options: LoadFilesOptions,
    onEvent: (e: LoadEvent) => void,
    signal?: AbortSignal,
  ): Promise<LoadedLocalModel> {
    const list = [...files];
    return this.enqueue<LoadedLocalModel>({
      kind: "load",
      signal,
      hangMs: this.options.hangTimeoutMs ?? LOAD_HANG_MS,
      needsModel: false,
      run: async (handle, job) => {
        handle.loadedKey = null;
        const loaded = await handle.call((api) =>
          api.loadFiles(list, this.avoidingLost(options), loadEventForwarder(job, onEvent)),
        );
        const resolved: LoadOptions = { ...options, modelUrl: loaded.modelUrl };
        const key = keyOf(resolved);
        handle.loadedKey = key;
        this.lastLoad = { key, options: resolved, onEvent: job.aborted ? () => undefined : onEvent };
        return loaded;
      },
    });
  }

  classify(
    images: readonly ImageInput[],
    options: { batchSize?: number; resize?: ResizeMode },
    onResult: (r: ImageResult) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    // Internal ids are positions: duplicate ids from the caller cannot confuse the re-run after a crash.
    const internal: ImageInput[] = images.map((image, i) => ({
      id: String(i),
      name: image.name,
      blob: image.blob,
    }));
    const reported = new Set<number>();
    const batchSize = options.batchSize ?? 4;
    return this.enqueue<void>({
      kind: "classify",
      signal,
      hangMs: this.options.hangTimeoutMs ?? CLASSIFY_HANG_BASE_MS + batchSize * CLASSIFY_HANG_PER_IMAGE_MS,
      needsModel: true,
      run: async (handle, job) => {
        const remaining = internal.filter((_, i) => !reported.has(i));
        if (remaining.length === 0) return;
        const forward = (result: ImageResult) => {
          job.lastActivity = Date.now();
          const i = Number(result.id);
          const original = images[i];
          if (!original || reported.has(i)) return;
          reported.add(i);
          safely(onResult, { ...result, id: original.id, name: original.name });
        };
        await handle.call((api) =>
          api.classify(
            remaining,
            { jobId: job.id, batchSize, resize: options.resize },
            Comlink.proxy(forward),
          ),
        );
      },
    });
  }

  // ---- transfer learning (src/transfer/api.ts) ---------------------------------------------------------------

  /**
   * Computes (or finds cached) conv-base features for each image, queued like classify(): one result per image
   * with running progress; an abort stops between batches and rejects with an AbortError; after a worker crash
   * the images not reported yet are done again on the fresh worker.
   */
  extractFeatures(
    images: readonly LessonImage[],
    options: { batchSize?: number; preprocessing?: Preprocessing },
    onResult: (result: FeatureResult, progress: ExtractProgress) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const internal: LessonImage[] = images.map((image, i) => ({
      id: String(i),
      name: image.name,
      blob: image.blob,
    }));
    const reported = new Set<number>();
    const batchSize = options.batchSize ?? 4;
    const total = images.length;
    return this.enqueue<void>({
      kind: "extract",
      signal,
      hangMs: this.options.hangTimeoutMs ?? CLASSIFY_HANG_BASE_MS + batchSize * CLASSIFY_HANG_PER_IMAGE_MS,
      needsModel: true,
      run: async (handle, job) => {
        const remaining = internal.filter((_, i) => !reported.has(i));
        if (remaining.length === 0) return;
        // Progress counts over the whole request, also when a re-run after a crash sees only part of it.
        const before = reported.size;
        const forward = (result: FeatureResult, progress: ExtractProgress) => {
          job.lastActivity = Date.now();
          const i = Number(result.id);
          const original = images[i];
          if (!original || reported.has(i)) return;
          reported.add(i);
          safely(
            onResult,
            { ...result, id: original.id },
            { ...progress, done: before + progress.done, total },
          );
        };
        await handle.call((api) =>
          api.extractFeatures(
            remaining,
            {
              jobId: job.id,
              batchSize,
              ...(options.preprocessing ? { preprocessing: options.preprocessing } : {}),
            },
            Comlink.proxy(forward),
          ),
        );
      },
    });
  }

  /**
   * Trains the head on extracted features, queued. An abort stops at the end of the current batch and the call
   * resolves with `stopped: true` (what was learned is kept). A worker crash is not re-run: it rejects with
   * Vgg16Error "worker-crashed".
   */
  trainHead(
    request: Omit<TrainRequest, "jobId">,
    onEvent: (event: TrainEvent) => void,
    signal?: AbortSignal,
  ): Promise<TrainSummary> {
    return this.enqueue<TrainSummary>({
      kind: "train",
      signal,
      hangMs: this.options.hangTimeoutMs ?? TRANSFER_HANG_MS,
      needsModel: true,
      retry: false,
      resolveOnAbort: true,
      run: (handle, job) => {
        const forward = (event: TrainEvent) => {
          job.lastActivity = Date.now();
          safely(onEvent, event);
        };
        return handle.call((api) => api.trainHead({ ...request, jobId: job.id }, Comlink.proxy(forward)));
      },
    });
  }

  evaluateHead(request: EvaluateRequest, signal?: AbortSignal): Promise<EvaluationResult> {
    return this.transferJob((api) => api.evaluateHead(request), signal, true);
  }

  /** Classifies images with the conv base + the head (label and its probability per image). */
  tryHead(
    images: readonly LessonImage[],
    preprocessing: Preprocessing,
    signal?: AbortSignal,
  ): Promise<TryResult[]> {
    const list = images.map((image) => ({ id: image.id, name: image.name, blob: image.blob }));
    return this.transferJob((api) => api.tryHead(list, preprocessing), signal, true);
  }

  /** The head as model.json + weights (null when there is none). */
  exportHead(signal?: AbortSignal): Promise<HeadExport | null> {
    return this.transferJob((api) => api.exportHead(), signal, false);
  }

  /** Replaces the head with an exported one (also saved in IndexedDB). */
  importHead(artifacts: HeadExport, signal?: AbortSignal): Promise<void> {
    // Needs the model: importing creates the head's tensors, which needs the worker's backend ready.
    return this.transferJob((api) => api.importHead(artifacts), signal, true);
  }

  clearFeatureCache(): Promise<void> {
    return this.transferJob((api) => api.clearFeatureCache(), undefined, false);
  }

  featureCacheInfo(): ReturnType<TransferWorkerApi["featureCacheInfo"]> {
    return this.direct((api) => api.featureCacheInfo());
  }

  /** The worker's head (restored from IndexedDB after a reload), or null. */
  headState(): Promise<HeadState | null> {
    return this.direct((api) => api.headState());
  }

  private transferJob<T>(
    fn: (api: Comlink.Remote<WorkerApi>) => Promise<T>,
    signal: AbortSignal | undefined,
    needsModel: boolean,
  ): Promise<T> {
    return this.enqueue<T>({
      kind: "transfer",
      signal,
      hangMs: this.options.hangTimeoutMs ?? TRANSFER_HANG_MS,
      needsModel,
      run: (handle) => handle.call(fn),
    });
  }

  memory(): Promise<MemoryInfo> {
    return this.direct((api) => api.memory());
  }

  clearCache(): Promise<void> {
    return this.enqueue<void>({
      kind: "clear",
      signal: undefined,
      hangMs: this.options.hangTimeoutMs ?? SMALL_CALL_HANG_MS,
      needsModel: false,
      run: (handle) => handle.call((api) => api.clearCache()),
    });
  }

  /** Test hook: makes the worker throw an uncaught error after `delayMs` (a real crash of the worker). */
  async crashWorkerForTesting(delayMs = 0): Promise<void> {
    const handle = this.ensureHandle();
    // Comlink proxies every property, so the optional method is callable on a worker that has it.
    const crash = (api: Comlink.Remote<WorkerApi>) =>
      (api.crashForTesting as unknown as (ms: number) => Promise<void>)(delayMs);
    await handle.call(crash);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const error = () => new DOMException("The VGG16 client was disposed.", "AbortError");
    for (const job of this.queue.splice(0)) {
      job.cleanup();
      job.reject(error());
    }
    if (this.running) {
      this.running.aborted = true;
      this.running.reject(error());
    }
    this.handle?.terminate("disposed");
    this.handle = null;
    if (singleton === this) singleton = null;
  }

  // ---- internals -------------------------------------------------------------------------------------------

  private ensureHandle(): WorkerHandle {
    if (this.disposed) throw new Vgg16Error("disposed", "The VGG16 client was disposed");
    if (!this.handle) {
      const create = this.options.createWorker ?? defaultWorker;
      this.handle = new WorkerHandle(create(), (handle, message, lost) =>
        this.handleCrash(handle, message, lost),
      );
    }
    return this.handle;
  }

  /** Options for a load that passes over the backends lost so far. */
  private avoidingLost<T extends LoadOptions | LoadFilesOptions>(options: T): T {
    if (this.lostBackends.size === 0) return options;
    return { ...options, lostBackends: [...this.lostBackends] };
  }

  private handleCrash(handle: WorkerHandle, message: string, lost?: BackendLoss): void {
    if (handle !== this.handle || !handle.alive) return;
    handle.terminate(message);
    this.handle = null;
    const now = Date.now();
    this.crashTimes = [...this.crashTimes.filter((t) => now - t < 60_000), now];
    if (lost) {
      this.lostBackends.add(lost.backend);
      safely(this.events.onBackendLost, lost);
    } else {
      safely(this.events.onCrash, message);
    }
    if (this.disposed || this.crashTimes.length > MAX_CRASHES_PER_MINUTE) return;
    this.ensureHandle();
    if (!lost) safely(this.events.onRestart);
    // Reload the last model now, ahead of anything queued (a running classify reloads it first on its retry;
    // then this finds it loaded and does nothing).
    if (this.lastLoad) {
      this.enqueue<void>(
        {
          kind: "restore",
          signal: undefined,
          hangMs: this.options.hangTimeoutMs ?? LOAD_HANG_MS,
          needsModel: true,
          run: async () => undefined,
        },
        true,
      ).catch(() => undefined);
    }
  }

  /** Small calls that bypass the queue (answered between batches); retried once on a fresh worker after a crash. */
  private async direct<T>(fn: (api: Comlink.Remote<WorkerApi>) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const handle = this.ensureHandle();
      try {
        return await this.watch(handle, this.running ? null : SMALL_CALL_HANG_MS, () => handle.call(fn));
      } catch (error) {
        if (attempt === 0 && isVgg16Error(error, "worker-crashed") && !this.disposed) continue;
        throw error;
      }
    }
  }

  private enqueue<T>(
    spec: Pick<Job, "kind" | "signal" | "hangMs" | "needsModel" | "run" | "retry" | "resolveOnAbort">,
    front = false,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.disposed) {
        reject(new Vgg16Error("disposed", "The VGG16 client was disposed"));
        return;
      }
      if (spec.signal?.aborted) {
        reject(abortError(spec.signal));
        return;
      }
      const job: Job = {
        ...spec,
        id: `${spec.kind}-${++this.jobCounter}`,
        resolve: resolve as (value: unknown) => void,
        reject,
        aborted: false,
        lastActivity: Date.now(),
        handle: null,
        cleanup: () => undefined,
      };
      if (spec.signal) {
        const signal = spec.signal;
        const onAbort = () => this.abort(job);
        signal.addEventListener("abort", onAbort, { once: true });
        job.cleanup = () => signal.removeEventListener("abort", onAbort);
      }
      if (front) this.queue.unshift(job);
      else this.queue.push(job);
      this.pump();
    });
  }

  private abort(job: Job): void {
    if (job.aborted) return;
    job.aborted = true;
    const queued = this.queue.indexOf(job);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      job.cleanup();
      job.reject(abortError(job.signal));
      return;
    }
    if (this.running !== job) return;
    if (job.kind === "classify" || job.kind === "extract" || job.kind === "train") {
      // Stops before the next batch; the job then rejects with an AbortError.
      const handle = job.handle;
      if (handle?.alive) void handle.call((api) => api.cancel(job.id)).catch(() => undefined);
    } else {
      job.reject(abortError(job.signal)); // the worker finishes the load; the caller stops waiting
    }
  }

  private pump(): void {
    if (this.running || this.disposed) return;
    const job = this.queue.shift();
    if (!job) return;
    this.running = job;
    // The queue moves on before the caller hears back, so that a crash right after sees an idle client.
    const finish = (settle: () => void) => {
      job.cleanup();
      if (this.running === job) this.running = null;
      settle();
      this.pump();
    };
    this.execute(job).then(
      (value) =>
        finish(() =>
          job.aborted && !job.resolveOnAbort ? job.reject(abortError(job.signal)) : job.resolve(value),
        ),
      (error: unknown) => finish(() => job.reject(job.aborted ? abortError(job.signal) : error)),
    );
  }

  private async execute(job: Job): Promise<unknown> {
    let restarts = 0;
    const maxRestarts = this.options.maxRestartsPerJob ?? 2;
    for (;;) {
      const handle = this.ensureHandle();
      job.handle = handle;
      try {
        if (job.needsModel) await this.restoreModel(handle, job);
        if (job.aborted) throw abortError(job.signal);
        return await this.watch(handle, job, () => job.run(handle, job));
      } catch (error) {
        if (isVgg16Error(error, "backend-lost") && handle.alive) {
          // The worker's loss message normally arrives first; without it, replace the worker all the same.
          this.handleCrash(handle, errorMessage(error));
        }
        const crashed = isVgg16Error(error, "worker-crashed") || isVgg16Error(error, "backend-lost");
        if (crashed && job.retry === false) throw error;
        if (crashed && !job.aborted && !this.disposed && restarts < maxRestarts) {
          restarts++;
          continue;
        }
        if (crashed && restarts >= maxRestarts) {
          throw new Vgg16Error(
            "worker-crashed",
            `${errorMessage(error)} (gave up after ${restarts} restart${restarts === 1 ? "" : "s"} for this job)`,
          );
        }
        throw error;
      }
    }
  }

  /** After a restart: loads the last model into this worker (once, shared by whoever needs it). */
  private async restoreModel(handle: WorkerHandle, job: Job): Promise<void> {
    const last = this.lastLoad;
    if (!last || handle.loadedKey === last.key) return;
    handle.restoring ??= this.watch(handle, job, async () => {
      const forward = (event: LoadEvent) => {
        job.lastActivity = Date.now();
        safely(last.onEvent, event);
      };
      const model = await handle.call((api) =>
        api.load(this.avoidingLost(last.options), Comlink.proxy(forward)),
      );
      handle.loadedKey = last.key;
      safely(this.events.onModelRestored, model);
    }).finally(() => {
      handle.restoring = null;
    });
    await handle.restoring;
  }

  /**
   * Runs a worker call and declares the worker hung when `job` shows no activity for its hangMs (a number:
   * a fixed timeout for a call that cannot report progress; null: no watchdog).
   */
  private async watch<T>(handle: WorkerHandle, job: Job | number | null, fn: () => Promise<T>): Promise<T> {
    if (job === null) return fn();
    const activity = typeof job === "number" ? { lastActivity: Date.now(), hangMs: job } : job;
    activity.lastActivity = Date.now();
    const timer = setInterval(
      () => {
        const idle = Date.now() - activity.lastActivity;
        if (idle > activity.hangMs) {
          this.handleCrash(
            handle,
            `the worker stopped responding (no progress for ${Math.round(idle / 1000)} s)`,
          );
        }
      },
      Math.max(20, Math.min(5000, activity.hangMs / 4)),
    );
    try {
      return await Promise.race([fn(), handle.dead]);
    } finally {
      clearInterval(timer);
    }
  }
}

let singleton: Vgg16Client | null = null;

/** The app's one client (one worker, one model). Later calls with events replace the handlers. */
export function getVgg16Client(events?: Vgg16ClientEvents): Vgg16Client {
  if (!singleton || singleton.isDisposed) singleton = new Vgg16Client(events);
  else if (events) singleton.setEvents(events);
  return singleton;
}
