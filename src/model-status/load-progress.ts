/**
 * Loading the weights in the worker, as pure data: the worker's LoadEvents
 * folded into per-phase progress, and the texts the progress bar and the
 * status line show. Unit-tested in Node.
 */
import { formatEta, formatMBOf, formatMBPerSecond, formatMs, formatSeconds } from "../app/format";
import type {
  BackendChoice,
  BackendInfo,
  BackendName,
  LoadEvent,
  LoadedModel,
  LoadPhase,
} from "../vgg16/api";

export const PHASES: readonly LoadPhase[] = ["download", "convert", "upload", "warmup"];

export const PHASE_LABELS: Readonly<Record<LoadPhase, string>> = {
  download: "Download",
  convert: "Reading your files",
  upload: "Weight upload",
  warmup: "Warm-up",
};

export interface PhaseProgress {
  /** 0..1 within the phase. */
  readonly fraction: number;
  readonly loadedBytes: number | null;
  readonly totalBytes: number | null;
  /** As the worker reports it with the phase's latest event. */
  readonly elapsedMs: number;
  /** Local clock (ms) when the phase's first event arrived: the worker reports upload and warm-up only at start and end. */
  readonly seenAt: number;
  readonly done: boolean;
  /** Left to the first image (the warm-up on the WASM runner). */
  readonly deferred: boolean;
}

export interface LoadProgress {
  readonly current: LoadPhase | null;
  readonly phases: Readonly<Partial<Record<LoadPhase, PhaseProgress>>>;
  /** null until the worker says whether the weights came from its cache. */
  readonly cacheHit: boolean | null;
  /** After a download: whether the weights were kept in the cache, and why not. */
  readonly cacheStored: boolean | null;
  readonly cacheProblem: string | null;
  /** Shards found damaged in the cache, dropped and downloaded again (file names); empty when none. */
  readonly cacheRepaired: readonly string[];
}

export const NO_PROGRESS: LoadProgress = {
  current: null,
  phases: {},
  cacheHit: null,
  cacheStored: null,
  cacheProblem: null,
  cacheRepaired: [],
};

/** Folds one LoadEvent in, received at local time `now` (ms); a new phase marks the earlier ones done. */
export function applyLoadEvent(progress: LoadProgress, event: LoadEvent, now = 0): LoadProgress {
  if (event.type === "cache") {
    return {
      ...progress,
      cacheHit: event.hit,
      cacheStored: event.stored ?? progress.cacheStored,
      cacheProblem: event.stored === false ? (event.reason ?? "unknown reason") : progress.cacheProblem,
      cacheRepaired: event.repaired ? [...event.repaired] : progress.cacheRepaired,
    };
  }
  const index = PHASES.indexOf(event.phase);
  const phases: Partial<Record<LoadPhase, PhaseProgress>> = { ...progress.phases };
  for (const earlier of PHASES.slice(0, Math.max(0, index))) {
    const p = phases[earlier];
    if (p && !p.done) phases[earlier] = { ...p, fraction: 1, done: true };
  }
  const previous = phases[event.phase];
  const fraction = Math.min(1, Math.max(0, Number.isFinite(event.fraction) ? event.fraction : 0));
  phases[event.phase] = {
    fraction,
    loadedBytes: event.loadedBytes ?? previous?.loadedBytes ?? null,
    totalBytes: event.totalBytes ?? previous?.totalBytes ?? null,
    elapsedMs: event.elapsedMs,
    seenAt: previous?.seenAt ?? now,
    done: fraction >= 1,
    deferred: event.deferred === true,
  };
  return { ...progress, current: event.phase, phases };
}

/** Overall 0..1 for the bar: download weighs most, then upload, then warm-up. */
const WEIGHTS: Readonly<Record<LoadPhase, number>> = {
  download: 0.7,
  convert: 0.7,
  upload: 0.2,
  warmup: 0.1,
};

/** The phases a load goes through: a model from files is read/converted ("convert") instead of downloaded. */
export function phasesOf(progress: LoadProgress): readonly LoadPhase[] {
  const fromFiles = progress.phases.convert !== undefined;
  return PHASES.filter((phase) => phase !== (fromFiles ? "download" : "convert"));
}

export function overallFraction(progress: LoadProgress): number {
  let sum = 0;
  for (const phase of phasesOf(progress)) sum += WEIGHTS[phase] * (progress.phases[phase]?.fraction ?? 0);
  return Math.min(1, Math.max(0, sum));
}

/**
 * One phase as text, e.g. "Download: 123.4 of 553.4 MB, 45.6 MB/s, about 9 s
 * left", "Weight upload: 40%, 1.2 s", "Warm-up: done in 3.4 s". With `now`
 * (the local clock), a phase in progress shows the time since it began even
 * between the worker's events.
 */
