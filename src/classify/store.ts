/**
 * The classify store: images in, results out. Holds the pure state from
 * state.ts plus the side effects: thumbnails (object URLs, revoked when items
 * go), and one job at a time in the worker, streaming results as each batch
 * finishes, stoppable with an AbortSignal.
 */
import { create } from "zustand";
import { errorMessage, isAbort, type Vgg16Port } from "../app/client-port";
import type { ResizeMode } from "../preprocess/preprocess";
import type { ImageInput, ImageResult, LoadedModel } from "../vgg16/api";
import { isSvg, rasterizeSvg } from "./rasterize-svg";
import {
  addItems,
  applyResult,
  type ClassifyState,
  EMPTY,
  endJob,
  type JobEnd,
  jobItemIds,
  type NewItem,
  removedThumbnails,
  removeItems,
  requeueStopped,
  startJob,
  stopJob,
  stopQueued,
} from "./state";

export interface ClassifyDeps {
  readonly client: Vgg16Port;
  /** The model to classify with, or null while none is ready. */
  readyModel(): LoadedModel | null;
  /** Called when a job has ended (the diagnostics read memory then). */
  afterJob?(): void;
  now?(): number;
  createThumbnail?(blob: Blob): string | null;
  revokeThumbnail?(url: string): void;
}

/** What the last add did, for a short polite message. */
export interface AddReport {
  readonly added: number;
  readonly skipped: number;
  readonly problems: readonly string[];
}

interface ClassifyStore extends ClassifyState {
  readonly resize: ResizeMode;
  /** null: let the worker pick. */
  readonly batchSize: number | null;
  readonly lastAdd: AddReport | null;
  addFiles(
    files: ReadonlyArray<{ readonly file: Blob & { readonly name?: string }; readonly path?: string }>,
    report?: { readonly skipped?: number; readonly problems?: readonly string[] },
  ): void;
  /** Starts a job if none runs, a model is ready and images wait. */
  pump(): void;
  /** Stops the job (between batches) and everything queued. */
  stop(): void;
  /** Queues stopped images again. */
  resume(): void;
  /** Stops and removes every image and result. */
  clear(): void;
  setResize(resize: ResizeMode): void;
  /** The model is being reloaded: give unfinished images back to the queue. */
  requeueForReload(): void;
}

/** Used only to show which images are "classifying" when the worker picks the batch size (its default). */
const ASSUMED_BATCH = 4;

/** Files added to the page per turn of the event loop (see drainAdds). */
const ADD_CHUNK = 25;
/**
 * Images sent to the worker per job: posting 1,000 files in one message takes hundreds of milliseconds
 * on the main thread; jobs of 50 follow each other until nothing waits.
 */
const MAX_JOB_IMAGES = 50;

let deps: ClassifyDeps | null = null;
interface RunningJob {
  readonly jobId: string;
  readonly controller: AbortController;
  /** How the UI ended it (Stop, reload, crash) before the worker's promise settled. */
  end: JobEnd | null;
}

let running: RunningJob | null = null;
let idCounter = 0;
let unnamedCounter = 0;
let jobCounter = 0;

export function connectClassify(next: ClassifyDeps | null): void {
  deps = next;
}

const now = (): number => deps?.now?.() ?? performance.now();

function slice(s: ClassifyState): ClassifyState {
  return { order: s.order, items: s.items, job: s.job };
}

function defaultThumbnail(blob: Blob): string | null {
  if (!blob.type.startsWith("image/") || typeof URL.createObjectURL !== "function") return null;
  return URL.createObjectURL(blob);
}

function revoke(urls: readonly string[]): void {
  for (const url of urls) {
    if (deps?.revokeThumbnail) deps.revokeThumbnail(url);
    else if (typeof URL.revokeObjectURL === "function") URL.revokeObjectURL(url);
  }
}

function nameOf(file: Blob & { readonly name?: string }, path: string | undefined): string {
  if (file.name) return file.name;
  const fromPath = path?.split("/").pop();
  if (fromPath) return fromPath;
  const ext = file.type.startsWith("image/") ? `.${file.type.slice(6).replace("jpeg", "jpg")}` : "";
  return `image-${++unnamedCounter}${ext}`;
}

/** SVG drawings become PNGs here (the worker cannot decode SVG); if that fails the worker says what is wrong. */
async function prepare(image: ImageInput): Promise<ImageInput> {
  if (!isSvg(image.blob, image.name)) return image;
  try {
    return { ...image, blob: await rasterizeSvg(image.blob) };
  } catch {
    return image;
  }
}

