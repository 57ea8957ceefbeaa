/**
 * IndexedDB cache of conv-base features, so re-running the lesson only pushes
 * new or changed images through VGG16 (≈15 GFLOPs each) instead of all of them.
 *
 * Key = (modelId, preprocessing, contentHash): features depend on the weights
 * (a quantized or re-converted model gives different numbers), on how the
 * image was fitted to 224×224, and on the bytes — not on the file name, so a
 * renamed file is a hit and an edited file with the same name is a miss.
 *
 * The cache is an optimisation, never a requirement: when IndexedDB is
 * missing (some private modes) or full, every call still resolves, puts report
 * `{stored: false, reason}`, and the lesson runs uncached and says so.
 */
import { type DBSchema, type IDBPDatabase, type IDBPTransaction, openDB } from "idb";

export type Preprocessing = "stretch" | "center-crop";

export interface FeatureKey {
  modelId: string;
  /** sha256Hex() of the image file's bytes (src/model/sha256.ts). */
  contentHash: string;
  preprocessing: Preprocessing;
}

interface FeatureRecord {
  modelId: string;
  preprocessing: Preprocessing;
  contentHash: string;
  /** Float32 features as raw bytes (structured clone keeps ArrayBuffers compact). */
  features: ArrayBuffer;
  /** features.byteLength, indexed so sizeBytes() can sum it without loading 100 kB per entry. */
  bytes: number;
  storedAt: number;
}

type StoreKey = [string, string, string];

interface FeatureDB extends DBSchema {
  features: { key: StoreKey; value: FeatureRecord; indexes: { bytes: number } };
}

const STORE = "features";
export const DEFAULT_CACHE_NAME = "vgg16-transfer-features";

export type PutResult = { stored: true } | { stored: false; reason: string };
export type PutManyResult = { stored: true; count: number } | { stored: false; count: 0; reason: string };

export interface FeatureCache {
  /** False when IndexedDB could not be opened; every call is then a harmless no-op. */
  readonly available: boolean;
  /** Why the cache is unavailable or why the last write failed; null when all is well. */
  readonly problem: string | null;
  get(key: FeatureKey): Promise<Float32Array | undefined>;
  /** One transaction for many keys: the "what still needs computing" question for a whole dataset. */
  getMany(keys: readonly FeatureKey[]): Promise<(Float32Array | undefined)[]>;
  has(key: FeatureKey): Promise<boolean>;
  put(key: FeatureKey, features: Float32Array): Promise<PutResult>;
  /** All or nothing (one transaction): a failed batch leaves earlier entries untouched. */
  putMany(entries: readonly { key: FeatureKey; features: Float32Array }[]): Promise<PutManyResult>;
  count(): Promise<number>;
  /** Bytes of stored features (what the UI shows as cache size; IndexedDB's own overhead excluded). */
  sizeBytes(): Promise<number>;
  clear(): Promise<void>;
  close(): void;
}

function storeKey(key: FeatureKey): StoreKey {
  return [key.modelId, key.preprocessing, key.contentHash];
}

function toRecord(key: FeatureKey, features: Float32Array): FeatureRecord {
  // Copy exactly this view's bytes: a subarray's .buffer may be a much larger batch buffer.
  const copy = features.slice().buffer as ArrayBuffer;
  return { ...key, features: copy, bytes: copy.byteLength, storedAt: Date.now() };
}

function errorName(error: unknown): string {
  return error && typeof error === "object" && "name" in error ? String(error.name) : "";
}

const QUOTA_FULL = "the browser's storage quota is full";

/** A failed IndexedDB write in words: a full quota as such, anything else as "Name: message". */
export function storageErrorInWords(error: unknown): string {
  const name = errorName(error);
  if (name === "QuotaExceededError") return QUOTA_FULL;
  return `${name || "error"}: ${error instanceof Error ? error.message : String(error)}`;
}

/** Turns a write failure into words for the UI; quota gets its own advice. */
export function describeWriteError(error: unknown): string {
  const words = storageErrorInWords(error);
  if (words === QUOTA_FULL) {
    return (
      "The browser's storage quota is full, so new features are not cached. Training still works; " +
      "features will be computed again next time. Clear the feature cache or free site storage to cache again."
    );
  }
  return `Features could not be cached (${words}). Training still works, uncached.`;
}

