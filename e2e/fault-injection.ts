/**
 * Faults caused on purpose in the app's real worker, with no test hook in the
 * production code: Playwright routes the built worker script
 * (dist/assets/worker-<hash>.js) and prepends a snippet that
 * - remembers every WebGL context (OffscreenCanvas.getContext) and WebGPU
 *   device (GPUAdapter.requestDevice) the worker makes;
 * - optionally loses the WebGL context (WEBGL_lose_context) after the Nth draw
 *   call, or destroys the WebGPU device after it made its Nth compute pipeline:
 *   i.e. in the middle of the first inference on that backend (the load's
 *   warm-up). WebGPU's is caught before the first queue submit on purpose:
 *   work already submitted to SwiftShader runs to its end on the CPU (~80 s
 *   for VGG16) even once the device is destroyed, and would slow the rest;
 * - throws an uncaught error (a real worker crash) when the page says "crash"
 *   on the BroadcastChannel FAULT_CHANNEL;
 * - optionally makes every storage write fail as a full disk does
 *   (QuotaExceededError from IndexedDB put/add, Cache Storage put/add and
 *   OPFS sync access handles' write):
 *   Chromium's own quota override (CDP Storage.overrideQuotaForOrigin) was
 *   not enforced reliably for small IndexedDB writes, even at 1 byte.
 * What the snippet did is told back on the same channel; recordFaults() keeps
 * it in the page (window.faultLog) for the test to read.
 */
import type { Page, Route } from "@playwright/test";

export const FAULT_CHANNEL = "vgg16-fault-injection";

export interface FaultOptions {
  /** Lose every live WebGL context right after this draw call (1 = the first). */
  readonly loseWebglAtDraw?: number;
  /** Destroy every WebGPU device right after it made this compute pipeline (1 = the first). */
  readonly loseWebgpuAtPipeline?: number;
  /** Every IndexedDB, Cache Storage and OPFS write fails with QuotaExceededError. */
  readonly storageFull?: boolean;
}

/**
 * Makes storage writes fail as they do when the origin's quota is used up. Plain JS (it runs in the worker
 * and, through addInitScript, in the page): no imports, no TS helpers.
 */
export function failStorageWrites(scope: unknown): void {
  const g = scope as Record<string, { prototype: Record<string, unknown> } | undefined>;
  const quotaError = () => new DOMException("The quota has been exceeded.", "QuotaExceededError");
  const objectStore = g.IDBObjectStore;
  if (objectStore) {
    for (const name of ["put", "add"]) {
      objectStore.prototype[name] = () => {
        throw quotaError();
      };
    }
  }
  const cache = g.Cache;
  if (cache) {
    for (const name of ["put", "add", "addAll"]) cache.prototype[name] = () => Promise.reject(quotaError());
  }
  // The worker keeps weight shards in OPFS files (src/vgg16/opfs-cache.ts).
  const accessHandle = g.FileSystemSyncAccessHandle;
  if (accessHandle) {
    accessHandle.prototype.write = () => {
      throw quotaError();
    };
  }
}

