import type { io } from "@tensorflow/tfjs";
import { describe, expect, it, vi } from "vitest";
import { sha256Hex } from "../model/sha256";
import { SHARD_CHECKSUM_HEADER, shardChecksum } from "../model/shard-checksum";
import type { LoadEvent } from "./api";
import { isVgg16Error } from "./errors";
import {
  expectedShards,
  fetchModelFiles,
  MODEL_CACHE_NAME,
  manifestTotalBytes,
  parseModelJson,
  SHARD_SHA256_HEADER,
  STANDARD_SHARD_BYTES,
  shardCacheKey,
  shardUrls,
  storedBytesPerElement,
} from "./model-files";
import { type FakeCache, FakeCacheStorage, FakeServer } from "./test-fakes";

const URL_JSON = "https://example.test/models/vgg16/model.json";
const SHARD_BYTES = 32;

function modelJson(
  modelId: string,
  weights: io.WeightsManifestEntry[],
  shards: number,
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    format: "graph-model",
    modelTopology: { node: [], versions: { producer: 1 } },
    weightsManifest: [
      { paths: Array.from({ length: shards }, (_, i) => `group1-shard${i + 1}of${shards}.bin`), weights },
    ],
    userDefinedMetadata: {
      vgg16: { schema: 1, architecture: "vgg16", modelId, includeTop: true, synthetic: true, ...extra },
    },
  });
}

/** 78 bytes of weights (float32 [3,5], uint8-quantized [10], int32 [2]) in 3 shards of ≤ 32 bytes. */
function serveModel(
  server: FakeServer,
  modelId: string,
  fill = 1,
  extra: Record<string, unknown> = {},
): Uint8Array {
  const weights: io.WeightsManifestEntry[] = [
    { name: "w", shape: [3, 5], dtype: "float32" },
    { name: "q", shape: [10], dtype: "float32", quantization: { dtype: "uint8", scale: 0.5, min: -1 } },
    { name: "s", shape: [2], dtype: "int32" },
  ];
  const bytes = Uint8Array.from({ length: 78 }, (_, i) => (i * 7 + fill) % 256);
  const shards = Math.ceil(bytes.length / SHARD_BYTES);
  server.files.set(URL_JSON, modelJson(modelId, weights, shards, extra));
  for (let i = 0; i < shards; i++) {
    server.files.set(
      `https://example.test/models/vgg16/group1-shard${i + 1}of${shards}.bin`,
      bytes.slice(i * SHARD_BYTES, (i + 1) * SHARD_BYTES),
    );
  }
  return bytes;
}

