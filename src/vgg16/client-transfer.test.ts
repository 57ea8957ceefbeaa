/**
 * Vgg16Client's transfer-learning methods against a fake worker exposed with
 * Comlink over a MessageChannel: abort semantics of trainHead (resolves with
 * stopped: true), no re-run of training after a crash, and the re-run of
 * extractFeatures for the images not reported yet.
 */
import { afterEach, describe, expect, it } from "vitest";
import type {
  ExtractOptions,
  ExtractProgress,
  FeatureResult,
  LessonImage,
  TrainEvent,
  TrainRequest,
} from "../transfer/api";
import { defaultHeadConfig } from "../transfer/head";
import { type LoadOptions, Vgg16Client } from "./client";
import { isVgg16Error } from "./errors";
import { MessagePortWorker } from "./test-fakes";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Behaviour {
  /** The first worker crashes once it has sent this many extract results / train batches. */
  crashAfter?: number;
}

class FakeWorker extends MessagePortWorker {
  constructor(calls: string[], behaviour: Behaviour, index: number) {
    super();
    const cancelled = new Set<string>();
    let sent = 0;
    const crashNow = () => index === 0 && behaviour.crashAfter !== undefined && sent >= behaviour.crashAfter;
    const crash = () => {
      const event = new Event("error") as Event & { message: string };
      event.message = "boom";
      this.dispatchEvent(event);
      return new Promise<never>(() => undefined);
    };
    this.expose({
      async load(options: LoadOptions) {
        calls.push(`w${index}:load ${options.modelUrl}`);
        return { metadata: { modelId: "fake" } };
      },
      cancel(jobId: string) {
        calls.push(`w${index}:cancel`);
        cancelled.add(jobId);
      },
      async extractFeatures(
        images: readonly LessonImage[],
        options: ExtractOptions,
        onResult: (r: FeatureResult, p: ExtractProgress) => void,
      ) {
        calls.push(`w${index}:extract ${images.map((i) => i.id).join(",")}`);
        let done = 0;
        for (const image of images) {
          if (cancelled.has(options.jobId)) break;
          await sleep(2);
          if (crashNow()) return crash();
          sent++;
          done++;
          await onResult(
            { id: image.id, ok: true, contentHash: `h${image.id}`, cached: false },
            { done, total: images.length, imagesPerSecond: 1, cacheHits: 0 },
          );
        }
      },
      async trainHead(request: TrainRequest, onEvent: (e: TrainEvent) => void) {
        calls.push(`w${index}:train`);
        const history = [];
        for (let epoch = 0; epoch < request.config.epochs; epoch++) {
          for (let batch = 0; batch < 3; batch++) {
            await sleep(2);
            if (crashNow()) return crash();
            sent++;
            await onEvent({ type: "batch", epoch, batch, batchesPerEpoch: 3, loss: 1, acc: 0.5 });
            if (cancelled.has(request.jobId)) return { history, stopped: true, seed: 1, seconds: 0 };
          }
          const logs = { epoch: epoch + 1, loss: 1, acc: 0.5, val_loss: null, val_acc: null };
          history.push(logs);
          await onEvent({ type: "epoch", logs, secondsPerEpoch: 0.01 });
        }
        return { history, stopped: false, seed: 1, seconds: 0 };
      },
    });
  }
}

const clients: Vgg16Client[] = [];
function setup(behaviour: Behaviour = {}) {
  const calls: string[] = [];
  let workers = 0;
  const client = new Vgg16Client({}, { createWorker: () => new FakeWorker(calls, behaviour, workers++) });
  clients.push(client);
  return { client, calls };
}

afterEach(() => {
  for (const c of clients.splice(0)) c.dispose();
});

const MODEL: LoadOptions = { modelUrl: "https://example.test/model.json", backend: "wasm" };
const REQUEST: Omit<TrainRequest, "jobId"> = {
  classes: ["cats", "dogs"],
  train: [{ contentHash: "a", label: 0 }],
  validation: [],
  config: { ...defaultHeadConfig(), epochs: 2 },
  preprocessing: "stretch",
  resume: false,
};

function lessonImages(n: number): LessonImage[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `img-${i}`,
    name: `${i}.jpg`,
    blob: new Blob([`${i}`]),
  }));
}

describe("Vgg16Client transfer learning", () => {
  it("trainHead: an abort stops at the end of the batch and resolves with stopped: true", async () => {
    const { client, calls } = setup();
    await client.load(MODEL, () => undefined);
    const controller = new AbortController();
    const events: TrainEvent[] = [];
    const summary = await client.trainHead(
      REQUEST,
      (e) => {
        events.push(e);
        if (e.type === "batch" && e.batch === 1) controller.abort();
      },
      controller.signal,
    );
    expect(summary.stopped).toBe(true);
    expect(calls).toContain("w0:cancel");
    expect(events.filter((e) => e.type === "epoch")).toHaveLength(0);
  });

  it("trainHead streams batch and epoch events", async () => {
    const { client } = setup();
    await client.load(MODEL, () => undefined);
    const events: TrainEvent[] = [];
    const summary = await client.trainHead(REQUEST, (e) => events.push(e));
    expect(summary.history).toHaveLength(2);
    expect(events.map((e) => e.type)).toEqual([
      "batch",
      "batch",
      "batch",
      "epoch",
      "batch",
      "batch",
      "batch",
      "epoch",
    ]);
  });

  it("trainHead is not re-run after a crash: it rejects with worker-crashed", async () => {
    const { client, calls } = setup({ crashAfter: 2 });
    await client.load(MODEL, () => undefined);
    const error = await client.trainHead(REQUEST, () => undefined).catch((e: unknown) => e);
    expect(isVgg16Error(error, "worker-crashed")).toBe(true);
    expect(calls.filter((c) => c.endsWith(":train"))).toEqual(["w0:train"]);
  });

  it("extractFeatures re-runs only the images not reported before a crash", async () => {
    const { client, calls } = setup({ crashAfter: 2 });
    await client.load(MODEL, () => undefined);
    const seen: { id: string; done: number; total: number }[] = [];
    await client.extractFeatures(lessonImages(5), { batchSize: 2 }, (r, p) =>
      seen.push({ id: r.id, done: p.done, total: p.total }),
    );
    expect(seen.map((s) => s.id)).toEqual(["img-0", "img-1", "img-2", "img-3", "img-4"]);
    expect(seen.map((s) => s.done)).toEqual([1, 2, 3, 4, 5]);
    expect(seen.every((s) => s.total === 5)).toBe(true);
    expect(calls.filter((c) => c.includes(":extract"))).toEqual(["w0:extract 0,1,2,3,4", "w1:extract 2,3,4"]);
  });

  it("extractFeatures: an abort rejects with an AbortError", async () => {
    const { client } = setup();
    await client.load(MODEL, () => undefined);
    const controller = new AbortController();
    const error = await client
      .extractFeatures(lessonImages(6), {}, () => controller.abort(), controller.signal)
      .catch((e: unknown) => e);
    expect((error as DOMException).name).toBe("AbortError");
  });
});
