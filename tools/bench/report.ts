/**
 * The benchmark's pure half: merging the pages' results into one entry per
 * backend, the targets (ratios measured in the same run), the printed table
 * and the JSON written to bench/results/. No I/O here, so it is unit-tested
 * (tests/bench-report.test.ts).
 */
import type { PageResult, TrainFigures } from "../../bench/harness/result";

export interface NativeReference {
  readonly torch_classify_ms_per_image: number | null;
  readonly torch_features_images_per_s: Record<string, number | null>;
  readonly torch_threads: number | null;
  readonly torch_version: string | null;
  /** Why it was not measured (torch missing, failed), else null. */
  readonly note: string | null;
}

export interface TargetResult {
  readonly id: string;
  readonly description: string;
  /** The measured figure the target judges (a ratio, seconds, ms or bytes, see unit). */
  readonly value: number | null;
  readonly unit: "ratio" | "s" | "ms" | "bytes" | "threads";
  readonly comparison: ">=" | "<=";
  readonly threshold: number;
  /** null: not measured. */
  readonly met: boolean | null;
}

export interface BackendEntry {
  readonly backend: string;
  readonly threads: number | null;
  readonly simd: boolean | null;
  readonly backend_reason: string | null;
  readonly engine: string | null;
  readonly webgpu_adapter: unknown;
  readonly webgl_renderer: string | null;
  readonly load_ms: { readonly cold: number | null; readonly warm: number | null };
  readonly load_phases_ms: { readonly cold: unknown; readonly warm: unknown };
  readonly first_inference_ms: number | null;
  readonly baseline_first_inference_ms: number | null;
  readonly first_prediction_after_reload_ms: number | null;
  readonly classify_ms_per_image: number | null;
  readonly baseline_classify_ms_per_image: number | null;
  readonly classify_samples_ms: readonly number[];
  readonly baseline_classify_samples_ms: readonly number[];
  readonly inference_ms_per_image: number | null;
  readonly baseline_inference_ms_per_image: number | null;
  readonly features_images_per_s: Record<string, number | null>;
  readonly baseline_features_images_per_s: Record<string, number | null>;
  readonly features_samples_ms: Record<string, readonly number[]>;
  readonly baseline_features_samples_ms: Record<string, readonly number[]>;
  readonly train_s_per_epoch: number | null;
  readonly baseline_train_s_per_epoch: number | null;
  readonly train_projected_20_epochs_s: number | null;
  readonly train: TrainFigures | null;
  readonly baseline_train: TrainFigures | null;
  readonly peak_tfjs_bytes: number | null;
  readonly baseline_peak_tfjs_bytes: number | null;
  readonly peak_tfjs_bytes_reported: number | null;
  readonly baseline_peak_tfjs_bytes_reported: number | null;
  readonly tfjs_bytes_after_load: number | null;
  readonly float32_weight_bytes: number | null;
  /**
   * RSS summed over the browser's processes, sampled by the driver (null when nobody sampled), while the app's
   * worker is alone (loading, classification, feature extraction); peak_rss_bytes_all: over the whole page,
   * with the bench's own worker and both models later.
   */
  readonly peak_rss_bytes: number | null;
  readonly peak_rss_bytes_all: number | null;
  readonly rss_peak_by_part: Record<string, number>;
  readonly notes: readonly string[];
  /** Set when nothing (or not everything) could be measured: the page's error. */
  readonly error: string | null;
  targets: TargetResult[];
}

export interface BenchJson {
  readonly date: string;
  readonly machine: {
    readonly cpu: string;
    readonly cores: number;
    readonly browser: string;
    readonly memory_bytes?: number;
    readonly os?: string;
    readonly node?: string;
  };
  readonly options: Record<string, unknown>;
  readonly backends: Record<string, BackendEntry>;
  readonly native: NativeReference;
  readonly bundle: unknown;
  /** The primary backend's targets (WASM with every core on a CPU-only machine). */
  readonly targets: { readonly backend: string | null; readonly results: readonly TargetResult[] };
  readonly notes: readonly string[];
  readonly total_s: number;
}

