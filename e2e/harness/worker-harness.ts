/**
 * A page for the Playwright tests of the VGG16 worker and its client, with no
 * UI: `window.vgg16Harness` drives getVgg16Client() and returns plain,
 * serialisable outcomes (errors as {name, message, code}).
 * Built into dist/ as e2e/harness/worker-harness.html (vite.config.ts).
 */
import * as Comlink from "comlink";
import type { Preprocessing } from "../../src/transfer/feature-cache";
import {
  type EvaluateRequest,
  type EvaluationResult,
  type ExtractProgress,
  type FeatureResult,
  getVgg16Client,
  type HeadExport,
  type HeadState,
  type ImageInput,
  type ImageResult,
  isVgg16Error,
  type LoadEvent,
  type LoadedModel,
  type LoadOptions,
  type ResizeMode,
  type TrainEvent,
  type TrainRequest,
  type TrainSummary,
  type TryResult,
} from "../../src/vgg16/client";
import type { HeadParityApi, ParityRun } from "./head-parity-worker";

export interface HarnessFile {
  readonly name: string;
  readonly type: string;
  readonly base64: string;
}

export interface CallError {
  readonly name: string;
  readonly message: string;
  readonly code: string | null;
}

export type Outcome<T> =
  | { readonly ok: true; readonly value: T; readonly ms: number }
  | { readonly ok: false; readonly error: CallError; readonly ms: number };

const state = { crashes: [] as string[], restarts: 0 };
const client = getVgg16Client({
  onCrash: (message) => state.crashes.push(message),
  onRestart: () => {
    state.restarts++;
  },
});

function callError(error: unknown): CallError {
  if (isVgg16Error(error)) return { name: error.name, message: error.message, code: error.code };
  if (error instanceof Error || error instanceof DOMException) {
    return { name: error.name, message: error.message, code: null };
  }
  return { name: "unknown", message: String(error), code: null };
}

async function timed<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  const started = performance.now();
  try {
    const value = await fn();
    return { ok: true, value, ms: performance.now() - started };
  } catch (error) {
    return { ok: false, error: callError(error), ms: performance.now() - started };
  }
}

function toImages(files: readonly HarnessFile[]): ImageInput[] {
  return files.map((file, i) => {
    const binary = atob(file.base64);
    const bytes = new Uint8Array(binary.length);
    for (let j = 0; j < binary.length; j++) bytes[j] = binary.charCodeAt(j);
    return { id: `img-${i}`, name: file.name, blob: new Blob([bytes], { type: file.type }) };
  });
}

export interface TimedResult {
  readonly result: ImageResult;
  /** ms since the classify call started. */
  readonly at: number;
}

/** The last exportHead() result, kept in the page (ArrayBuffers do not travel well through page.evaluate). */
let exported: HeadExport | null = null;

const harness = {
  client,
  state,
  async load(options: LoadOptions): Promise<{ outcome: Outcome<LoadedModel>; events: LoadEvent[] }> {
    const events: LoadEvent[] = [];
    const outcome = await timed(() => client.load(options, (event) => events.push(event)));
    return { outcome, events };
  },
  async classify(
    files: readonly HarnessFile[],
    options: { batchSize?: number; resize?: ResizeMode; abortAfterResults?: number } = {},
  ): Promise<{ outcome: Outcome<void>; results: TimedResult[] }> {
    const images = toImages(files);
    const results: TimedResult[] = [];
    const controller = new AbortController();
    const started = performance.now();
    const outcome = await timed(() =>
      client.classify(
        images,
        { batchSize: options.batchSize, resize: options.resize },
        (result) => {
          results.push({ result, at: performance.now() - started });
          if (options.abortAfterResults !== undefined && results.length >= options.abortAfterResults) {
            controller.abort();
          }
        },
        controller.signal,
      ),
    );
    return { outcome, results };
  },
  async extractFeatures(
    files: readonly HarnessFile[],
    options: { batchSize?: number; preprocessing?: Preprocessing } = {},
  ): Promise<{ outcome: Outcome<void>; results: { result: FeatureResult; progress: ExtractProgress }[] }> {
    const images = toImages(files);
    const results: { result: FeatureResult; progress: ExtractProgress }[] = [];
    const outcome = await timed(() =>
      client.extractFeatures(images, options, (result, progress) => results.push({ result, progress })),
    );
    return { outcome, results };
  },
  async trainHead(
    request: Omit<TrainRequest, "jobId">,
    options: { abortAfterBatches?: number } = {},
  ): Promise<{ outcome: Outcome<TrainSummary>; events: TrainEvent[] }> {
    const events: TrainEvent[] = [];
    const controller = new AbortController();
    let batches = 0;
    const outcome = await timed(() =>
      client.trainHead(
        request,
        (event) => {
          events.push(event);
          if (event.type === "batch" && ++batches === options.abortAfterBatches) controller.abort();
        },
        controller.signal,
      ),
    );
    return { outcome, events };
  },
  evaluateHead: (request: EvaluateRequest): Promise<Outcome<EvaluationResult>> =>
    timed(() => client.evaluateHead(request)),
  tryHead: (files: readonly HarnessFile[], preprocessing: Preprocessing): Promise<Outcome<TryResult[]>> =>
    timed(() => client.tryHead(toImages(files), preprocessing)),
  /** Exports the head and keeps it in the page; returns its size. */
  exportHead: (): Promise<Outcome<{ weightBytes: number; modelJson: unknown } | null>> =>
    timed(async () => {
      exported = await client.exportHead();
      return exported ? { weightBytes: exported.weightData.byteLength, modelJson: exported.modelJson } : null;
    }),
  /** Imports the head exportHead() kept. */
  importHead: (): Promise<Outcome<void>> =>
    timed(async () => {
      if (!exported) throw new Error("nothing exported yet");
      await client.importHead(exported);
    }),
  headState: (): Promise<Outcome<HeadState | null>> => timed(() => client.headState()),
  featureCacheInfo: () => timed(() => client.featureCacheInfo()),
  clearFeatureCache: () => timed(() => client.clearFeatureCache()),
  memory: () => client.memory(),
  capabilities: () => client.capabilities(),
  clearCache: () => timed(() => client.clearCache()),
  crash: (delayMs = 0) => client.crashWorkerForTesting(delayMs),
  /** Trains the head twice in a worker of its own (hand-written step, then model.fit): e2e/head-step.spec.ts. */
  headStepParity: (samples: number, epochs: number, zeros: number): Promise<Outcome<ParityRun>> =>
    timed(async () => {
      const worker = new Worker(new URL("./head-parity-worker.ts", import.meta.url), { type: "module" });
      try {
        return await Comlink.wrap<HeadParityApi>(worker).run(samples, epochs, zeros);
      } finally {
        worker.terminate();
      }
    }),
};

export type Vgg16Harness = typeof harness;

declare global {
  interface Window {
    vgg16Harness: Vgg16Harness;
  }
}

window.vgg16Harness = harness;
document.body.dataset.ready = "true";
