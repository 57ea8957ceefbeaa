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
import {
  type EntryHeader,
  entryBytes,
  entryFileName,
  type Folder,
  isNotFound,
  openSync,
  readEntryFile,
} from "./opfs-entry";
import type { ShardReader } from "./shard-reader";

export { entryFileName, type Folder } from "./opfs-entry";

/** Whether this global scope can keep shards in OPFS (a dedicated worker with sync access handles). */
function opfsAvailable(): boolean {
  return (
    typeof (globalThis as { FileSystemSyncAccessHandle?: unknown }).FileSystemSyncAccessHandle ===
      "function" && typeof globalThis.navigator?.storage?.getDirectory === "function"
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

/**
 * Where models are kept: `caches`, with the shards in OPFS where this scope can read files there, read by
 * `reader` (a second thread) when given.
 */
export async function modelStorage(
  caches: CacheStorage | null,
  reader: (() => ShardReader) | null = null,
): Promise<CacheStorage | null> {
  if (!caches || !opfsAvailable()) return caches;
  const root = await opfsRoot();
  return root ? opfsCacheStorage(caches, root, reader) : caches;
}

const urlOf = (request: RequestInfo | URL): string =>
  typeof request === "string" ? new URL(request).href : request instanceof URL ? request.href : request.url;

/** Shard entries are the ones model-files.ts keys with the model's identity. */
export const isShardKey = (url: string): boolean => new URL(url).searchParams.has(MODEL_ID_PARAM);

/** A Cache whose shard entries are OPFS files (see the file comment); the rest is `cache`'s. */
export class OpfsShardCache {
  constructor(
    private readonly cache: Cache,
    private readonly folder: Folder,
    /** Reads shard files on another thread, with their checksum; null: read here. */
    private readonly reader: ShardReader | null = null,
  ) {}

  async match(request: RequestInfo | URL, options?: CacheQueryOptions): Promise<Response | undefined> {
    const url = urlOf(request);
    if (!isShardKey(url)) return this.cache.match(request, options);
    const entry = await this.matchBody(url);
    return entry && new Response(entry.body, { headers: entry.headers });
  }

  /**
   * A shard entry's body and headers, without a Response around them, and the checksum of the body when the
   * reader computed it (model-files.ts' BodyCache).
   */
  async matchBody(
    key: string,
  ): Promise<{ body: ArrayBuffer; headers: Headers; checksum?: string | null } | undefined> {
    const url = urlOf(key);
    if (!isShardKey(url)) {
      const hit = await this.cache.match(key);
      return hit && { body: await hit.arrayBuffer(), headers: hit.headers };
    }
    const name = entryFileName(url);
    const stored = await this.readShard(name);
    if (stored && stored.header.url === url) {
      return { body: stored.body, headers: new Headers(stored.header.headers), checksum: stored.checksum };
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
      const stored = await readEntryFile(this.folder, name, false).catch(() => null);
      if (stored) requests.push(new Request(stored.header.url));
    }
    return requests;
  }

  /** Through the reader while it works (its checksum comes along), else here (no checksum: undefined). */
  private async readShard(
    name: string,
  ): Promise<{ header: EntryHeader; body: ArrayBuffer; checksum?: string | null } | null> {
    const reader = this.reader;
    if (reader?.alive) {
      try {
        return await reader.read(MODEL_CACHE_NAME, name);
      } catch {
        // Gone (it is then no longer `alive`: read here from now on) or any other failure: read here, which
        // fails the same way or not.
      }
    }
    return readEntryFile(this.folder, name, true);
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
export function opfsCacheStorage(
  caches: CacheStorage,
  root: Folder,
  startReader: (() => ShardReader) | null = null,
): CacheStorage {
  let reader: ShardReader | null = null;
  return {
    async open(name: string): Promise<Cache> {
      const cache = await caches.open(name);
      if (name !== MODEL_CACHE_NAME) return cache;
      const folder = await root.getDirectoryHandle(MODEL_CACHE_NAME, { create: true });
      // One reader for the worker's life, started with the first open; a dead one is not started again.
      if (startReader && reader === null) {
        try {
          reader = startReader();
        } catch {
          startReader = null;
        }
      }
      return new OpfsShardCache(cache, folder, reader) as unknown as Cache;
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
