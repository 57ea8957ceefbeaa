/**
 * What the app knows about a model before loading any weights: it fetches
 * only model.json, checks that it is one of ours, and derives the facts the
 * Model panel shows. Pure functions plus one fetch, so it runs (and is tested)
 * in Node as well as in the browser.
 */
import { vgg16ManifestProblems } from "../model/manifest-check";
import { readVgg16Metadata, type Vgg16Metadata } from "../model/metadata";
import { isQuantization } from "../model/quantize";
import { KERAS_PARAM_COUNTS } from "../model/vgg16-spec";
import { MODEL_REQUEST_INIT } from "../vgg16/model-files";

/** Where `npm run weights` models are served (see tools/vite-serve-models.ts). */
export const DEFAULT_MODEL_PATH = "models/vgg16/model.json";

export interface ModelFacts {
  readonly metadata: Vgg16Metadata;
  /** Bytes of weight data to download: Σ shape product × bytes per stored dtype. */
  readonly weightBytes: number;
  readonly shards: number;
  readonly tensors: number;
}

export type ModelInfo =
  | { readonly kind: "found"; readonly facts: ModelFacts }
  /** Nothing usable there: network error, 404, an HTML fallback page. */
  | { readonly kind: "missing"; readonly reason: string }
  /** A file is there but it is not a model we can use; `problems` says why. */
  | { readonly kind: "invalid"; readonly problems: readonly string[] };

