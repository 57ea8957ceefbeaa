import { afterEach, describe, expect, it } from "vitest";
import type { Vgg16Port } from "../app/client-port";
import { vgg16ManifestWeights } from "../model/manifest-check";
import { modelIdFor, type Vgg16Metadata } from "../model/metadata";
import type { LoadEvent, LoadedModel, LoadOptions } from "../vgg16/api";
import { connectModelClient, readyModel, useModelStatus } from "./store";

const metadata: Vgg16Metadata = {
  schema: 1,
  architecture: "vgg16",
  modelId: modelIdFor({ kind: "synthetic", seed: 1 }, "none", true),
  includeTop: true,
  synthetic: true,
  source: { kind: "synthetic", seed: 1 },
  quantization: "none",
  params: { total: 138_357_544, convBase: 14_714_688 },
  preprocessing: { mode: "caffe", inputSize: 224, channelOrder: "BGR", mean: [1, 2, 3], resize: "nearest" },
  outputs: {},
  labels: null,
  convertedBy: "test",
  createdAt: "2025-01-01T00:00:00.000Z",
};

const modelJson = JSON.stringify({
  format: "graph-model",
  modelTopology: { node: [] },
  weightsManifest: [{ paths: ["a.bin"], weights: vgg16ManifestWeights(true) }],
  userDefinedMetadata: { vgg16: metadata },
});

const loaded = (backend: LoadOptions["backend"]): LoadedModel => ({
  metadata,
  backend: {
    name: backend === "auto" ? "wasm" : backend,
    reason: "WASM, 2 threads, SIMD",
    threads: 2,
    simd: true,
  },
  engine: "graph-model",
  fromCache: false,
  timings: { downloadMs: 1, uploadMs: 1, warmupMs: 1, totalMs: 3 },
});

interface LoadCall {
  readonly options: LoadOptions;
  readonly onEvent: (e: LoadEvent) => void;
  readonly signal?: AbortSignal;
  resolve(m: LoadedModel): void;
  reject(e: unknown): void;
}

function fakeClient() {
  const loads: LoadCall[] = [];
  let cleared = 0;
  const client = {
    load(options, onEvent, signal) {
      return new Promise<LoadedModel>((resolve, reject) => {
        signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
        loads.push({ options, onEvent, signal, resolve, reject });
      });
    },
    async clearCache() {
      cleared++;
    },
  } as Pick<Vgg16Port, "load" | "clearCache"> as Vgg16Port;
  return { client, loads, cleared: () => cleared };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const cached = async () => new Response(modelJson);

afterEach(() => {
  connectModelClient(null);
  useModelStatus.setState({
    status: { phase: "idle" },
    loaded: { phase: "idle" },
    backend: "auto",
    cache: { phase: "idle" },
  });
});

describe("model store", () => {
  it("describes model.json, then loads it with progress, then is ready", async () => {
    const t = fakeClient();
    const seen: string[] = [];
    connectModelClient(t.client, {
      cachedModelJson: cached,
      beforeReady: async (m) => {
        seen.push(`beforeReady ${m.backend.name}`);
      },
    });
    useModelStatus.setState({ backend: "wasm" });
    const done = useModelStatus.getState().load("/models/vgg16/model.json");
    await tick();
    expect(useModelStatus.getState().status.phase).toBe("found");
    expect(t.loads).toHaveLength(1);
    expect(t.loads[0]?.options).toMatchObject({ backend: "wasm" });
    expect(t.loads[0]?.options.modelUrl).toMatch(/\/models\/vgg16\/model\.json$/);
    t.loads[0]?.onEvent({
      type: "phase",
      phase: "download",
      fraction: 0.5,
      loadedBytes: 4,
      totalBytes: 8,
      elapsedMs: 10,
    });
    const state = useModelStatus.getState().loaded;
    expect(state.phase === "loading" && state.progress.phases.download?.fraction).toBe(0.5);
    t.loads[0]?.resolve(loaded("wasm"));
    await done;
    expect(seen).toEqual(["beforeReady wasm"]);
    expect(useModelStatus.getState().loaded.phase).toBe("ready");
    expect(readyModel()?.backend.name).toBe("wasm");
  });

  it("reloads on another backend, abandoning the load in progress", async () => {
    const t = fakeClient();
    connectModelClient(t.client, { cachedModelJson: cached });
    void useModelStatus.getState().load("/m/model.json");
    await tick();
    useModelStatus.getState().setBackend("cpu");
    expect(t.loads).toHaveLength(2);
    expect(t.loads[0]?.signal?.aborted).toBe(true);
    expect(t.loads[1]?.options.backend).toBe("cpu");
    t.loads[1]?.resolve(loaded("cpu"));
    await tick();
    await tick();
    expect(readyModel()?.backend.name).toBe("cpu");
    useModelStatus.getState().setBackend("cpu");
    expect(t.loads).toHaveLength(2);
  });

  it("says why loading failed, and clears the cache", async () => {
    const t = fakeClient();
    connectModelClient(t.client, { cachedModelJson: cached });
    void useModelStatus.getState().load("/m/model.json");
    await tick();
    t.loads[0]?.reject(Object.assign(new Error("Could not fetch a.bin"), { code: "download-failed" }));
    await tick();
    expect(useModelStatus.getState().loaded).toMatchObject({
      phase: "error",
      message: "Could not fetch a.bin (download-failed)",
    });
    await useModelStatus.getState().clearCache();
    expect(t.cleared()).toBe(1);
    expect(useModelStatus.getState().cache.phase).toBe("cleared");
  });
});