/** The key under "backends": the name, with "-<n>t" for a WASM run that is not the primary (most threads). */
export function backendKey(
  backend: string,
  threads: number | null,
  primaryWasmThreads: number | null,
): string {
  if (backend !== "wasm" || threads === null || threads === primaryWasmThreads) return backend;
  return `wasm-${threads}t`;
}

const pick = <T>(a: T | null | undefined, b: T | null | undefined): T | null => a ?? b ?? null;

/**
 * One entry from the cold-load page (cache cleared, parts=load) and the full page (model cached): field by
 * field, the value that is not null; load_ms.cold from whichever page loaded from the network.
 */
export function mergePages(
  cold: PageResult | null,
  full: PageResult | null,
  extra: {
    peakRss?: number | null;
    peakRssAll?: number | null;
    rssByPart?: Record<string, number>;
    error?: string | null;
  } = {},
): BackendEntry {
  const pages = [full, cold].filter((p): p is PageResult => p !== null);
  const first = <T>(get: (p: PageResult) => T | null | undefined): T | null => {
    for (const p of pages) {
      const v = get(p);
      if (v !== null && v !== undefined) return v;
    }
    return null;
  };
  const env = first((p) => p.environment);
  const notes = pages.flatMap((p) => p.notes);
  return {
    backend: first((p) => p.backend) ?? first((p) => p.requested_backend) ?? "unknown",
    threads: first((p) => p.threads),
    simd: first((p) => p.simd),
    backend_reason: first((p) => p.backend_reason),
    engine: first((p) => p.engine),
    webgpu_adapter: env?.webgpu_adapter ?? null,
    webgl_renderer: env?.webgl_renderer ?? null,
    load_ms: { cold: first((p) => p.load_ms.cold), warm: first((p) => p.load_ms.warm) },
    load_phases_ms: {
      cold: first((p) => (p.from_cache === false ? p.load_phases_ms : null)),
      warm: first((p) => (p.from_cache === true ? p.load_phases_ms : null)),
    },
    first_inference_ms: first((p) => p.first_inference_ms),
    baseline_first_inference_ms: first((p) => p.baseline_first_inference_ms),
    first_prediction_after_reload_ms: first((p) => p.first_prediction_after_reload_ms),
    classify_ms_per_image: first((p) => p.classify_ms_per_image),
    baseline_classify_ms_per_image: first((p) => p.baseline_classify_ms_per_image),
    classify_samples_ms: full?.classify_samples_ms ?? [],
    baseline_classify_samples_ms: full?.baseline_classify_samples_ms ?? [],
    inference_ms_per_image: first((p) => p.inference_ms_per_image),
    baseline_inference_ms_per_image: first((p) => p.baseline_inference_ms_per_image),
    features_images_per_s: { ...(full?.features_images_per_s ?? {}) },
    baseline_features_images_per_s: { ...(full?.baseline_features_images_per_s ?? {}) },
    features_samples_ms: { ...(full?.features_samples_ms ?? {}) },
    baseline_features_samples_ms: { ...(full?.baseline_features_samples_ms ?? {}) },
    train_s_per_epoch: first((p) => p.train_s_per_epoch),
    baseline_train_s_per_epoch: first((p) => p.baseline_train_s_per_epoch),
    train_projected_20_epochs_s: first((p) => p.train?.projected_20_epochs_s),
    train: first((p) => p.train),
    baseline_train: first((p) => p.baseline_train),
    peak_tfjs_bytes: first((p) => p.peak_tfjs_bytes),
    baseline_peak_tfjs_bytes: first((p) => p.baseline_peak_tfjs_bytes),
    peak_tfjs_bytes_reported: first((p) => p.peak_tfjs_bytes_reported),
    baseline_peak_tfjs_bytes_reported: first((p) => p.baseline_peak_tfjs_bytes_reported),
    tfjs_bytes_after_load: first((p) => p.tfjs_bytes_after_load),
    float32_weight_bytes: first((p) => p.model?.float32_weight_bytes),
    peak_rss_bytes: pick(extra.peakRss, null),
    peak_rss_bytes_all: pick(extra.peakRssAll, null),
    rss_peak_by_part: extra.rssByPart ?? {},
    notes,
    error: extra.error ?? null,
    targets: [],
  };
}

