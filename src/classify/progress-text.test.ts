import { describe, expect, it } from "vitest";
import { progressLine } from "./progress-text";

const job = (over: Partial<NonNullable<Parameters<typeof progressLine>[0]["job"]>> = {}) => ({
  done: 12,
  total: 18,
  failed: 0,
  elapsedMs: 3500,
  running: true,
  stopping: false,
  outcome: "running",
  error: null,
  ...over,
});

describe("progressLine", () => {
  it("counts, rates and estimates while running", () => {
    expect(progressLine({ job: job(), waiting: 0, modelReady: true })).toBe(
      "12 of 18 classified · 3.4 images/s · about 2 s left",
    );
    expect(progressLine({ job: job({ done: 0, elapsedMs: 10 }), waiting: 0, modelReady: true })).toBe(
      "0 of 18 classified",
    );
  });

  it("says when a model reload paused the job", () => {
    expect(
      progressLine({
        job: job({ running: false, outcome: "requeued", done: 0 }),
        waiting: 18,
        modelReady: false,
      }),
    ).toBe("Paused while the model reloads: 0 of 18 classified · 18 images waiting for the model");
  });

  it("says when it is stopping", () => {
    expect(progressLine({ job: job({ stopping: true }), waiting: 0, modelReady: true })).toBe(
      "Stopping after the current batch: 12 of 18 classified",
    );
  });

  it("summarizes finished, stopped and failed jobs", () => {
    expect(
      progressLine({
        job: job({ done: 18, running: false, outcome: "finished", elapsedMs: 5200, failed: 1 }),
        waiting: 0,
        modelReady: true,
      }),
    ).toBe("18 of 18 classified in 5.2 s · 3.5 images/s · 1 failed");
    expect(
      progressLine({ job: job({ running: false, outcome: "stopped" }), waiting: 0, modelReady: true }),
    ).toBe("Stopped: 12 of 18 classified");
    expect(
      progressLine({
        job: job({ running: false, outcome: "failed", error: "crashed" }),
        waiting: 0,
        modelReady: true,
      }),
    ).toBe("12 of 18 classified; the job failed: crashed");
  });

  it("mentions images waiting", () => {
    expect(progressLine({ job: null, waiting: 3, modelReady: false })).toBe("3 images waiting for the model");
    expect(progressLine({ job: null, waiting: 1, modelReady: true })).toBe("1 image queued");
    expect(progressLine({ job: null, waiting: 0, modelReady: true })).toBe("");
  });
});
