/** The control block shared by heap-helper.ts and heap-helper-worker.ts: int32 slots of one SharedArrayBuffer. */
export const CONTROL = {
  /** Job number, bumped by the owner to start a job. */
  request: 0,
  /** Job number the helper finished last. */
  done: 1,
  /** 0 = ok, 1 = the job threw (a trap: out-of-bounds memory, or an unknown job). */
  status: 2,
  /** Index into the helper's job names. */
  job: 3,
  intCount: 4,
  floatCount: 5,
  /** Int32 arguments from here, then float32 ones. */
  args: 8,
  intArgs: 64,
  floats: 72,
  floatArgs: 8,
  bytes: 80 * 4,
} as const;

export interface HelperInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
}

/** The helper's one message: whether it instantiated the kernels. */
export interface HelperReady {
  ready: boolean;
}

/** A job on the helper thread: the kernels' exports and the job's arguments. */
export type HeapJob = (exports: WebAssembly.Exports, ints: Int32Array, floats: Float32Array) => void;
