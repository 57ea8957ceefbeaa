/**
 * Initialises the backend the chooser picked, checking what TF.js actually
 * did (tf.setBackend() resolves false instead of throwing, and TF.js then
 * quietly keeps another backend), and falls back in order with the reasons.
 *
 * THE WASM THREADS TRAP. tfjs-backend-wasm 4.22 sizes its XNNPACK pool as
 *   min(max(requested, 1), 8, navigator.hardwareConcurrency / 2)
 * where the last term is read once, in a static initialiser, when the module
 * is instantiated (tfjs-backend-wasm/src/cc/backend.cc). On a 2-core machine
 * that is 1 thread whatever setThreadsCount() asks. So, to get N threads, the
 * worker's navigator reports 2·N logical cores while the backend initialises
 * (and only then), setThreadsCount(N) caps the pool at N, and
 * getThreadsCount() confirms it. Measured: 2 threads halve VGG16's time on a
 * 2-vCPU machine (../shared/docs/browser-backends.md).
 *
 * THE MINIFICATION TRAP. The threaded build starts its pthread workers from
 * the Emscripten factory's own source (`factory.toString()` in a Blob). Once
 * Vite minifies the bundle, that source refers to renamed variables outside
 * the function and every pthread worker dies with "ReferenceError: e is not
 * defined" (tensorflow/tfjs#4107, #4539). So the pthread workers are handed
 * the untouched Emscripten script instead, emitted as an asset (`?url`): see
 * redirectPthreadWorkers().
 *
 * WebGPU's backend is imported on demand: it is only fetched when the chooser
 * picks WebGPU (a real, non-fallback adapter) or the user forces it.
 */
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount, setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import wasmUrl from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url";
import wasmSimdUrl from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url";
import wasmThreadedSimdUrl from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url";
import threadedGlueUrl from "@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js?url";
import type { BackendChoice, BackendInfo, BackendName, Capabilities } from "./api";
import { backendLabel, chooseBackend, fallbackReason, wasmThreadsFor } from "./backend-chooser";
import { errorMessage, Vgg16Error } from "./errors";

/** Backends this build can initialise. */
export const INSTALLED_BACKENDS: readonly BackendName[] = ["webgpu", "webgl", "wasm", "cpu"];

/** XNNPACK's pool has 8 pre-created workers: more threads than that cannot run. */
const WASM_POOL_SIZE = 8;

interface WasmState {
  readonly wanted: number;
  readonly threads: number;
  readonly simd: boolean;
}

let wasmPathsSet = false;
let wasm: WasmState | null = null;
let active: BackendInfo | null = null;

/**
 * Makes `navigator.hardwareConcurrency` read `cores` until the returned
 * function is called (an own property shadowing WorkerNavigator's getter).
 */
export function pretendHardwareConcurrency(cores: number): () => void {
  const nav = globalThis.navigator as Navigator & { hardwareConcurrency: number };
  const own = Object.getOwnPropertyDescriptor(nav, "hardwareConcurrency");
  Object.defineProperty(nav, "hardwareConcurrency", { configurable: true, get: () => cores });
  return () => {
    if (own) Object.defineProperty(nav, "hardwareConcurrency", own);
    else delete (nav as { hardwareConcurrency?: number }).hardwareConcurrency;
  };
}

interface EmscriptenLoadMessage {
  readonly cmd: "load";
  readonly urlOrBlob: unknown;
}

function isEmscriptenLoad(message: unknown): message is EmscriptenLoadMessage {
  return typeof message === "object" && message !== null && (message as { cmd?: unknown }).cmd === "load";
}

let pthreadRedirect = false;

/**
 * Replaces this worker's `Worker` with a subclass whose "load" message (the
 * one Emscripten sends each pthread worker, carrying the script to import)
 * points at the original, unminified Emscripten script rather than a Blob of
 * the minified factory's source. Nothing else is touched: the other workers
 * this worker starts (the helper threads of src/wasm/heap-helper.ts) never
 * send an Emscripten load message.
 */
export function redirectPthreadWorkers(): void {
  if (pthreadRedirect || typeof Worker === "undefined") return;
  pthreadRedirect = true;
  const glue = new URL(threadedGlueUrl, globalThis.location.href).href;
  class PthreadWorker extends Worker {
    override postMessage(message: unknown, options?: Transferable[] | StructuredSerializeOptions): void {
      const fixed =
        isEmscriptenLoad(message) && typeof message.urlOrBlob !== "string"
          ? { ...message, urlOrBlob: glue }
          : message;
      super.postMessage(fixed, options as StructuredSerializeOptions);
    }
  }
  globalThis.Worker = PthreadWorker;
}

