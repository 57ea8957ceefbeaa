/** The Results panel's one-line job progress, as a pure function. */
import { formatEta, formatImagesPerSecond, formatSeconds } from "../app/format";
import type { JobSummary } from "./state";

export interface ProgressInput {
  /** The running or last job; null before any. */
  readonly job: (JobSummary & { readonly outcome: string; readonly error: string | null }) | null;
  /** Images waiting outside any job (added while none can run). */
  readonly waiting: number;
  readonly modelReady: boolean;
}

/**
 * "12 of 18 classified · 3.4 images/s · about 2 s left" while running;
 * "18 of 18 classified in 5.2 s · 3.5 images/s · 1 failed" after;
 * "Stopped: 12 of 18 classified"; "3 images waiting for the model".
 */
export function progressLine({ job, waiting, modelReady }: ProgressInput): string {
  const parts: string[] = [];
  if (job) {
    const count = `${job.done} of ${job.total} classified`;
    const rate = formatImagesPerSecond(job.done, job.elapsedMs);
    if (job.running && job.stopping) {
      parts.push(`Stopping after the current batch: ${count}`);
    } else if (job.running) {
      parts.push(count);
      if (rate) parts.push(rate);
      const eta = formatEta(job.done, job.total, job.elapsedMs);
      if (eta) parts.push(eta);
    } else if (job.outcome === "stopped") {
      parts.push(`Stopped: ${count}`);
    } else if (job.outcome === "requeued") {
      parts.push(`Paused while the model reloads: ${count}`);
    } else if (job.outcome === "failed") {
      parts.push(`${count}; the job failed: ${job.error ?? "unknown error"}`);
    } else {
      parts.push(`${count} in ${formatSeconds(job.elapsedMs)}`);
      if (rate) parts.push(rate);
    }
    if (job.failed > 0) parts.push(`${job.failed} failed`);
  }
  if (waiting > 0) {
    const images = `${waiting} ${waiting === 1 ? "image" : "images"}`;
    parts.push(modelReady ? `${images} queued` : `${images} waiting for the model`);
  }
  return parts.join(" · ");
}
