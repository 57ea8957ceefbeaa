/**
 * opfs-cache.ts on in-memory stand-ins (Node has neither OPFS nor Cache Storage): where each entry goes,
 * the move of shards an earlier version left in Cache Storage, failed writes, deletes and listing, and
 * fetchModelFiles (model-files.ts) over it: cold, warm with no request and no SHA-256, repair.
 */
import { describe, expect, it, vi } from "vitest";
import { SHARD_CHECKSUM_HEADER } from "../model/shard-checksum";
import { fetchModelFiles, MODEL_CACHE_NAME, SHARD_SHA256_HEADER, shardCacheKey } from "./model-files";
import { entryFileName, type Folder, isShardKey, OpfsShardCache, opfsCacheStorage } from "./opfs-cache";
import { type FakeCache, FakeCacheStorage, FakeFolder, FakeServer } from "./test-fakes";

const BASE = "https://example.test/models/vgg16/";
const JSON_URL = `${BASE}model.json`;
const shardKey = (i: number, modelId = "model-A") => shardCacheKey(`${BASE}group1-shard${i}of3.bin`, modelId);

function setUp(quotaBytes = Number.POSITIVE_INFINITY) {
  const storage = new FakeCacheStorage();
  const root = new FakeFolder(quotaBytes);
  const caches = opfsCacheStorage(storage.asCacheStorage(), root as unknown as Folder);
  const folder = () => root.folders.get(MODEL_CACHE_NAME);
  const cacheStorageEntries = () => [...(storage.caches.get(MODEL_CACHE_NAME)?.entries.keys() ?? [])];
  return { storage, root, caches, folder, cacheStorageEntries };
}

const bytesOf = (n: number, fill: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + fill) % 256);

