/**
 * Runs half of each sparse head kernel on a second thread. TF.js' threaded
 * WASM build has a shared WebAssembly.Memory, so a worker can instantiate
 * the same kernels on the same heap and work on a disjoint feature range
 * while this thread does the other half; the two meet through Atomics on a
 * small control block (sparse-head-protocol.ts). Without shared memory (the
 * single-threaded build, Node tests) there is no helper and the caller runs
 * every range itself.
 */
import { CONTROL, type HelperReady, JOB_FUNCTIONS, type JobFunction } from "./sparse-head-protocol";

/** The helper thread failed (a trap in a kernel) or stopped answering. */
export class SparseHeadHelperError extends Error {
  override name = "SparseHeadHelperError";
}

const READY_TIMEOUT_MS = 10_000;
/** A job is a few milliseconds; this only catches a dead thread. */
const JOB_TIMEOUT_MS = 60_000;

export class SparseHeadHelper {
  private readonly ints: Int32Array;
  private readonly floats: Float32Array;
  private pending = false;
  /** Terminated after a job timed out: it may still have been writing into the heap. */
  private dead = false;

  private constructor(
    private readonly worker: Worker,
    control: SharedArrayBuffer,
  ) {
    this.ints = new Int32Array(control);
    this.floats = new Float32Array(control);
  }

  /**
   * A helper on `memory`, or null where it cannot run: memory not shared, no
   * Worker, or the worker failed to instantiate the module in time.
   */
  static async start(
    memory: WebAssembly.Memory,
    module: WebAssembly.Module,
  ): Promise<SparseHeadHelper | null> {
    if (typeof Worker === "undefined" || typeof SharedArrayBuffer === "undefined") return null;
    if (!(memory.buffer instanceof SharedArrayBuffer)) return null;
    let worker: Worker | null = null;
    try {
      const control = new SharedArrayBuffer(CONTROL.bytes);
      worker = new Worker(new URL("./sparse-head-helper.worker.ts", import.meta.url), { type: "module" });
      const started = worker;
      const ready = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
        started.onmessage = (event: MessageEvent<HelperReady>) => {
          clearTimeout(timer);
          resolve(event.data.ready);
        };
        started.onerror = () => {
          clearTimeout(timer);
          resolve(false);
        };
        started.postMessage({ module, memory, control });
      });
      if (!ready) {
        worker.terminate();
        return null;
      }
      worker.onmessage = null;
      return new SparseHeadHelper(worker, control);
    } catch {
      worker?.terminate();
      return null;
    }
  }

  /** Starts `name(...ints, ...floats)` on the helper; `wait()` before starting another. */
  run(name: JobFunction, ints: readonly number[], floats: readonly number[] = []): void {
    if (this.dead) throw new SparseHeadHelperError("the training helper thread was stopped");
    if (this.pending) throw new SparseHeadHelperError("helper job started before the last one was awaited");
    this.ints.set(ints, CONTROL.args);
    this.floats.set(floats, CONTROL.floats);
    Atomics.store(this.ints, CONTROL.intCount, ints.length);
    Atomics.store(this.ints, CONTROL.floatCount, floats.length);
    Atomics.store(this.ints, CONTROL.job, JOB_FUNCTIONS.indexOf(name));
    Atomics.add(this.ints, CONTROL.request, 1);
    Atomics.notify(this.ints, CONTROL.request);
    this.pending = true;
  }

  /** Blocks until the job started last has finished; throws if it failed or the thread is gone. */
  wait(): void {
    if (!this.pending) return;
    this.pending = false;
    const request = Atomics.load(this.ints, CONTROL.request);
    const deadline = performance.now() + JOB_TIMEOUT_MS;
    for (;;) {
      const done = Atomics.load(this.ints, CONTROL.done);
      if (done === request) break;
      const left = deadline - performance.now();
      if (left <= 0) {
        // It may still be running: stop it before the caller frees the buffers it writes.
        this.dispose();
        throw new SparseHeadHelperError("the training helper thread stopped answering");
      }
      Atomics.wait(this.ints, CONTROL.done, done, left);
    }
    if (Atomics.load(this.ints, CONTROL.status) !== 0) {
      throw new SparseHeadHelperError("a training kernel failed on the helper thread");
    }
  }

  dispose(): void {
    this.dead = true;
    this.worker.terminate();
  }
}
