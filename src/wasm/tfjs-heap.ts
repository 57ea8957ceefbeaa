/**
 * TF.js WASM backend internals that the hand-written kernels need: a
 * tensor's byte offset in the module's heap, and the heap's
 * WebAssembly.Memory (shared in the threaded build). Not public API, so
 * everything is feature-detected: `wasmInternals` returns null on another
 * backend or an unexpected build, and callers fall back to plain tf ops.
 */
import type * as tfjs from "@tensorflow/tfjs";

type TF = typeof tfjs;

interface WasmModuleLike {
  HEAPU8: Uint8Array;
  /** The threaded build's (shared) memory. */
  wasmMemory?: WebAssembly.Memory;
  /** The single-threaded build exports its memory. */
  asm?: { memory?: WebAssembly.Memory };
  /** Threads in the backend's pool (tfjs-backend-wasm's getThreadsCount reads the same). */
  _get_threads_count?: () => number;
}

/** The parts of TF.js' BackendWasm the kernels use. */
export interface WasmBackendLike {
  wasm?: WasmModuleLike;
  dataIdMap?: { get(dataId: object): { memoryOffset?: number | null } | undefined };
  /** Allocates a kernel's output in the heap (inside kernelFunc; outside one, memory nobody tracks yet). */
  makeOutput?(shape: number[], dtype: "float32"): tfjs.TensorInfo;
}

/** Byte offset of a tensor's data in the backend's heap. */
export function heapOffset(backend: WasmBackendLike, info: { readonly dataId: object }): number {
  const offset = backend.dataIdMap?.get(info.dataId)?.memoryOffset;
  if (typeof offset !== "number") throw new Error("tensor has no data in the WASM heap");
  return offset;
}

export interface WasmInternals {
  /** Byte offset of a float32 tensor's data in the WASM heap. */
  offsetOf(t: tfjs.Tensor): number;
  /** A view of the current heap (re-made on each call: the heap's buffer changes when memory grows). */
  heapF32(): Float32Array;
  memory: WebAssembly.Memory;
  /** Threads the backend computes with (1 in the single-threaded build). */
  threads(): number;
  /**
   * A float32 tensor whose heap memory is allocated but not written: the caller fills it in place (bytesOf)
   * before any op reads it. Saves the copy that tf.tensor(values) makes of values assembled elsewhere.
   */
  uninitialised(shape: number[]): tfjs.Tensor;
  /** A view of a float32 tensor's bytes in the heap (re-made on each call, as heapF32). */
  bytesOf(t: tfjs.Tensor): Uint8Array;
}

/** Access to the active WASM backend's heap, or null on any other backend (or an unexpected build). */
export function wasmInternals(tf: TF): WasmInternals | null {
  if (tf.getBackend() !== "wasm") return null;
  const backend = tf.backend() as unknown as WasmBackendLike;
  const module = backend.wasm;
  const memory = module?.wasmMemory ?? module?.asm?.memory;
  // makeOutput: every kernel here allocates its outputs (and uninitialised its tensors) with it.
  if (!module || !backend.dataIdMap || !backend.makeOutput || !(memory instanceof WebAssembly.Memory))
    return null;
  const offsetOf = (t: tfjs.Tensor) => {
    if (t.dtype !== "float32") throw new Error("tensor has no float32 data in the WASM heap");
    return heapOffset(backend, t);
  };
  return {
    offsetOf,
    // memory.buffer, not HEAPU8's: the latter is re-made only when Emscripten notices a growth.
    heapF32: () => new Float32Array(memory.buffer),
    memory,
    threads: () => module._get_threads_count?.() ?? 1,
    uninitialised(shape) {
      const makeOutput = backend.makeOutput as NonNullable<WasmBackendLike["makeOutput"]>;
      // What tf.tensor does (backend.write, then a tracked Tensor), minus the copy of the values.
      return tf.engine().makeTensorFromTensorInfo(makeOutput.call(backend, shape, "float32"), tf.backend());
    },
    bytesOf: (t) => new Uint8Array(memory.buffer, offsetOf(t), t.size * 4),
  };
}
