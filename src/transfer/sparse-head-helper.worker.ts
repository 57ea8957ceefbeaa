/** The head training's helper thread (fast-head.ts): half of each sparse kernel call (sparse-head-kernels.ts). */
import { serveHeapJobs } from "../wasm/heap-helper-worker";
import { SPARSE_HEAD_JOBS } from "./sparse-head-kernels";

const call = (name: string) => (exports: WebAssembly.Exports, ints: Int32Array, floats: Float32Array) =>
  (exports[name] as (...args: number[]) => void)(...ints, ...floats);

serveHeapJobs(SPARSE_HEAD_JOBS, { forward: call("forward"), update: call("update") });