class IdbFeatureCache implements FeatureCache {
  readonly available = true;
  problem: string | null = null;
  constructor(private readonly db: IDBPDatabase<FeatureDB>) {}

  async get(key: FeatureKey): Promise<Float32Array | undefined> {
    const record = await this.db.get(STORE, storeKey(key));
    return record ? new Float32Array(record.features) : undefined;
  }

  async getMany(keys: readonly FeatureKey[]): Promise<(Float32Array | undefined)[]> {
    const tx = this.db.transaction(STORE, "readonly");
    const records = await Promise.all(keys.map((k) => tx.store.get(storeKey(k))));
    await tx.done;
    return records.map((r) => (r ? new Float32Array(r.features) : undefined));
  }

  async has(key: FeatureKey): Promise<boolean> {
    return (await this.db.count(STORE, storeKey(key))) > 0;
  }

  async put(key: FeatureKey, features: Float32Array): Promise<PutResult> {
    const result = await this.putMany([{ key, features }]);
    return result.stored ? { stored: true } : { stored: false, reason: result.reason };
  }

  async putMany(entries: readonly { key: FeatureKey; features: Float32Array }[]): Promise<PutManyResult> {
    if (entries.length === 0) return { stored: true, count: 0 };
    let tx: IDBPTransaction<FeatureDB, ["features"], "readwrite"> | undefined;
    try {
      tx = this.db.transaction(STORE, "readwrite");
      const done = tx.done;
      // Attach a handler now: if a put throws synchronously we abort, and `done` rejects later.
      done.catch(() => {});
      // A quota error can surface as a throwing put(), a rejected request or an aborted transaction.
      const puts: Promise<unknown>[] = [];
      for (const { key, features } of entries) {
        const request = tx.store.put(toRecord(key, features), storeKey(key));
        // After an abort every pending request rejects too; those rejections are expected, not unhandled.
        request.catch(() => {});
        puts.push(request);
      }
      await Promise.all([...puts, done]);
      this.problem = null;
      return { stored: true, count: entries.length };
    } catch (error) {
      try {
        tx?.abort(); // Roll back this batch's puts that did succeed: all or nothing.
      } catch {
        // Already aborted or finished.
      }
      const reason = describeWriteError(error);
      this.problem = reason;
      return { stored: false, count: 0, reason };
    }
  }

  count(): Promise<number> {
    return this.db.count(STORE);
  }

  async sizeBytes(): Promise<number> {
    let total = 0;
    // A key cursor on the `bytes` index reads the sizes without loading the feature buffers.
    let cursor = await this.db.transaction(STORE).store.index("bytes").openKeyCursor();
    while (cursor) {
      total += cursor.key;
      cursor = await cursor.continue();
    }
    return total;
  }

  clear(): Promise<void> {
    this.problem = null;
    return this.db.clear(STORE);
  }

  close(): void {
    this.db.close();
  }
}

/** Stand-in when IndexedDB is unavailable: misses everything, stores nothing, says why. */
class NoFeatureCache implements FeatureCache {
  readonly available = false;
  constructor(readonly problem: string) {}
  async get(): Promise<undefined> {
    return undefined;
  }
  async getMany(keys: readonly FeatureKey[]): Promise<undefined[]> {
    return keys.map(() => undefined);
  }
  async has(): Promise<boolean> {
    return false;
  }
  async put(): Promise<PutResult> {
    return { stored: false, reason: this.problem };
  }
  async putMany(): Promise<PutManyResult> {
    return { stored: false, count: 0, reason: this.problem };
  }
  async count(): Promise<number> {
    return 0;
  }
  async sizeBytes(): Promise<number> {
    return 0;
  }
  async clear(): Promise<void> {}
  close(): void {}
}

/** Opens (or creates) the cache. Never rejects: failure yields an unavailable cache with a reason. */
export async function openFeatureCache(name: string = DEFAULT_CACHE_NAME): Promise<FeatureCache> {
  if (typeof indexedDB === "undefined") {
    return new NoFeatureCache("This browser offers no IndexedDB here, so features are not cached.");
  }
  try {
    const db = await openDB<FeatureDB>(name, 1, {
      upgrade(database) {
        const store = database.createObjectStore(STORE);
        store.createIndex("bytes", "bytes");
      },
    });
    return new IdbFeatureCache(db);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return new NoFeatureCache(
      `The feature cache could not be opened (${message}), so features are not cached.`,
    );
  }
}
