import { describe, expect, it } from "vitest";
import type { ImageResult } from "../vgg16/api";
import {
  addItems,
  applyResult,
  type ClassifyState,
  countByStatus,
  EMPTY,
  endJob,
  isRunning,
  type NewItem,
  removedThumbnails,
  removeItems,
  requeueStopped,
  startJob,
  stopJob,
  stopQueued,
  summarizeJob,
  waitingIds,
} from "./state";

const blob = new Blob(["x"], { type: "image/jpeg" });
const newItem = (id: string): NewItem => ({
  id,
  name: `${id}.jpg`,
  path: `${id}.jpg`,
  blob,
  thumbnailUrl: `blob:${id}`,
});
const ok = (id: string): ImageResult => ({
  id,
  name: `${id}.jpg`,
  ok: true,
  top5: [{ index: 1, wnid: "n01", name: "goldfish", probability: 0.5 }],
  ms: 812,
  width: 640,
  height: 480,
});
const bad = (id: string): ImageResult => ({ id, name: `${id}.jpg`, ok: false, error: "not an image" });

const statuses = (s: ClassifyState) => s.order.map((id) => `${id}:${s.items[id]?.status}`);

function withItems(...ids: string[]): ClassifyState {
  return addItems(EMPTY, ids.map(newItem));
}