function joined(buffers: readonly ArrayBuffer[]): Uint8Array {
  const out = new Uint8Array(buffers.reduce((n, b) => n + b.byteLength, 0));
  let at = 0;
  for (const b of buffers) {
    out.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  return out;
}

async function load(server: FakeServer, caches: FakeCacheStorage | null, verifyCacheLater = false) {
  const events: LoadEvent[] = [];
  const files = await fetchModelFiles(URL_JSON, {
    verifyCacheLater,
    fetch: server.fetch,
    caches: caches?.asCacheStorage() ?? null,
    emit: (e) => events.push(e),
    progressIntervalMs: 0,
    concurrency: 2,
    checkArchitecture: false, // these stand-in models are 78 bytes, not VGG16
  });
  return { files, events };
}

const cacheOf = (storage: FakeCacheStorage): FakeCache => storage.caches.get(MODEL_CACHE_NAME) as FakeCache;

/**
 * In the cache of serveDigested's model: shard 1 truncated to 7 bytes, shard 2 the right size with one bit
 * changed. Each keeps the headers it was stored with (its checksum, unless asStoredByEarlierVersion ran).
 */
function damageCachedShards(storage: FakeCacheStorage, bytes: Uint8Array): void {
  const cache = cacheOf(storage);
  cache.entries.set(shardCacheKey(shardUrl(1), "model-D"), new Uint8Array(7).buffer);
  const changed = bytes.slice(32, 64);
  changed[3] = (changed[3] ?? 0) ^ 1;
  cache.entries.set(shardCacheKey(shardUrl(2), "model-D"), changed.buffer);
}

/** Drops the checksum headers: shards as cached by a version before shard-checksum.ts. */
function asStoredByEarlierVersion(storage: FakeCacheStorage): void {
  for (const headers of cacheOf(storage).headers.values()) headers.delete(SHARD_CHECKSUM_HEADER);
}

/** Counts WebCrypto digests (the SHA-256 checks) while `run` runs. */
async function countingDigests<T>(run: () => Promise<T>): Promise<{ result: T; digests: number }> {
  const spy = vi.spyOn(crypto.subtle, "digest");
  try {
    const result = await run();
    return { result, digests: spy.mock.calls.length };
  } finally {
    spy.mockRestore();
  }
}

describe("manifest sizes", () => {
  it("counts stored bytes: float32 4, float16 2, uint8 1, int32 4", () => {
    const e = (dtype: io.WeightsManifestEntry["dtype"], q?: "uint8" | "uint16" | "float16") =>
      storedBytesPerElement({ name: "x", shape: [1], dtype, ...(q ? { quantization: { dtype: q } } : {}) });
    expect([
      e("float32"),
      e("float32", "float16"),
      e("float32", "uint8"),
      e("float32", "uint16"),
      e("int32"),
    ]).toEqual([4, 2, 1, 2, 4]);
    expect(
      manifestTotalBytes([
        {
          paths: ["a"],
          weights: [
            { name: "fc1/kernel", shape: [25088, 4096], dtype: "float32" },
            { name: "shape", shape: [2], dtype: "int32" },
          ],
        },
        {
          paths: ["b"],
          weights: [
            { name: "k", shape: [3, 3, 3, 64], dtype: "float32", quantization: { dtype: "float16" } },
          ],
        },
      ]),
    ).toBe(25088 * 4096 * 4 + 8 + 1728 * 2);
  });

  it("resolves shard URLs against model.json, keeping its query", () => {
    const manifest = [{ paths: ["group1-shard1of2.bin", "group1-shard2of2.bin"], weights: [] }];
    expect(shardUrls("https://h.test/m/model.json?v=3", manifest)).toEqual([
      "https://h.test/m/group1-shard1of2.bin?v=3",
      "https://h.test/m/group1-shard2of2.bin?v=3",
    ]);
    expect(shardCacheKey("https://h.test/m/a.bin", "vgg16-full-x")).toBe(
      "https://h.test/m/a.bin?vgg16-model-id=vgg16-full-x",
    );
  });
});

describe("fetchModelFiles", () => {
  it("downloads cold with rising progress, stores everything, then loads warm with no request", async () => {
    const server = new FakeServer();
    const bytes = serveModel(server, "model-A");
    const storage = new FakeCacheStorage();

    const cold = await load(server, storage);
    expect(server.requests).toHaveLength(4);
    expect(cold.files.fromCache).toBe(false);
    expect(cold.files.totalBytes).toBe(78);
    expect(joined(cold.files.weightData)).toEqual(bytes);
    expect(cold.files.weightSpecs.map((w) => w.name)).toEqual(["w", "q", "s"]);
    expect(cold.files.metadata.modelId).toBe("model-A");
    const progress = cold.events.flatMap((e) => (e.type === "phase" ? [e] : []));
    expect(progress.every((e) => e.phase === "download" && e.totalBytes === 78)).toBe(true);
    expect(progress.map((e) => e.fraction)).toEqual(
      [...progress.map((e) => e.fraction)].sort((a, b) => a - b),
    );
    expect(progress[0]?.fraction).toBe(0);
    expect(progress.at(-1)?.fraction).toBe(1);
    expect(cold.events.filter((e) => e.type === "cache")).toEqual([
      { type: "cache", hit: false, modelId: "model-A" },
      { type: "cache", hit: false, modelId: "model-A", stored: true },
    ]);
    expect([...cacheOf(storage).entries.keys()].sort()).toEqual([
      "https://example.test/models/vgg16/group1-shard1of3.bin?vgg16-model-id=model-A",
      "https://example.test/models/vgg16/group1-shard2of3.bin?vgg16-model-id=model-A",
      "https://example.test/models/vgg16/group1-shard3of3.bin?vgg16-model-id=model-A",
      URL_JSON,
    ]);

    server.requests.length = 0;
    const warm = await load(server, storage);
    expect(server.requests).toEqual([]);
    expect(warm.files.fromCache).toBe(true);
    expect(joined(warm.files.weightData)).toEqual(bytes);
    expect(warm.events.filter((e) => e.type === "cache")).toEqual([
      { type: "cache", hit: true, modelId: "model-A" },
    ]);
  });

  it("asks for every file with CORS and no credentials, and never sends a body", async () => {
    const server = new FakeServer();
    serveModel(server, "model-A");
    const inits: Array<RequestInit | undefined> = [];
    const recording: typeof fetch = (input, init) => {
      inits.push(init);
      return server.fetch(input as RequestInfo);
    };
    // With and without Cache Storage: the init differs in its `cache` mode only.
    for (const caches of [new FakeCacheStorage().asCacheStorage(), null]) {
      await fetchModelFiles(URL_JSON, {
        fetch: recording,
        caches,
        emit: () => undefined,
        checkArchitecture: false,
      });
    }
    expect(inits).toHaveLength(8);
    for (const init of inits) {
      expect(init?.credentials).toBe("omit");
      expect(init?.mode).toBe("cors");
      expect(init?.method ?? "GET").toBe("GET");
      expect(init?.body).toBeUndefined();
    }
  });

  it("fetches (and stores again) only a shard missing from the cache", async () => {
    const server = new FakeServer();
    const bytes = serveModel(server, "model-A");
    const storage = new FakeCacheStorage();
    await load(server, storage);
    const missing = "https://example.test/models/vgg16/group1-shard2of3.bin";
    await cacheOf(storage).delete(shardCacheKey(missing, "model-A"));

    server.requests.length = 0;
    const again = await load(server, storage);
    expect(server.requests).toEqual([missing]);
    expect(again.files.fromCache).toBe(false);
    expect(joined(again.files.weightData)).toEqual(bytes);
    expect(cacheOf(storage).entries.has(shardCacheKey(missing, "model-A"))).toBe(true);
  });

  it("never mixes shards of two versions of a model, and drops the old version's shards", async () => {
    const server = new FakeServer();
    serveModel(server, "model-A", 1);
    const storage = new FakeCacheStorage();
    await load(server, storage);
    // The model is replaced on the server; the cached model.json goes (e.g. clearCache of that entry).
    const bytesB = serveModel(server, "model-B", 2);
    await cacheOf(storage).delete(URL_JSON);

    server.requests.length = 0;
    const b = await load(server, storage);
    expect(server.requests).toHaveLength(4);
    expect(b.files.metadata.modelId).toBe("model-B");
    expect(joined(b.files.weightData)).toEqual(bytesB);
    const keys = [...cacheOf(storage).entries.keys()];
    expect(keys.filter((k) => k.includes("model-A"))).toEqual([]);
    expect(keys.filter((k) => k.includes("model-B"))).toHaveLength(3);
  });

  it("keeps working when storing fails (quota), says why, and leaves no partial model", async () => {
    const server = new FakeServer();
    const bytes = serveModel(server, "model-A");
    const storage = new FakeCacheStorage(40);
    const r = await load(server, storage);
    expect(joined(r.files.weightData)).toEqual(bytes);
    const last = r.events.filter((e) => e.type === "cache").at(-1);
    expect(last).toMatchObject({ type: "cache", hit: false, stored: false });
    expect(last?.type === "cache" && last.reason).toMatch(/QuotaExceededError/);
    expect(cacheOf(storage).entries.size).toBe(0);

    server.requests.length = 0;
    await load(server, storage);
    expect(server.requests).toHaveLength(4);
  });

  it("works without Cache Storage", async () => {
    const server = new FakeServer();
    serveModel(server, "model-A");
    const r = await load(server, null);
    expect(r.files.fromCache).toBe(false);
    expect(r.events.filter((e) => e.type === "cache").at(-1)).toEqual({
      type: "cache",
      hit: false,
      modelId: "model-A",
      stored: false,
      reason: "Cache Storage is not available here",
    });
  });

  it("stops requesting shards when its signal fires, and rejects with the signal's reason", async () => {
    const server = new FakeServer();
    serveModel(server, "model-A");
    const stop = new AbortController();
    const fetchOnce = server.fetch;
    const reason = new Error("the backend failed");
    const files = fetchModelFiles(URL_JSON, {
      // The first shard's request fires the signal: the other lanes and later shards must not ask.
      fetch: async (input) => {
        const response = await fetchOnce(input);
        if (String(input).endsWith(".bin")) stop.abort(reason);
        return response;
      },
      caches: null,
      emit: () => {},
      concurrency: 1,
      checkArchitecture: false,
      signal: stop.signal,
    });
    await expect(files).rejects.toBe(reason);
    expect(server.requests).toEqual([URL_JSON, shardUrl(1)]);
  });

  it("names the URL in typed errors: missing, not ours, not JSON, wrong size, broken shard", async () => {
    const expectError = async (server: FakeServer, code: string, text: RegExp) => {
      const error = await load(server, new FakeCacheStorage()).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isVgg16Error(error), String(error)).toBe(true);
      if (!isVgg16Error(error)) return;
      expect(error.code).toBe(code);
      expect(error.message).toMatch(text);
    };
    await expectError(
      new FakeServer(),
      "model-not-found",
      /^No model at https:\/\/example\.test\/models\/vgg16\/model\.json \(HTTP 404\)$/,
    );

    const foreign = new FakeServer();
    foreign.files.set(
      URL_JSON,
      JSON.stringify({ format: "graph-model", modelTopology: {}, weightsManifest: [] }),
    );
    await expectError(foreign, "model-invalid", /model\.json is not a VGG16 graph model: no VGG16 metadata/);

    const layers = new FakeServer();
    layers.files.set(
      URL_JSON,
      JSON.stringify({ format: "layers-model", modelTopology: {}, weightsManifest: [] }),
    );
    await expectError(layers, "model-invalid", /format is "layers-model"/);

    const html = new FakeServer();
    html.files.set(URL_JSON, "<!doctype html><title>SPA</title>");
    await expectError(html, "model-invalid", /model\.json is not JSON/);

    const short = new FakeServer();
    serveModel(short, "model-A");
    short.files.set("https://example.test/models/vgg16/group1-shard3of3.bin", new Uint8Array(3));
    await expectError(short, "model-invalid", /the shards hold 67 bytes but the manifest describes 78/);

    const gone = new FakeServer();
    serveModel(gone, "model-A");
    gone.files.delete("https://example.test/models/vgg16/group1-shard2of3.bin");
    await expectError(gone, "download-failed", /group1-shard2of3\.bin \(HTTP 404\)/);

    // Shard digests that cannot be checked are refused, not skipped.
    const digest = { bytes: 32, sha256: "ab".repeat(32) };
    const digestCases: [unknown, RegExp][] = [
      [[digest, digest], /shards lists 2 digests for 3 shard files/],
      [[digest, { bytes: 32, sha256: "not hex" }, digest], /shards\[1\] is not \{bytes, sha256/],
      [[digest, digest, { bytes: -1, sha256: "ab".repeat(32) }], /shards\[2\] is not/],
      [{ 0: digest }, /shards is not a list/],
    ];
    for (const [shards, text] of digestCases) {
      const malformed = new FakeServer();
      serveModel(malformed, "model-A", 1, { shards });
      await expectError(malformed, "model-invalid", text);
    }
  });

  it("checks the manifest against VGG16's layers unless told not to", () => {
    const text = modelJson("model-A", [{ name: "w", shape: [3, 5], dtype: "float32" }], 1);
    expect(() => parseModelJson(URL_JSON, text)).toThrow(/is not a VGG16 graph model: .*block1_conv1/);
    expect(parseModelJson(URL_JSON, text, false).metadata.modelId).toBe("model-A");
  });
});

const shardUrl = (i: number) => `https://example.test/models/vgg16/group1-shard${i}of3.bin`;

/** The stand-in model with every shard's size and SHA-256 in its metadata, as `npm run weights` writes them. */
async function serveDigested(server: FakeServer): Promise<Uint8Array> {
  const plain = serveModel(server, "model-D");
  const shards = await Promise.all(
    [1, 2, 3].map(async (i) => {
      const bytes = server.files.get(shardUrl(i)) as Uint8Array;
      return { bytes: bytes.length, sha256: await sha256Hex(bytes.slice().buffer) };
    }),
  );
  serveModel(server, "model-D", 1, { shards });
  return plain;
}

describe("shard checks", () => {
  it("knows each shard's size from the digests, else from the 4 MiB layout, else not at all", () => {
    const meta = { shards: [{ bytes: 5, sha256: "AB".repeat(32) }] } as never;
    expect(expectedShards(meta, 5, 1)).toEqual([{ bytes: 5, sha256: "ab".repeat(32) }]);
    const total = 2 * STANDARD_SHARD_BYTES + 10;
    expect(expectedShards({} as never, total, 3).map((e) => e.bytes)).toEqual([
      STANDARD_SHARD_BYTES,
      STANDARD_SHARD_BYTES,
      10,
    ]);
    expect(expectedShards({} as never, 78, 3).map((e) => e.bytes)).toEqual([null, null, null]);
    // Two groups (1 MiB, then 4 MiB): each has its own remainder shard, so no size is guessed.
    expect(expectedShards({} as never, 5 * 1024 * 1024, 2, 2).map((e) => e.bytes)).toEqual([null, null]);
  });

  it("refuses an altered shard from the network, naming it, and stores nothing of it", async () => {
    const server = new FakeServer();
    await serveDigested(server);
    const altered = (server.files.get(shardUrl(2)) as Uint8Array).slice();
    altered[0] = (altered[0] ?? 0) ^ 0xff;
    server.files.set(shardUrl(2), altered);
    const storage = new FakeCacheStorage();
    const error = await load(server, storage).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isVgg16Error(error, "download-failed"), String(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /^The weights shard group1-shard2of3\.bin is damaged: it has SHA-256 [0-9a-f]{64}, model\.json says [0-9a-f]{64}/,
    );
    expect(cacheOf(storage).entries.has(shardCacheKey(shardUrl(2), "model-D"))).toBe(false);
    expect(cacheOf(storage).entries.has(URL_JSON)).toBe(false);
  });

  it("stores every shard with its checksum and reads cached shards back by it, with no SHA-256", async () => {
    const server = new FakeServer();
    const bytes = await serveDigested(server);
    const storage = new FakeCacheStorage();
    const cold = await countingDigests(() => load(server, storage));
    expect(cold.digests).toBe(3); // downloaded shards are checked against model.json
    for (const i of [1, 2, 3]) {
      const key = shardCacheKey(shardUrl(i), "model-D");
      const headers = cacheOf(storage).headers.get(key);
      const body = cacheOf(storage).entries.get(key) as ArrayBuffer;
      expect(headers?.get(SHARD_CHECKSUM_HEADER)).toBe(await shardChecksum(body));
      expect(headers?.get(SHARD_SHA256_HEADER)).toBe(await sha256Hex(body));
    }
    for (const verifyCacheLater of [false, true]) {
      server.requests.length = 0;
      const warm = await countingDigests(() => load(server, storage, verifyCacheLater));
      expect(warm.digests).toBe(0);
      expect(server.requests).toEqual([]);
      expect(warm.result.files.fromCache).toBe(true);
      expect(warm.result.files.cacheCheck).toBeNull();
      expect(joined(warm.result.files.weightData)).toEqual(bytes);
    }
  });

  it.each([
    ["by their checksums", false],
    ["by SHA-256 (cached by an earlier version)", true],
  ])(
    "repairs cached shards that were truncated or altered, %s: drops, downloads again, says so",
    async (_, earlier) => {
      const server = new FakeServer();
      const bytes = await serveDigested(server);
      const storage = new FakeCacheStorage();
      await load(server, storage);
      if (earlier) asStoredByEarlierVersion(storage);
      damageCachedShards(storage, bytes);

      server.requests.length = 0;
      const healed = await load(server, storage);
      expect(server.requests.sort()).toEqual([shardUrl(1), shardUrl(2)]);
      expect(joined(healed.files.weightData)).toEqual(bytes);
      expect(healed.events).toContainEqual({
        type: "cache",
        hit: true,
        modelId: "model-D",
        repaired: ["group1-shard1of3.bin", "group1-shard2of3.bin"],
      });

      // Healed for good, and the repaired shards stored with their checksums: the next load makes no request.
      server.requests.length = 0;
      const warm = await countingDigests(() => load(server, storage));
      expect(server.requests).toEqual([]);
      expect(warm.result.files.fromCache).toBe(true);
      // Shard 3, intact, was stored again with its checksum when its SHA-256 matched.
      expect(warm.digests).toBe(0);
    },
  );

  it("checks by SHA-256, and repairs, a shard cached for an earlier model.json of the same modelId", async () => {
    const server = new FakeServer();
    await serveDigested(server);
    const storage = new FakeCacheStorage();
    await load(server, storage);
    // The server now has other bytes for shard 2 (same size), and a model.json with their digest: the cached
    // shard 2 still matches its own checksum, but not this model.json.
    const changed = (server.files.get(shardUrl(2)) as Uint8Array).slice();
    changed[5] = (changed[5] ?? 0) ^ 0x10;
    server.files.set(shardUrl(2), changed);
    const json = JSON.parse(server.files.get(URL_JSON) as string);
    json.userDefinedMetadata.vgg16.shards[1].sha256 = await sha256Hex(changed.slice().buffer);
    server.files.set(URL_JSON, JSON.stringify(json));
    await cacheOf(storage).delete(URL_JSON);
    server.requests.length = 0;
    const next = await load(server, storage);
    expect(server.requests).toEqual([URL_JSON, shardUrl(2)]);
    expect(joined(next.files.weightData).slice(32, 64)).toEqual(changed);
  });

  it("falls back to SHA-256 for a checksum of another kind (a later version's)", async () => {
    const server = new FakeServer();
    const bytes = await serveDigested(server);
    const storage = new FakeCacheStorage();
    await load(server, storage);
    for (const headers of cacheOf(storage).headers.values())
      headers.set(SHARD_CHECKSUM_HEADER, `xxh128-${"0".repeat(32)}`);
    server.requests.length = 0;
    const warm = await countingDigests(() => load(server, storage));
    expect(warm.digests).toBe(3);
    expect(server.requests).toEqual([]);
    expect(joined(warm.result.files.weightData)).toEqual(bytes);
  });

  it("with verifyCacheLater: returns cached shards at once and checks their SHA-256 in the background", async () => {
    const server = new FakeServer();
    const bytes = await serveDigested(server);
    const storage = new FakeCacheStorage();
    const cold = await load(server, storage, true);
    expect(cold.files.cacheCheck).toBeNull(); // downloaded shards were checked before use
    asStoredByEarlierVersion(storage); // shards with checksums never wait for a SHA-256

    // The cached load returns before any digest finishes: hashing is held back until the files are back.
    const digest = crypto.subtle.digest.bind(crypto.subtle);
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let digests = 0;
    const spy = vi.spyOn(crypto.subtle, "digest").mockImplementation(async (algorithm, data) => {
      digests++;
      await gate;
      return digest(algorithm, data);
    });
    let intact: Awaited<ReturnType<typeof load>>;
    try {
      intact = await load(server, storage, true);
      expect(intact.files.fromCache).toBe(true);
      let settled = false;
      void intact.files.cacheCheck?.then(() => {
        settled = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(settled).toBe(false);
      release();
      expect(await intact.files.cacheCheck).toBe(true);
      expect(digests).toBe(3); // every cached shard, one at a time
    } finally {
      spy.mockRestore();
    }

    // Stored again with checksums once their SHA-256 matched: no digest on the next load.
    const upgraded = await countingDigests(() => load(server, storage, true));
    expect(upgraded.digests).toBe(0);
    expect(upgraded.result.files.cacheCheck).toBeNull();

    // Same size, one bit changed: used now, caught by the check; a truncated one is still caught at once.
    asStoredByEarlierVersion(storage);
    damageCachedShards(storage, bytes);
    server.requests.length = 0;
    const later = await load(server, storage, true);
    expect(server.requests).toEqual([shardUrl(1)]);
    expect(later.events).toContainEqual({
      type: "cache",
      hit: true,
      modelId: "model-D",
      repaired: ["group1-shard1of3.bin"],
    });
    expect(await later.files.cacheCheck).toBe(false);

    // The caller then loads without the option, which finds the altered shard and repairs it.
    server.requests.length = 0;
    const repaired = await load(server, storage);
    expect(server.requests).toEqual([shardUrl(2)]);
    expect(joined(repaired.files.weightData)).toEqual(bytes);
    expect(repaired.files.cacheCheck).toBeNull();
  });
});