/** The model.json to describe: `?model=URL` if given, else the default under the app's base. */
export function modelUrlFromSearch(search: string, baseUrl = "/"): string {
  const requested = new URLSearchParams(search).get("model")?.trim();
  if (requested) return requested;
  return `${baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`}${DEFAULT_MODEL_PATH}`;
}

/** Bytes per value as stored in the shards (after quantization), by TF.js dtype. */
const STORED_BYTES: Readonly<Record<string, number>> = {
  float32: 4,
  int32: 4,
  float16: 2,
  uint16: 2,
  int16: 2,
  uint8: 1,
  int8: 1,
  bool: 1,
};

interface ManifestSummary {
  readonly weightBytes: number;
  readonly shards: number;
  readonly tensors: number;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Sums the weights manifest; returns problems instead when it is malformed. */
export function summarizeManifest(manifest: unknown): ManifestSummary | { problems: string[] } {
  if (!Array.isArray(manifest) || manifest.length === 0) {
    return { problems: ["It has no weightsManifest, so there are no weights to load."] };
  }
  const problems: string[] = [];
  let weightBytes = 0;
  let shards = 0;
  let tensors = 0;
  for (const [g, group] of manifest.entries()) {
    if (!isRecord(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      problems.push(`weightsManifest[${g}] lacks "paths" or "weights".`);
      continue;
    }
    shards += group.paths.length;
    for (const weight of group.weights) {
      const name = isRecord(weight) && typeof weight.name === "string" ? weight.name : "(unnamed)";
      if (
        !isRecord(weight) ||
        !Array.isArray(weight.shape) ||
        !weight.shape.every((d) => Number.isInteger(d) && d >= 0)
      ) {
        problems.push(`Weight "${name}" has no valid shape.`);
        continue;
      }
      const quantization = isRecord(weight.quantization) ? weight.quantization : null;
      const stored = quantization?.dtype ?? weight.dtype;
      const bytes = typeof stored === "string" ? STORED_BYTES[stored] : undefined;
      if (bytes === undefined) {
        problems.push(`Weight "${name}" has an unknown dtype ${JSON.stringify(stored)}.`);
        continue;
      }
      tensors++;
      weightBytes += (weight.shape as number[]).reduce((a, b) => a * b, 1) * bytes;
    }
  }
  return problems.length > 0 ? { problems } : { weightBytes, shards, tensors };
}

function metadataProblems(meta: Vgg16Metadata): string[] {
  const problems: string[] = [];
  const source = meta.source as unknown;
  if (!isRecord(source)) {
    problems.push("The VGG16 metadata has no source.");
  } else if (source.kind === "synthetic") {
    if (typeof source.seed !== "number") problems.push("The synthetic source has no seed.");
  } else if (source.kind === "keras-h5") {
    if (typeof source.file !== "string" || typeof source.md5 !== "string") {
      problems.push("The Keras source lacks the file name or md5.");
    }
  } else {
    problems.push(`The source kind ${JSON.stringify(source.kind)} is unknown.`);
  }
  if (typeof meta.quantization !== "string" || !isQuantization(meta.quantization)) {
    problems.push(`The quantization ${JSON.stringify(meta.quantization)} is not none, float16 or uint8.`);
  }
  if (typeof meta.includeTop !== "boolean")
    problems.push("The VGG16 metadata does not say whether the model includes the top.");
  const params = meta.params as unknown;
  if (!isRecord(params) || typeof params.total !== "number" || typeof params.convBase !== "number") {
    problems.push("The VGG16 metadata has no parameter counts.");
  } else if (typeof meta.includeTop === "boolean") {
    const expected = meta.includeTop ? KERAS_PARAM_COUNTS.total : KERAS_PARAM_COUNTS.convBase;
    if (params.total !== expected) {
      problems.push(
        `The metadata counts ${params.total} parameters, but VGG16 ${meta.includeTop ? "with" : "without"} top has ${expected}.`,
      );
    }
  }
  return problems;
}

/** Checks a parsed model.json and derives its facts. */
export function describeModelJson(json: unknown): ModelInfo {
  if (!isRecord(json)) return { kind: "invalid", problems: ["It is JSON, but not an object."] };
  const problems: string[] = [];
  if (json.format !== "graph-model") {
    problems.push(
      `Its format is ${JSON.stringify(json.format ?? null)}; this app needs a TF.js "graph-model" as written by npm run weights.`,
    );
  }
  const meta = readVgg16Metadata(json.userDefinedMetadata);
  if (meta === null) {
    const raw = isRecord(json.userDefinedMetadata) ? json.userDefinedMetadata.vgg16 : undefined;
    problems.push(
      raw === undefined
        ? "It has no VGG16 metadata (userDefinedMetadata.vgg16), so it was not written by npm run weights."
        : "Its VGG16 metadata has an unknown schema or architecture; regenerate it with npm run weights.",
    );
  } else {
    problems.push(...metadataProblems(meta));
  }
  const manifest = summarizeManifest(json.weightsManifest);
  if ("problems" in manifest) problems.push(...manifest.problems);
  else if (meta !== null) {
    // Every group is well-formed here (summarizeManifest checked): are they VGG16's layers?
    const weights = (json.weightsManifest as Array<{ weights: Array<{ name: string; shape: number[] }> }>)
      .flatMap((group) => group.weights)
      .filter((w) => isRecord(w) && typeof w.name === "string");
    problems.push(...vgg16ManifestProblems(weights, meta.includeTop !== false));
  }
  if (problems.length > 0 || meta === null || "problems" in manifest) return { kind: "invalid", problems };
  return { kind: "found", facts: { metadata: meta, ...manifest } };
}

/** Where the worker keeps models it has loaded: model.json under its absolute URL. */
export type CachedModelJson = (url: string) => Promise<Response | undefined>;

/**
 * Describes model.json (never the weights). A copy the worker has cached is
 * used first, so that a cached model needs no request at all; otherwise it
 * is fetched. Rejects only when aborted.
 */
export async function fetchModelInfo(
  url: string,
  options: { signal?: AbortSignal; fetch?: typeof fetch; cached?: CachedModelJson } = {},
): Promise<ModelInfo> {
  if (options.cached) {
    try {
      const hit = await options.cached(url);
      if (hit) {
        const info = describeModelJson(JSON.parse(await hit.text()));
        if (info.kind === "found") return info;
      }
    } catch {
      // No usable cached copy: ask the server.
    }
    if (options.signal?.aborted) throw options.signal.reason ?? new DOMException("Aborted", "AbortError");
  }
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    // CORS without credentials, as the worker fetches models: a `?model=` URL on another host never gets
    // the user's cookies for it.
    response = await doFetch(url, {
      signal: options.signal,
      headers: { Accept: "application/json" },
      ...MODEL_REQUEST_INIT,
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return { kind: "missing", reason: `the request failed (${errorText(error)}).` };
  }
  if (!response.ok) {
    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
    return { kind: "missing", reason: `the server answered ${status}.` };
  }
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("text/html")) {
    return {
      kind: "missing",
      reason:
        "the server answered with an HTML page (probably its fallback for unknown paths), not model.json.",
    };
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return { kind: "missing", reason: `reading the response failed (${errorText(error)}).` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { kind: "invalid", problems: [`It is not valid JSON (${errorText(error)}).`] };
  }
  return describeModelJson(json);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const counts = new Intl.NumberFormat("en-US");

/** 138357544 → "138,357,544". */
export function formatCount(n: number): string {
  return counts.format(n);
}

/** Binary units, one decimal: 553467096 → "527.8 MiB". */
export function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/** "synthetic, seed 1" or "vgg16_weights….h5 (md5 …)". */
export function describeSource(meta: Vgg16Metadata): string {
  const { source } = meta;
  return source.kind === "synthetic"
    ? `synthetic, seed ${source.seed}`
    : `${source.file} (md5 ${source.md5})`;
}

export function describeQuantization(meta: Vgg16Metadata): string {
  switch (meta.quantization) {
    case "none":
      return "none (float32)";
    case "float16":
      return "float16 (weights stored as half floats)";
    case "uint8":
      return "uint8 (dense kernels uint8, conv kernels float16)";
  }
}

/** One line for the status region. */
export function summarizeFacts(facts: ModelFacts): string {
  const { metadata: m } = facts;
  const weights = m.synthetic ? `synthetic weights, seed ${seedOf(m)}` : "ImageNet weights";
  const top = m.includeTop ? "with top" : "features only";
  return `VGG16, ${weights}, ${top}, quantization ${m.quantization}, ${formatBytes(facts.weightBytes)}`;
}

function seedOf(meta: Vgg16Metadata): string {
  return meta.source.kind === "synthetic" ? String(meta.source.seed) : "?";
}
