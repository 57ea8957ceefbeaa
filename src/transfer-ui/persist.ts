/**
 * The view's memory across reloads, in IndexedDB ("vgg16-transfer-ui"): the
 * dataset (class names, ids per split), the image files themselves, and the
 * last training history. Every function fails soft: without IndexedDB
 * (private mode, tests) or with a full disk the view still works, it just
 * forgets; the save functions resolve to why (null when saved), so the view
 * can say that its files will not survive a reload.
 */
import { type IDBPDatabase, openDB } from "idb";
import { storageErrorInWords } from "../transfer/feature-cache";
import type { EpochLogs } from "../transfer/head";
import { emptyDataset, type LessonDataset } from "./logic";

const DB_NAME = "vgg16-transfer-ui";
const STATE = "state";
const BLOBS = "blobs";

let dbPromise: Promise<IDBPDatabase> | null = null;

function db(): Promise<IDBPDatabase> | null {
  if (typeof indexedDB === "undefined") return null;
  dbPromise ??= openDB(DB_NAME, 1, {
    upgrade(database) {
      database.createObjectStore(STATE);
      database.createObjectStore(BLOBS);
    },
  });
  return dbPromise;
}

async function attempt<T>(fallback: T, run: (database: IDBPDatabase) => Promise<T>): Promise<T> {
  const opening = db();
  if (!opening) return fallback;
  try {
    return await run(await opening);
  } catch (error) {
    console.warn("transfer-ui: IndexedDB", error);
    return fallback;
  }
}

/** A failed write in words: a full quota gets its own (the feature cache's wording). */
export const describeSaveError = storageErrorInWords;

/** Runs a write; resolves to null when it was saved, else to why not. */
async function attemptWrite(run: (database: IDBPDatabase) => Promise<void>): Promise<string | null> {
  const opening = db();
  if (!opening) return "this browser offers no IndexedDB here";
  try {
    await run(await opening);
    return null;
  } catch (error) {
    console.warn("transfer-ui: IndexedDB", error);
    return describeSaveError(error);
  }
}

export interface SavedLesson {
  readonly dataset: LessonDataset;
  readonly blobs: Map<string, Blob>;
  readonly history: readonly EpochLogs[];
}

export function saveDataset(dataset: LessonDataset): Promise<string | null> {
  return attemptWrite(async (database) => {
    await database.put(STATE, dataset, "dataset");
  });
}

/**
 * Replaces the stored files with `blobs` (all of them: the ids of a new dataset), all or nothing: a put that
 * fails aborts the transaction, so the files saved before stay. (A put that throws, as for a value that cannot
 * be cloned, does not abort it by itself: the clear before it would commit.)
 */
export function saveBlobs(blobs: ReadonlyMap<string, Blob>, replace: boolean): Promise<string | null> {
  return attemptWrite(async (database) => {
    const tx = database.transaction(BLOBS, "readwrite");
    try {
      if (replace) await tx.store.clear();
      for (const [id, blob] of blobs) await tx.store.put(blob, id);
      await tx.done;
    } catch (error) {
      tx.done.catch(() => {});
      try {
        tx.abort();
      } catch {
        // Already finished or aborted (a failed request aborts it).
      }
      throw error;
    }
  });
}

export function saveHistory(history: readonly EpochLogs[]): Promise<string | null> {
  return attemptWrite(async (database) => {
    await database.put(STATE, history, "history");
  });
}

/** Image id → content hash of its extracted features, so training after a reload needs no re-extraction. */
export function saveHashes(hashes: Readonly<Record<string, string>>): Promise<string | null> {
  return attemptWrite(async (database) => {
    await database.put(STATE, { ...hashes }, "hashes");
  });
}

export function loadHashes(): Promise<Record<string, string>> {
  return attempt(
    {},
    async (database) => ((await database.get(STATE, "hashes")) as Record<string, string>) ?? {},
  );
}

export function loadLesson(): Promise<SavedLesson | null> {
  return attempt(null, async (database) => {
    const dataset = (await database.get(STATE, "dataset")) as LessonDataset | undefined;
    const history = ((await database.get(STATE, "history")) as EpochLogs[] | undefined) ?? [];
    if (!dataset) return history.length > 0 ? { dataset: emptyDataset(), blobs: new Map(), history } : null;
    const blobs = new Map<string, Blob>();
    const tx = database.transaction(BLOBS, "readonly");
    let cursor = await tx.store.openCursor();
    while (cursor) {
      blobs.set(String(cursor.key), cursor.value as Blob);
      cursor = await cursor.continue();
    }
    await tx.done;
    return { dataset, blobs, history };
  });
}
