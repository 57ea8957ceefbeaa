/**
 * Vgg16Client's queue, aborts, typed errors and crash recovery, against fake
 * workers: a Vgg16WorkerApi implementation exposed with Comlink over a
 * MessageChannel in this process.
 */
import { afterEach, describe, expect, it } from "vitest";
import type {
  ClassifyOptions,
  ImageInput,
  ImageResult,
  LoadEvent,
  LoadedModel,
  LoadOptions,
  Vgg16WorkerApi,
} from "./api";
import { type BackendLoss, Vgg16Client } from "./client";
import { Vgg16Error } from "./errors";
import { MessagePortWorker } from "./test-fakes";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const LOADED: LoadedModel = {
  metadata: { modelId: "fake" } as LoadedModel["metadata"],
  backend: { name: "wasm", reason: "WASM, 2 threads, SIMD", threads: 2, simd: true },
  engine: "wasm-runner",
  fromCache: false,
  timings: { downloadMs: 1, uploadMs: 1, warmupMs: 1, totalMs: 3 },
};

/** A fake worker set to lose WebGL runs on WebGL until told WebGL was lost (then on WASM, as LOADED). */
const ON_WEBGL: LoadedModel = {
  ...LOADED,
  backend: { name: "webgl", reason: "WebGL", threads: null, simd: null },
};

interface FakeBehaviour {
  /** ms per classify batch. */
  batchMs?: number;
  /** Crash (error event, then silence) once this many results were sent by this worker. */
  crashAfterResults?: number;
  /** Stop answering (a hang) once this many results were sent. */
  hangAfterResults?: number;
  loadError?: Vgg16Error;
  /** The first `load` never answers. */
  hangOnLoad?: boolean;
  /** Every worker crashes as soon as a classify starts. */
  alwaysCrashOnClassify?: boolean;
  /** The first worker reports its WebGL context lost (then hangs, as TF.js on a lost context can) after this many results. */
  loseWebglAfterResults?: number;
  /** The first worker reports its WebGL context lost in the middle of its first load. */
  loseWebglOnLoad?: boolean;
}

/** Everything the fake workers of one test saw. */
class Log {
  readonly calls: string[] = [];
  readonly workers: FakeWorker[] = [];
}

class FakeWorker extends MessagePortWorker {
  resultsSent = 0;

  constructor(
    private readonly log: Log,
    private readonly behaviour: FakeBehaviour,
  ) {
    super();
    this.expose(this.api());
    log.workers.push(this);
  }

