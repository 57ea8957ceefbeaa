/**
 * Number formatting for the UI, as pure functions (unit-tested in Node).
 * Sizes here are decimal megabytes (1 MB = 1,000,000 bytes), as download
 * speeds are usually quoted; the Model panel's file sizes use MiB.
 */

const MB = 1_000_000;

/** A probability in 0..1 as a percentage with two decimals: 0.697234 → "69.72%", 1 → "100.00%". */
export function formatPercent(probability: number): string {
  if (!Number.isFinite(probability)) return "–";
  const percent = Math.min(100, Math.max(0, probability * 100));
  return `${percent.toFixed(2)}%`;
}

/** Milliseconds, rounded, no separators: 812.4 → "812 ms", 2345.6 → "2346 ms". */
export function formatMs(ms: number): string {
  return `${Math.max(0, Math.round(ms))} ms`;
}

/** Seconds with one decimal: 8734 → "8.7 s". */
export function formatSeconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
}

/** 553430184 → "553.4 MB". */
export function formatMB(bytes: number): string {
  return `${(Math.max(0, bytes) / MB).toFixed(1)} MB`;
}

/** "123.4 of 553.4 MB"; just "123.4 MB" when the total is unknown. */
export function formatMBOf(loaded: number, total: number | undefined): string {
  if (total === undefined || !Number.isFinite(total) || total <= 0) return formatMB(loaded);
  return `${(Math.max(0, loaded) / MB).toFixed(1)} of ${formatMB(total)}`;
}

/** Bytes per second as "45.6 MB/s"; null when there is no time to divide by yet. */
export function formatMBPerSecond(bytes: number, ms: number): string | null {
  if (!(ms > 0) || !Number.isFinite(bytes) || bytes < 0) return null;
  const perSecond = bytes / MB / (ms / 1000);
  return `${perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(1)} MB/s`;
}

/** A duration for humans: 9.2 → "10 s", 125 → "2 min 5 s", 3725 → "1 h 2 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) {
    const rest = s % 60;
    return rest === 0 ? `${Math.floor(s / 60)} min` : `${Math.floor(s / 60)} min ${rest} s`;
  }
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/**
 * Time left at the average rate so far, e.g. "about 12 s left"; null when it
 * cannot be known yet (nothing done, no time passed) or nothing is left.
 */
export function formatEta(done: number, total: number, elapsedMs: number): string | null {
  if (!(done > 0) || !(elapsedMs > 0) || !(total > done)) return null;
  const secondsLeft = ((total - done) * elapsedMs) / done / 1000;
  if (!Number.isFinite(secondsLeft)) return null;
  return `about ${formatDuration(secondsLeft)} left`;
}

/** Items per second: (12, 3500) → "3.4 images/s"; null before any time has passed. */
export function formatImagesPerSecond(count: number, ms: number): string | null {
  if (!(ms > 0) || !(count > 0)) return null;
  const perSecond = count / (ms / 1000);
  return `${perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toFixed(1)} images/s`;
}
