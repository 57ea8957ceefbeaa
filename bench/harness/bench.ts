/**
 * The self-driving bench page (dist/bench/harness/bench.html): one backend per
 * page load, parts chosen by the query (params.ts). No UI to click: it runs on
 * load, logs "[bench] …" progress lines to the console (and __benchLog), and
 * ends with window.__benchResult (result.ts) or window.__benchError, POSTed to
 * `report` when given. See README "Performance" for the driver sequence
 * (cold page with cache=clear, then the full page with the model cached).
 *
 * Ours: the app's own worker through its client (src/vgg16/client.ts →
 * worker.ts: Cache Storage by modelId, fused graph model, backend choice with
 * the thread trick) for loading, classification and feature extraction. Then
 * bench-worker.ts, on the same backend and thread count, for the tf.layers
 * baseline, head training (ours: src/transfer/head.ts; baseline: model.fit)
 * and tf.profile peaks. The app's worker is disposed first, so the two never
 * hold a model at once.
 */
import * as Comlink from "comlink";
import { type ImageInput, type LoadEvent, type LoadedModel, Vgg16Client } from "../../src/vgg16/client";
import type { BenchWorkerApi } from "./bench-worker";
import { median, settle } from "./figures";
import { syntheticJpegs } from "./images";
import { type BenchParams, needsModel, parseBenchParams, timedBatchesFor, warmupFor } from "./params";
import type { AdapterInfo, PageEnvironment, PageResult, PartTiming, TrainFigures } from "./result";

window.__benchLog = [];
const out = document.getElementById("log");

function log(line: string): void {
  const text = `[bench] ${(performance.now() / 1000).toFixed(1)}s ${line}`;
  console.log(text);
  window.__benchLog?.push(text);
  if (out) out.textContent += `${text}\n`;
}

function errorText(error: unknown): string {
  if (error instanceof Error || error instanceof DOMException) return `${error.name}: ${error.message}`;
  return String(error);
}

const round = (ms: number): number => Math.round(ms * 10) / 10;
const roundOrNull = (ms: number | null): number | null => (ms === null ? null : round(ms));

interface GpuAdapterLike {
  readonly isFallbackAdapter?: boolean;
  readonly info?: Partial<AdapterInfo>;
}

async function pageEnvironment(capabilities: unknown): Promise<PageEnvironment> {
  let webgpu: AdapterInfo | null = null;
  const gpu = (navigator as { gpu?: { requestAdapter(o?: object): Promise<GpuAdapterLike | null> } }).gpu;
  if (gpu) {
    try {
      const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
      if (adapter) {
        const info = adapter.info ?? {};
        webgpu = {
          vendor: info.vendor ?? "",
          architecture: info.architecture ?? "",
          device: info.device ?? "",
          description: info.description ?? "",
          isFallbackAdapter: (info.isFallbackAdapter ?? adapter.isFallbackAdapter) === true,
        };
      }
    } catch {
      webgpu = null;
    }
  }
  let renderer: string | null = null;
  let vendor: string | null = null;
  try {
    const gl = document.createElement("canvas").getContext("webgl2");
    if (gl) {
      const debug = gl.getExtension("WEBGL_debug_renderer_info");
      renderer = String(gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
      vendor = String(gl.getParameter(debug ? debug.UNMASKED_VENDOR_WEBGL : gl.VENDOR));
      gl.getExtension("WEBGL_lose_context")?.loseContext();
    }
  } catch {
    renderer = null;
  }
  return {
    user_agent: navigator.userAgent,
    hardware_concurrency: navigator.hardwareConcurrency,
    cross_origin_isolated: globalThis.crossOriginIsolated === true,
    webgpu_adapter: webgpu,
    webgl_renderer: renderer,
    webgl_vendor: vendor,
    capabilities,
  };
}

function paramsRecord(params: BenchParams): Record<string, unknown> {
  return { ...params, parts: [...params.parts] };
}

/** Everything measured so far; turned into a PageResult at the end. */
class Recorder {
  readonly notes: string[] = [];
  readonly parts: PartTiming[] = [];
  readonly result: { -readonly [K in keyof PageResult]?: PageResult[K] } = {};

  async part<T>(name: string, fn: () => Promise<T>): Promise<T | null> {
    const start = performance.now();
    log(`part=${name} start`);
    try {
      return await fn();
    } catch (error) {
      const message = `${name} failed: ${errorText(error)}`;
      this.notes.push(message);
      log(message);
      return null;
    } finally {
      const end = performance.now();
      this.parts.push({ part: name, start_ms: round(start), end_ms: round(end) });
      log(`part=${name} end (${((end - start) / 1000).toFixed(1)} s)`);
    }
  }
}

async function postReport(url: string, body: unknown): Promise<void> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    log(`report: POST ${url} → HTTP ${response.status}`);
  } catch (error) {
    log(`report: POST ${url} failed (${errorText(error)})`);
  }
}