  private api(): Vgg16WorkerApi {
    const cancelled = new Set<string>();
    const me = this;
    const index = this.log.workers.length;
    const call = (s: string) => this.log.calls.push(`w${index}:${s}`);
    return {
      async capabilities() {
        return {
          webgpuAdapter: false,
          webgpuFallbackAdapter: false,
          webglMaxTextureSize: 8192,
          webglSoftware: true,
          wasmSimd: true,
          wasmThreads: true,
          hardwareConcurrency: 2,
        };
      },
      async load(options: LoadOptions, onEvent: (e: LoadEvent) => void) {
        const without = options.lostBackends?.length ? ` without ${options.lostBackends.join(",")}` : "";
        call(`load ${options.modelUrl}${without}`);
        if (me.behaviour.hangOnLoad && index === 0) await new Promise(() => undefined);
        if (me.behaviour.loseWebglOnLoad && index === 0) {
          me.loseWebgl();
          await new Promise(() => undefined);
        }
        if (me.behaviour.loadError) throw me.behaviour.loadError;
        await onEvent({ type: "phase", phase: "download", fraction: 1, elapsedMs: 1 });
        const onWebgl = me.behaviour.loseWebglAfterResults !== undefined || me.behaviour.loseWebglOnLoad;
        return onWebgl && !options.lostBackends?.includes("webgl") ? ON_WEBGL : LOADED;
      },
      async classify(
        images: readonly ImageInput[],
        options: ClassifyOptions,
        onResult: (r: ImageResult) => void,
      ) {
        call(`classify ${images.map((i) => i.id).join(",")}`);
        if (me.behaviour.alwaysCrashOnClassify) {
          setTimeout(() => me.crash("boom"), 1);
          return new Promise<void>(() => undefined);
        }
        const size = options.batchSize ?? 4;
        for (let start = 0; start < images.length; start += size) {
          if (cancelled.has(options.jobId)) break;
          await sleep(me.behaviour.batchMs ?? 5);
          for (const image of images.slice(start, start + size)) {
            if (me.terminated) return new Promise<void>(() => undefined);
            if (
              me.behaviour.hangAfterResults !== undefined &&
              me.resultsSent >= me.behaviour.hangAfterResults &&
              index === 0
            ) {
              return new Promise<void>(() => undefined);
            }
            if (
              me.behaviour.loseWebglAfterResults !== undefined &&
              me.resultsSent >= me.behaviour.loseWebglAfterResults &&
              index === 0
            ) {
              me.loseWebgl();
              return new Promise<void>(() => undefined);
            }
            if (
              me.behaviour.crashAfterResults !== undefined &&
              me.resultsSent >= me.behaviour.crashAfterResults &&
              index === 0
            ) {
              me.crash("Uncaught RangeError: out of memory");
              return new Promise<void>(() => undefined);
            }
            me.resultsSent++;
            await onResult({
              id: image.id,
              name: image.name,
              ok: true,
              top5: [],
              ms: 1,
              width: 1,
              height: 1,
            });
          }
        }
      },
      cancel(jobId: string) {
        call(`cancel ${jobId}`);
        cancelled.add(jobId);
      },
      async memory() {
        return { numTensors: 33, numBytes: 1, backend: "wasm" };
      },
      async clearCache() {
        call("clearCache");
      },
      async loadFiles() {
        call("loadFiles");
        throw new Error("not in this fake");
      },
    };
  }

  loseWebgl(): void {
    this.postFromWorker({ type: "vgg16:backend-lost", backend: "webgl", message: "WebGL context lost" });
  }

  crash(message: string): void {
    const event = new Event("error") as Event & { message: string };
    event.message = message;
    this.dispatchEvent(event);
  }
}

function images(n: number): ImageInput[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `photo-${i}`,
    name: `p${i}.jpg`,
    blob: new Blob([`x${i}`]),
  }));
}

const clients: Vgg16Client[] = [];
function setup(
  behaviour: FakeBehaviour = {},
  options: { hangTimeoutMs?: number; maxRestartsPerJob?: number } = {},
) {
  const log = new Log();
  const crashes: string[] = [];
  const losses: BackendLoss[] = [];
  const restored: LoadedModel[] = [];
  let restarts = 0;
  const client = new Vgg16Client(
    {
      onCrash: (m) => crashes.push(m),
      onRestart: () => restarts++,
      onBackendLost: (loss) => losses.push(loss),
      onModelRestored: (model) => restored.push(model),
    },
    { createWorker: () => new FakeWorker(log, behaviour), ...options },
  );
  clients.push(client);
  return { client, log, crashes, losses, restored, restarts: () => restarts };
}

afterEach(() => {
  for (const c of clients.splice(0)) c.dispose();
});

const MODEL: LoadOptions = { modelUrl: "https://example.test/models/vgg16/model.json", backend: "auto" };

