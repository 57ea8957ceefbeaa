import { describe, expect, it } from "vitest";
import type { BackendInfo, LoadEvent, LoadedModel } from "../vgg16/api";
import {
  applyLoadEvent,
  backendFromSearch,
  cacheNote,
  describeBackend,
  describePhase,
  describeTimings,
  type LoadProgress,
  NO_PROGRESS,
  overallFraction,
  progressText,
  readyText,
} from "./load-progress";

const fold = (events: LoadEvent[]): LoadProgress => events.reduce(applyLoadEvent, NO_PROGRESS);

describe("load progress", () => {
  it("folds phase events and closes earlier phases", () => {
    const p = fold([
      { type: "cache", hit: false },
      {
        type: "phase",
        phase: "download",
        fraction: 0.5,
        loadedBytes: 250_000_000,
        totalBytes: 500_000_000,
        elapsedMs: 5000,
      },
      { type: "phase", phase: "upload", fraction: 0.25, elapsedMs: 300 },
    ]);
    expect(p.current).toBe("upload");
    expect(p.cacheHit).toBe(false);
    expect(p.phases.download).toMatchObject({ fraction: 1, done: true, loadedBytes: 250_000_000 });
    expect(p.phases.upload).toMatchObject({ fraction: 0.25, done: false });
    expect(overallFraction(p)).toBeCloseTo(0.7 + 0.05);
  });

  it("describes the download with MB, MB/s and time left", () => {
    const p = fold([
      {
        type: "phase",
        phase: "download",
        fraction: 0.25,
        loadedBytes: 138_000_000,
        totalBytes: 553_430_184,
        elapsedMs: 3000,
      },
    ]);
    expect(progressText(p)).toBe("Download: 138.0 of 553.4 MB, 46.0 MB/s, about 10 s left, 3.0 s");
    const done = applyLoadEvent(p, {
      type: "phase",
      phase: "download",
      fraction: 1,
      loadedBytes: 553_430_184,
      elapsedMs: 4100,
    });
    expect(describePhase("download", done.phases.download, true)).toBe(
      "Download: 553.4 of 553.4 MB, 135 MB/s, from the browser's cache, done in 4.1 s",
    );
  });

  it("describes upload and warm-up", () => {
    expect(describePhase("upload", undefined, null)).toBe("Weight upload: waiting");
    const p = fold([{ type: "phase", phase: "warmup", fraction: 0.4, elapsedMs: 1234 }]);
    expect(progressText(p)).toBe("Warm-up: 40%, 1.2 s");
    expect(progressText(NO_PROGRESS)).toBe("Starting…");
    // The WASM runner's: left to the first image, and the bar full.
    const deferred = fold([
      { type: "phase", phase: "download", fraction: 1, elapsedMs: 2000 },
      { type: "phase", phase: "upload", fraction: 1, elapsedMs: 50 },
      { type: "phase", phase: "warmup", fraction: 1, elapsedMs: 0, deferred: true },
    ]);
    expect(progressText(deferred)).toBe("Warm-up: with the first image");
    expect(overallFraction(deferred)).toBeCloseTo(1, 10);
  });

  it("counts time locally between the worker's start and end events", () => {
    const started = applyLoadEvent(
      NO_PROGRESS,
      { type: "phase", phase: "warmup", fraction: 0, elapsedMs: 0 },
      10_000,
    );
    expect(progressText(started, 13_500)).toBe("Warm-up: 3.5 s");
    const done = applyLoadEvent(
      started,
      { type: "phase", phase: "warmup", fraction: 1, elapsedMs: 5900 },
      15_900,
    );
    expect(done.phases.warmup?.seenAt).toBe(10_000);
    expect(progressText(done, 99_000)).toBe("Warm-up: done in 5.9 s");
  });

  it("notes when the download could not be cached", () => {
    const p = fold([
      { type: "cache", hit: false },
      { type: "cache", hit: false, stored: false, reason: "QuotaExceededError: full" },
    ]);
    expect(cacheNote(p)).toBe(
      "The weights could not be kept in the browser's cache (QuotaExceededError: full), so the next visit downloads them again.",
    );
    expect(cacheNote(fold([{ type: "cache", hit: false, stored: true }]))).toBeNull();
  });

  it("clamps odd fractions", () => {
    const p = fold([{ type: "phase", phase: "warmup", fraction: 7, elapsedMs: 1 }]);
    expect(p.phases.warmup?.fraction).toBe(1);
    expect(
      fold([{ type: "phase", phase: "warmup", fraction: Number.NaN, elapsedMs: 1 }]).phases.warmup?.fraction,
    ).toBe(0);
  });
});

describe("backend texts", () => {
  const wasm: BackendInfo = {
    name: "wasm",
    reason: "WASM, 2 threads, SIMD: no WebGPU adapter",
    threads: 2,
    simd: true,
  };

  it("reads ?backend=", () => {
    expect(backendFromSearch("")).toBe("auto");
    expect(backendFromSearch("?backend=WebGPU")).toBe("webgpu");
    expect(backendFromSearch("?backend=wasm&model=x")).toBe("wasm");
    expect(backendFromSearch("?backend=tpu")).toBe("auto");
  });

  it("says Ready with the backend and reason", () => {
    expect(readyText(wasm)).toBe("Ready — WASM, 2 threads, SIMD: no WebGPU adapter");
    expect(describeBackend({ ...wasm, name: "webgl", reason: "chosen with ?backend=webgl" })).toBe(
      "WebGL: chosen with ?backend=webgl",
    );
    expect(describeBackend({ ...wasm, name: "cpu", reason: " " })).toBe("CPU");
  });

  it("summarizes timings", () => {
    const model = {
      backend: wasm,
      fromCache: false,
      timings: { downloadMs: 4100, uploadMs: 1200, warmupMs: 3400, totalMs: 8700 },
    } as LoadedModel;
    expect(describeTimings(model, 553_430_184)).toBe(
      "Loaded in 8.7 s: download 4.1 s (135 MB/s), weight upload 1.2 s, warm-up 3.4 s",
    );
    expect(describeTimings({ ...model, fromCache: true }, null)).toBe(
      "Loaded in 8.7 s: read from the browser's cache 4100 ms, weight upload 1.2 s, warm-up 3.4 s",
    );
    // The WASM runner is ready without a warm-up.
    const runner = { ...model, fromCache: true, timings: { ...model.timings, warmupMs: null } };
    expect(describeTimings(runner, null)).toBe(
      "Loaded in 8.7 s: read from the browser's cache 4100 ms, weight upload 1.2 s, warm-up with the first image",
    );
  });
});
