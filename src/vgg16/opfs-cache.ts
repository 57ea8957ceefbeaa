/**
 * Cache Storage with the weight shards kept in the Origin Private File System.
 *
 * Reading VGG16's 553 MB back from Cache Storage costs a cached reload
 * 1.3–1.4 s in Chromium on 2 vCPUs: every body crosses from the browser
 * process. A worker reads the same bytes from OPFS files through
 * FileSystemSyncAccessHandle in 0.5 s, straight from its own process.
 *
 * `opfsCacheStorage` wraps the real CacheStorage: `open(MODEL_CACHE_NAME)`
 * gives a Cache whose shard entries (keys carrying MODEL_ID_PARAM) are files
 * in the OPFS folder of the same name, one file per entry holding its URL,
 * its headers (the checksums model-files.ts stores) and its body. Everything
 * else (model.json, which the page also reads) stays in Cache Storage.
 * Shards an earlier version left in Cache Storage are still found there and
 * moved into OPFS when read, so an update downloads nothing again.
 *
 * Only where sync access handles exist (dedicated workers); elsewhere the
 * caller keeps plain Cache Storage.
 */
import { MODEL_CACHE_NAME, MODEL_ID_PARAM } from "./model-files";

/** What this module uses of FileSystemSyncAccessHandle. */
export interface SyncFile {
  getSize(): number;
  read(view: Uint8Array, options: { at: number }): number;
  write(view: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}

/**
 * What this module uses of FileSystemFileHandle. "read-only" handles (Chromium ≥ 121) may be open together,
 * in several tabs; a writing one excludes all others. Engines without modes give a writing one.
 */
export interface FileEntry {
  createSyncAccessHandle(options?: { mode?: "read-only" | "readwrite" }): Promise<SyncFile>;
}

/** What this module uses of FileSystemDirectoryHandle. */
export interface Folder {
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<Folder>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<FileEntry>;
  removeEntry(name: string, options?: { recursive?: boolean }): Promise<void>;
  keys(): AsyncIterable<string>;
}

/** Whether this global scope can keep shards in OPFS (a dedicated worker with sync access handles). */
export function opfsAvailable(scope: typeof globalThis = globalThis): boolean {
  return (
    typeof (scope as { FileSystemSyncAccessHandle?: unknown }).FileSystemSyncAccessHandle === "function" &&
    typeof scope.navigator?.storage?.getDirectory === "function"
  );
}

/** The origin's OPFS root as a Folder, or null where it cannot be opened. */
async function opfsRoot(): Promise<Folder | null> {
  try {
    return (await navigator.storage.getDirectory()) as unknown as Folder;
  } catch {
    return null;
  }
}

/** Where models are kept: `caches`, with the shards in OPFS where this scope can read files there. */
export async function modelStorage(caches: CacheStorage | null): Promise<CacheStorage | null> {
  if (!caches || !opfsAvailable()) return caches;
  const root = await opfsRoot();
  return root ? opfsCacheStorage(caches, root) : caches;
}

/** First bytes of every entry file: format and version. */
const MAGIC = 0x31534756; // "VGS1", little-endian
const PREAMBLE_BYTES = 8; // magic, then the JSON header's length (u32 LE)

interface EntryHeader {
  url: string;
  headers: [string, string][];
}

const urlOf = (request: RequestInfo | URL): string =>
  typeof request === "string" ? new URL(request).href : request instanceof URL ? request.href : request.url;

/** Shard entries are the ones model-files.ts keys with the model's identity. */
export const isShardKey = (url: string): boolean => new URL(url).searchParams.has(MODEL_ID_PARAM);

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

async function openSync(entry: FileEntry, mode: "read-only" | "readwrite"): Promise<SyncFile> {
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

const isNotFound = (error: unknown) =>
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
function entryBytes(header: EntryHeader, body: ArrayBuffer): { head: Uint8Array; body: Uint8Array } {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const head = new Uint8Array(PREAMBLE_BYTES + json.length);
  const view = new DataView(head.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, json.length, true);
  head.set(json, PREAMBLE_BYTES);
  return { head, body: new Uint8Array(body) };
}

/** A Cache whose shard entries are OPFS files (see the file comment); the rest is `cache`'s. */
export class OpfsShardCache {
  constructor(
    private readonly cache: Cache,
    private readonly folder: Folder,
  ) {}

  async match(request: RequestInfo | URL, options?: CacheQueryOptions): Promise<Response | undefined> {
    const url = urlOf(request);
    if (!isShardKey(url)) return this.cache.match(request, options);
    const entry = await this.matchBody(url);
    return entry && new Response(entry.body, { headers: entry.headers });
  }

  /** A shard entry's body and headers, without a Response around them (model-files.ts' BodyCache). */
  async matchBody(key: string): Promise<{ body: ArrayBuffer; headers: Headers } | undefined> {
    const url = urlOf(key);
    if (!isShardKey(url)) {
      const hit = await this.cache.match(key);
      return hit && { body: await hit.arrayBuffer(), headers: hit.headers };
    }
    const name = entryFileName(url);
    const stored = await this.readFile(name, true);
    if (stored && stored.header.url === url) {
      return { body: stored.body, headers: new Headers(stored.header.headers) };
    }
    // Not here: maybe Cache Storage still holds it, from an earlier version. Moved here when found.
    const legacy = await this.cache.match(key);
    if (!legacy) return undefined;
    const body = await legacy.arrayBuffer();
    const headers = [...legacy.headers];
    try {
      await this.writeFile(name, { url, headers }, body);
      await this.cache.delete(key);
    } catch {
      // Left where it was: read from Cache Storage again next time.
    }
    return { body, headers: new Headers(headers) };
  }

  async put(request: RequestInfo | URL, response: Response): Promise<void> {
    const url = urlOf(request);
    if (!isShardKey(url)) return this.cache.put(request, response);
    const body = await response.arrayBuffer();
    await this.writeFile(entryFileName(url), { url, headers: [...response.headers] }, body);
    // One copy only: an older Cache Storage entry for the key goes.
    await this.cache.delete(request).catch(() => false);
  }

  async delete(request: RequestInfo | URL, options?: CacheQueryOptions): Promise<boolean> {
    const url = urlOf(request);
    const fromCache = await this.cache.delete(request, options);
    if (!isShardKey(url)) return fromCache;
    try {
      await this.folder.removeEntry(entryFileName(url));
      return true;
    } catch (error) {
      if (isNotFound(error)) return fromCache;
      throw error;
    }
  }

  /** Cache Storage's keys, then every shard entry's (the URL each file holds). */
  async keys(): Promise<readonly Request[]> {
    const requests = [...(await this.cache.keys())];
    for await (const name of this.folder.keys()) {
      if (!name.endsWith(".entry")) continue;
      const stored = await this.readFile(name, false).catch(() => null);
      if (stored) requests.push(new Request(stored.header.url));
    }
    return requests;
  }

  private async readFile(
    name: string,
    withBody: boolean,
  ): Promise<{ header: EntryHeader; body: ArrayBuffer } | null> {
    let file: SyncFile;
    try {
      file = await openSync(await this.folder.getFileHandle(name), "read-only");
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

  /** Writes the whole entry or nothing: a failed write (a full disk) removes the file. */
  private async writeFile(name: string, header: EntryHeader, body: ArrayBuffer): Promise<void> {
    const file = await openSync(await this.folder.getFileHandle(name, { create: true }), "readwrite");
    try {
      const bytes = entryBytes(header, body);
      file.truncate(0);
      if (file.write(bytes.head, { at: 0 }) !== bytes.head.length) throw new Error("short write");
      if (file.write(bytes.body, { at: bytes.head.length }) !== bytes.body.length) {
        throw new Error("short write");
      }
      file.flush();
    } catch (error) {
      file.close();
      await this.folder.removeEntry(name).catch(() => undefined);
      throw error;
    }
    file.close();
  }
}

/**
 * `caches` with MODEL_CACHE_NAME's shards in OPFS under `root` (see the file comment): open and delete of that
 * name cover both; everything else is `caches`'.
 */
export function opfsCacheStorage(caches: CacheStorage, root: Folder): CacheStorage {
  return {
    async open(name: string): Promise<Cache> {
      const cache = await caches.open(name);
      if (name !== MODEL_CACHE_NAME) return cache;
      const folder = await root.getDirectoryHandle(MODEL_CACHE_NAME, { create: true });
      return new OpfsShardCache(cache, folder) as unknown as Cache;
    },
    async delete(name: string): Promise<boolean> {
      const deleted = await caches.delete(name);
      if (name !== MODEL_CACHE_NAME) return deleted;
      try {
        await root.removeEntry(MODEL_CACHE_NAME, { recursive: true });
        return true;
      } catch (error) {
        if (isNotFound(error)) return deleted;
        throw error;
      }
    },
    has: (name: string) => caches.has(name),
    keys: () => caches.keys(),
    match: (request: RequestInfo | URL, options?: MultiCacheQueryOptions) => caches.match(request, options),
  };
}
