/**
 * The classify store's state and its transitions, as pure functions of
 * (state, input) → state so they are unit-tested in Node. Side effects (the
 * worker, object URLs, timers) live in store.ts.
 *
 * Items are keyed by id and kept in insertion order. A job takes every
 * waiting item; results stream in one per image as each batch finishes. The
 * items of the batch in flight are "classifying", the rest "waiting".
 */
import type { Prediction } from "../model/decode";
import type { ImageResult } from "../vgg16/api";

export type ItemStatus = "waiting" | "classifying" | "done" | "failed" | "stopped";

export interface ClassifyItem {
  readonly id: string;
  /** The file name: the card's accessible name. */
  readonly name: string;
  /** Where it came from inside a dropped folder ("trip/beach/a.jpg"), or the name. */
  readonly path: string;
  readonly blob: Blob;
  /** Object URL for the thumbnail; revoked by the store when the item goes. */
  readonly thumbnailUrl: string | null;
  readonly status: ItemStatus;
  /** The job it belongs to while waiting/classifying in one. */
  readonly jobId: string | null;
  readonly top5: readonly Prediction[] | null;
  readonly ms: number | null;
  readonly width: number | null;
  readonly height: number | null;
  /** The model that classified it had synthetic (random) weights. */
  readonly synthetic: boolean;
  readonly error: string | null;
}

export type JobOutcome = "running" | "finished" | "stopped" | "requeued" | "failed";

export interface JobProgress {
  readonly id: string;
  readonly total: number;
  /** Results received, successes and failures together. */
  readonly done: number;
  readonly failed: number;
  readonly batchSize: number;
  readonly synthetic: boolean;
  readonly startedAt: number;
  readonly finishedAt: number | null;
  readonly outcome: JobOutcome;
  /** Stop was pressed: the batch in flight finishes, nothing after it starts. */
  readonly stopping: boolean;
  /** Why a failed job failed. */
  readonly error: string | null;
}

export interface ClassifyState {
  readonly order: readonly string[];
  readonly items: Readonly<Record<string, ClassifyItem>>;
  /** The running job, or the last one (for its summary line); null before any. */
  readonly job: JobProgress | null;
}

export const EMPTY: ClassifyState = { order: [], items: {}, job: null };

export interface NewItem {
  readonly id: string;
  readonly name: string;
  readonly path: string;
  readonly blob: Blob;
  readonly thumbnailUrl: string | null;
}

export function addItems(state: ClassifyState, added: readonly NewItem[]): ClassifyState {
  const fresh = added.filter((item) => !(item.id in state.items));
  if (fresh.length === 0) return state;
  const items = { ...state.items };
  for (const item of fresh) {
    items[item.id] = {
      ...item,
      status: "waiting",
      jobId: null,
      top5: null,
      ms: null,
      width: null,
      height: null,
      synthetic: false,
      error: null,
    };
  }
  return { ...state, order: [...state.order, ...fresh.map((i) => i.id)], items };
}

export function isRunning(state: ClassifyState): boolean {
  return state.job?.outcome === "running";
}

/** Waiting items not yet taken by a job, in insertion order. */
export function waitingIds(state: ClassifyState): string[] {
  return state.order.filter((id) => {
    const item = state.items[id];
    return item?.status === "waiting" && item.jobId === null;
  });
}

/** The ids of a job's items, in order. */
export function jobItemIds(state: ClassifyState, jobId: string): string[] {
  return state.order.filter((id) => state.items[id]?.jobId === jobId);
}

/** Marks the next batch "classifying" once the previous one has fully reported. */
function promoteNextBatch(state: ClassifyState, items: Record<string, ClassifyItem>): void {
  const job = state.job;
  if (job?.outcome !== "running") return;
  const mine = state.order.map((id) => items[id]).filter((i): i is ClassifyItem => i?.jobId === job.id);
  if (mine.some((i) => i.status === "classifying")) return;
  for (const item of mine.filter((i) => i.status === "waiting").slice(0, job.batchSize)) {
    items[item.id] = { ...item, status: "classifying" };
  }
}

/**
 * Starts a job with every waiting item (the first `limit` of them when given); unchanged when one is
 * running or nothing waits.
 */
export function startJob(
  state: ClassifyState,
  job: {
    readonly id: string;
    readonly batchSize: number;
    readonly synthetic: boolean;
    readonly now: number;
    readonly limit?: number;
  },
): ClassifyState {
  if (isRunning(state)) return state;
  const ids = waitingIds(state).slice(0, job.limit ?? Number.POSITIVE_INFINITY);
  if (ids.length === 0) return state;
  const items = { ...state.items };
  for (const id of ids) {
    const item = items[id];
    if (item) items[id] = { ...item, jobId: job.id };
  }
  const next: ClassifyState = {
    ...state,
    items,
    job: {
      id: job.id,
      total: ids.length,
      done: 0,
      failed: 0,
      batchSize: Math.max(1, Math.floor(job.batchSize)),
      synthetic: job.synthetic,
      startedAt: job.now,
      finishedAt: null,
      outcome: "running",
      stopping: false,
      error: null,
    },
  };
  promoteNextBatch(next, items);
  return next;
}