/** ours / baseline for throughputs, baseline / ours for times: > 1 means ours is faster. */
export function speedup(
  ours: number | null,
  baseline: number | null,
  kind: "time" | "throughput",
): number | null {
  if (ours === null || baseline === null || ours <= 0 || baseline <= 0) return null;
  return kind === "time" ? baseline / ours : ours / baseline;
}

function judge(
  id: string,
  description: string,
  value: number | null,
  unit: TargetResult["unit"],
  comparison: ">=" | "<=",
  threshold: number,
): TargetResult {
  const met = value === null ? null : comparison === ">=" ? value >= threshold : value <= threshold;
  return { id, description, value, unit, comparison, threshold, met };
}

export interface TargetContext {
  /** The machine's logical cores: "both threads in use" means WASM runs this many. */
  readonly cores: number;
  readonly native: NativeReference | null;
  /** Whether this entry is the primary one (native and thread targets only apply there). */
  readonly primary: boolean;
}

/** The issue's targets, judged on one backend entry. */
export function evaluateTargets(entry: BackendEntry, ctx: TargetContext): TargetResult[] {
  const targets: TargetResult[] = [];
  targets.push(
    judge(
      "classify_vs_baseline",
      "classification throughput ≥ 1.3× the tf.layers baseline (batch 1)",
      speedup(entry.classify_ms_per_image, entry.baseline_classify_ms_per_image, "time"),
      "ratio",
      ">=",
      1.3,
    ),
  );
  const batches = Object.keys(entry.features_images_per_s).sort((a, b) => Number(a) - Number(b));
  for (const b of batches) {
    targets.push(
      judge(
        `features_vs_baseline_${b}`,
        `feature extraction throughput ≥ 1.3× the baseline (batch ${b})`,
        speedup(
          entry.features_images_per_s[b] ?? null,
          entry.baseline_features_images_per_s[b] ?? null,
          "throughput",
        ),
        "ratio",
        ">=",
        1.3,
      ),
    );
  }
  if (ctx.primary && entry.backend === "wasm") {
    targets.push(
      judge(
        "wasm_threads",
        `WASM uses every core (${ctx.cores} threads)`,
        entry.threads,
        "threads",
        ">=",
        Math.min(ctx.cores, 8),
      ),
    );
  }
  if (ctx.primary && ctx.native) {
    const torchMs = ctx.native.torch_classify_ms_per_image;
    targets.push(
      judge(
        "classify_vs_torch",
        "classification within 1.3× of native PyTorch (batch 1, same cores)",
        entry.classify_ms_per_image !== null && torchMs !== null
          ? entry.classify_ms_per_image / torchMs
          : null,
        "ratio",
        "<=",
        1.3,
      ),
    );
    for (const [b, torchIps] of Object.entries(ctx.native.torch_features_images_per_s)) {
      const ours = entry.features_images_per_s[b] ?? null;
      targets.push(
        judge(
          `features_vs_torch_${b}`,
          `feature extraction within 1.3× of native PyTorch (batch ${b})`,
          ours !== null && torchIps !== null && ours > 0 ? torchIps / ours : null,
          "ratio",
          "<=",
          1.3,
        ),
      );
    }
  }
  targets.push(
    judge(
      "train_20_epochs",
      "head training: 20 epochs over 2000 samples in ≤ 30 s",
      entry.train_projected_20_epochs_s,
      "s",
      "<=",
      30,
    ),
    judge(
      "train_vs_baseline",
      "head training ≥ 30× faster per epoch than plain model.fit",
      speedup(entry.train_s_per_epoch, entry.baseline_train_s_per_epoch, "time"),
      "ratio",
      ">=",
      30,
    ),
  );
  if (entry.backend === "wasm") {
    targets.push(
      judge(
        "first_prediction_after_reload",
        "first prediction after a reload with a cached model ≤ 3 s (WASM)",
        entry.first_prediction_after_reload_ms,
        "ms",
        "<=",
        3000,
      ),
    );
  }
  const weights = entry.float32_weight_bytes;
  targets.push(
    judge(
      "peak_tfjs_memory",
      `peak TF.js memory during classification ≤ 1.3× the float32 weights${weights ? ` (${mb(weights * 1.3)} MB)` : ""}`,
      entry.peak_tfjs_bytes,
      "bytes",
      "<=",
      weights ? weights * 1.3 : Number.NaN,
    ),
  );
  return targets;
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(0);
}

