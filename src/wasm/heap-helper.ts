/**
 * A second thread for hand-written WASM kernels. TF.js' threaded WASM build
 * has a shared WebAssembly.Memory, so a worker can instantiate the same
 * kernels on the same heap and work on a disjoint part of a job while this
 * thread does the rest; the two meet through Atomics on a small control
 * block (heap-helper-protocol.ts). Without shared memory (the
 * single-threaded build, Node tests) there is no helper and the caller runs
 * every part itself. The worker side is heap-helper-worker.ts.
 */
import { CONTROL, type HelperReady } from "./heap-helper-protocol";

/** The helper thread failed (a trap in a kernel) or stopped answering. */
export class HeapHelperError extends Error {
  override name = "HeapHelperError";
}

const READY_TIMEOUT_MS = 10_000;
/** A job is at most a few hundred milliseconds; this only catches a dead thread. */
const JOB_TIMEOUT_MS = 60_000;

export interface HeapHelperOptions {
  /** How long `wait()` waits for one job before it stops the thread (tests shorten it). */
  readonly jobTimeoutMs?: number;
}

export class HeapHelper<Name extends string> {
  private readonly ints: Int32Array;
  private readonly floats: Float32Array;
  private pending = false;
  /** Terminated after a job timed out: it may still have been writing into the heap. */
  private dead = false;

  private constructor(
    private readonly worker: Worker,
    control: SharedArrayBuffer,
    private readonly names: readonly Name[],
    /** What the helper is for, in error messages ("the training helper thread"). */
    private readonly label: string,
    private readonly jobTimeoutMs: number,
  ) {
    this.ints = new Int32Array(control);
    this.floats = new Float32Array(control);
  }

  /**
   * A helper on `memory`, or null where it cannot run: memory not shared, no
   * Worker, or the worker failed to instantiate the module in time.
   * `createWorker` starts the worker entry (a literal `new Worker(new URL(…))`
   * for the bundler to see) that serves `names`.
   */
  static async start<Name extends string>(
    memory: WebAssembly.Memory,
    module: WebAssembly.Module,
    createWorker: () => Worker,
    names: readonly Name[],
    label: string,
    options: HeapHelperOptions = {},
  ): Promise<HeapHelper<Name> | null> {
    if (typeof Worker === "undefined" || typeof SharedArrayBuffer === "undefined") return null;
    if (!(memory.buffer instanceof SharedArrayBuffer)) return null;
    let worker: Worker | null = null;
    try {
      const control = new SharedArrayBuffer(CONTROL.bytes);
      worker = createWorker();
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
      return new HeapHelper(worker, control, names, label, options.jobTimeoutMs ?? JOB_TIMEOUT_MS);
    } catch {
      worker?.terminate();
      return null;
    }
  }

  /** Starts job `name` with these arguments on the helper; `wait()` before starting another. */
  run(name: Name, ints: readonly number[], floats: readonly number[] = []): void {
    if (this.dead) throw new HeapHelperError(`${this.label} was stopped`);
    if (this.pending) throw new HeapHelperError("helper job started before the last one was awaited");
    if (ints.length > CONTROL.intArgs || floats.length > CONTROL.floatArgs) {
      throw new HeapHelperError(`helper job ${name}: too many arguments`);
    }
    this.ints.set(ints, CONTROL.args);
    this.floats.set(floats, CONTROL.floats);
    Atomics.store(this.ints, CONTROL.intCount, ints.length);
    Atomics.store(this.ints, CONTROL.floatCount, floats.length);
    Atomics.store(this.ints, CONTROL.job, this.names.indexOf(name));
    Atomics.add(this.ints, CONTROL.request, 1);
    Atomics.notify(this.ints, CONTROL.request);
    this.pending = true;
  }

  /** Blocks until the job started last has finished; throws if it failed or the thread is gone. */
  wait(): void {
    if (!this.pending) return;
    this.pending = false;
    const request = Atomics.load(this.ints, CONTROL.request);
    const deadline = performance.now() + this.jobTimeoutMs;
    for (;;) {
      const done = Atomics.load(this.ints, CONTROL.done);
      if (done === request) break;
      const left = deadline - performance.now();
      if (left <= 0) {
        // It may still be running: stop it before the caller frees the buffers it writes.
        this.dispose();
        throw new HeapHelperError(`${this.label} stopped answering`);
      }
      Atomics.wait(this.ints, CONTROL.done, done, left);
    }
    if (Atomics.load(this.ints, CONTROL.status) !== 0) {
      throw new HeapHelperError(`a kernel failed on ${this.label}`);
    }
  }

  dispose(): void {
    this.dead = true;
    this.worker.terminate();
  }
}
