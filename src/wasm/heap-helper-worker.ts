/**
 * The helper thread's side of heap-helper.ts, for a worker entry file to
 * call: it instantiates the kernel module on TF.js' shared WASM memory and
 * then runs one job at a time, handed over through a small shared control
 * block, so a job starts within microseconds (a postMessage round trip per
 * job would cost more than some kernels take). The thread blocks in
 * Atomics.wait between jobs and is terminated by its owner.
 */
import { CONTROL, type HeapJob, type HelperInit, type HelperReady } from "./heap-helper-protocol";

/** Serves `jobs` (indexed as the owner's `names`) on this worker. */
export function serveHeapJobs<Name extends string>(
  names: readonly Name[],
  jobs: Readonly<Record<Name, HeapJob>>,
): void {
  self.onmessage = (event: MessageEvent<HelperInit>) => {
    const { module, memory, control } = event.data;
    const ints = new Int32Array(control);
    const floats = new Float32Array(control);
    let exports: WebAssembly.Exports;
    try {
      exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
    } catch {
      postMessage({ ready: false } satisfies HelperReady);
      return;
    }
    // Read before saying ready: the owner may start a job as soon as it hears, and that job must not be
    // mistaken for one already seen.
    let seen = Atomics.load(ints, CONTROL.request);
    postMessage({ ready: true } satisfies HelperReady);
    for (;;) {
      Atomics.wait(ints, CONTROL.request, seen);
      seen = Atomics.load(ints, CONTROL.request);
      let status = 0;
      try {
        const name = names[Atomics.load(ints, CONTROL.job)];
        const job = name === undefined ? undefined : jobs[name];
        if (!job) throw new Error("unknown job");
        const intCount = Atomics.load(ints, CONTROL.intCount);
        const floatCount = Atomics.load(ints, CONTROL.floatCount);
        job(
          exports,
          ints.subarray(CONTROL.args, CONTROL.args + intCount),
          floats.subarray(CONTROL.floats, CONTROL.floats + floatCount),
        );
      } catch {
        status = 1;
      }
      Atomics.store(ints, CONTROL.status, status);
      Atomics.store(ints, CONTROL.done, seen);
      Atomics.notify(ints, CONTROL.done);
    }
  };
}
