/**
 * In-memory stand-ins for Cache Storage and a model server, for the Node
 * tests of model-files.ts (Node has Request/Response but no `caches`), and a
 * fake worker for the client's tests.
 */
import * as Comlink from "comlink";
import type { WorkerLike } from "./client";

export class FakeCache implements Pick<Cache, "match" | "put" | "delete" | "keys"> {
  readonly entries = new Map<string, ArrayBuffer>();
  /** Each entry's response headers, kept apart so that tests can alter bodies and headers separately. */
  readonly headers = new Map<string, Headers>();
  usedBytes = 0;

  constructor(private readonly quotaBytes = Number.POSITIVE_INFINITY) {}

  private static key(request: RequestInfo | URL): string {
    return typeof request === "string" ? request : request instanceof URL ? request.href : request.url;
  }

  async match(request: RequestInfo | URL): Promise<Response | undefined> {
    const body = this.entries.get(FakeCache.key(request));
    return body
      ? new Response(body.slice(0), { headers: this.headers.get(FakeCache.key(request)) })
      : undefined;
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
    this.headers.set(key, new Headers(response.headers));
  }

  async delete(request: RequestInfo | URL): Promise<boolean> {
    const key = FakeCache.key(request);
    const body = this.entries.get(key);
    if (!body) return false;
    this.usedBytes -= body.byteLength;
    this.headers.delete(key);
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

/**
 * A Worker stand-in for client tests: the API a subclass exposes is served by
 * Comlink over a MessageChannel and terminate() closes it, so the real
 * Vgg16Client runs unchanged against a fake worker.
 */
export class MessagePortWorker extends EventTarget implements WorkerLike {
  private readonly port: MessagePort;
  private readonly inner: MessagePort;
  terminated = false;

  constructor() {
    super();
    const channel = new MessageChannel();
    this.port = channel.port1;
    this.inner = channel.port2;
  }

  protected expose(api: object): void {
    Comlink.expose(api, this.inner);
  }

  /** A message from the worker side that is not Comlink's (e.g. BackendLostMessage). */
  protected postFromWorker(message: unknown): void {
    if (!this.terminated) this.inner.postMessage(message);
  }

  postMessage(message: unknown, transfer?: Transferable[] | StructuredSerializeOptions): void {
    if (this.terminated) return;
    this.port.postMessage(message, transfer as Transferable[]);
  }

  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: object,
  ): void {
    if (type === "message") this.port.addEventListener(type, listener as EventListener, options);
    else super.addEventListener(type, listener, options);
  }

  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null): void {
    if (type === "message") this.port.removeEventListener(type, listener as EventListener);
    else super.removeEventListener(type, listener);
  }

  start(): void {
    this.port.start();
  }

  terminate(): void {
    this.terminated = true;
    this.port.close();
    this.inner.close();
  }
}

/** An in-memory OPFS folder (what opfs-cache.ts uses of FileSystemDirectoryHandle), for Node tests. */
export class FakeFolder {
  readonly files = new Map<string, Uint8Array>();
  readonly folders = new Map<string, FakeFolder>();
  /** Open sync access handles per file: any number of "read-only" ones, or one writing one (as in Chromium). */
  private readonly open = new Map<string, { readers: number; writer: boolean }>();
  /** Writes fail with QuotaExceededError once the folder holds this many bytes (all files). */
  constructor(private readonly quotaBytes = Number.POSITIVE_INFINITY) {}

  private usedBytes(): number {
    return [...this.files.values()].reduce((sum, bytes) => sum + bytes.length, 0);
  }

  async getDirectoryHandle(name: string, options: { create?: boolean } = {}): Promise<FakeFolder> {
    let folder = this.folders.get(name);
    if (!folder) {
      if (!options.create) throw new DOMException(`${name} not found`, "NotFoundError");
      folder = new FakeFolder(this.quotaBytes);
      this.folders.set(name, folder);
    }
    return folder;
  }

  async getFileHandle(name: string, options: { create?: boolean } = {}) {
    if (!this.files.has(name)) {
      if (!options.create) throw new DOMException(`${name} not found`, "NotFoundError");
      this.files.set(name, new Uint8Array(0));
    }
    return {
      createSyncAccessHandle: async (options: { mode?: "read-only" | "readwrite" } = {}) => {
        const reading = options.mode === "read-only";
        const state = this.open.get(name) ?? { readers: 0, writer: false };
        if (state.writer || (!reading && state.readers > 0)) {
          throw new DOMException(`${name} is open`, "NoModificationAllowedError");
        }
        if (reading) state.readers++;
        else state.writer = true;
        this.open.set(name, state);
        const folder = this;
        const bytes = () => folder.files.get(name) ?? new Uint8Array(0);
        return {
          getSize: () => bytes().length,
          read(view: Uint8Array, { at }: { at: number }) {
            const part = bytes().subarray(at, at + view.length);
            view.set(part);
            return part.length;
          },
          write(view: Uint8Array, { at }: { at: number }) {
            if (reading) throw new DOMException("read-only handle", "NoModificationAllowedError");
            const old = bytes();
            const size = Math.max(old.length, at + view.length);
            if (folder.usedBytes() - old.length + size > folder.quotaBytes) {
              throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
            }
            const next = new Uint8Array(size);
            next.set(old);
            next.set(view, at);
            folder.files.set(name, next);
            return view.length;
          },
          truncate(size: number) {
            folder.files.set(name, bytes().slice(0, size));
          },
          flush() {},
          close() {
            if (reading) state.readers--;
            else state.writer = false;
          },
        };
      },
    };
  }

  async removeEntry(name: string, options: { recursive?: boolean } = {}): Promise<void> {
    if (this.files.delete(name)) return;
    const folder = this.folders.get(name);
    if (!folder) throw new DOMException(`${name} not found`, "NotFoundError");
    if (!options.recursive && (folder.files.size > 0 || folder.folders.size > 0)) {
      throw new DOMException(`${name} is not empty`, "InvalidModificationError");
    }
    this.folders.delete(name);
  }

  async *keys(): AsyncIterable<string> {
    yield* [...this.files.keys(), ...this.folders.keys()];
  }
}