/** Records one streamed result; ignores results for other jobs or removed items. */
export function applyResult(state: ClassifyState, result: ImageResult): ClassifyState {
  const job = state.job;
  const item = state.items[result.id];
  if (job?.outcome !== "running" || !item || item.jobId !== job.id) return state;
  if (item.status !== "waiting" && item.status !== "classifying") return state;
  const items = { ...state.items };
  items[item.id] = result.ok
    ? {
        ...item,
        status: "done",
        jobId: null,
        top5: result.top5,
        ms: result.ms,
        width: result.width,
        height: result.height,
        synthetic: job.synthetic,
        error: null,
      }
    : { ...item, status: "failed", jobId: null, error: result.error };
  const next: ClassifyState = {
    ...state,
    items,
    job: { ...job, done: job.done + 1, failed: job.failed + (result.ok ? 0 : 1) },
  };
  promoteNextBatch(next, items);
  return next;
}

/**
 * How a job ended, and what happens to its items that got no result:
 * - "finished": the worker said it is done (any leftovers fail: no result came);
 * - "stopped": the user pressed Stop; leftovers are marked stopped;
 * - "requeue": the model is being reloaded; leftovers wait for the next job;
 * - "failed": classify() rejected (e.g. the worker crashed): the batch in
 *   flight fails with the message, the rest wait for the next job.
 */
export type JobEnd =
  | { readonly kind: "finished" }
  | { readonly kind: "stopped" }
  | { readonly kind: "requeue" }
  | { readonly kind: "failed"; readonly message: string };

export function endJob(state: ClassifyState, jobId: string, end: JobEnd, now: number): ClassifyState {
  const job = state.job;
  if (!job || job.id !== jobId || job.outcome !== "running") return state;
  const items = { ...state.items };
  let failed = job.failed;
  for (const id of jobItemIds(state, jobId)) {
    const item = items[id];
    if (!item) continue;
    switch (end.kind) {
      case "finished":
        items[id] = {
          ...item,
          status: "failed",
          jobId: null,
          error: "The worker returned no result for it.",
        };
        failed++;
        break;
      case "stopped":
        items[id] = { ...item, status: "stopped", jobId: null };
        break;
      case "requeue":
        items[id] = { ...item, status: "waiting", jobId: null };
        break;
      case "failed":
        if (item.status === "classifying") {
          items[id] = { ...item, status: "failed", jobId: null, error: end.message };
          failed++;
        } else {
          items[id] = { ...item, status: "waiting", jobId: null };
        }
        break;
    }
  }
  const outcome: JobOutcome = end.kind === "requeue" ? "requeued" : end.kind;
  return {
    ...state,
    items,
    job: {
      ...job,
      failed,
      done: job.done + (failed - job.failed),
      outcome,
      finishedAt: now,
      error: end.kind === "failed" ? end.message : null,
    },
  };
}

/** Stop also holds back what was queued behind the job: waiting items outside any job become stopped. */
export function stopQueued(state: ClassifyState): ClassifyState {
  const ids = waitingIds(state);
  if (ids.length === 0) return state;
  const items = { ...state.items };
  for (const id of ids) {
    const item = items[id];
    if (item) items[id] = { ...item, status: "stopped" };
  }
  return { ...state, items };
}

/**
 * Stop, as the worker does it: between batches. The batch in flight keeps
 * "classifying" and still takes its results; the job's waiting items are
 * stopped now. endJob(stopped) settles the rest when the worker returns.
 */
export function stopJob(state: ClassifyState, jobId: string): ClassifyState {
  const job = state.job;
  if (job?.id !== jobId || job.outcome !== "running" || job.stopping) return state;
  const items = { ...state.items };
  for (const id of jobItemIds(state, jobId)) {
    const item = items[id];
    if (item?.status === "waiting") items[id] = { ...item, status: "stopped", jobId: null };
  }
  return { ...state, items, job: { ...job, stopping: true } };
}

/** Puts stopped items back in the queue (the "Classify the rest" button). */
export function requeueStopped(state: ClassifyState): ClassifyState {
  const ids = state.order.filter((id) => state.items[id]?.status === "stopped");
  if (ids.length === 0) return state;
  const items = { ...state.items };
  for (const id of ids) {
    const item = items[id];
    if (item) items[id] = { ...item, status: "waiting", jobId: null };
  }
  return { ...state, items };
}

/** Removes items; the caller revokes their thumbnails (see removedThumbnails). */
export function removeItems(state: ClassifyState, ids: readonly string[]): ClassifyState {
  const gone = new Set(ids.filter((id) => id in state.items));
  if (gone.size === 0) return state;
  const items = { ...state.items };
  for (const id of gone) delete items[id];
  return { ...state, order: state.order.filter((id) => !gone.has(id)), items };
}

/** Object URLs held by items of `before` that are not in `after`. */
export function removedThumbnails(before: ClassifyState, after: ClassifyState): string[] {
  const urls: string[] = [];
  for (const id of before.order) {
    const url = before.items[id]?.thumbnailUrl;
    if (url && !(id in after.items)) urls.push(url);
  }
  return urls;
}

export interface JobSummary {
  readonly done: number;
  readonly total: number;
  readonly failed: number;
  readonly elapsedMs: number;
  readonly running: boolean;
  readonly stopping: boolean;
}

/** Counts and time for the progress line; `now` for a running job. */
export function summarizeJob(job: JobProgress, now: number): JobSummary {
  return {
    done: job.done,
    total: job.total,
    failed: job.failed,
    elapsedMs: Math.max(0, (job.finishedAt ?? now) - job.startedAt),
    running: job.outcome === "running",
    stopping: job.stopping,
  };
}

/** How many items are in each state. */
export function countByStatus(state: ClassifyState): Record<ItemStatus, number> {
  const counts: Record<ItemStatus, number> = { waiting: 0, classifying: 0, done: 0, failed: 0, stopped: 0 };
  for (const id of state.order) {
    const item = state.items[id];
    if (item) counts[item.status]++;
  }
  return counts;
}