/** The primary entry: WASM with the most threads, else the first one measured. */
export function primaryKey(backends: Record<string, BackendEntry>): string | null {
  let best: string | null = null;
  for (const [key, entry] of Object.entries(backends)) {
    if (entry.backend !== "wasm") continue;
    if (best === null || (entry.threads ?? 0) > (backends[best]?.threads ?? 0)) best = key;
  }
  return best ?? Object.keys(backends)[0] ?? null;
}

// ---- the printed table ----

function fixed(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}

function ratioText(value: number | null): string {
  return value === null ? "–" : `${value.toFixed(2)}×`;
}

function metText(met: boolean | null | undefined): string {
  return met === null || met === undefined ? "n/a" : met ? "yes" : "NO";
}

function targetText(t: TargetResult | undefined): string {
  if (!t) return "";
  const threshold =
    t.unit === "ratio"
      ? `${t.threshold}×`
      : t.unit === "bytes"
        ? `${mb(t.threshold)} MB`
        : t.unit === "ms"
          ? `${t.threshold / 1000} s`
          : t.unit === "s"
            ? `${t.threshold} s`
            : String(t.threshold);
  return `${t.comparison === ">=" ? "≥" : "≤"} ${threshold}`;
}

export interface TableRow {
  readonly metric: string;
  readonly ours: string;
  readonly baseline: string;
  readonly ratio: string;
  readonly target: string;
  readonly met: string;
}

/** Rows for one backend: our figure, the baseline's, their ratio, the target and whether it is met. */
export function tableRows(entry: BackendEntry): TableRow[] {
  const t = (id: string) => entry.targets.find((x) => x.id === id);
  const row = (metric: string, ours: string, baseline = "", ratio = "", target?: TargetResult): TableRow => ({
    metric,
    ours,
    baseline,
    ratio,
    target: targetText(target),
    met: target ? metText(target.met) : "",
  });
  /** Our figure against the baseline's, with the ratio and the verdict of the target that compares them. */
  const vsBaseline = (metric: string, ours: string, baseline: string, targetId: string): TableRow => {
    const target = t(targetId);
    return row(metric, ours, baseline, ratioText(target?.value ?? null), target);
  };
  const rows: TableRow[] = [];
  rows.push(
    row(
      "load cold / warm (s)",
      `${fixed(ms2s(entry.load_ms.cold), 1)} / ${fixed(ms2s(entry.load_ms.warm), 1)}`,
    ),
  );
  rows.push(
    row(
      "first inference (ms)",
      fixed(entry.first_inference_ms, 0),
      fixed(entry.baseline_first_inference_ms, 0),
    ),
  );
  if (entry.backend === "wasm" || entry.first_prediction_after_reload_ms !== null) {
    const target = t("first_prediction_after_reload");
    rows.push(
      row(
        "first prediction after reload (s)",
        fixed(ms2s(entry.first_prediction_after_reload_ms), 2),
        "",
        "",
        target,
      ),
    );
  }
  rows.push(
    vsBaseline(
      "classify ms/image (batch 1)",
      fixed(entry.classify_ms_per_image, 0),
      fixed(entry.baseline_classify_ms_per_image, 0),
      "classify_vs_baseline",
    ),
  );
  rows.push(
    row(
      "  inference alone, in a worker (ms)",
      fixed(entry.inference_ms_per_image, 0),
      fixed(entry.baseline_inference_ms_per_image, 0),
      ratioText(speedup(entry.inference_ms_per_image, entry.baseline_inference_ms_per_image, "time")),
    ),
  );
  const batches = Object.keys(entry.features_images_per_s).sort((a, b) => Number(a) - Number(b));
  for (const b of batches) {
    rows.push(
      vsBaseline(
        `features images/s (batch ${b})`,
        fixed(entry.features_images_per_s[b], 2),
        fixed(entry.baseline_features_images_per_s[b], 2),
        `features_vs_baseline_${b}`,
      ),
    );
  }
  rows.push(
    vsBaseline(
      "train s/epoch (2000×25088, batch 20)",
      fixed(entry.train_s_per_epoch, 2),
      fixed(entry.baseline_train_s_per_epoch, 1),
      "train_vs_baseline",
    ),
  );
  rows.push(
    row("train 20 epochs (s)", fixed(entry.train_projected_20_epochs_s, 1), "", "", t("train_20_epochs")),
  );
  rows.push(
    row(
      "peak TF.js MB (classify, each buffer once)",
      fixed(bytes2mb(entry.peak_tfjs_bytes), 0),
      fixed(bytes2mb(entry.baseline_peak_tfjs_bytes), 0),
      "",
      t("peak_tfjs_memory"),
    ),
  );
  rows.push(
    row(
      "  as tf.memory() counts (views again)",
      fixed(bytes2mb(entry.peak_tfjs_bytes_reported), 0),
      fixed(bytes2mb(entry.baseline_peak_tfjs_bytes_reported), 0),
    ),
  );
  rows.push(row("peak browser RSS MB (app alone)", fixed(bytes2mb(entry.peak_rss_bytes), 0)));
  rows.push(row("  whole page (+ bench worker, both models)", fixed(bytes2mb(entry.peak_rss_bytes_all), 0)));
  const threads = t("wasm_threads");
  if (threads) rows.push(row("WASM threads in use", String(entry.threads ?? "–"), "", "", threads));
  const torch = t("classify_vs_torch");
  if (torch) rows.push(row("classify ours / PyTorch (time)", "", "", ratioText(torch.value), torch));
  for (const target of entry.targets.filter((x) => x.id.startsWith("features_vs_torch_"))) {
    rows.push(
      row(
        `features PyTorch / ours (batch ${target.id.split("_").pop()})`,
        "",
        "",
        ratioText(target.value),
        target,
      ),
    );
  }
  return rows;
}

