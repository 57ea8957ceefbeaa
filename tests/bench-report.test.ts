/**
 * The benchmark's pure parts: the bench page's query contract, merging the
 * cold-load and full pages, the targets (ratios and thresholds), the table and
 * the results file name. No browser, no timing.
 */
import { describe, expect, it } from "vitest";
import { median, newBatchClock, settle, tick, trainFigures } from "../bench/harness/figures";
import {
  DEFAULT_MODEL_URL,
  needsModel,
  parseBenchParams,
  timedBatchesFor,
  warmupFor,
} from "../bench/harness/params";
import type { PageResult } from "../bench/harness/result";
import {
  type BackendEntry,
  backendKey,
  entryTitle,
  evaluateTargets,
  formatTable,
  mergePages,
  type NativeReference,
  primaryKey,
  resultFileName,
  speedup,
  tableRows,
  targetSummary,
} from "../tools/bench/report";

const WEIGHT_BYTES = 138_357_544 * 4;

function page(overrides: Partial<PageResult>): PageResult {
  return {
    schema: 1,
    page: "bench",
    url: "http://127.0.0.1/bench/harness/bench.html",
    params: {},
    requested_backend: "wasm",
    backend: "wasm",
    backend_reason: "WASM, 2 threads, SIMD (forced by ?backend=wasm)",
    engine: "wasm-runner",
    threads: 2,
    simd: true,
    environment: null,
    model: null,
    from_cache: null,
    load_ms: { cold: null, warm: null },
    load_phases_ms: null,
    first_inference_ms: null,
    baseline_first_inference_ms: null,
    settle_runs: null,
    baseline_settle_runs: null,
    first_prediction_after_reload_ms: null,
    tfjs_bytes_after_load: null,
    classify_ms_per_image: null,
    classify_samples_ms: [],
    baseline_classify_ms_per_image: null,
    baseline_classify_samples_ms: [],
    inference_ms_per_image: null,
    baseline_inference_ms_per_image: null,
    features_images_per_s: {},
    features_samples_ms: {},
    baseline_features_images_per_s: {},
    baseline_features_samples_ms: {},
    train_s_per_epoch: null,
    train: null,
    baseline_train_s_per_epoch: null,
    baseline_train: null,
    peak_tfjs_bytes: null,
    baseline_peak_tfjs_bytes: null,
    peak_tfjs_bytes_reported: null,
    baseline_peak_tfjs_bytes_reported: null,
    notes: [],
    parts: [],
    total_ms: 0,
    ...overrides,
  };
}

const model = {
  url: "http://127.0.0.1/models/vgg16/model.json",
  model_id: "vgg16-full-synthetic-seed1-none",
  synthetic: true,
  quantization: "none",
  float32_weight_bytes: WEIGHT_BYTES,
};

const coldPage = page({
  model,
  from_cache: false,
  load_ms: { cold: 13_100, warm: null },
  load_phases_ms: { download: 9000, upload: 2000, warmup: 2100, total: 13_100 },
  notes: ["cold note"],
});

const fullPage = page({
  model,
  from_cache: true,
  load_ms: { cold: null, warm: 6_500 },
  load_phases_ms: { download: 2500, upload: 2000, warmup: 2000, total: 6_500 },
  first_inference_ms: 800,
  first_prediction_after_reload_ms: 7_900,
  classify_ms_per_image: 760,
  classify_samples_ms: [760, 750, 770, 765, 755],
  baseline_classify_ms_per_image: 1_140,
  features_images_per_s: { "1": 1.3, "8": 1.25 },
  baseline_features_images_per_s: { "1": 1.0, "8": 1.0 },
  train_s_per_epoch: 1.2,
  train: {
    s_per_epoch: 1.2,
    epochs_run: 20,
    batches_run: 2000,
    batches_per_epoch: 100,
    epoch_s: new Array(20).fill(1.2),
    total_s: 24,
    projected_20_epochs_s: 24,
    stopped_by_budget: false,
    final_loss: 0.69,
    step: "wasm-sparse-rmsprop, 2 thread(s)",
  },
  baseline_train_s_per_epoch: 48,
  peak_tfjs_bytes: 580_000_000,
  peak_tfjs_bytes_reported: 991_000_000,
  notes: ["full note"],
});