async function setAndCheck(name: BackendName): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (error) {
    throw new Error(errorMessage(error));
  }
  const now = tf.getBackend();
  if (!ok) throw new Error(`tf.setBackend("${name}") returned false`);
  if (now !== name) throw new Error(`tf.setBackend("${name}") left TF.js on "${now}"`);
}

async function initWasm(caps: Capabilities, threadOverride: number | undefined): Promise<WasmState> {
  if (wasm) {
    await setAndCheck("wasm");
    return wasm;
  }
  if (!wasmPathsSet) {
    setWasmPaths({
      "tfjs-backend-wasm.wasm": wasmUrl,
      "tfjs-backend-wasm-simd.wasm": wasmSimdUrl,
      "tfjs-backend-wasm-threaded-simd.wasm": wasmThreadedSimdUrl,
    });
    wasmPathsSet = true;
  }
  const wanted = caps.wasmThreads
    ? Math.max(1, Math.min(WASM_POOL_SIZE, Math.floor(threadOverride ?? wasmThreadsFor(caps))))
    : 1;
  setThreadsCount(wanted);
  if (wanted === 1) {
    // One thread: the plain SIMD build, without the threaded build's 8 idle pthread workers.
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  } else {
    redirectPthreadWorkers();
  }
  const restore = pretendHardwareConcurrency(2 * wanted);
  try {
    await setAndCheck("wasm");
  } finally {
    restore();
  }
  let threads = 1;
  try {
    threads = getThreadsCount();
  } catch {
    threads = 1;
  }
  const simd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) === true;
  wasm = { wanted, threads, simd };
  return wasm;
}

/** Initialises one backend; throws with the reason when it cannot. */
async function tryBackend(
  name: BackendName,
  caps: Capabilities,
  threadOverride: number | undefined,
): Promise<{ threads: number | null; simd: boolean | null; note: string | null }> {
  switch (name) {
    case "webgpu":
      await import("@tensorflow/tfjs-backend-webgpu");
      await setAndCheck("webgpu");
      return { threads: null, simd: null, note: null };
    case "wasm": {
      const state = await initWasm(caps, threadOverride);
      const note =
        state.threads !== state.wanted
          ? `XNNPACK runs ${state.threads} thread${state.threads === 1 ? "" : "s"}, ${state.wanted} requested`
          : threadOverride !== undefined && state.wanted !== wasmThreadsFor(caps)
            ? `${state.wanted} thread${state.wanted === 1 ? "" : "s"} requested by the caller`
            : null;
      return { threads: state.threads, simd: state.simd, note };
    }
    case "webgl":
    case "cpu":
      await setAndCheck(name);
      return { threads: null, simd: null, note: null };
  }
}

/**
 * Chooses (from capabilities and the caller's override), initialises, and
 * falls back in order. The WASM backend, once initialised in a worker, keeps
 * its thread count.
 */
export async function initBackend(
  choice: BackendChoice,
  caps: Capabilities,
  threadOverride?: number,
  lost: readonly BackendName[] = [],
): Promise<BackendInfo> {
  const decision = chooseBackend(caps, choice, { installed: INSTALLED_BACKENDS, lost });
  const failures: string[] = [];
  for (const name of [decision.backend, ...decision.fallbacks]) {
    try {
      const { threads, simd, note } = await tryBackend(name, caps, threadOverride);
      let reason = fallbackReason(name, caps, threads, failures, decision);
      if (name === decision.backend && failures.length === 0 && name === "wasm") {
        // The decision's label says the threads it planned; say the threads in use.
        reason = reason.replace(backendLabel("wasm", caps), backendLabel("wasm", caps, threads));
      }
      if (note) reason = `${reason} (${note})`;
      active = { name, reason, threads, simd };
      return active;
    } catch (error) {
      failures.push(`${backendLabel(name, caps)} failed to initialise (${errorMessage(error)})`);
    }
  }
  throw new Vgg16Error("backend-failed", `No TF.js backend could be initialised: ${failures.join("; ")}`);
}

/** The backend in use, once one was initialised here. */
export function activeBackend(): BackendInfo | null {
  return active;
}
