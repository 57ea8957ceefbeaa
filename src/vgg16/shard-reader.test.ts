/**
 * shard-reader.ts with both sides in one process (a stand-in Worker passes the messages, asynchronously and
 * with the bodies transferred as a structured clone would), over an in-memory OPFS folder: what the reader
 * returns, a reader that cannot start or dies (reads fall back to this thread), and fetchModelFiles using
 * the checksums it computed.
 */
import { describe, expect, it } from "vitest";
import { shardChecksum } from "../model/shard-checksum";
import { cachedShardProblem, MODEL_CACHE_NAME, shardCacheKey, shardResponse } from "./model-files";
import { entryFileName, type Folder, OpfsShardCache, opfsCacheStorage } from "./opfs-cache";
import {
  type ReaderScope,
  type ReaderWorker,
  ShardReader,
  ShardReaderGone,
  serveShardReads,
} from "./shard-reader";
import { FakeCacheStorage, FakeFolder } from "./test-fakes";

const KEY = shardCacheKey("https://example.test/models/vgg16/group1-shard1of2.bin", "model-A");
const bytesOf = (n: number, fill: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + fill) % 256);
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A Worker stand-in running serveShardReads on `root`; `broken` fires its error event instead of starting. */
class InProcessReader implements ReaderWorker {
  onmessage: ReaderWorker["onmessage"] = null;
  onerror: ReaderWorker["onerror"] = null;
  requests = 0;
  terminated = false;
  private readonly scope: ReaderScope = {
    onmessage: null,
    postMessage: (message, transfer) => {
      // Transferred as a real postMessage would: the sender's buffers are detached.
      const copy = structuredClone(message, { transfer: (transfer ?? []) as Transferable[] });
      void tick().then(() => {
        if (!this.terminated) this.onmessage?.(new MessageEvent("message", { data: copy }));
      });
    },
  };

  constructor(root: FakeFolder, broken = false) {
    void tick().then(() => {
      if (broken) this.onerror?.(new Event("error") as ErrorEvent);
      else serveShardReads(this.scope, async () => root as unknown as Folder);
    });
  }

  postMessage(message: Parameters<ReaderWorker["postMessage"]>[0]): void {
    this.requests++;
    void tick().then(() => this.scope.onmessage?.(new MessageEvent("message", { data: message })));
  }

  terminate(): void {
    this.terminated = true;
  }
}

async function storedShard(root: FakeFolder, body: Uint8Array): Promise<void> {
  const caches = opfsCacheStorage(new FakeCacheStorage().asCacheStorage(), root as unknown as Folder);
  const cache = await caches.open(MODEL_CACHE_NAME);
  await cache.put(KEY, await shardResponse(body.slice().buffer, null));
}

describe("shard reader", () => {
  it("returns the entry with its body's checksum, and null for a missing file or folder", async () => {
    const root = new FakeFolder();
    const reader = new ShardReader(new InProcessReader(root));
    expect(await reader.read(MODEL_CACHE_NAME, entryFileName(KEY))).toBeNull(); // no folder yet
    const body = bytesOf(5000, 3);
    await storedShard(root, body);
    const entry = await reader.read(MODEL_CACHE_NAME, entryFileName(KEY));
    expect(new Uint8Array(entry?.body as ArrayBuffer)).toEqual(body);
    expect(entry?.header.url).toBe(KEY);
    expect(entry?.checksum).toBe(await shardChecksum(body));
    expect(await reader.read(MODEL_CACHE_NAME, "0000000000000000.entry")).toBeNull();
  });

  it("a reader that cannot start, or dies, fails its reads, and the cache reads on this thread instead", async () => {
    const root = new FakeFolder();
    const body = bytesOf(3000, 4);
    await storedShard(root, body);
    const broken = new ShardReader(new InProcessReader(root, true));
    await expect(broken.read(MODEL_CACHE_NAME, entryFileName(KEY))).rejects.toBeInstanceOf(ShardReaderGone);
    expect(broken.alive).toBe(false);

    const worker = new InProcessReader(root);
    const dying = new ShardReader(worker);
    const pending = dying.read(MODEL_CACHE_NAME, entryFileName(KEY));
    dying.dispose();
    await expect(pending).rejects.toBeInstanceOf(ShardReaderGone);
    expect(worker.terminated).toBe(true);

    for (const reader of [broken, dying]) {
      const folder = await root.getDirectoryHandle(MODEL_CACHE_NAME);
      const cache = new OpfsShardCache(
        await new FakeCacheStorage().open(MODEL_CACHE_NAME),
        folder as unknown as Folder,
        reader,
      );
      const entry = await cache.matchBody(KEY);
      expect(new Uint8Array(entry?.body as ArrayBuffer)).toEqual(body);
      expect(entry?.checksum).toBeUndefined(); // read here: model-files.ts hashes it itself
    }
    // A reader that stops while a read is in flight: the cache catches ShardReaderGone and reads the file itself.
    const live = new InProcessReader(root);
    const stopping = new ShardReader(live);
    const folder = await root.getDirectoryHandle(MODEL_CACHE_NAME);
    const cache = new OpfsShardCache(
      await new FakeCacheStorage().open(MODEL_CACHE_NAME),
      folder as unknown as Folder,
      stopping,
    );
    const reading = cache.matchBody(KEY);
    while (live.requests === 0) await tick();
    stopping.dispose();
    const entry = await reading;
    expect(new Uint8Array(entry?.body as ArrayBuffer)).toEqual(body);
    expect(entry?.checksum).toBeUndefined();
  });

  it("the cache takes shards and checksums from the reader; a checksum that disagrees marks the shard damaged", async () => {
    const root = new FakeFolder();
    const body = bytesOf(4000, 5);
    await storedShard(root, body);
    const worker = new InProcessReader(root);
    const caches = opfsCacheStorage(
      new FakeCacheStorage().asCacheStorage(),
      root as unknown as Folder,
      () => new ShardReader(worker),
    );
    const cache = (await caches.open(MODEL_CACHE_NAME)) as unknown as OpfsShardCache;
    const entry = await cache.matchBody(KEY);
    expect(worker.requests).toBe(1);
    expect(entry?.checksum).toBe(await shardChecksum(body));
    const want = { bytes: body.length, sha256: null };
    const intact = entry?.body as ArrayBuffer;
    expect(await cachedShardProblem(intact, want, entry?.headers as Headers, entry?.checksum)).toBeNull();
    // The computed checksum is trusted as given: no second hash of the bytes.
    expect(
      await cachedShardProblem(intact, want, entry?.headers as Headers, "xxh64-0000000000000000"),
    ).toMatch(/has checksum xxh64-0000000000000000, stored with xxh64-[0-9a-f]{16}/);
    // The same open cache keeps using the same reader.
    await (await caches.open(MODEL_CACHE_NAME)).match(KEY);
    expect(worker.requests).toBe(2);
  });
});