function imageInputs(blobs: readonly Blob[], prefix: string): ImageInput[] {
  return blobs.map((blob, i) => ({ id: `${prefix}-${i}`, name: `${prefix}-${i}.jpg`, blob }));
}

async function classifyOne(client: Vgg16Client, image: ImageInput): Promise<number> {
  const started = performance.now();
  let ok = false;
  let error = "";
  await client.classify([image], { batchSize: 1 }, (result) => {
    ok = result.ok;
    if (!result.ok) error = result.error;
  });
  if (!ok) throw new Error(`classify ${image.name}: ${error || "no result"}`);
  return performance.now() - started;
}

/** One extractFeatures call over one batch; ms. Every image must be computed, not found in the cache. */
async function extractBatch(client: Vgg16Client, images: readonly ImageInput[]): Promise<number> {
  const started = performance.now();
  const problems: string[] = [];
  await client.extractFeatures(images, { batchSize: images.length }, (result) => {
    if (!result.ok) problems.push(result.error);
    else if (result.cached) problems.push(`${result.id} came from the feature cache`);
  });
  if (problems.length > 0) throw new Error(problems.join("; "));
  return performance.now() - started;
}

function imagesPerSecond(batch: number, samplesMs: readonly number[]): number | null {
  const m = median(samplesMs);
  return m === null || m <= 0 ? null : (batch * 1000) / m;
}

type BenchWorker = Comlink.Remote<BenchWorkerApi>;

/** The bench worker, on the same backend and thread count as the app's worker (else it throws). */
async function startBenchWorker(
  params: BenchParams,
  r: Recorder["result"],
  notes: string[],
): Promise<{ bench: BenchWorker; stop: () => void }> {
  const worker = new Worker(new URL("./bench-worker.ts", import.meta.url), { type: "module" });
  const bench = Comlink.wrap<BenchWorkerApi>(worker);
  const stop = () => {
    bench[Comlink.releaseProxy]();
    worker.terminate();
  };
  try {
    const backend = await bench.init(params.backend, params.threads);
    if (backend.name !== params.backend) {
      throw new Error(`the bench worker runs ${backend.name}, not ${params.backend} (${backend.reason})`);
    }
    if (r.backend === undefined) {
      r.backend = backend.name;
      r.backend_reason = backend.reason;
      r.threads = backend.threads;
      r.simd = backend.simd;
    } else if (backend.threads !== r.threads) {
      notes.push(`the bench worker runs ${backend.threads} threads, the app's worker ${r.threads}`);
    }
    return { bench, stop };
  } catch (error) {
    stop();
    throw error;
  }
}

/**
 * Page sequence: the app's worker loads the model (cold or from the cache), classifies a first image, then
 * classification and feature extraction, alone in the page (peak_rss_bytes is taken there); it is disposed;
 * the bench worker then builds the baseline and our graph model from the same cached files; memory peaks and
 * inference alone (ours and the baseline taking turns); the baseline timed as ours was; training.
 * Never two WASM workers at once: measured, a second threaded-WASM worker holding a model slowed the first by
 * 2–2.5× on a 2-core machine, although it sat idle.
 */
