/**
 * A second thread for the head's sparse kernels (sparse-head-helper.ts): it
 * instantiates the kernel module on TF.js' shared WASM memory and then runs
 * one job at a time, handed over through a small shared control block, so a
 * job starts within microseconds (a postMessage round trip per training step
 * would cost more than the kernels save). The thread blocks in Atomics.wait
 * between jobs and is terminated by its owner.
 */
import { CONTROL, type HelperInit, JOB_FUNCTIONS } from "./sparse-head-protocol";

self.onmessage = (event: MessageEvent<HelperInit>) => {
  const { module, memory, control } = event.data;
  const ints = new Int32Array(control);
  const floats = new Float32Array(control);
  let exports: WebAssembly.Exports;
  try {
    exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  } catch (error) {
    postMessage({ ready: false, error: String(error) });
    return;
  }
  // Read before saying ready: the owner may start a job as soon as it hears, and that job must not be
  // mistaken for one already seen.
  let seen = Atomics.load(ints, CONTROL.request);
  postMessage({ ready: true });
  for (;;) {
    Atomics.wait(ints, CONTROL.request, seen);
    seen = Atomics.load(ints, CONTROL.request);
    let status = 0;
    try {
      const name = JOB_FUNCTIONS[Atomics.load(ints, CONTROL.job)];
      const run = name ? (exports[name] as (...args: number[]) => void) : null;
      if (!run) throw new Error("unknown job");
      const args = Array.from({ length: CONTROL.intArgs }, (_, i) => ints[CONTROL.args + i] as number);
      const fargs = Array.from({ length: CONTROL.floatArgs }, (_, i) => floats[CONTROL.floats + i] as number);
      run(
        ...args.slice(0, Atomics.load(ints, CONTROL.intCount)),
        ...fargs.slice(0, Atomics.load(ints, CONTROL.floatCount)),
      );
    } catch {
      status = 1;
    }
    Atomics.store(ints, CONTROL.status, status);
    Atomics.store(ints, CONTROL.done, seen);
    Atomics.notify(ints, CONTROL.done);
  }
};
