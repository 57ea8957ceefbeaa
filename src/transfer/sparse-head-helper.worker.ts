/** The head training's helper thread (fast-head.ts): half of each sparse kernel call (sparse-head-kernels.ts). */
import { serveHeapJobs } from "../wasm/heap-helper-worker";
import {
  runSparseHeadJob,
  SPARSE_HEAD_JOBS,
  type SparseHeadJob,
  type SparseHeadKernels,
} from "./sparse-head-kernels";

const job = (name: SparseHeadJob) => (exports: WebAssembly.Exports, ints: Int32Array, floats: Float32Array) =>
  runSparseHeadJob(exports as unknown as SparseHeadKernels, name, ints, floats);

serveHeapJobs(SPARSE_HEAD_JOBS, { gatherForward: job("gatherForward"), update: job("update") });
