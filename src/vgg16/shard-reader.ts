/**
 * Reads cached shard files (opfs-entry.ts) on a second thread. In the model worker a sync read blocks the
 * thread, and each shard also needs its checksum before use: done there, reading, hashing and writing the
 * weights into their tensors take turns on one core. A reader worker reads and hashes (~6 ms per 4 MiB
 * shard) while the model worker writes the previous shards into the heap and starts the backend; the bodies
 * move over without a copy (transferred).
 *
 * `ShardReader` is the model worker's side, `serveShardReads` the reader's (shard-reader.worker.ts). Reads
 * wait for the reader to start; if it cannot, or dies, they reject and the caller reads locally.
 */
import { shardChecksum } from "../model/shard-checksum";
import { errorMessage } from "./errors";
import { type EntryHeader, type Folder, isNotFound, readEntryFile } from "./opfs-entry";

/** A shard entry as read by the reader, with the XXH64 checksum of its body (null where it could not hash). */
export interface ShardRead {
  header: EntryHeader;
  body: ArrayBuffer;
  checksum: string | null;
}

interface ReadRequest {
  id: number;
  folder: string;
  name: string;
}

type ReaderMessage =
  | { ready: true }
  | { id: number; entry: ShardRead | null }
  | { id: number; error: string; errorName: string };

/** What ShardReader uses of a Worker (tests pass an in-process stand-in). */
export interface ReaderWorker {
  postMessage(message: ReadRequest): void;
  onmessage: ((event: MessageEvent<ReaderMessage>) => void) | null;
  onerror: ((event: ErrorEvent) => void) | null;
  terminate(): void;
}

/** The reader could not start, or stopped: read locally instead. */
export class ShardReaderGone extends Error {
  override name = "ShardReaderGone";
}

export class ShardReader {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (entry: ShardRead | null) => void; reject: (error: Error) => void }
  >();
  private gone: ShardReaderGone | null = null;
  private readonly ready: Promise<void>;
  /** Fails `ready` (a no-op once it has settled): a stop before the reader said ready ends the reads waiting on it. */
  private failStart: (error: Error) => void = () => undefined;

  /** Starts the reader; reads wait until it says it is ready (or fail when it cannot start). */
  constructor(
    private readonly worker: ReaderWorker,
    startTimeoutMs = 10_000,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(this.stop("did not start in time")), startTimeoutMs);
      this.failStart = (error) => {
        clearTimeout(timer);
        reject(error);
      };
      worker.onerror = () => {
        clearTimeout(timer);
        reject(this.stop("failed"));
      };
      worker.onmessage = (event) => {
        const message = event.data;
        if ("ready" in message) {
          clearTimeout(timer);
          resolve();
          return;
        }
        const waiting = this.pending.get(message.id);
        if (!waiting) return;
        this.pending.delete(message.id);
        if ("error" in message) {
          const error = new Error(message.error);
          error.name = message.errorName;
          waiting.reject(error);
        } else {
          waiting.resolve(message.entry);
        }
      };
    });
    this.ready.catch(() => undefined);
  }

  /** Whether reads can still go to the reader. */
  get alive(): boolean {
    return this.gone === null;
  }

  /** The entry file `name` in OPFS folder `folder`, or null when there is none. */
  async read(folder: string, name: string): Promise<ShardRead | null> {
    await this.ready;
    if (this.gone) throw this.gone;
    const id = this.nextId++;
    return new Promise<ShardRead | null>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, folder, name });
    });
  }

  dispose(): void {
    this.stop("was stopped");
  }

  private stop(why: string): ShardReaderGone {
    this.gone ??= new ShardReaderGone(`the shard reader ${why}`);
    this.worker.onmessage = null;
    this.worker.onerror = null;
    this.worker.terminate();
    for (const waiting of this.pending.values()) waiting.reject(this.gone);
    this.pending.clear();
    this.failStart(this.gone);
    return this.gone;
  }
}

/** What serveShardReads uses of the reader worker's global scope. */
export interface ReaderScope {
  onmessage: ((event: MessageEvent<ReadRequest>) => void) | null;
  postMessage(message: ReaderMessage, transfer?: Transferable[]): void;
}

/** The reader worker's side: answers each request with the entry, its body transferred, and its checksum. */
export function serveShardReads(scope: ReaderScope, root: () => Promise<Folder>): void {
  const folders = new Map<string, Promise<Folder>>();
  const folderOf = (name: string) => {
    let folder = folders.get(name);
    if (!folder) {
      folder = root().then((r) => r.getDirectoryHandle(name));
      folders.set(name, folder);
      folder.catch(() => folders.delete(name));
    }
    return folder;
  };
  scope.onmessage = async (event) => {
    const { id, folder, name } = event.data;
    try {
      let entry: Awaited<ReturnType<typeof readEntryFile>>;
      try {
        entry = await readEntryFile(await folderOf(folder), name, true);
      } catch (error) {
        if (!isNotFound(error)) throw error;
        entry = null; // no folder yet
      }
      if (!entry) {
        scope.postMessage({ id, entry: null });
        return;
      }
      const checksum = await shardChecksum(entry.body);
      scope.postMessage({ id, entry: { ...entry, checksum } }, [entry.body]);
    } catch (error) {
      const errorName = error instanceof Error || error instanceof DOMException ? error.name : "Error";
      scope.postMessage({ id, error: errorMessage(error), errorName });
    }
  };
  scope.postMessage({ ready: true });
}