describe("opfs-cache", () => {
  it("keeps shard entries in OPFS files (body and headers) and everything else in Cache Storage", async () => {
    const { caches, folder, cacheStorageEntries } = setUp();
    const cache = await caches.open(MODEL_CACHE_NAME);
    const body = bytesOf(1000, 1);
    await cache.put(shardKey(1), new Response(body, { headers: { [SHARD_SHA256_HEADER]: "abc" } }));
    await cache.put(JSON_URL, new Response("{}", { headers: { "Content-Type": "application/json" } }));

    expect(cacheStorageEntries()).toEqual([JSON_URL]);
    expect([...(folder()?.files.keys() ?? [])]).toEqual([entryFileName(shardKey(1))]);
    const file = folder()?.files.get(entryFileName(shardKey(1))) as Uint8Array;
    // The body is in the file as it is (after a small header with the URL and headers).
    expect(file.length).toBeGreaterThan(body.length);
    expect(file.subarray(file.length - body.length)).toEqual(body);

    const direct = await (cache as unknown as OpfsShardCache).matchBody(shardKey(1));
    expect(new Uint8Array(direct?.body as ArrayBuffer)).toEqual(body);
    expect(direct?.headers.get(SHARD_SHA256_HEADER)).toBe("abc");
    const response = await cache.match(shardKey(1));
    expect(new Uint8Array(await (response as Response).arrayBuffer())).toEqual(body);
    expect(await (await cache.match(JSON_URL))?.text()).toBe("{}");
    expect(await cache.match(shardKey(2))).toBeUndefined();
    expect(await (cache as unknown as OpfsShardCache).matchBody(shardKey(2))).toBeUndefined();
  });

  it("moves a shard an earlier version left in Cache Storage into OPFS when it is read", async () => {
    const { storage, caches, folder, cacheStorageEntries } = setUp();
    const legacy = (await storage.open(MODEL_CACHE_NAME)) as unknown as FakeCache;
    const body = bytesOf(500, 2);
    await legacy.put(shardKey(1), new Response(body, { headers: { [SHARD_CHECKSUM_HEADER]: "xxh64-1" } }));

    const cache = (await caches.open(MODEL_CACHE_NAME)) as unknown as OpfsShardCache;
    const first = await cache.matchBody(shardKey(1));
    expect(new Uint8Array(first?.body as ArrayBuffer)).toEqual(body);
    expect(first?.headers.get(SHARD_CHECKSUM_HEADER)).toBe("xxh64-1");
    expect(cacheStorageEntries()).toEqual([]);
    expect(folder()?.files.has(entryFileName(shardKey(1)))).toBe(true);
    // From the file now, headers included.
    const again = await cache.matchBody(shardKey(1));
    expect(new Uint8Array(again?.body as ArrayBuffer)).toEqual(body);
    expect(again?.headers.get(SHARD_CHECKSUM_HEADER)).toBe("xxh64-1");
  });

  it("a write that fails (full disk) rejects and leaves no file; a legacy shard then stays where it was", async () => {
    const { storage, caches, folder, cacheStorageEntries } = setUp(600);
    const cache = (await caches.open(MODEL_CACHE_NAME)) as unknown as OpfsShardCache;
    await cache.put(shardKey(1), new Response(bytesOf(400, 3)));
    const error = await cache.put(shardKey(2), new Response(bytesOf(400, 4))).catch((e: unknown) => e);
    expect((error as DOMException).name).toBe("QuotaExceededError");
    expect([...(folder()?.files.keys() ?? [])]).toEqual([entryFileName(shardKey(1))]);

    const legacy = (await storage.open(MODEL_CACHE_NAME)) as unknown as FakeCache;
    await legacy.put(shardKey(3), new Response(bytesOf(400, 5)));
    const moved = await cache.matchBody(shardKey(3));
    expect(new Uint8Array(moved?.body as ArrayBuffer)).toEqual(bytesOf(400, 5));
    expect(cacheStorageEntries()).toEqual([shardKey(3)]);
    expect(folder()?.files.size).toBe(1);
  });

  it("delete and keys cover both stores; deleting the cache removes the folder", async () => {
    const { caches, root, folder } = setUp();
    const cache = await caches.open(MODEL_CACHE_NAME);
    await cache.put(shardKey(1), new Response(bytesOf(10, 1)));
    await cache.put(shardKey(2, "model-B"), new Response(bytesOf(10, 2)));
    await cache.put(JSON_URL, new Response("{}"));
    expect((await cache.keys()).map((r) => r.url).sort()).toEqual(
      [JSON_URL, shardKey(1), shardKey(2, "model-B")].sort(),
    );
    expect(await cache.delete(shardKey(1))).toBe(true);
    expect(await cache.delete(shardKey(1))).toBe(false);
    expect(folder()?.files.size).toBe(1);
    expect(await caches.delete(MODEL_CACHE_NAME)).toBe(true);
    expect(root.folders.size).toBe(0);
    expect(await caches.delete(MODEL_CACHE_NAME)).toBe(false);
  });

  it("reads a file holding another URL, or not in its format, as a miss", async () => {
    const { caches, folder } = setUp();
    const cache = (await caches.open(MODEL_CACHE_NAME)) as unknown as OpfsShardCache;
    await cache.put(shardKey(1), new Response(bytesOf(10, 1)));
    const files = folder()?.files as Map<string, Uint8Array>;
    // Shard 1's file under shard 2's name: a hash collision, as far as the cache can tell.
    files.set(entryFileName(shardKey(2)), files.get(entryFileName(shardKey(1))) as Uint8Array);
    expect(await cache.matchBody(shardKey(2))).toBeUndefined();
    files.set(entryFileName(shardKey(1)), bytesOf(64, 9));
    expect(await cache.matchBody(shardKey(1))).toBeUndefined();
  });

  it("reads alongside other readers (another tab), and waits for a writer to finish", async () => {
    const { caches, folder } = setUp();
    const cache = (await caches.open(MODEL_CACHE_NAME)) as unknown as OpfsShardCache;
    await cache.put(shardKey(1), new Response(bytesOf(100, 1)));
    const file = await (folder() as FakeFolder).getFileHandle(entryFileName(shardKey(1)));
    // Another tab reading the shard: reads go on, a write waits until it is done.
    const otherReader = await file.createSyncAccessHandle({ mode: "read-only" });
    const both = await Promise.all([cache.matchBody(shardKey(1)), cache.matchBody(shardKey(1))]);
    for (const entry of both) expect(new Uint8Array(entry?.body as ArrayBuffer)).toEqual(bytesOf(100, 1));
    let written = false;
    const writing = cache.put(shardKey(1), new Response(bytesOf(100, 2))).then(() => {
      written = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(written).toBe(false);
    otherReader.close();
    await writing;
    // Another tab writing it: a read waits, then sees the new bytes.
    const otherWriter = await file.createSyncAccessHandle({ mode: "readwrite" });
    const reading = cache.matchBody(shardKey(1));
    await new Promise((resolve) => setTimeout(resolve, 40));
    otherWriter.close();
    expect(new Uint8Array((await reading)?.body as ArrayBuffer)).toEqual(bytesOf(100, 2));
  });

  it("names files by a hash of the URL and tells shard keys by the model id", () => {
    expect(entryFileName(shardKey(1))).toMatch(/^[0-9a-f]{16}\.entry$/);
    expect(entryFileName(shardKey(1))).not.toBe(entryFileName(shardKey(2)));
    expect(entryFileName(shardKey(1))).not.toBe(entryFileName(shardKey(1, "model-B")));
    expect(isShardKey(shardKey(1))).toBe(true);
    expect(isShardKey(JSON_URL)).toBe(false);
  });
});

describe("fetchModelFiles over opfs-cache", () => {
  /** 3 shards of 32 bytes with their SHA-256 in the metadata, as our converter writes them. */
  async function serve(server: FakeServer): Promise<Uint8Array> {
    const bytes = bytesOf(96, 7);
    const shards = [0, 1, 2].map((i) => bytes.slice(i * 32, (i + 1) * 32));
    const sha = await Promise.all(
      shards.map(async (s) =>
        Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", s)), (b) =>
          b.toString(16).padStart(2, "0"),
        ).join(""),
      ),
    );
    server.files.set(
      JSON_URL,
      JSON.stringify({
        format: "graph-model",
        modelTopology: { node: [], versions: { producer: 1 } },
        weightsManifest: [
          {
            paths: [1, 2, 3].map((i) => `group1-shard${i}of3.bin`),
            weights: [{ name: "w", shape: [24], dtype: "float32" }],
          },
        ],
        userDefinedMetadata: {
          vgg16: {
            schema: 1,
            architecture: "vgg16",
            modelId: "model-A",
            includeTop: true,
            synthetic: true,
            shards: sha.map((sha256) => ({ bytes: 32, sha256 })),
          },
        },
      }),
    );
    shards.forEach((s, i) => {
      server.files.set(`${BASE}group1-shard${i + 1}of3.bin`, s);
    });
    return bytes;
  }

  const load = (server: FakeServer, caches: CacheStorage) =>
    fetchModelFiles(JSON_URL, {
      fetch: server.fetch,
      caches,
      emit: () => {},
      progressIntervalMs: 0,
      concurrency: 2,
      checkArchitecture: false,
    });

  const joined = (buffers: readonly ArrayBuffer[]) =>
    new Uint8Array(buffers.flatMap((b) => [...new Uint8Array(b)]));

  it("stores shards as files, loads warm with no request and no SHA-256, and repairs a damaged file", async () => {
    const server = new FakeServer();
    const bytes = await serve(server);
    const { caches, folder, cacheStorageEntries } = setUp();
    const cold = await load(server, caches);
    expect(joined(cold.weightData)).toEqual(bytes);
    expect(cacheStorageEntries()).toEqual([JSON_URL]);
    expect(folder()?.files.size).toBe(3);

    server.requests.length = 0;
    const digest = vi.spyOn(crypto.subtle, "digest");
    // Shards come as bytes (matchBody), never wrapped in a Response.
    const match = vi.spyOn(OpfsShardCache.prototype, "match");
    let matched: string[] = [];
    let digests = -1;
    const warm = await load(server, caches).finally(() => {
      matched = match.mock.calls.map(([key]) => String(key));
      digests = digest.mock.calls.length;
      digest.mockRestore();
      match.mockRestore();
    });
    expect(matched).toEqual([JSON_URL]);
    expect(server.requests).toEqual([]);
    expect(warm.fromCache).toBe(true);
    expect(digests).toBe(0);
    expect(joined(warm.weightData)).toEqual(bytes);

    // One bit of shard 2's body changed on disk: its checksum no longer matches.
    const files = folder()?.files as Map<string, Uint8Array>;
    const file = files.get(entryFileName(shardKey(2))) as Uint8Array;
    file[file.length - 5] = (file[file.length - 5] ?? 0) ^ 1;
    server.requests.length = 0;
    const repaired = await load(server, caches);
    expect(server.requests).toEqual([`${BASE}group1-shard2of3.bin`]);
    expect(joined(repaired.weightData)).toEqual(bytes);
    expect(files.get(entryFileName(shardKey(2)))?.subarray(-32)).toEqual(bytes.slice(32, 64));
  });
});
