/**
 * The bench page's query parameters (the contract drivers rely on; see
 * README "Performance"). Pure: parsed from a URLSearchParams, invalid values
 * are reported, never silently replaced.
 */

export const BENCH_BACKENDS = ["wasm", "webgl", "webgpu", "cpu"] as const;
export type BenchBackend = (typeof BENCH_BACKENDS)[number];

/**
 * probe: report the environment only (no model). load: load the model (always done when a later part needs it).
 * first: the first classification after loading. classify / features / train: our timings. baseline: the
 * tf.layers VGG16 and plain model.fit counterparts of the classify / features / train parts asked for.
 */
export const BENCH_PARTS = ["probe", "load", "first", "classify", "features", "train", "baseline"] as const;
export type BenchPart = (typeof BENCH_PARTS)[number];

export const DEFAULT_PARTS: readonly BenchPart[] = [
  "load",
  "first",
  "classify",
  "features",
  "train",
  "baseline",
];

export interface BenchParams {
  readonly backend: BenchBackend;
  /** WASM threads; null: what the app picks (every core when cross-origin isolated). */
  readonly threads: number | null;
  readonly parts: ReadonlySet<BenchPart>;
  /** Batch sizes for feature extraction. */
  readonly batches: readonly number[];
  /** Timed repetitions at batch 1 (classification, and feature extraction at batch 1). */
  readonly reps: number;
  /** Timed batches at each batch size > 1; null: ceil(reps / batch), at least 1. */
  readonly batchReps: number | null;
  /** One untimed batch at each batch size first; null: yes on webgl/webgpu (shaders per shape), no on wasm/cpu. */
  readonly warmup: boolean | null;
  /** Most epochs our training runs (whole epochs, stopped early by trainBudget). */
  readonly epochs: number;
  /** Seconds our training may take: no new epoch starts once the next would end past it (≥ 1 epoch always). */
  readonly trainBudgetS: number;
  /** Epochs the baseline's model.fit runs... */
  readonly baselineEpochs: number;
  /** ...unless this many seconds pass first: it then stops after the current batch and projects s/epoch. */
  readonly baselineTrainBudgetS: number;
  /** Training samples (random features, 25088 floats each). */
  readonly trainSamples: number;
  readonly model: string;
  /** "clear": empty the model cache (Cache Storage) before loading, for a cold load. */
  readonly cache: "keep" | "clear";
  /** When set, the result (or {error}) is POSTed there as JSON when the page is done. */
  readonly report: string | null;
}

export const DEFAULT_MODEL_URL = "/models/vgg16/model.json";

function positiveInt(name: string, raw: string, problems: string[], max = 1e6): number | null {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    problems.push(`${name}=${raw} is not a whole number in 1…${max}`);
    return null;
  }
  return n;
}

function positiveNumber(name: string, raw: string, problems: string[]): number | null {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    problems.push(`${name}=${raw} is not a number > 0`);
    return null;
  }
  return n;
}

function list(raw: string): string[] {
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** Parses the query; `problems` lists every invalid parameter (empty when all are valid). */
export function parseBenchParams(query: URLSearchParams): { params: BenchParams; problems: string[] } {
  const problems: string[] = [];
  const get = (name: string): string | null => query.get(name);

  let backend: BenchBackend = "wasm";
  const rawBackend = get("backend");
  if (rawBackend !== null) {
    if ((BENCH_BACKENDS as readonly string[]).includes(rawBackend)) backend = rawBackend as BenchBackend;
    else problems.push(`backend=${rawBackend} is not one of ${BENCH_BACKENDS.join(", ")}`);
  }

  const rawThreads = get("threads");
  const threads =
    rawThreads === null || rawThreads === "" ? null : positiveInt("threads", rawThreads, problems, 8);

  let parts = new Set<BenchPart>(DEFAULT_PARTS);
  const rawParts = get("parts");
  if (rawParts !== null) {
    parts = new Set();
    for (const p of list(rawParts)) {
      if ((BENCH_PARTS as readonly string[]).includes(p)) parts.add(p as BenchPart);
      else problems.push(`parts: "${p}" is not one of ${BENCH_PARTS.join(", ")}`);
    }
    if (parts.size === 0) problems.push("parts is empty");
  }

  let batches: number[] = [1, 8, 16];
  const rawBatches = get("batches");
  if (rawBatches !== null) {
    batches = [];
    for (const b of list(rawBatches)) {
      const n = positiveInt("batches", b, problems, 32);
      if (n !== null && !batches.includes(n)) batches.push(n);
    }
    if (batches.length === 0) problems.push("batches is empty");
  }

  const intParam = (name: string, fallback: number, max?: number): number => {
    const raw = get(name);
    if (raw === null || raw === "") return fallback;
    return positiveInt(name, raw, problems, max) ?? fallback;
  };
  const numberParam = (name: string, fallback: number): number => {
    const raw = get(name);
    if (raw === null || raw === "") return fallback;
    return positiveNumber(name, raw, problems) ?? fallback;
  };

  const rawBatchReps = get("batchReps");
  const batchReps =
    rawBatchReps === null || rawBatchReps === ""
      ? null
      : positiveInt("batchReps", rawBatchReps, problems, 1000);

  let warmup: boolean | null = null;
  const rawWarmup = get("warmup");
  if (rawWarmup !== null && rawWarmup !== "") {
    if (rawWarmup === "1" || rawWarmup === "true") warmup = true;
    else if (rawWarmup === "0" || rawWarmup === "false") warmup = false;
    else problems.push(`warmup=${rawWarmup} is not 0 or 1`);
  }

  let cache: "keep" | "clear" = "keep";
  const rawCache = get("cache");
  if (rawCache !== null && rawCache !== "") {
    if (rawCache === "keep" || rawCache === "clear") cache = rawCache;
    else problems.push(`cache=${rawCache} is not keep or clear`);
  }

  const rawModel = get("model");
  const rawReport = get("report");
  const params: BenchParams = {
    backend,
    threads,
    parts,
    batches,
    reps: intParam("reps", 5, 1000),
    batchReps,
    warmup,
    epochs: intParam("epochs", 20, 1000),
    trainBudgetS: numberParam("trainBudget", 60),
    baselineEpochs: intParam("baselineEpochs", 1, 1000),
    baselineTrainBudgetS: numberParam("baselineTrainBudget", 90),
    trainSamples: intParam("trainSamples", 2000, 100_000),
    model: rawModel === null || rawModel === "" ? DEFAULT_MODEL_URL : rawModel,
    cache,
    report: rawReport === null || rawReport === "" ? null : rawReport,
  };
  return { params, problems };
}

/**
 * Timed batches at batch size `batch` (> 1): batchReps, else ceil(reps / batch), at least 2 (one batch of 8
 * once made the PyTorch ratio swing between 1.02× and 1.86× across two runs on this shared machine).
 */
export function timedBatchesFor(params: Pick<BenchParams, "reps" | "batchReps">, batch: number): number {
  if (batch <= 1) return params.reps;
  return params.batchReps ?? Math.max(2, Math.ceil(params.reps / batch));
}

/** Whether to run one untimed batch at each batch size first. */
export function warmupFor(params: Pick<BenchParams, "warmup" | "backend">): boolean {
  return params.warmup ?? (params.backend === "webgl" || params.backend === "webgpu");
}

/** The model is loaded when any part needs it. */
export function needsModel(parts: ReadonlySet<BenchPart>): boolean {
  return parts.has("load") || parts.has("first") || parts.has("classify") || parts.has("features");
}
