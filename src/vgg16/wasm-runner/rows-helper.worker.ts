/** The WASM runner's helper thread (runner.ts): the second half of each Winograd layer's tile rows. */
import { serveHeapJobs } from "../../wasm/heap-helper-worker";
import { type WinogradFunctions, winogradFunctions } from "./kernels";
import { decodeRowsJob, ROWS_JOBS, runWinogradRows } from "./winograd-rows";

let kernels: WinogradFunctions | null = null;
serveHeapJobs(ROWS_JOBS, {
  rows: (exports, ints) => {
    kernels ??= winogradFunctions(exports);
    runWinogradRows(kernels, decodeRowsJob(ints));
  },
});
