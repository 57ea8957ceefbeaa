import "fake-indexeddb/auto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sha256Hex } from "../src/model/sha256";
import { type FeatureKey, openFeatureCache } from "../src/transfer/feature-cache";

const SIZE = 25088;
const features = (fill: number) => new Float32Array(SIZE).fill(fill);
let dbCounter = 0;
const freshName = () => `test-features-${++dbCounter}`;

afterEach(() => vi.restoreAllMocks());

describe("sha256Hex", () => {
  it("is SHA-256 hex of the bytes", async () => {
    expect(await sha256Hex(new TextEncoder().encode("abc"))).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    expect(await sha256Hex(new Uint8Array([1, 2, 3]).buffer)).toBe(
      await sha256Hex(new Uint8Array([1, 2, 3])),
    );
  });
});

describe("feature cache", () => {
  it("hits unchanged content; misses changed content, another model or another preprocessing", async () => {
    const cache = await openFeatureCache(freshName());
    expect(cache.available).toBe(true);
    const image = new Uint8Array([255, 216, 255, 0, 1, 2]);
    const key: FeatureKey = {
      modelId: "vgg16-f32",
      contentHash: await sha256Hex(image),
      preprocessing: "stretch",
    };
    expect(await cache.get(key)).toBeUndefined();
    const stored = features(0.25);
    stored[SIZE - 1] = 7.5;
    expect(await cache.put(key, stored)).toEqual({ stored: true });

    const again = await cache.get({ ...key, contentHash: await sha256Hex(image.slice()) });
    expect(again).toBeInstanceOf(Float32Array);
    expect(again?.length).toBe(SIZE);
    expect(again?.[0]).toBe(0.25);
    expect(again?.[SIZE - 1]).toBe(7.5);
    expect(await cache.has(key)).toBe(true);

    const edited = image.slice();
    edited[5] = 3;
    expect(await cache.has({ ...key, contentHash: await sha256Hex(edited) })).toBe(false);
    expect(await cache.has({ ...key, modelId: "vgg16-int8" })).toBe(false);
    expect(await cache.has({ ...key, preprocessing: "center-crop" })).toBe(false);
    expect(await cache.getMany([key, { ...key, preprocessing: "center-crop" }])).toEqual([again, undefined]);
    cache.close();
  });

  it("grows by 25088·4 bytes per entry, stores subarrays exactly, and clears", async () => {
    const cache = await openFeatureCache(freshName());
    expect(await cache.sizeBytes()).toBe(0);
    const key = (i: number): FeatureKey => ({
      modelId: "m",
      contentHash: `h${i}`,
      preprocessing: "center-crop",
    });
    await cache.put(key(0), features(1));
    expect(await cache.sizeBytes()).toBe(SIZE * 4);
    // Two rows of one batch buffer: only each row's bytes are stored.
    const batch = new Float32Array(2 * SIZE).fill(2);
    batch.fill(3, SIZE);
    const result = await cache.putMany([
      { key: key(1), features: batch.subarray(0, SIZE) },
      { key: key(2), features: batch.subarray(SIZE) },
    ]);
    expect(result).toEqual({ stored: true, count: 2 });
    expect(await cache.sizeBytes()).toBe(3 * SIZE * 4);
    expect(await cache.count()).toBe(3);
    expect((await cache.get(key(2)))?.[0]).toBe(3);
    // Overwriting the same key does not grow the cache.
    await cache.put(key(2), features(4));
    expect(await cache.sizeBytes()).toBe(3 * SIZE * 4);
    await cache.clear();
    expect(await cache.sizeBytes()).toBe(0);
    expect(await cache.count()).toBe(0);
    cache.close();
  });

  it("reports a quota error without throwing and keeps what was stored before", async () => {
    const cache = await openFeatureCache(freshName());
    const key = (i: number): FeatureKey => ({ modelId: "m", contentHash: `h${i}`, preprocessing: "stretch" });
    await cache.putMany([0, 1].map((i) => ({ key: key(i), features: features(i) })));

    const realPut = IDBObjectStore.prototype.put;
    let calls = 0;
    vi.spyOn(IDBObjectStore.prototype, "put").mockImplementation(function (this: IDBObjectStore, ...args) {
      // From the second put on the quota is full: the batch's first put must be rolled back too.
      if (++calls >= 2) throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
      return realPut.apply(this, args);
    });
    const result = await cache.putMany([2, 3].map((i) => ({ key: key(i), features: features(i) })));
    expect(result.stored).toBe(false);
    expect(result.stored === false && result.reason).toMatch(/quota is full.*Training still works/);
    expect(cache.problem).toMatch(/quota/);
    const single = await cache.put(key(4), features(4));
    expect(single.stored).toBe(false);
    vi.restoreAllMocks();

    expect(await cache.count()).toBe(2);
    expect(await cache.has(key(2))).toBe(false);
    expect((await cache.get(key(1)))?.[0]).toBe(1);
    expect(await cache.sizeBytes()).toBe(2 * SIZE * 4);
    // Works again once there is room.
    expect(await cache.put(key(5), features(5))).toEqual({ stored: true });
    expect(cache.problem).toBeNull();
    cache.close();
  });

  it("persists across reopen", async () => {
    const name = freshName();
    const first = await openFeatureCache(name);
    await first.put({ modelId: "m", contentHash: "x", preprocessing: "stretch" }, features(9));
    first.close();
    const second = await openFeatureCache(name);
    expect((await second.get({ modelId: "m", contentHash: "x", preprocessing: "stretch" }))?.[10]).toBe(9);
    second.close();
  });
});
