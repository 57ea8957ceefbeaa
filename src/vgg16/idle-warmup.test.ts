import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { IdleWarmUp } from "./idle-warmup";

describe("a warm-up that runs only when no job came first", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runs once, after the delay, when nothing claimed it", async () => {
    const run = vi.fn(async () => {});
    const warmUp = new IdleWarmUp(run, 100);
    warmUp.start();
    warmUp.start(); // a second start schedules nothing more
    await vi.advanceTimersByTimeAsync(99);
    expect(run).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(1);
    warmUp.start(); // done: never again
    warmUp.claim();
    await vi.advanceTimersByTimeAsync(1000);
    expect(run).toHaveBeenCalledTimes(1);
  });

  it("never runs when a job claimed it first, or the model was replaced", async () => {
    const run = vi.fn(async () => {});
    const claimed = new IdleWarmUp(run, 100);
    claimed.start();
    await vi.advanceTimersByTimeAsync(50);
    claimed.claim();
    const cancelled = new IdleWarmUp(run, 100);
    cancelled.start();
    cancelled.cancel();
    cancelled.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(run).not.toHaveBeenCalled();
  });

  it("swallows the warm-up's failure (the first job meets and reports it)", async () => {
    const run = vi.fn(async () => {
      throw new Error("out of memory");
    });
    const warmUp = new IdleWarmUp(run, 10);
    warmUp.start();
    await vi.advanceTimersByTimeAsync(10);
    expect(run).toHaveBeenCalledTimes(1);
  });
});