describe("Vgg16Client", () => {
  it("runs jobs one at a time, in order", async () => {
    const { client, log } = setup({ batchMs: 20 });
    const results: string[] = [];
    const a = client.load(MODEL, () => undefined);
    const b = client.classify(images(3), { batchSize: 2 }, (r) => results.push(`b:${r.id}`));
    const c = client.classify(images(2), { batchSize: 2 }, (r) => results.push(`c:${r.id}`));
    const d = client.clearCache();
    await Promise.all([a, b, c, d]);
    expect(results).toEqual(["b:photo-0", "b:photo-1", "b:photo-2", "c:photo-0", "c:photo-1"]);
    expect(log.calls).toEqual([
      `w0:load ${MODEL.modelUrl}`,
      "w0:classify 0,1,2",
      "w0:classify 0,1",
      "w0:clearCache",
    ]);
  });

  it("passes load events through and resolves with the loaded model", async () => {
    const { client } = setup();
    const events: LoadEvent[] = [];
    await expect(client.load(MODEL, (e) => events.push(e))).resolves.toEqual(LOADED);
    expect(events).toEqual([{ type: "phase", phase: "download", fraction: 1, elapsedMs: 1 }]);
  });

  it("delivers worker errors as Vgg16Error with their code and URL", async () => {
    const url = "https://example.test/models/nope/model.json";
    const { client } = setup({
      loadError: new Vgg16Error("model-not-found", `No model at ${url} (HTTP 404)`, { url }),
    });
    const error = await client.load(MODEL, () => undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Vgg16Error);
    expect(error).toMatchObject({ code: "model-not-found", url, message: `No model at ${url} (HTTP 404)` });
  });

  it("removes an aborted queued job: AbortError at once, never run", async () => {
    const { client, log } = setup({ batchMs: 30 });
    await client.load(MODEL, () => undefined);
    const first = client.classify(images(2), {}, () => undefined);
    const controller = new AbortController();
    const second = client.classify(images(2), {}, () => undefined, controller.signal);
    controller.abort();
    const error = await second.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe("AbortError");
    await first;
    expect(log.calls.filter((c) => c.includes("classify"))).toEqual(["w0:classify 0,1"]);
  });

  it("rejects at once when the signal is already aborted", async () => {
    const { client, log } = setup();
    const error = await client.classify(images(1), {}, () => undefined, AbortSignal.abort()).catch((e) => e);
    expect((error as DOMException).name).toBe("AbortError");
    expect(log.workers).toHaveLength(0);
  });

  it("cancels a running classify between batches, then rejects with AbortError", async () => {
    const { client, log } = setup({ batchMs: 20 });
    await client.load(MODEL, () => undefined);
    const controller = new AbortController();
    const got: string[] = [];
    const job = client.classify(
      images(10),
      { batchSize: 2 },
      (r) => {
        got.push(r.id);
        if (got.length === 1) controller.abort();
      },
      controller.signal,
    );
    const error = await job.catch((e: unknown) => e);
    expect((error as DOMException).name).toBe("AbortError");
    expect(got).toEqual(["photo-0", "photo-1"]);
    expect(log.calls.some((c) => /^w0:cancel classify-\d+$/.test(c))).toBe(true);
    // The queue goes on.
    await expect(client.classify(images(1), {}, () => undefined)).resolves.toBeUndefined();
  });

  it("after a crash: new worker, onCrash/onRestart, model reloaded, only unreported images re-run, each once", async () => {
    const { client, log, crashes, restarts } = setup({ crashAfterResults: 3, batchMs: 5 });
    const events: LoadEvent[] = [];
    await client.load(MODEL, (e) => events.push(e));
    const got: string[] = [];
    await client.classify(images(7), { batchSize: 2 }, (r) => got.push(r.id));
    expect(got).toEqual(images(7).map((i) => i.id));
    expect(crashes).toEqual(["Uncaught RangeError: out of memory"]);
    expect(restarts()).toBe(1);
    expect(log.workers).toHaveLength(2);
    expect(log.workers[0]?.terminated).toBe(true);
    expect(log.calls).toEqual([
      `w0:load ${MODEL.modelUrl}`,
      "w0:classify 0,1,2,3,4,5,6",
      `w1:load ${MODEL.modelUrl}`,
      "w1:classify 3,4,5,6",
    ]);
    expect(events).toHaveLength(2); // the reload reports its progress to the last load's listener
  });

  it("detects a hung worker by its silence and recovers the same way", async () => {
    const { client, log, crashes } = setup({ hangAfterResults: 2, batchMs: 5 }, { hangTimeoutMs: 150 });
    await client.load(MODEL, () => undefined);
    const got: string[] = [];
    await client.classify(images(5), { batchSize: 2 }, (r) => got.push(r.id));
    expect(got).toEqual(images(5).map((i) => i.id));
    expect(crashes).toHaveLength(1);
    expect(crashes[0]).toMatch(/stopped responding/);
    expect(log.calls.at(-1)).toBe("w1:classify 2,3,4");
  });

  it("re-runs a load that hung", async () => {
    const { client, log } = setup({ hangOnLoad: true }, { hangTimeoutMs: 100 });
    await expect(client.load(MODEL, () => undefined)).resolves.toEqual(LOADED);
    expect(log.calls).toEqual([`w0:load ${MODEL.modelUrl}`, `w1:load ${MODEL.modelUrl}`]);
  });

  it("gives up with worker-crashed when the same job keeps killing the worker", async () => {
    const { client, log, crashes } = setup({ alwaysCrashOnClassify: true }, { maxRestartsPerJob: 2 });
    await client.load(MODEL, () => undefined);
    const error = await client.classify(images(3), {}, () => undefined).catch((e: unknown) => e);
    expect(crashes).toHaveLength(3);
    expect(log.calls.filter((c) => c.includes("classify"))).toHaveLength(3);
    expect(error).toBeInstanceOf(Vgg16Error);
    expect((error as Vgg16Error).code).toBe("worker-crashed");
    expect((error as Vgg16Error).message).toMatch(/gave up after 2 restarts/);
  });

  it("reloads the last model right away when an idle worker crashes", async () => {
    const { client, log, restarts } = setup();
    await client.load(MODEL, () => undefined);
    log.workers[0]?.crash("boom");
    await sleep(30);
    expect(restarts()).toBe(1);
    expect(log.calls).toEqual([`w0:load ${MODEL.modelUrl}`, `w1:load ${MODEL.modelUrl}`]);
    await client.classify(images(1), {}, () => undefined);
    expect(log.calls.at(-1)).toBe("w1:classify 0");
  });

  it("a lost WebGL context in the middle of a classify: fresh worker, model reloaded without WebGL, the rest re-run", async () => {
    const { client, log, crashes, losses, restored, restarts } = setup({
      loseWebglAfterResults: 3,
      batchMs: 5,
    });
    await expect(client.load(MODEL, () => undefined)).resolves.toEqual(ON_WEBGL);
    const got: string[] = [];
    await client.classify(images(7), { batchSize: 2 }, (r) => got.push(r.id));
    expect(got).toEqual(images(7).map((i) => i.id));
    expect(losses).toEqual([{ backend: "webgl", message: "WebGL context lost" }]);
    expect(crashes).toEqual([]); // a loss is not a crash: its own notice
    expect(restarts()).toBe(0);
    expect(restored).toEqual([LOADED]); // on WASM now
    expect(log.workers[0]?.terminated).toBe(true);
    expect(log.calls).toEqual([
      `w0:load ${MODEL.modelUrl}`,
      "w0:classify 0,1,2,3,4,5,6",
      `w1:load ${MODEL.modelUrl} without webgl`,
      "w1:classify 3,4,5,6",
    ]);
    // Later loads keep passing WebGL over (this session's GPU context is not to be trusted again).
    await client.load({ ...MODEL, backend: "webgl" }, () => undefined);
    expect(log.calls.at(-1)).toBe(`w1:load ${MODEL.modelUrl} without webgl`);
  });

  it("a lost WebGL context in the middle of the load: the same load finishes on the next backend", async () => {
    const { client, log, losses } = setup({ loseWebglOnLoad: true });
    await expect(client.load(MODEL, () => undefined)).resolves.toEqual(LOADED);
    expect(losses.map((l) => l.backend)).toEqual(["webgl"]);
    expect(log.calls).toEqual([`w0:load ${MODEL.modelUrl}`, `w1:load ${MODEL.modelUrl} without webgl`]);
  });

  it("keeps the caller's ids even when they repeat", async () => {
    const { client } = setup();
    await client.load(MODEL, () => undefined);
    const same = images(3).map((i) => ({ ...i, id: "dup" }));
    const got: ImageResult[] = [];
    await client.classify(same, {}, (r) => got.push(r));
    expect(got.map((r) => [r.id, r.name])).toEqual([
      ["dup", "p0.jpg"],
      ["dup", "p1.jpg"],
      ["dup", "p2.jpg"],
    ]);
  });

  it("rejects work after dispose", async () => {
    const { client } = setup();
    client.dispose();
    const error = await client.load(MODEL, () => undefined).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "disposed" });
  });
});
