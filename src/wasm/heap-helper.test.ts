/**
 * The owner's side of the helper thread (heap-helper.ts) against a stand-in
 * Worker that answers the start message but runs no job: the test plays the
 * helper by writing its slots of the control block. Covered: refusals at
 * start (no shared memory, a helper that could not instantiate), a job that
 * failed, and a helper that stopped answering (terminated before the caller
 * frees its buffers, and refused afterwards).
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { HeapHelper, HeapHelperError } from "./heap-helper";
import { CONTROL, type HelperInit } from "./heap-helper-protocol";

class StandInWorker {
  static last: StandInWorker | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onerror: (() => void) | null = null;
  terminated = false;
  init: HelperInit | null = null;
  constructor(private readonly answer: boolean) {
    StandInWorker.last = this;
  }
  postMessage(message: HelperInit): void {
    this.init = message;
    setTimeout(() => this.onmessage?.({ data: { ready: this.answer } } as MessageEvent), 0);
  }
  terminate(): void {
    this.terminated = true;
  }
}

const sharedMemory = () => new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
const module = new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
const start = (answer: boolean, memory = sharedMemory(), jobTimeoutMs = 50) =>
  HeapHelper.start(
    memory,
    module,
    () => new StandInWorker(answer) as unknown as Worker,
    ["forward", "update"] as const,
    "the test helper",
    { jobTimeoutMs },
  );

// Node has no Worker, and start() checks that one exists before calling createWorker.
const hadWorker = "Worker" in globalThis;
globalThis.Worker ??= StandInWorker as unknown as typeof Worker;
afterEach(() => {
  StandInWorker.last = null;
});
afterAll(() => {
  if (!hadWorker) Reflect.deleteProperty(globalThis, "Worker");
});

describe("the heap helper's owner side", () => {
  it("starts nothing without shared memory, and drops a helper that could not instantiate the kernels", async () => {
    expect(await start(true, new WebAssembly.Memory({ initial: 1 }))).toBeNull();
    expect(StandInWorker.last).toBeNull(); // not even created
    expect(await start(false)).toBeNull();
    expect(StandInWorker.last?.terminated).toBe(true);
  });

  it("hands a job over through the control block and reports a job that failed", async () => {
    const helper = await start(true);
    const worker = StandInWorker.last as StandInWorker;
    if (!helper || !worker.init) throw new Error("the helper did not start");
    const ints = new Int32Array(worker.init.control);
    helper.run("update", [7, 8, 9], [0.5]);
    expect(Array.from(ints.subarray(CONTROL.args, CONTROL.args + 3))).toEqual([7, 8, 9]);
    expect(new Float32Array(worker.init.control)[CONTROL.floats]).toBe(0.5);
    expect([ints[CONTROL.job], ints[CONTROL.intCount], ints[CONTROL.floatCount]]).toEqual([1, 3, 1]);
    expect(() => helper.run("forward", [])).toThrow(/before the last one was awaited/);
    // The helper's answer: job done, status 1 (a trap).
    ints[CONTROL.status] = 1;
    ints[CONTROL.done] = ints[CONTROL.request] as number;
    expect(() => helper.wait()).toThrow(new HeapHelperError("a kernel failed on the test helper"));
    expect(worker.terminated).toBe(false);

    helper.run("forward", [1]);
    ints[CONTROL.status] = 0;
    ints[CONTROL.done] = ints[CONTROL.request] as number;
    expect(() => helper.wait()).not.toThrow();
    expect(() => helper.run("forward", new Array(CONTROL.intArgs + 1).fill(0))).toThrow(/too many arguments/);
    helper.dispose();
  });

  it("stops a helper that does not answer before the caller may free its buffers, and refuses it afterwards", async () => {
    const helper = await start(true);
    const worker = StandInWorker.last as StandInWorker;
    if (!helper) throw new Error("the helper did not start");
    helper.run("forward", [1, 2]);
    expect(worker.terminated).toBe(false);
    expect(() => helper.wait()).toThrow(/the test helper stopped answering/);
    expect(worker.terminated).toBe(true);
    expect(() => helper.run("forward", [1])).toThrow(/the test helper was stopped/);
  });
});
