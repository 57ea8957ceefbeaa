/**
 * The helper thread's side of heap-helper.ts, for a worker entry file to
 * call: it instantiates the kernel module on TF.js' shared WASM memory and
 * then runs one job at a time, handed over through a small shared control
 * block, so a job starts within microseconds (a postMessage round trip per
 * job would cost more than some kernels take). Between jobs it waits with
 * Atomics.waitAsync (where there is none, Atomics.wait), and its owner
 * terminates it.
 */
import { CONTROL, type HeapJob, type HelperInit, type HelperReady } from "./heap-helper-protocol";

/** Atomics.waitAsync (ES2024; Chromium 87, Node 16), typed here: the project's lib predates it. */
type WaitAsync = (
  typed: Int32Array,
  index: number,
  value: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync?.bind(Atomics);

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
    const runJob = () => {
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
    };
    postMessage({ ready: true } satisfies HelperReady);
    if (waitAsync) {
      // Idle without blocking: a thread parked in Atomics.wait never returns to its event loop, so DevTools
      // (and Playwright, which attaches to every worker) could not talk to it, and a page under test hung.
      const idle = () => {
        const waiting = waitAsync(ints, CONTROL.request, seen);
        const then = () => {
          runJob();
          idle();
        };
        if (waiting.async) void waiting.value.then(then);
        else then();
      };
      idle();
      return;
    }
    for (;;) {
      Atomics.wait(ints, CONTROL.request, seen);
      runJob();
    }
  };
}
