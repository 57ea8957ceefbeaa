/** The control block shared by sparse-head-helper.ts and its worker: int32 slots of one SharedArrayBuffer. */
export const CONTROL = {
  /** Job number, bumped by the owner to start a job. */
  request: 0,
  /** Job number the helper finished last. */
  done: 1,
  /** 0 = ok, 1 = the job threw (a trap: out-of-bounds memory, or an unknown job). */
  status: 2,
  /** Index into JOB_FUNCTIONS. */
  job: 3,
  intCount: 4,
  floatCount: 5,
  /** Int32 arguments from here, then float32 ones. */
  args: 8,
  intArgs: 16,
  floats: 24,
  floatArgs: 8,
  bytes: 32 * 4,
} as const;

export const JOB_FUNCTIONS = ["forward", "update"] as const;
export type JobFunction = (typeof JOB_FUNCTIONS)[number];

export interface HelperInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
}

/** The helper's one message: whether it instantiated the kernels. */
export interface HelperReady {
  ready: boolean;
}
