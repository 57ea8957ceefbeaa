import { afterEach, describe, expect, it, vi } from "vitest";
import type { Vgg16Port } from "../app/client-port";
import type { ImageInput, ImageResult, LoadedModel } from "../vgg16/api";
import { connectClassify, useClassify } from "./store";

const model = { metadata: { synthetic: true } } as LoadedModel;

interface Call {
  readonly images: readonly ImageInput[];
  readonly onResult: (r: ImageResult) => void;
  readonly signal?: AbortSignal;
  resolve(): void;
  reject(e: unknown): void;
}

function fakeClient() {
  const calls: Call[] = [];
  const client = {
    classify(images, _options, onResult, signal) {
      return new Promise<void>((resolve, reject) => {
        // Like the real client: an abort rejects the call.
        signal?.addEventListener("abort", () => reject(new DOMException("Stopped", "AbortError")));
        calls.push({ images, onResult, signal, resolve, reject });
      });
    },
  } as Pick<Vgg16Port, "classify"> as Vgg16Port;
  return { client, calls };
}

const ok = (image: ImageInput): ImageResult => ({
  id: image.id,
  name: image.name,
  ok: true,
  top5: [],
  ms: 5,
  width: 1,
  height: 1,
});
const file = (name: string) => new File(["x"], name, { type: "image/png" });
const settle = () => new Promise((r) => setTimeout(r, 5));
const statuses = () => {
  const s = useClassify.getState();
  return s.order.map((id) => `${s.items[id]?.name}:${s.items[id]?.status}`);
};

const byName = (name: string) => Object.values(useClassify.getState().items).find((i) => i.name === name);

function setup(ready: LoadedModel | null = model) {
  const { client, calls } = fakeClient();
  const revoked: string[] = [];
  let jobsEnded = 0;
  let current = ready;
  useClassify.setState({ batchSize: 1 });
  connectClassify({
    client,
    readyModel: () => current,
    afterJob: () => jobsEnded++,
    now: () => 0,
    createThumbnail: (b) => `blob:${(b as File).name}`,
    revokeThumbnail: (u) => revoked.push(u),
  });
  return { calls, revoked, jobsEnded: () => jobsEnded, setReady: (m: LoadedModel | null) => (current = m) };
}

afterEach(async () => {
  useClassify.getState().clear();
  await settle();
  connectClassify(null);
});