export function describePhase(
  phase: LoadPhase,
  p: PhaseProgress | undefined,
  cacheHit: boolean | null,
  now?: number,
): string {
  const label = PHASE_LABELS[phase];
  if (!p) return `${label}: waiting`;
  if (p.deferred) return `${label}: with the first image`;
  const elapsedMs = !p.done && now !== undefined ? Math.max(p.elapsedMs, now - p.seenAt) : p.elapsedMs;
  const parts: string[] = [];
  if (phase === "download" && p.loadedBytes !== null) {
    parts.push(formatMBOf(p.loadedBytes, p.totalBytes ?? undefined));
    const rate = formatMBPerSecond(p.loadedBytes, p.elapsedMs);
    if (rate) parts.push(rate);
    if (!p.done && p.totalBytes) {
      const eta = formatEta(p.loadedBytes, p.totalBytes, p.elapsedMs);
      if (eta) parts.push(eta);
    }
    if (cacheHit) parts.push("from the browser's cache");
  } else if (!p.done && p.fraction > 0) {
    parts.push(`${Math.round(p.fraction * 100)}%`);
  }
  parts.push(p.done ? `done in ${formatSeconds(p.elapsedMs)}` : formatSeconds(elapsedMs));
  return `${label}: ${parts.join(", ")}`;
}

/** The progress bar's value text: the phase in progress. */
export function progressText(progress: LoadProgress, now?: number): string {
  if (progress.current === null) return "Starting…";
  return describePhase(progress.current, progress.phases[progress.current], progress.cacheHit, now);
}

const BACKEND_LABELS: Readonly<Record<BackendName, string>> = {
  webgpu: "WebGPU",
  webgl: "WebGL",
  wasm: "WASM",
  cpu: "CPU",
};

export const BACKEND_CHOICES: ReadonlyArray<{ readonly value: BackendChoice; readonly label: string }> = [
  { value: "auto", label: "Auto" },
  { value: "webgpu", label: "WebGPU" },
  { value: "webgl", label: "WebGL" },
  { value: "wasm", label: "WASM" },
  { value: "cpu", label: "CPU" },
];

export function backendLabel(name: BackendName): string {
  return BACKEND_LABELS[name];
}

/** `?backend=webgpu|webgl|wasm|cpu|auto` (any case); anything else is "auto". */
export function backendFromSearch(search: string): BackendChoice {
  const raw = new URLSearchParams(search).get("backend")?.trim().toLowerCase();
  return BACKEND_CHOICES.some((c) => c.value === raw) ? (raw as BackendChoice) : "auto";
}

/**
 * "WASM, 2 threads, SIMD: no WebGPU adapter": the worker's reason, which
 * normally names the backend itself; prefixed with the name when it does not.
 */
export function describeBackend(backend: BackendInfo): string {
  const label = BACKEND_LABELS[backend.name];
  const reason = backend.reason.trim();
  if (!reason) return label;
  return reason.toLowerCase().startsWith(label.toLowerCase()) ? reason : `${label}: ${reason}`;
}

/** "Ready — WASM, 2 threads, SIMD: no WebGPU adapter". */
export function readyText(backend: BackendInfo): string {
  return `Ready — ${describeBackend(backend)}`;
}

/** Said after loading when the download could not be kept for next time. */
export function cacheNote(progress: LoadProgress): string | null {
  if (progress.cacheStored !== false) return null;
  return `The weights could not be kept in the browser's cache (${progress.cacheProblem ?? "unknown reason"}), so the next visit downloads them again.`;
}

/** Said when damaged shards were found in the cache and downloaded again. */
export function repairNote(progress: LoadProgress): string | null {
  const names = progress.cacheRepaired;
  if (names.length === 0) return null;
  const what = names.length === 1 ? "1 damaged shard" : `${names.length} damaged shards`;
  return `Repaired the cache: ${what} (${names.join(", ")}) dropped and downloaded again.`;
}

/** What the warm-up took, or that the first image does it (the WASM runner: see LoadedModel.timings). */
const warmUpText = (warmupMs: number | null) =>
  warmupMs === null ? "warm-up with the first image" : `warm-up ${formatSeconds(warmupMs)}`;

/** "Loaded in 8.7 s: download 4.1 s (135 MB/s), weight upload 1.2 s, warm-up 3.4 s", or from the cache. */
export function describeTimings(
  model: LoadedModel,
  downloadedBytes: number | null,
  fromFiles = false,
): string {
  const t = model.timings;
  if (fromFiles) {
    return `Loaded in ${formatSeconds(t.totalMs)}: your files read and converted ${formatSeconds(t.downloadMs)}, weight upload ${formatSeconds(t.uploadMs)}, ${warmUpText(t.warmupMs)}`;
  }
  const rate = downloadedBytes !== null ? formatMBPerSecond(downloadedBytes, t.downloadMs) : null;
  const download = model.fromCache
    ? `read from the browser's cache ${formatMs(t.downloadMs)}`
    : `download ${formatSeconds(t.downloadMs)}${rate ? ` (${rate})` : ""}`;
  return `Loaded in ${formatSeconds(t.totalMs)}: ${download}, weight upload ${formatSeconds(t.uploadMs)}, ${warmUpText(t.warmupMs)}`;
}