describe("classify state", () => {
  it("adds items in insertion order and ignores duplicate ids", () => {
    let s = withItems("a", "b");
    s = addItems(s, [newItem("c"), newItem("a")]);
    expect(s.order).toEqual(["a", "b", "c"]);
    expect(statuses(s)).toEqual(["a:waiting", "b:waiting", "c:waiting"]);
    expect(addItems(s, [])).toBe(s);
  });

  it("starts a job with the waiting items and marks the first batch classifying", () => {
    const s = startJob(withItems("a", "b", "c", "d", "e"), {
      id: "j1",
      batchSize: 2,
      synthetic: true,
      now: 1000,
    });
    expect(isRunning(s)).toBe(true);
    expect(s.job).toMatchObject({ id: "j1", total: 5, done: 0, startedAt: 1000, outcome: "running" });
    expect(statuses(s)).toEqual(["a:classifying", "b:classifying", "c:waiting", "d:waiting", "e:waiting"]);
    expect(waitingIds(s)).toEqual([]);
    // A second start while running changes nothing.
    expect(
      startJob(addItems(s, [newItem("f")]), { id: "j2", batchSize: 2, synthetic: false, now: 2000 }).job?.id,
    ).toBe("j1");
  });

  it("does not start without waiting items", () => {
    expect(startJob(EMPTY, { id: "j", batchSize: 4, synthetic: false, now: 0 })).toBe(EMPTY);
  });

  it("streams results and promotes the next batch when one completes", () => {
    let s = startJob(withItems("a", "b", "c"), { id: "j1", batchSize: 2, synthetic: true, now: 0 });
    s = applyResult(s, ok("a"));
    expect(statuses(s)).toEqual(["a:done", "b:classifying", "c:waiting"]);
    s = applyResult(s, bad("b"));
    expect(statuses(s)).toEqual(["a:done", "b:failed", "c:classifying"]);
    expect(s.items.a).toMatchObject({ ms: 812, width: 640, synthetic: true, error: null });
    expect(s.items.a?.top5).toHaveLength(1);
    expect(s.items.b?.error).toBe("not an image");
    expect(s.job).toMatchObject({ done: 2, failed: 1 });
    // Duplicates and unknown ids are ignored.
    expect(applyResult(s, ok("a"))).toBe(s);
    expect(applyResult(s, ok("zzz"))).toBe(s);
    s = applyResult(s, ok("c"));
    s = endJob(s, "j1", { kind: "finished" }, 5000);
    expect(s.job).toMatchObject({ outcome: "finished", done: 3, failed: 1, finishedAt: 5000 });
    expect(summarizeJob(s.job ?? (null as never), 99_999)).toEqual({
      done: 3,
      total: 3,
      failed: 1,
      elapsedMs: 5000,
      running: false,
      stopping: false,
    });
    expect(countByStatus(s)).toEqual({ waiting: 0, classifying: 0, done: 2, failed: 1, stopped: 0 });
  });

  it("fails leftovers when the worker finishes without their results", () => {
    let s = startJob(withItems("a", "b"), { id: "j1", batchSize: 8, synthetic: false, now: 0 });
    s = applyResult(s, ok("a"));
    s = endJob(s, "j1", { kind: "finished" }, 10);
    expect(statuses(s)).toEqual(["a:done", "b:failed"]);
    expect(s.job).toMatchObject({ done: 2, failed: 1 });
  });

  it("stops: leftovers are stopped, late results ignored, and can be queued again", () => {
    let s = startJob(withItems("a", "b", "c"), { id: "j1", batchSize: 1, synthetic: false, now: 0 });
    s = applyResult(s, ok("a"));
    s = endJob(s, "j1", { kind: "stopped" }, 10);
    expect(statuses(s)).toEqual(["a:done", "b:stopped", "c:stopped"]);
    expect(s.job?.outcome).toBe("stopped");
    expect(applyResult(s, ok("b"))).toBe(s);
    expect(endJob(s, "j1", { kind: "finished" }, 20)).toBe(s);
    s = requeueStopped(s);
    expect(waitingIds(s)).toEqual(["b", "c"]);
  });

  it("stops between batches: the batch in flight still reports", () => {
    let s = startJob(withItems("a", "b", "c"), { id: "j1", batchSize: 2, synthetic: false, now: 0 });
    s = stopJob(s, "j1");
    expect(statuses(s)).toEqual(["a:classifying", "b:classifying", "c:stopped"]);
    expect(s.job).toMatchObject({ stopping: true, outcome: "running" });
    expect(stopJob(s, "j1")).toBe(s);
    s = applyResult(s, ok("a"));
    // No next batch is promoted while stopping.
    expect(statuses(s)).toEqual(["a:done", "b:classifying", "c:stopped"]);
    s = endJob(s, "j1", { kind: "stopped" }, 10);
    expect(statuses(s)).toEqual(["a:done", "b:stopped", "c:stopped"]);
    expect(s.job).toMatchObject({ outcome: "stopped", done: 1 });
  });

  it("stop also holds back items queued behind the job", () => {
    let s = startJob(withItems("a"), { id: "j1", batchSize: 1, synthetic: false, now: 0 });
    s = addItems(s, [newItem("b")]);
    s = stopQueued(endJob(s, "j1", { kind: "stopped" }, 10));
    expect(statuses(s)).toEqual(["a:stopped", "b:stopped"]);
    expect(stopQueued(s)).toBe(s);
  });

  it("requeues everything unfinished when the model reloads", () => {
    let s = startJob(withItems("a", "b"), { id: "j1", batchSize: 1, synthetic: false, now: 0 });
    s = endJob(s, "j1", { kind: "requeue" }, 10);
    expect(waitingIds(s)).toEqual(["a", "b"]);
    expect(s.job?.outcome).toBe("requeued");
    s = startJob(s, { id: "j2", batchSize: 1, synthetic: false, now: 20 });
    expect(s.job).toMatchObject({ id: "j2", total: 2 });
  });

  it("on a crash fails the batch in flight and requeues the rest", () => {
    let s = startJob(withItems("a", "b", "c"), { id: "j1", batchSize: 2, synthetic: false, now: 0 });
    s = endJob(s, "j1", { kind: "failed", message: "The worker crashed." }, 10);
    expect(statuses(s)).toEqual(["a:failed", "b:failed", "c:waiting"]);
    expect(s.items.a?.error).toBe("The worker crashed.");
    expect(s.job).toMatchObject({ outcome: "failed", failed: 2, done: 2, error: "The worker crashed." });
    expect(waitingIds(s)).toEqual(["c"]);
  });

  it("removes items and lists the thumbnails to revoke", () => {
    const before = withItems("a", "b", "c");
    const after = removeItems(before, ["a", "c", "nope"]);
    expect(after.order).toEqual(["b"]);
    expect(removedThumbnails(before, after)).toEqual(["blob:a", "blob:c"]);
    expect(removeItems(after, ["nope"])).toBe(after);
  });
});