describe("classify store", () => {
  it("runs one job at a time and queues what comes in meanwhile", async () => {
    const t = setup();
    useClassify.getState().addFiles([{ file: file("a.png") }, { file: file("b.png"), path: "dir/b.png" }]);
    expect(t.calls).toHaveLength(1);
    expect(t.calls[0]?.images.map((i) => i.name)).toEqual(["a.png", "b.png"]);
    expect(statuses()).toEqual(["a.png:classifying", "b.png:waiting"]);
    useClassify.getState().addFiles([{ file: file("c.png") }]);
    expect(t.calls).toHaveLength(1);

    const call = t.calls[0] as Call;
    for (const image of call.images) call.onResult(ok(image));
    call.resolve();
    await settle();
    expect(t.jobsEnded()).toBe(1);
    expect(t.calls).toHaveLength(2);
    expect(t.calls[1]?.images.map((i) => i.name)).toEqual(["c.png"]);
    expect(byName("b.png")).toMatchObject({ synthetic: true, path: "dir/b.png", status: "done", ms: 5 });
  });

  it("waits for a model", async () => {
    const t = setup(null);
    useClassify.getState().addFiles([{ file: file("a.png") }]);
    expect(t.calls).toHaveLength(0);
    t.setReady(model);
    useClassify.getState().pump();
    expect(t.calls).toHaveLength(1);
  });

  it("stops with the AbortSignal and can resume", async () => {
    const t = setup();
    useClassify.getState().addFiles([{ file: file("a.png") }, { file: file("b.png") }]);
    const call = t.calls[0] as Call;
    call.onResult(ok(call.images[0] as ImageInput));
    useClassify.getState().stop();
    expect(call.signal?.aborted).toBe(true);
    // b is the batch in flight: it stays until the worker returns.
    expect(statuses()).toEqual(["a.png:done", "b.png:classifying"]);
    await settle();
    expect(statuses()).toEqual(["a.png:done", "b.png:stopped"]);
    expect(useClassify.getState().job?.outcome).toBe("stopped");
    expect(t.calls).toHaveLength(1);
    useClassify.getState().resume();
    expect(t.calls).toHaveLength(2);
    expect(t.calls[1]?.images.map((i) => i.name)).toEqual(["b.png"]);
  });

  it("keeps the results of the batch in flight when stopped", async () => {
    const t = setup();
    useClassify.setState({ batchSize: 2 });
    useClassify.getState().addFiles(["a.png", "b.png", "c.png"].map((n) => ({ file: file(n) })));
    const call = t.calls[0] as Call;
    // A worker that finishes its batch before it sees the cancel.
    call.signal?.addEventListener("abort", () => {
      for (const image of call.images.slice(0, 2)) call.onResult(ok(image));
    });
    useClassify.getState().stop();
    await settle();
    expect(statuses()).toEqual(["a.png:done", "b.png:done", "c.png:stopped"]);
    expect(useClassify.getState().job).toMatchObject({ outcome: "stopped", done: 2, total: 3 });
  });

  it("fails the batch in flight when classify rejects, then goes on", async () => {
    const t = setup();
    useClassify.getState().addFiles([{ file: file("a.png") }, { file: file("b.png") }]);
    (t.calls[0] as Call).reject(new Error("worker gone"));
    await settle();
    expect(byName("a.png")).toMatchObject({ status: "failed", error: "worker gone" });
    expect(t.calls[1]?.images.map((i) => i.name)).toEqual(["b.png"]);
  });

  it("clears everything and revokes thumbnails", () => {
    const t = setup(null);
    useClassify.getState().addFiles([{ file: file("a.png") }, { file: new Blob(["x"]) }]);
    expect(statuses()).toEqual(["a.png:waiting", "image-1:waiting"]);
    useClassify.getState().clear();
    expect(useClassify.getState().order).toEqual([]);
    expect(t.revoked).toEqual(["blob:a.png", "blob:undefined"]);
  });

  it("adds a big drop 25 files per turn, in order, and sends the worker jobs of at most 50", async () => {
    const t = setup();
    useClassify.setState({ batchSize: 4 });
    const names = Array.from({ length: 250 }, (_, i) => `p${i}.png`);
    useClassify.getState().addFiles(names.map((n) => ({ file: file(n) })));
    // This turn: the first 25 cards and a job for them; the page is not held for the rest.
    expect(useClassify.getState().order).toHaveLength(25);
    expect(useClassify.getState().lastAdd?.added).toBe(250);
    await vi.waitFor(() => expect(useClassify.getState().order).toHaveLength(250));
    expect(statuses().map((s) => s.split(":")[0])).toEqual(names);
    expect(t.calls).toHaveLength(1);
    expect(t.calls[0]?.images).toHaveLength(25);
    // Results arrive one message each and land together; the next job takes the next 50.
    for (const image of t.calls[0]?.images ?? []) t.calls[0]?.onResult(ok(image));
    t.calls[0]?.resolve();
    await settle();
    expect(t.calls[1]?.images.map((i) => i.name)).toEqual(names.slice(25, 75));
    expect(useClassify.getState().job).toMatchObject({ total: 50, done: 0 });
    expect(statuses().filter((s) => s.endsWith(":done"))).toHaveLength(25);
  });

  it("Stop also holds the files of a big drop not yet added: they arrive stopped, and Resume sends them", async () => {
    const t = setup();
    useClassify.getState().addFiles(Array.from({ length: 100 }, (_, i) => ({ file: file(`s${i}.png`) })));
    expect(t.calls).toHaveLength(1); // the first 25
    useClassify.getState().stop();
    t.calls[0]?.resolve();
    await vi.waitFor(() => expect(useClassify.getState().order).toHaveLength(100));
    await settle();
    expect(t.calls).toHaveLength(1);
    expect(statuses().filter((s) => !s.endsWith(":stopped"))).toEqual([]);
    useClassify.getState().resume();
    await settle();
    expect(t.calls).toHaveLength(2);
    expect(t.calls[1]?.images).toHaveLength(50);
  });

  it("clear drops files of a big drop not yet added", async () => {
    setup(null);
    useClassify.getState().addFiles(Array.from({ length: 300 }, (_, i) => ({ file: file(`q${i}.png`) })));
    useClassify.getState().clear();
    await settle();
    expect(useClassify.getState().order).toEqual([]);
  });
});