async function run(params: BenchParams, rec: Recorder): Promise<void> {
  const r = rec.result;
  const parts = params.parts;
  const seed = Math.floor(Math.random() * 2 ** 30);
  const withBaseline = parts.has("baseline");
  r.load_ms = { cold: null, warm: null };
  const featuresPerS: Record<string, number | null> = {};
  const featuresSamples: Record<string, number[]> = {};
  const baselineFeaturesPerS: Record<string, number | null> = {};
  const baselineFeaturesSamples: Record<string, number[]> = {};
  r.features_images_per_s = featuresPerS;
  r.features_samples_ms = featuresSamples;
  r.baseline_features_images_per_s = baselineFeaturesPerS;
  r.baseline_features_samples_ms = baselineFeaturesSamples;
  const classifySamples: number[] = [];
  const baselineClassifySamples: number[] = [];
  r.classify_samples_ms = classifySamples;
  r.baseline_classify_samples_ms = baselineClassifySamples;

  // Images: distinct for every timed call (the feature cache is keyed by content).
  const warm = warmupFor(params);
  const featureBatches = parts.has("features") ? params.batches : [];
  const featureCount = featureBatches.reduce(
    (sum, b) => sum + b * (timedBatchesFor(params, b) + (warm ? 1 : 0)),
    0,
  );
  const classifyCount = parts.has("classify") ? params.reps : 0;
  // One image made while the app's worker starts (the first prediction after a reload counts from navigation
  // start, and the app starts its worker with the page whatever the user does); the rest later.
  let firstImagePromise: Promise<Blob> | null = null;
  const firstImageOnce = () => {
    firstImagePromise ??= syntheticJpegs(1, seed).then((blobs) => blobs[0] as Blob);
    return firstImagePromise;
  };

  let environmentCaps: unknown = null;
  let client: Vgg16Client | null = null;
  let benchWorker: { bench: BenchWorker; stop: () => void } | null = null;
  try {
    if (needsModel(parts)) {
      client = new Vgg16Client({
        onCrash: (message) => rec.notes.push(`app worker crashed: ${message}`),
      });
      void firstImageOnce();
      const app = client;
      environmentCaps = await app.capabilities(); // starts the worker outside the load timing
      if (params.cache === "clear") {
        await app.clearCache();
        log("model cache cleared");
      }
      let lastPhase = "";
      const onEvent = (event: LoadEvent) => {
        if (event.type === "phase" && event.phase !== lastPhase) {
          lastPhase = event.phase;
          log(`load: ${event.phase}`);
        }
      };
      const loaded = await rec.part("load", async () => {
        const started = performance.now();
        const info: LoadedModel = await app.load(
          {
            modelUrl: params.model,
            backend: params.backend,
            ...(params.threads === null ? {} : { wasmThreadCount: params.threads }),
          },
          onEvent,
        );
        return { info, ms: performance.now() - started };
      });
      if (!loaded) throw new Error(rec.notes[rec.notes.length - 1] ?? "load failed");
      const { info, ms } = loaded;
      r.backend = info.backend.name;
      r.backend_reason = info.backend.reason;
      r.engine = info.convolutionThreads
        ? `${info.engine} (convolutions on ${info.convolutionThreads} thread(s))`
        : info.engine;
      r.threads = info.backend.threads;
      r.simd = info.backend.simd;
      if (info.backend.name !== params.backend) {
        throw new Error(
          `requested backend ${params.backend} but the app's worker runs ${info.backend.name} (${info.backend.reason})`,
        );
      }
      if (params.threads !== null && info.backend.threads !== params.threads) {
        rec.notes.push(`requested ${params.threads} WASM threads, ${info.backend.threads} in use`);
      }
      const meta = info.metadata;
      r.model = {
        url: new URL(params.model, location.href).href,
        model_id: meta.modelId,
        synthetic: meta.synthetic,
        quantization: meta.quantization,
        float32_weight_bytes: meta.params.total * 4,
      };
      r.from_cache = info.fromCache;
      r.load_ms = info.fromCache ? { cold: null, warm: round(ms) } : { cold: round(ms), warm: null };
      r.load_phases_ms = {
        download: round(info.timings.downloadMs),
        upload: round(info.timings.uploadMs),
        warmup: info.timings.warmupMs === null ? null : round(info.timings.warmupMs),
        total: round(info.timings.totalMs),
      };
      r.tfjs_bytes_after_load = (await app.memory()).numBytes;
      log(
        `loaded ${meta.modelId} on ${info.backend.reason} in ${(ms / 1000).toFixed(1)} s (cache: ${info.fromCache})`,
      );

      if (parts.has("first")) {
        await rec.part("first", async () => {
          const firstMs = await classifyOne(app, {
            id: "first",
            name: "first.jpg",
            blob: await firstImageOnce(),
          });
          r.first_inference_ms = round(firstMs);
          if (info.fromCache) r.first_prediction_after_reload_ms = round(performance.now());
          log(`first inference ${firstMs.toFixed(0)} ms`);
        });
      }
    }

    const blobs = await syntheticJpegs(classifyCount + featureCount, seed + 1);
    const classifyImages = blobs.slice(0, classifyCount);
    const featureImages = blobs.slice(classifyCount);
    if (blobs.length > 0) log(`${blobs.length} more synthetic JPEGs ready`);

    if (client) {
      const app = client;
      if (parts.has("classify")) {
        await rec.part("classify", async () => {
          const settleImage = await firstImageOnce();
          const warmups = await settle(
            () => classifyOne(app, { id: "settle", name: "settle.jpg", blob: settleImage }),
            { previous: r.first_inference_ms ?? null },
          );
          r.settle_runs = warmups.length;
          log(
            `settled after ${warmups.length} untimed run(s): ${warmups.map((ms) => ms.toFixed(0)).join(", ")} ms`,
          );
          for (const [k, image] of imageInputs(classifyImages, "classify").entries()) {
            const ms = await classifyOne(app, image);
            classifySamples.push(round(ms));
            log(`classify ${k + 1}/${classifyImages.length}: ${ms.toFixed(0)} ms`);
          }
          r.classify_ms_per_image = roundOrNull(median(classifySamples));
        });
      }
      if (parts.has("features")) {
        await rec.part("features", async () => {
          await app.clearFeatureCache();
          const images = imageInputs(featureImages, "features");
          let next = 0;
          for (const b of featureBatches) {
            const batch = () => {
              const slice = images.slice(next, next + b);
              next += b;
              return slice;
            };
            if (warm) await extractBatch(app, batch());
            const samples: number[] = [];
            for (let k = 0; k < timedBatchesFor(params, b); k++) {
              const ms = await extractBatch(app, batch());
              samples.push(round(ms));
              log(
                `features batch ${b} (${k + 1}): ${ms.toFixed(0)} ms, ${((b * 1000) / ms).toFixed(2)} images/s`,
              );
            }
            featuresSamples[String(b)] = samples;
            featuresPerS[String(b)] = imagesPerSecond(b, samples);
          }
        });
      }
      // The app's worker and its model go before the bench worker starts.
      client.dispose();
      client = null;
    }

    const needsBenchModels = parts.has("classify") || (withBaseline && parts.has("features"));
    if (needsBenchModels || parts.has("train")) {
      benchWorker = await startBenchWorker(params, r, rec.notes);
    }
    const bench = benchWorker?.bench ?? null;
    if (bench && needsBenchModels) {
      await rec.part("bench-load", async () => {
        const files = await bench.loadFiles(params.model);
        if (!files.fromCache) rec.notes.push("the bench worker did not find the model in the app's cache");
        if (withBaseline) await bench.buildBaseline();
        if (parts.has("classify")) await bench.buildOurs();
        await bench.releaseFiles();
      });
    }
    // First, since ours and the baseline take turns there: the bench worker's first minute after building its
    // models is not steady (on 1 thread, its first classifications ran up to 2.5x slow) and hits both alike.
    if (bench && parts.has("classify")) {
      await rec.part("peak", async () => {
        const peaks = await bench.peaksAndInference(await firstImageOnce(), params.reps);
        if (peaks.ours) {
          r.peak_tfjs_bytes = peaks.ours.distinctBytes;
          r.peak_tfjs_bytes_reported = peaks.ours.reportedBytes;
          r.inference_ms_per_image = roundOrNull(median(peaks.ours.inferenceMs));
        }
        if (peaks.baseline) {
          r.baseline_peak_tfjs_bytes = peaks.baseline.distinctBytes;
          r.baseline_peak_tfjs_bytes_reported = peaks.baseline.reportedBytes;
          r.baseline_inference_ms_per_image = roundOrNull(median(peaks.baseline.inferenceMs));
        }
        log(
          `peak TF.js bytes, each buffer once: ours ${r.peak_tfjs_bytes}, baseline ${r.baseline_peak_tfjs_bytes ?? "–"} (as tf.profile counts: ${r.peak_tfjs_bytes_reported}, ${r.baseline_peak_tfjs_bytes_reported ?? "–"}); inference alone: ours ${r.inference_ms_per_image} ms, baseline ${r.baseline_inference_ms_per_image ?? "–"} ms`,
        );
      });
    }
    if (bench && withBaseline && parts.has("classify")) {
      await rec.part("baseline-classify", async () => {
        // Untimed, as ours' first classification and warm-ups are: the first calls after building are slow.
        const warmups = await settle(async () => {
          const started = performance.now();
          await bench.baselineClassify(await firstImageOnce());
          return performance.now() - started;
        });
        r.baseline_first_inference_ms = round(warmups[0] as number);
        r.baseline_settle_runs = warmups.length;
        log(
          `baseline settled after ${warmups.length} untimed run(s): ${warmups.map((ms) => ms.toFixed(0)).join(", ")} ms`,
        );
        for (const [k, blob] of classifyImages.entries()) {
          const started = performance.now();
          await bench.baselineClassify(blob);
          const ms = performance.now() - started;
          baselineClassifySamples.push(round(ms));
          log(`baseline classify ${k + 1}/${classifyImages.length}: ${ms.toFixed(0)} ms`);
        }
        r.baseline_classify_ms_per_image = roundOrNull(median(baselineClassifySamples));
      });
    }
    if (bench && withBaseline && parts.has("features")) {
      await rec.part("baseline-features", async () => {
        let next = 0;
        for (const b of featureBatches) {
          const batch = () => {
            const slice = featureImages.slice(next, next + b);
            next += b;
            return slice;
          };
          if (warm) await bench.baselineFeatures(batch());
          const samples: number[] = [];
          for (let k = 0; k < timedBatchesFor(params, b); k++) {
            const started = performance.now();
            await bench.baselineFeatures(batch());
            const ms = performance.now() - started;
            samples.push(round(ms));
            log(
              `baseline features batch ${b} (${k + 1}): ${ms.toFixed(0)} ms, ${((b * 1000) / ms).toFixed(2)} images/s`,
            );
          }
          baselineFeaturesSamples[String(b)] = samples;
          baselineFeaturesPerS[String(b)] = imagesPerSecond(b, samples);
        }
      });
    }

    await bench?.disposeModels();

    if (bench && parts.has("train")) {
      await bench.prepareTraining(params.trainSamples, seed);
      const oursTrain = await rec.part("train", () =>
        bench.trainOurs(
          params.epochs,
          params.trainBudgetS,
          Comlink.proxy((line: string) => log(line)),
        ),
      );
      if (oursTrain) {
        r.train = oursTrain;
        r.train_s_per_epoch = oursTrain.s_per_epoch;
        if (oursTrain.stopped_by_budget) {
          rec.notes.push(
            oursTrain.epochs_run > 0
              ? `training ran ${oursTrain.epochs_run} of ${params.epochs} epochs (budget ${params.trainBudgetS} s); 20 epochs projected`
              : `training stopped after ${oursTrain.batches_run} batches (budget ${params.trainBudgetS} s); s/epoch projected from them`,
          );
        }
      }
      if (withBaseline) {
        const base: TrainFigures | null = await rec.part("baseline-train", () =>
          bench.trainBaseline(
            params.baselineEpochs,
            params.baselineTrainBudgetS,
            Comlink.proxy((line: string) => log(line)),
          ),
        );
        if (base) {
          r.baseline_train = base;
          r.baseline_train_s_per_epoch = base.s_per_epoch;
          if (base.stopped_by_budget) {
            rec.notes.push(
              `baseline training stopped after ${base.batches_run} batches (budget ${params.baselineTrainBudgetS} s); s/epoch projected from them`,
            );
          }
        }
      }
      await bench.disposeTraining();
    }
  } finally {
    client?.dispose();
    benchWorker?.stop();
  }

  r.environment = await pageEnvironment(environmentCaps);
}

