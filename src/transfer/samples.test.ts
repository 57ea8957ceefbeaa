import { describe, expect, it } from "vitest";
import { badLabels, gatherFeatures, imagesPerSecond, memoryKey, sameClasses, splitRows } from "./samples";

describe("gatherFeatures", () => {
  const store = new Map<string, Float32Array>([
    ["a", Float32Array.of(1, 2, 3)],
    ["b", Float32Array.of(4, 5, 6)],
    ["short", Float32Array.of(7)],
  ]);
  const lookup = (hash: string) => store.get(hash);

  it("copies rows in sample order, with labels, duplicates allowed", () => {
    const g = gatherFeatures(
      [
        { contentHash: "b", label: 1 },
        { contentHash: "a", label: 0 },
        { contentHash: "b", label: 1 },
      ],
      lookup,
      3,
    );
    expect([...g.x]).toEqual([4, 5, 6, 1, 2, 3, 4, 5, 6]);
    expect([...g.labels]).toEqual([1, 0, 1]);
    expect(g.missing).toEqual([]);
    expect(g.wrongSize).toEqual([]);
  });

  it("names missing and wrong-size features once each", () => {
    const g = gatherFeatures(
      [
        { contentHash: "x", label: 0 },
        { contentHash: "x", label: 0 },
        { contentHash: "short", label: 1 },
        { contentHash: "a", label: 1 },
      ],
      lookup,
      3,
    );
    expect(g.missing).toEqual(["x"]);
    expect(g.wrongSize).toEqual(["short"]);
    expect([...g.x.subarray(9)]).toEqual([1, 2, 3]);
  });

  it("handles an empty split", () => {
    const g = gatherFeatures([], lookup, 3);
    expect(g.x.length).toBe(0);
    expect(g.labels.length).toBe(0);
  });
});

describe("helpers", () => {
  it("finds labels outside the classes", () => {
    expect(badLabels([{ label: 0 }, { label: 2 }, { label: 1.5 }, { label: -1 }], 2)).toEqual([
      "1:2",
      "2:1.5",
      "3:-1",
    ]);
    expect(badLabels([{ label: 1 }], 2)).toEqual([]);
  });

  it("computes images per second only from computed images", () => {
    expect(imagesPerSecond(0, 0)).toBe(0);
    expect(imagesPerSecond(0, 500)).toBe(0);
    expect(imagesPerSecond(4, 0)).toBe(0);
    expect(imagesPerSecond(4, 2000)).toBe(2);
  });

  it("compares classes in order", () => {
    expect(sameClasses(["cats", "dogs"], ["cats", "dogs"])).toBe(true);
    expect(sameClasses(["dogs", "cats"], ["cats", "dogs"])).toBe(false);
    expect(sameClasses(["cats"], ["cats", "dogs"])).toBe(false);
  });

  it("keys memory by model, preprocessing and content", () => {
    expect(memoryKey("m", "stretch", "h")).not.toBe(memoryKey("m", "center-crop", "h"));
    expect(memoryKey("m", "stretch", "h")).toBe(memoryKey("m", "stretch", "h"));
  });

  it("splits rows into independent copies", () => {
    const flat = Float32Array.of(1, 2, 3, 4, 5, 6);
    const rows = splitRows(flat, 2);
    expect(rows.map((r) => [...r])).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(rows[0]?.buffer).not.toBe(flat.buffer);
    expect(splitRows(flat, 0)).toEqual([]);
    expect(() => splitRows(flat, 4)).toThrow(RangeError);
  });
});
