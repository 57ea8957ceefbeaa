/**
 * A stand-in for the VGG16 worker, for e2e tests that need many classifications but not VGG16 itself
 * (e2e/many-images.spec.ts: 1,000 images would take ~15 minutes of real inference). It serves the same
 * Comlink API (Vgg16WorkerApi) and really decodes every image with the app's decodeAllForVgg16 (so decoding
 * stays realistic, off the main thread), then returns a deterministic fake top-5 computed from the
 * decoded pixels, labelled "stand-in" and marked synthetic. Bundled at test time with esbuild and served in
 * place of the real worker's script by page.route(): the production build has no test hook for it.
 */
import * as Comlink from "comlink";
import type { Prediction } from "../../src/model/decode";
import type {
  Capabilities,
  ClassifyOptions,
  ImageInput,
  ImageResult,
  LoadEvent,
  LoadedModel,
  LoadOptions,
  MemoryInfo,
} from "../../src/vgg16/api";
import { callbackSink } from "../../src/vgg16/callback-sink";
import { type DecodedInput, decodeAllForVgg16, releaseDecodeCanvas } from "../../src/vgg16/decode-image";
import { parseModelJson } from "../../src/vgg16/model-files";

const BATCH = 4;
const cancelled = new Set<string>();

/** Five fake classes and probabilities from the input's values: the same image always gets the same. */
function fakeTop5(input: Float32Array): Prediction[] {
  let hash = 2166136261;
  for (let i = 0; i < input.length; i += 97)
    hash = Math.imul(hash ^ Math.round(input[i] as number), 16777619);
  const first = (hash >>> 0) % 995;
  const weights = [0.5, 0.2, 0.15, 0.1, 0.05];
  return weights.map((probability, k) => ({
    index: first + k,
    wnid: "",
    name: `stand-in class ${first + k}`,
    probability,
  }));
}

const capabilities: Capabilities = {
  webgpuAdapter: null,
  webgpuFallbackAdapter: false,
  webglMaxTextureSize: 0,
  webglSoftware: false,
  wasmSimd: true,
  wasmThreads: false,
  hardwareConcurrency: navigator.hardwareConcurrency,
};

const api = {
  async capabilities(): Promise<Capabilities> {
    return capabilities;
  },
  async load(options: LoadOptions, onEvent: (event: LoadEvent) => void): Promise<LoadedModel> {
    // The model's own model.json (small) for its metadata; no weights are fetched.
    const url = new URL(options.modelUrl, self.location.href).href;
    const response = await fetch(url);
    const { metadata } = parseModelJson(url, await response.text());
    await onEvent({ type: "phase", phase: "download", fraction: 1, elapsedMs: 0 });
    return {
      metadata: { ...metadata, synthetic: true },
      backend: { name: "wasm", reason: "stand-in worker for tests: no model runs", threads: 1, simd: true },
      engine: "graph-model",
      fromCache: false,
      timings: { downloadMs: 0, uploadMs: 0, warmupMs: 0, totalMs: 0 },
    };
  },
  async classify(
    images: readonly ImageInput[],
    options: ClassifyOptions,
    onResult: (result: ImageResult) => void,
  ): Promise<void> {
    const sink = callbackSink(onResult);
    try {
      for (let start = 0; start < images.length && !cancelled.has(options.jobId); start += BATCH) {
        const batch = images.slice(start, start + BATCH);
        // As the real worker decodes a batch (src/vgg16/worker.ts).
        const decoded = await decodeAllForVgg16(
          batch.map((image) => image.blob),
          options.resize ?? "stretch",
        );
        for (const [i, image] of batch.entries()) {
          const d = decoded[i] as DecodedInput;
          sink.send(
            d.ok
              ? {
                  id: image.id,
                  name: image.name,
                  ok: true,
                  top5: fakeTop5(d.input),
                  ms: d.decodeMs,
                  width: d.width,
                  height: d.height,
                }
              : { id: image.id, name: image.name, ok: false, error: d.error },
          );
        }
        await sink.flush();
      }
    } finally {
      cancelled.delete(options.jobId);
      releaseDecodeCanvas();
      await sink.flush();
      sink.release();
    }
  },
  cancel(jobId: string): void {
    cancelled.add(jobId);
  },
  async memory(): Promise<MemoryInfo> {
    return { numTensors: 0, numBytes: 0, backend: "wasm" };
  },
  async clearCache(): Promise<void> {},
  async headState(): Promise<null> {
    return null;
  },
  async featureCacheInfo(): Promise<{ entries: number; bytes: number; problem: null }> {
    return { entries: 0, bytes: 0, problem: null };
  },
};

Comlink.expose(api);