/** Runs in the worker, before the bundle; serialised with its options. Plain JS: no imports, no TS helpers. */
function faultSnippet(channelName: string, options: FaultOptions): void {
  const g = globalThis as unknown as Record<string, unknown>;
  const channel = new BroadcastChannel(channelName);
  const say = (what: string) => channel.postMessage({ from: "worker", what });
  const contexts: WebGL2RenderingContext[] = [];
  const devices: { destroy(): void }[] = [];

  type Proto = Record<string, (...args: unknown[]) => unknown>;
  const wrap = (proto: Proto, name: string, after: (self: unknown, result: unknown) => unknown) => {
    const original = proto[name];
    if (typeof original !== "function") return;
    proto[name] = function (this: unknown, ...args: unknown[]) {
      return after(this, original.apply(this, args));
    };
  };

  const offscreen = g.OffscreenCanvas as { prototype: Proto } | undefined;
  if (offscreen) {
    wrap(offscreen.prototype, "getContext", (_, context) => {
      if (context && typeof (context as WebGL2RenderingContext).isContextLost === "function") {
        contexts.push(context as WebGL2RenderingContext);
      }
      return context;
    });
  }
  const loseWebgl = () => {
    let n = 0;
    for (const gl of contexts) {
      if (gl.isContextLost()) continue; // e.g. the capability probe's, released already
      const extension = gl.getExtension("WEBGL_lose_context");
      if (extension) {
        extension.loseContext();
        n++;
      }
    }
    say(`lost-webgl:${n}`);
  };
  const webgl2 = g.WebGL2RenderingContext as { prototype: Proto } | undefined;
  if (options.loseWebglAtDraw && webgl2) {
    let draws = 0;
    for (const name of ["drawElements", "drawArrays"]) {
      wrap(webgl2.prototype, name, (_, result) => {
        if (++draws === options.loseWebglAtDraw) loseWebgl();
        return result;
      });
    }
  }

  const adapter = g.GPUAdapter as { prototype: Proto } | undefined;
  if (adapter) {
    wrap(adapter.prototype, "requestDevice", (_, result) =>
      (result as Promise<{ destroy(): void }>).then((device) => {
        devices.push(device);
        return device;
      }),
    );
  }
  const gpuDevice = g.GPUDevice as { prototype: Proto } | undefined;
  if (options.loseWebgpuAtPipeline && gpuDevice) {
    let pipelines = 0;
    const lose = () => {
      if (++pipelines !== options.loseWebgpuAtPipeline) return;
      for (const device of devices) device.destroy();
      say(`lost-webgpu:${devices.length}`);
    };
    wrap(gpuDevice.prototype, "createComputePipeline", (_, result) => {
      lose();
      return result;
    });
    wrap(gpuDevice.prototype, "createComputePipelineAsync", (_, result) => {
      lose();
      return result;
    });
  }

  if (options.storageFull) {
    (g.failStorageWrites as (scope: unknown) => void)(globalThis);
    say("storage-full");
  }

  channel.onmessage = (event: MessageEvent) => {
    if (event.data === "crash") {
      say("crashing");
      setTimeout(() => {
        throw new Error("forced crash (fault injection)");
      });
    }
  };
  say("injected");
}

/**
 * Every worker the page starts gets the snippet (also the one that replaces a crashed or lost worker).
 * Returns a function that stops injecting into workers started later.
 */
export async function injectWorkerFaults(
  page: Page,
  options: FaultOptions = {},
): Promise<() => Promise<void>> {
  const snippet =
    `globalThis.failStorageWrites = ${failStorageWrites.toString()};\n` +
    `(${faultSnippet.toString()})(${JSON.stringify(FAULT_CHANNEL)}, ${JSON.stringify(options)});\n`;
  const workerScript = /\/assets\/worker-[^/]*\.js$/;
  const handler = async (route: Route) => {
    const response = await route.fetch();
    await route.fulfill({ response, body: snippet + (await response.text()) });
  };
  await page.route(workerScript, handler);
  return () => page.unroute(workerScript, handler);
}

/** Keeps what the workers' snippets say in window.faultLog, from the first script of every page on. */
export async function recordFaults(page: Page): Promise<void> {
  await page.addInitScript((name) => {
    const log: string[] = [];
    (window as unknown as { faultLog: string[] }).faultLog = log;
    // When, in ms since the page started: "lost-webgl:1@5321".
    new BroadcastChannel(name).onmessage = (event: MessageEvent) =>
      log.push(`${String(event.data?.what)}@${Math.round(performance.now())}`);
  }, FAULT_CHANNEL);
}

export function faultLog(page: Page): Promise<string[]> {
  return page.evaluate(() => [...(window as unknown as { faultLog: string[] }).faultLog]);
}

/** Asks every worker's snippet to crash its worker (an uncaught error, as a real bug would throw). */
export async function crashWorker(page: Page): Promise<void> {
  await page.evaluate((name) => {
    const channel = new BroadcastChannel(name);
    channel.postMessage("crash");
    channel.close();
  }, FAULT_CHANNEL);
}
