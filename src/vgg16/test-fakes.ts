/**
 * In-memory stand-ins for Cache Storage and a model server, for the Node
 * tests of model-files.ts (Node has Request/Response but no `caches`).
 */
export class FakeCache implements Pick<Cache, "match" | "put" | "delete" | "keys"> {
  readonly entries = new Map<string, ArrayBuffer>();
  usedBytes = 0;

  constructor(private readonly quotaBytes = Number.POSITIVE_INFINITY) {}

  private static key(request: RequestInfo | URL): string {
    return typeof request === "string" ? request : request instanceof URL ? request.href : request.url;
  }

  async match(request: RequestInfo | URL): Promise<Response | undefined> {
    const body = this.entries.get(FakeCache.key(request));
    return body ? new Response(body.slice(0)) : undefined;
  }

  async put(request: RequestInfo | URL, response: Response): Promise<void> {
    const body = await response.arrayBuffer();
    const key = FakeCache.key(request);
    const previous = this.entries.get(key)?.byteLength ?? 0;
    if (this.usedBytes - previous + body.byteLength > this.quotaBytes) {
      throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
    }
    this.usedBytes += body.byteLength - previous;
    this.entries.set(key, body);
  }

  async delete(request: RequestInfo | URL): Promise<boolean> {
    const key = FakeCache.key(request);
    const body = this.entries.get(key);
    if (!body) return false;
    this.usedBytes -= body.byteLength;
    return this.entries.delete(key);
  }

  async keys(): Promise<readonly Request[]> {
    return [...this.entries.keys()].map((url) => new Request(url));
  }
}

export class FakeCacheStorage {
  readonly caches = new Map<string, FakeCache>();

  constructor(private readonly quotaBytes = Number.POSITIVE_INFINITY) {}

  async open(name: string): Promise<Cache> {
    let cache = this.caches.get(name);
    if (!cache) {
      cache = new FakeCache(this.quotaBytes);
      this.caches.set(name, cache);
    }
    return cache as unknown as Cache;
  }

  async delete(name: string): Promise<boolean> {
    return this.caches.delete(name);
  }

  asCacheStorage(): CacheStorage {
    return this as unknown as CacheStorage;
  }
}

/** A static server: URL → body; everything else 404. Records every request. */
export class FakeServer {
  readonly files = new Map<string, Uint8Array | string>();
  readonly requests: string[] = [];

  readonly fetch = async (input: RequestInfo | URL): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    this.requests.push(url);
    const body = this.files.get(url);
    if (body === undefined) return new Response("not found", { status: 404 });
    return new Response(typeof body === "string" ? body : body.slice(), { status: 200 });
  };
}