function ms2s(ms: number | null): number | null {
  return ms === null ? null : ms / 1000;
}

function bytes2mb(bytes: number | null): number | null {
  return bytes === null ? null : bytes / 1e6;
}

/** Plain-text table, columns padded to their widest cell. */
export function formatTable(rows: readonly TableRow[]): string {
  const header: TableRow = {
    metric: "metric",
    ours: "ours",
    baseline: "baseline",
    ratio: "ratio",
    target: "target",
    met: "met",
  };
  const all = [header, ...rows];
  const keys: (keyof TableRow)[] = ["metric", "ours", "baseline", "ratio", "target", "met"];
  const widths = keys.map((k) => Math.max(...all.map((r) => r[k].length)));
  const line = (r: TableRow) =>
    keys
      .map((k, i) => (i === 0 ? r[k].padEnd(widths[i] ?? 0) : r[k].padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** A title line for one backend entry, e.g. "wasm — WASM, 2 threads, SIMD: no WebGPU adapter; engine wasm-runner". */
export function entryTitle(key: string, entry: BackendEntry): string {
  const engine = `${entry.engine ? `; engine ${entry.engine}` : ""}${entry.train?.step ? `; training step ${entry.train.step}` : ""}`;
  return `${key} — ${entry.backend_reason ?? entry.backend}${engine}${entry.error ? ` (ERROR: ${entry.error})` : ""}`;
}

/** Counts of targets met / not met / not measured. */
export function targetSummary(results: readonly TargetResult[]): {
  met: number;
  missed: number;
  unmeasured: number;
} {
  return {
    met: results.filter((r) => r.met === true).length,
    missed: results.filter((r) => r.met === false).length,
    unmeasured: results.filter((r) => r.met === null).length,
  };
}

/** The results file name for a date: 2026-11-28T19-04-05Z.json (sortable, no colons). */
export function resultFileName(date: Date): string {
  return `${date
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/:/g, "-")}.json`;
}
