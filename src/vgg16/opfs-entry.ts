/**
 * One cache entry as an OPFS file (opfs-cache.ts): the format, and reading and writing it through sync access
 * handles. Small on purpose: the shard reader worker (shard-reader.worker.ts) imports it too.
 */

/** What opfs-cache.ts uses of FileSystemSyncAccessHandle. */
export interface SyncFile {
  getSize(): number;
  read(view: Uint8Array, options: { at: number }): number;
  write(view: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}

/**
 * What opfs-cache.ts uses of FileSystemFileHandle. "read-only" handles (Chromium ≥ 121) may be open together,
 * in several tabs; a writing one excludes all others. Engines without modes give a writing one.
 */
export interface FileEntry {
  createSyncAccessHandle(options?: { mode?: "read-only" | "readwrite" }): Promise<SyncFile>;
}

/** What opfs-cache.ts uses of FileSystemDirectoryHandle. */
export interface Folder {
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<Folder>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<FileEntry>;
  removeEntry(name: string, options?: { recursive?: boolean }): Promise<void>;
  keys(): AsyncIterable<string>;
}

/** First bytes of every entry file: format and version. */
const MAGIC = 0x31534756; // "VGS1", little-endian
const PREAMBLE_BYTES = 8; // magic, then the JSON header's length (u32 LE)

export interface EntryHeader {
  url: string;
  headers: [string, string][];
}

/**
 * The entry's file name: a 64-bit FNV-1a hash of its URL, in hex (URLs hold characters and lengths that file
 * names may not). The file also holds the URL, which a read compares: a collision reads as a miss.
 */
export function entryFileName(url: string): string {
  let low = 0x811c9dc5;
  let high = 0x050c5d1f;
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    low = Math.imul(low ^ c, 0x01000193) >>> 0;
    high = Math.imul(high ^ c ^ (low >>> 24), 0x01000193) >>> 0;
  }
  return `${high.toString(16).padStart(8, "0")}${low.toString(16).padStart(8, "0")}.entry`;
}

/**
 * File handles whose createSyncAccessHandle() is pending, kept referenced until it settles. Without this, a
 * few of the 132 shard writes of a cold load in Chromium never finished (3 loads of 3 hung; 4 of 4 passed
 * with it): the promise seems to die with its handle when that is garbage-collected, which reading 553 MB
 * makes likely.
 */
const opening = new Set<FileEntry>();

/** How long an open waits, in all, for another handle on the file (another tab reading or writing it) to close. */
const LOCKED_WAIT_MS = 3000;

export async function openSync(entry: FileEntry, mode: "read-only" | "readwrite"): Promise<SyncFile> {
  opening.add(entry);
  try {
    for (let waited = 0, delay = 5; ; waited += delay, delay = Math.min(delay * 2, 200)) {
      try {
        return await entry.createSyncAccessHandle({ mode });
      } catch (error) {
        // Reads and writes take ~4 ms per shard: a locked file is free again soon.
        const locked = (error as DOMException)?.name === "NoModificationAllowedError";
        if (!locked || waited >= LOCKED_WAIT_MS) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  } finally {
    opening.delete(entry);
  }
}

export const isNotFound = (error: unknown) =>
  error instanceof DOMException ? error.name === "NotFoundError" : (error as Error)?.name === "NotFoundError";

/** Reads an entry file: its header and (`withBody`) body, or null when it is not one of ours (or unreadable). */
function readEntry(file: SyncFile, withBody: boolean): { header: EntryHeader; body: ArrayBuffer } | null {
  const size = file.getSize();
  if (size < PREAMBLE_BYTES) return null;
  const preamble = new Uint8Array(PREAMBLE_BYTES);
  if (file.read(preamble, { at: 0 }) !== PREAMBLE_BYTES) return null;
  const view = new DataView(preamble.buffer);
  const headerBytes = view.getUint32(4, true);
  if (view.getUint32(0, true) !== MAGIC || PREAMBLE_BYTES + headerBytes > size) return null;
  const headerView = new Uint8Array(headerBytes);
  if (file.read(headerView, { at: PREAMBLE_BYTES }) !== headerBytes) return null;
  let header: EntryHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(headerView)) as EntryHeader;
  } catch {
    return null;
  }
  if (typeof header?.url !== "string" || !Array.isArray(header.headers)) return null;
  if (!withBody) return { header, body: new ArrayBuffer(0) };
  const bodyStart = PREAMBLE_BYTES + headerBytes;
  const body = new ArrayBuffer(size - bodyStart);
  // A short read (the file shrank meanwhile) leaves a short body: the caller's size check catches it.
  const read = file.read(new Uint8Array(body), { at: bodyStart });
  return { header, body: read === body.byteLength ? body : body.slice(0, read) };
}

/** The bytes of an entry file: preamble, JSON header, body. */
export function entryBytes(header: EntryHeader, body: ArrayBuffer): { head: Uint8Array; body: Uint8Array } {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const head = new Uint8Array(PREAMBLE_BYTES + json.length);
  const view = new DataView(head.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, json.length, true);
  head.set(json, PREAMBLE_BYTES);
  return { head, body: new Uint8Array(body) };
}

/** Reads the entry file `name` of `folder` (its header and, `withBody`, its body), or null when there is none. */
export async function readEntryFile(
  folder: Folder,
  name: string,
  withBody: boolean,
): Promise<{ header: EntryHeader; body: ArrayBuffer } | null> {
  let file: SyncFile;
  try {
    file = await openSync(await folder.getFileHandle(name), "read-only");
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
  try {
    return readEntry(file, withBody);
  } finally {
    file.close();
  }
}