function finish(params: BenchParams | null, rec: Recorder): PageResult {
  const r = rec.result;
  return {
    schema: 1,
    page: "bench",
    url: location.href,
    params: params ? paramsRecord(params) : {},
    requested_backend: params?.backend ?? "",
    backend: r.backend ?? null,
    backend_reason: r.backend_reason ?? null,
    engine: r.engine ?? null,
    threads: r.threads ?? null,
    simd: r.simd ?? null,
    environment: r.environment ?? null,
    model: r.model ?? null,
    from_cache: r.from_cache ?? null,
    load_ms: r.load_ms ?? { cold: null, warm: null },
    load_phases_ms: r.load_phases_ms ?? null,
    first_inference_ms: r.first_inference_ms ?? null,
    baseline_first_inference_ms: r.baseline_first_inference_ms ?? null,
    settle_runs: r.settle_runs ?? null,
    baseline_settle_runs: r.baseline_settle_runs ?? null,
    first_prediction_after_reload_ms: r.first_prediction_after_reload_ms ?? null,
    tfjs_bytes_after_load: r.tfjs_bytes_after_load ?? null,
    classify_ms_per_image: r.classify_ms_per_image ?? null,
    classify_samples_ms: r.classify_samples_ms ?? [],
    baseline_classify_ms_per_image: r.baseline_classify_ms_per_image ?? null,
    baseline_classify_samples_ms: r.baseline_classify_samples_ms ?? [],
    inference_ms_per_image: r.inference_ms_per_image ?? null,
    baseline_inference_ms_per_image: r.baseline_inference_ms_per_image ?? null,
    features_images_per_s: r.features_images_per_s ?? {},
    features_samples_ms: r.features_samples_ms ?? {},
    baseline_features_images_per_s: r.baseline_features_images_per_s ?? {},
    baseline_features_samples_ms: r.baseline_features_samples_ms ?? {},
    train_s_per_epoch: r.train_s_per_epoch ?? null,
    train: r.train ?? null,
    baseline_train_s_per_epoch: r.baseline_train_s_per_epoch ?? null,
    baseline_train: r.baseline_train ?? null,
    peak_tfjs_bytes: r.peak_tfjs_bytes ?? null,
    baseline_peak_tfjs_bytes: r.baseline_peak_tfjs_bytes ?? null,
    peak_tfjs_bytes_reported: r.peak_tfjs_bytes_reported ?? null,
    baseline_peak_tfjs_bytes_reported: r.baseline_peak_tfjs_bytes_reported ?? null,
    notes: rec.notes,
    parts: rec.parts,
    total_ms: round(performance.now()),
  };
}

async function main(): Promise<void> {
  const { params, problems } = parseBenchParams(new URLSearchParams(location.search));
  const rec = new Recorder();
  if (problems.length > 0) {
    const message = `invalid parameters: ${problems.join("; ")}`;
    log(message);
    window.__benchError = message;
    if (params.report) await postReport(params.report, { error: message });
    return;
  }
  log(`start ${location.search || "(defaults)"}`);
  try {
    if (params.parts.has("probe") && params.parts.size === 1) {
      const client = new Vgg16Client();
      try {
        rec.result.environment = await pageEnvironment(await client.capabilities());
      } finally {
        client.dispose();
      }
    } else {
      await run(params, rec);
    }
  } catch (error) {
    const message = errorText(error);
    log(`error: ${message}`);
    window.__benchError = message;
    if (params.report) await postReport(params.report, { error: message, partial: finish(params, rec) });
    return;
  }
  const result = finish(params, rec);
  window.__benchResult = result;
  log(`done in ${(result.total_ms / 1000).toFixed(1)} s`);
  if (params.report) await postReport(params.report, result);
}

void main();
