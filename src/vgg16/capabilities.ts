/**
 * Measures what the current global scope (the worker) offers, without
 * initialising any TF.js backend. Never throws: anything that fails reads as
 * "not available".
 */
import type { Capabilities } from "./api";
import { softwareRendererName } from "./backend-chooser";

/** A tiny module using a v128 instruction (from GoogleChromeLabs/wasm-feature-detect, as TF.js uses). */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11,
]);

interface GpuAdapterLike {
  readonly isFallbackAdapter?: boolean;
  readonly info?: { readonly isFallbackAdapter?: boolean };
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}

/**
 * The real navigator.hardwareConcurrency, read when this module loads, before
 * the WASM backend's initialisation may briefly shadow it (see wasm-threads.ts).
 */
export const REAL_HARDWARE_CONCURRENCY: number =
  typeof navigator !== "undefined" && navigator.hardwareConcurrency > 0 ? navigator.hardwareConcurrency : 1;

function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise<T>((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(fallback);
      },
    );
  });
}

export async function measureWebgpu(): Promise<
  Pick<Capabilities, "webgpuAdapter" | "webgpuFallbackAdapter">
> {
  const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
  if (!gpu || typeof gpu.requestAdapter !== "function") {
    return { webgpuAdapter: null, webgpuFallbackAdapter: false };
  }
  let adapter: GpuAdapterLike | null = null;
  try {
    adapter = await withTimeout(gpu.requestAdapter({ powerPreference: "high-performance" }), 3000, null);
  } catch {
    adapter = null;
  }
  if (!adapter) return { webgpuAdapter: false, webgpuFallbackAdapter: false };
  const fallback = adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
  return { webgpuAdapter: true, webgpuFallbackAdapter: fallback === true };
}

type Gl = WebGL2RenderingContext;

function makeContext(attributes?: WebGLContextAttributes): Gl | null {
  try {
    if (typeof OffscreenCanvas !== "undefined") {
      return new OffscreenCanvas(1, 1).getContext("webgl2", attributes) as Gl | null;
    }
    if (typeof document !== "undefined") {
      return document.createElement("canvas").getContext("webgl2", attributes);
    }
  } catch {
    // no context
  }
  return null;
}

function release(gl: Gl | null): void {
  try {
    gl?.getExtension("WEBGL_lose_context")?.loseContext();
  } catch {
    // already gone
  }
}

export function measureWebgl(): Pick<
  Capabilities,
  "webglMaxTextureSize" | "webglSoftware" | "webglRenderer"
> {
  const gl = makeContext();
  if (!gl) return { webglMaxTextureSize: 0, webglSoftware: false, webglRenderer: null };
  try {
    const maxTextureSize = Number(gl.getParameter(gl.MAX_TEXTURE_SIZE)) || 0;
    const debug = gl.getExtension("WEBGL_debug_renderer_info");
    const renderer = String(
      (debug ? gl.getParameter(debug.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER)) ?? "",
    );
    // Chrome refuses a context that would be software-rendered when asked to.
    const strict = makeContext({ failIfMajorPerformanceCaveat: true });
    const caveat = strict === null;
    release(strict);
    return {
      webglMaxTextureSize: maxTextureSize,
      webglSoftware: softwareRendererName(renderer) !== null || caveat,
      webglRenderer: renderer || null,
    };
  } catch {
    return { webglMaxTextureSize: 0, webglSoftware: false, webglRenderer: null };
  } finally {
    release(gl);
  }
}

export function measureWasm(): Pick<Capabilities, "wasm" | "wasmSimd" | "wasmThreads"> {
  const wasm = typeof WebAssembly === "object" && typeof WebAssembly.validate === "function";
  let simd = false;
  try {
    simd = wasm && WebAssembly.validate(SIMD_PROBE);
  } catch {
    simd = false;
  }
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  return { wasm, wasmSimd: simd, wasmThreads: wasm && isolated && typeof SharedArrayBuffer === "function" };
}

let measured: Promise<Capabilities> | null = null;

/** Measured once per worker, then cached. */
export function measureCapabilities(): Promise<Capabilities> {
  measured ??= (async () => {
    const [webgpu, webgl, wasm] = await Promise.all([
      measureWebgpu(),
      Promise.resolve().then(measureWebgl),
      Promise.resolve().then(measureWasm),
    ]);
    return { ...webgpu, ...webgl, ...wasm, hardwareConcurrency: REAL_HARDWARE_CONCURRENCY };
  })();
  return measured;
}