const native: NativeReference = {
  torch_classify_ms_per_image: 435,
  torch_features_images_per_s: { "8": 1000 / 297 },
  torch_threads: 2,
  torch_version: "1.13.1",
  note: null,
};

describe("bench page parameters", () => {
  it("defaults to WASM, every part but probe, batches 1, 8, 16 and 5 reps", () => {
    const { params, problems } = parseBenchParams(new URLSearchParams(""));
    expect(problems).toEqual([]);
    expect(params.backend).toBe("wasm");
    expect(params.threads).toBeNull();
    expect([...params.parts]).toEqual(["load", "first", "classify", "features", "train", "baseline"]);
    expect(params.batches).toEqual([1, 8, 16]);
    expect(params.reps).toBe(5);
    expect(params.epochs).toBe(20);
    expect(params.model).toBe(DEFAULT_MODEL_URL);
    expect(params.cache).toBe("keep");
    expect(params.report).toBeNull();
  });

  it("reads every documented parameter", () => {
    const { params, problems } = parseBenchParams(
      new URLSearchParams(
        "backend=webgpu&threads=2&parts=load,classify&batches=1,4,4&reps=7&batchReps=3&warmup=0&epochs=3&trainBudget=12.5&baselineEpochs=2&baselineTrainBudget=9&trainSamples=200&model=/m/model.json&cache=clear&report=http://127.0.0.1:9/r",
      ),
    );
    expect(problems).toEqual([]);
    expect(params).toMatchObject({
      backend: "webgpu",
      threads: 2,
      batches: [1, 4],
      reps: 7,
      batchReps: 3,
      warmup: false,
      epochs: 3,
      trainBudgetS: 12.5,
      baselineEpochs: 2,
      baselineTrainBudgetS: 9,
      trainSamples: 200,
      model: "/m/model.json",
      cache: "clear",
      report: "http://127.0.0.1:9/r",
    });
    expect([...params.parts]).toEqual(["load", "classify"]);
  });

  it("lists every invalid parameter instead of guessing", () => {
    const { problems } = parseBenchParams(
      new URLSearchParams(
        "backend=metal&threads=0&parts=load,fly&batches=0,x&reps=-1&cache=warm&warmup=maybe",
      ),
    );
    // backend, threads, parts, batches ×2 (+ "batches is empty"), reps, cache, warmup
    expect(problems).toHaveLength(9);
    expect(problems).toContain("batches is empty");
    expect(problems.join("\n")).toMatch(/backend=metal/);
    expect(problems.join("\n")).toMatch(/"fly"/);
    expect(problems.join("\n")).toMatch(/cache=warm/);
  });

  it("times ceil(reps / batch) batches above batch 1 unless batchReps says otherwise", () => {
    expect(timedBatchesFor({ reps: 5, batchReps: null }, 1)).toBe(5);
    expect(timedBatchesFor({ reps: 5, batchReps: null }, 8)).toBe(2);
    expect(timedBatchesFor({ reps: 20, batchReps: null }, 8)).toBe(3);
    expect(timedBatchesFor({ reps: 5, batchReps: 4 }, 16)).toBe(4);
  });

  it("warms up per batch size on GPU backends only, unless told", () => {
    expect(warmupFor({ warmup: null, backend: "wasm" })).toBe(false);
    expect(warmupFor({ warmup: null, backend: "webgl" })).toBe(true);
    expect(warmupFor({ warmup: true, backend: "cpu" })).toBe(true);
  });

  it("loads the model only for parts that need it", () => {
    expect(needsModel(new Set(["train", "baseline"]))).toBe(false);
    expect(needsModel(new Set(["features"]))).toBe(true);
  });

  it("projects s/epoch from the batches after the first when no epoch finished", () => {
    const clock = newBatchClock();
    tick(clock, 10_000); // the first batch ends after set-up: not counted
    tick(clock, 10_500);
    tick(clock, 11_000);
    const figures = trainFigures([], clock, 100, 1.5, true, 0.7, null);
    expect(figures.s_per_epoch).toBeCloseTo(50, 6); // 0.5 s per batch × 100 batches
    expect(figures.projected_20_epochs_s).toBeCloseTo(1000, 6);
    expect(figures.batches_run).toBe(3);
    expect(figures.stopped_by_budget).toBe(true);
  });

  it("uses the median whole epoch, and the measured total once 20 epochs ran", () => {
    const clock = newBatchClock();
    const three = trainFigures([2, 1, 1.5], clock, 100, 4.5, true, null, null);
    expect(three.s_per_epoch).toBe(1.5);
    expect(three.projected_20_epochs_s).toBeCloseTo(4.5 + 17 * 1.5, 6);
    const twenty = trainFigures([...new Array(19).fill(1), 3], clock, 100, 22, false, null, null);
    expect(twenty.projected_20_epochs_s).toBe(22);
  });

  it("warms up until two consecutive runs agree within 10%, at most maxRuns times", async () => {
    const script = (times: number[]) => {
      let i = 0;
      return async () => times[i++] ?? 0;
    };
    expect(await settle(script([4000, 3800, 2900, 1700, 1690, 1000]))).toEqual([4000, 3800]);
    expect(await settle(script([4000, 2900, 1700, 1650]))).toEqual([4000, 2900, 1700, 1650]);
    // A run already made counts as the one before the first.
    expect(await settle(script([1000]), { previous: 1050 })).toEqual([1000]);
    expect(await settle(script([5, 10, 20, 40, 80]), { maxRuns: 3 })).toEqual([5, 10, 20]);
  });

  it("takes the median (mean of the middle two for an even count)", () => {
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe("merging the cold and the full page", () => {
  it("takes load_ms.cold from the cold page and everything else from the full one", () => {
    const entry = mergePages(coldPage, fullPage, {
      peakRss: 2_000_000_000,
      rssByPart: { classify: 1_900_000_000 },
    });
    expect(entry.load_ms).toEqual({ cold: 13_100, warm: 6_500 });
    expect(entry.load_phases_ms.cold).toMatchObject({ download: 9000 });
    expect(entry.load_phases_ms.warm).toMatchObject({ download: 2500 });
    expect(entry.classify_ms_per_image).toBe(760);
    expect(entry.train_projected_20_epochs_s).toBe(24);
    expect(entry.float32_weight_bytes).toBe(WEIGHT_BYTES);
    expect(entry.peak_rss_bytes).toBe(2_000_000_000);
    expect(entry.notes).toEqual(["full note", "cold note"]);
    expect(entry.error).toBeNull();
    expect(entry.engine).toBe("wasm-runner");
    expect(entryTitle("wasm", entry)).toBe(
      "wasm — WASM, 2 threads, SIMD (forced by ?backend=wasm); engine wasm-runner; training step wasm-sparse-rmsprop, 2 thread(s)",
    );
  });

  it("keeps nulls for what no page measured and records the error", () => {
    const entry = mergePages(null, null, { error: "the page crashed" });
    expect(entry.classify_ms_per_image).toBeNull();
    expect(entry.load_ms).toEqual({ cold: null, warm: null });
    expect(entry.error).toBe("the page crashed");
  });
});

describe("targets", () => {
  it("compares ours with the baseline as speed-ups (> 1: ours is faster)", () => {
    expect(speedup(760, 1140, "time")).toBeCloseTo(1.5, 6);
    expect(speedup(1.3, 1.0, "throughput")).toBeCloseTo(1.3, 6);
    expect(speedup(null, 1, "time")).toBeNull();
    expect(speedup(0, 1, "time")).toBeNull();
  });

  it("judges every target of the primary WASM entry", () => {
    const entry = mergePages(coldPage, fullPage);
    const targets = evaluateTargets(entry, { cores: 2, native, primary: true });
    const met = Object.fromEntries(targets.map((t) => [t.id, t.met]));
    expect(met).toEqual({
      classify_vs_baseline: true, // 1140 / 760 = 1.5 ≥ 1.3
      features_vs_baseline_1: true, // 1.3 / 1.0 = 1.3 ≥ 1.3 (the boundary counts as met)
      features_vs_baseline_8: false, // 1.25
      wasm_threads: true,
      classify_vs_torch: false, // 760 / 435 = 1.75 > 1.3
      features_vs_torch_8: false, // PyTorch 3.37 images/s vs ours 1.25: 2.7× > 1.3×
      train_20_epochs: true, // 24 s ≤ 30 s
      train_vs_baseline: true, // 48 / 1.2 = 40 ≥ 30
      first_prediction_after_reload: false, // 7.9 s > 3 s
      peak_tfjs_memory: true, // 580 MB ≤ 1.3 × 553 MB
    });
  });

  it("leaves native and thread targets to the primary entry, and unmeasured ones as null", () => {
    const entry = mergePages(null, page({ backend: "wasm", threads: 1, classify_ms_per_image: 1600 }));
    const targets = evaluateTargets(entry, { cores: 2, native, primary: false });
    const ids = targets.map((t) => t.id);
    expect(ids).not.toContain("wasm_threads");
    expect(ids).not.toContain("classify_vs_torch");
    expect(targets.find((t) => t.id === "classify_vs_baseline")?.met).toBeNull();
    expect(targetSummary(targets)).toEqual({ met: 0, missed: 0, unmeasured: targets.length });
  });

  it("fails the thread target when WASM runs fewer threads than the machine has cores", () => {
    const entry = mergePages(null, page({ threads: 1 }));
    const threads = evaluateTargets(entry, { cores: 2, native: null, primary: true }).find(
      (t) => t.id === "wasm_threads",
    );
    expect(threads?.met).toBe(false);
  });
});

describe("keys, table and file name", () => {
  it("keys WASM runs by thread count, the primary one plainly", () => {
    expect(backendKey("wasm", 2, 2)).toBe("wasm");
    expect(backendKey("wasm", 1, 2)).toBe("wasm-1t");
    expect(backendKey("webgl", null, 2)).toBe("webgl");
  });

  it("picks WASM with the most threads as the primary entry", () => {
    const one = mergePages(null, page({ threads: 1 }));
    const two = mergePages(null, page({ threads: 2 }));
    const gl = mergePages(null, page({ backend: "webgl", threads: null }));
    expect(primaryKey({ webgl: gl, "wasm-1t": one, wasm: two })).toBe("wasm");
    expect(primaryKey({ webgl: gl })).toBe("webgl");
    expect(primaryKey({})).toBeNull();
  });

  it("prints ours, the baseline, the ratio, the target and whether it is met", () => {
    const entry: BackendEntry = mergePages(coldPage, fullPage);
    entry.targets = evaluateTargets(entry, { cores: 2, native, primary: true });
    const rows = tableRows(entry);
    const classify = rows.find((r) => r.metric.startsWith("classify ms/image"));
    expect(classify).toEqual({
      metric: "classify ms/image (batch 1)",
      ours: "760",
      baseline: "1140",
      ratio: "1.50×",
      target: "≥ 1.3×",
      met: "yes",
    });
    expect(rows.find((r) => r.metric.startsWith("features images/s (batch 8)"))?.met).toBe("NO");
    expect(rows.find((r) => r.metric.startsWith("first prediction"))).toMatchObject({
      ours: "7.90",
      target: "≤ 3 s",
      met: "NO",
    });
    expect(rows.find((r) => r.metric.startsWith("load cold"))?.ours).toBe("13.1 / 6.5");
    const text = formatTable(rows);
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^metric\s+ours\s+baseline\s+ratio\s+target\s+met$/);
    expect(lines).toHaveLength(rows.length + 2);
    // Columns line up: every "met" cell ends at the same column as the header's.
    expect(
      new Set(
        lines
          .slice(2)
          .filter((l) => / (yes|NO|n\/a)$/.test(l))
          .map((l) => l.length),
      ).size,
    ).toBe(1);
  });

  it("names results files by UTC time, sortable and without colons", () => {
    expect(resultFileName(new Date(Date.UTC(2026, 10, 28, 19, 4, 5, 123)))).toBe("2026-11-28T19-04-05Z.json");
  });
});