export const useClassify = create<ClassifyStore>()((set, get) => {
  /**
   * Results arrive one message each; applying them together (one store update, so one React render and
   * one layout, per turn of the event loop) keeps a 1,000-image job from re-rendering 1,000 times.
   */
  let queued: ImageResult[] = [];
  let flushTimer: ReturnType<typeof setTimeout> | null = null;
  function flushResults(): void {
    if (flushTimer !== null) clearTimeout(flushTimer);
    flushTimer = null;
    if (queued.length === 0) return;
    const results = queued;
    queued = [];
    set((s) => results.reduce((state, result) => applyResult(state, result), slice(s)));
  }
  function queueResult(result: ImageResult): void {
    queued.push(result);
    flushTimer ??= setTimeout(flushResults, 0);
  }

  /**
   * Files dropped but not yet added. A big drop is added ADD_CHUNK files per turn: making 1,000 thumbnail
   * URLs and cards in one task would freeze the page for over a second.
   */
  let pendingAdds: Array<{ readonly file: Blob & { readonly name?: string }; readonly path?: string }> = [];
  let drainTimer: ReturnType<typeof setTimeout> | null = null;
  /** Stop was pressed while a drop was still being added: the rest of it arrives stopped, not waiting. */
  let holdAdds = false;
  function drainAdds(): void {
    drainTimer = null;
    const create = deps?.createThumbnail ?? defaultThumbnail;
    const added: NewItem[] = pendingAdds.splice(0, ADD_CHUNK).map(({ file, path }) => {
      const n = ++idCounter;
      const name = nameOf(file, path);
      return { id: `img-${n}`, name, path: path || name, blob: file, thumbnailUrl: create(file) };
    });
    if (added.length > 0) {
      set((s) => {
        const next = addItems(slice(s), added);
        return holdAdds ? stopQueued(next) : next;
      });
    }
    get().pump();
    if (pendingAdds.length > 0) drainTimer ??= setTimeout(drainAdds, 0);
  }

  /** Ends the running job now in the UI; the worker's promise settles later. */
  function endRunning(end: JobEnd): void {
    flushResults();
    if (!running) return;
    running.end = end;
    const { jobId } = running;
    running.controller.abort();
    set((s) => endJob(slice(s), jobId, end, now()));
  }

  return {
    ...EMPTY,
    resize: "stretch",
    batchSize: null,
    lastAdd: null,

    addFiles(files, report = {}) {
      set({
        lastAdd: { added: files.length, skipped: report.skipped ?? 0, problems: report.problems ?? [] },
      });
      holdAdds = false;
      pendingAdds.push(...files);
      // The first ADD_CHUNK at once (a small drop is added in this turn); more in later turns, in order.
      drainAdds();
    },

    pump() {
      const d = deps;
      if (running || !d) return;
      const model = d.readyModel();
      if (!model) return;
      const jobId = `job-${++jobCounter}`;
      const { batchSize, resize } = get();
      const next = startJob(slice(get()), {
        id: jobId,
        batchSize: batchSize ?? ASSUMED_BATCH,
        limit: MAX_JOB_IMAGES,
        synthetic: model.metadata.synthetic,
        now: now(),
      });
      if (next.job?.id !== jobId) return;
      set(next);
      const controller = new AbortController();
      const job: RunningJob = { jobId, controller, end: null };
      running = job;
      const images = jobItemIds(next, jobId).flatMap((id) => {
        const item = next.items[id];
        return item ? [{ id, name: item.name, blob: item.blob }] : [];
      });
      void (async () => {
        let end: JobEnd;
        try {
          // Awaited only when there is an SVG to draw, so a job starts in the same turn otherwise.
          const prepared = images.some((i) => isSvg(i.blob, i.name))
            ? await Promise.all(images.map(prepare))
            : images;
          await d.client.classify(
            prepared,
            batchSize === null ? { resize } : { batchSize, resize },
            (result) => queueResult(result),
            controller.signal,
          );
          // The worker awaits its result callbacks before it returns; one more turn guards against a reply
          // overtaking a result all the same.
          await new Promise((resolve) => setTimeout(resolve, 0));
          end = job.end ?? { kind: "finished" };
        } catch (error) {
          end =
            job.end ??
            (isAbort(error, controller.signal)
              ? { kind: "stopped" }
              : { kind: "failed", message: errorMessage(error) });
        }
        flushResults();
        set((s) => endJob(slice(s), jobId, end, now()));
        if (running === job) running = null;
        d.afterJob?.();
        get().pump();
      })();
    },

    stop() {
      flushResults();
      // The worker stops between batches: the batch in flight still reports, the rest stops now.
      if (running) {
        const job = running;
        job.end ??= { kind: "stopped" };
        job.controller.abort();
        set((s) => stopJob(slice(s), job.jobId));
      }
      set((s) => stopQueued(slice(s)));
      holdAdds = pendingAdds.length > 0;
    },

    resume() {
      holdAdds = false;
      set((s) => requeueStopped(slice(s)));
      get().pump();
    },

    clear() {
      pendingAdds = [];
      if (drainTimer !== null) clearTimeout(drainTimer);
      drainTimer = null;
      endRunning({ kind: "stopped" });
      const before = slice(get());
      const after = removeItems(before, before.order);
      revoke(removedThumbnails(before, after));
      set({ ...after, job: null, lastAdd: null });
    },

    setResize(resize) {
      set({ resize });
    },

    requeueForReload() {
      endRunning({ kind: "requeue" });
    },
  };
});
