/**
 * Top-k decoding like Keras' decode_predictions, and the two label sources:
 * Keras' imagenet_class_index.json and the mobilenet fallback.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodePredictions, topK } from "../src/model/decode";
import { WeightsError } from "../src/model/errors";
import { fallbackLabels, type ImagenetLabels, parseClassIndex } from "../src/model/labels";
import { createRandom } from "../src/model/random";
import { CLASS_INDEX, missingSharedData } from "./helpers/images";

/** Reference: stable sort by value descending (ties: lower index first), first k. */
function referenceTopK(values: ArrayLike<number>, k: number): number[] {
  return Array.from(values, (v, i) => [v, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, k)
    .map(([, i]) => i);
}

function classIndexJson(count = 1000): Record<string, [string, string]> {
  const json: Record<string, [string, string]> = {};
  for (let i = 0; i < count; i++) json[String(i)] = [`n${String(i).padStart(8, "0")}`, `class_${i}`];
  return json;
}

function expectBadLabels(json: unknown, source: string, why: RegExp): void {
  let error: unknown;
  try {
    parseClassIndex(json, source);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(WeightsError);
  const e = error as WeightsError;
  expect(e.code).toBe("bad-labels");
  expect(e.file).toBe(source);
  expect(e.message).toContain(source);
  expect(e.message).toMatch(why);
}

describe("topK", () => {
  it("returns the indices of the k largest values, descending", () => {
    expect(topK([0.1, 0.5, 0.3, 0.05, 0.2], 3)).toEqual([1, 2, 4]);
    expect(topK(Float32Array.from([3, -1, 7, 2]), 2)).toEqual([2, 0]);
  });

  it("keeps the lower index first on ties, also at the cut-off", () => {
    expect(topK([0.1, 0.5, 0.3, 0.5, 0.2], 3)).toEqual([1, 3, 2]);
    expect(topK([1, 1, 1, 1], 2)).toEqual([0, 1]);
    expect(topK([0, 2, 1, 2, 2], 2)).toEqual([1, 3]);
  });

  it("returns every index, sorted, when k exceeds the length", () => {
    expect(topK([3, 1, 2], 10)).toEqual([0, 2, 1]);
    expect(topK([], 5)).toEqual([]);
    expect(topK([4, 9], 0)).toHaveLength(0);
  });

  it("agrees with a stable sort on random arrays with many ties", () => {
    const random = createRandom(11);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(random() * 60);
      const values = Array.from({ length: n }, () => Math.floor(random() * 8) - 3);
      const k = 1 + Math.floor(random() * 10);
      expect(topK(values, k), `values ${values.join(",")} k ${k}`).toEqual(referenceTopK(values, k));
    }
  });
});

describe("decodePredictions", () => {
  const probabilities = new Float32Array(1000);
  probabilities[0] = 0.05;
  probabilities[1] = 0.6;
  probabilities[999] = 0.2;
  probabilities[500] = 0.1;
  probabilities[42] = 0.03;
  probabilities[7] = 0.02;

  it("decodes the top 5 with fallbackLabels(), descending", () => {
    const labels = fallbackLabels();
    const top = decodePredictions(probabilities, labels);
    expect(top.map((p) => p.index)).toEqual([1, 999, 500, 0, 42]);
    expect(top[0]).toEqual({
      index: 1,
      wnid: "",
      name: labels.classes[1]?.[1],
      probability: probabilities[1],
    });
    expect(top[0]?.name).toMatch(/goldfish/);
    expect(top[3]?.name).toMatch(/tench/);
    for (let i = 1; i < top.length; i++) {
      expect(top[i]?.probability as number).toBeLessThanOrEqual(top[i - 1]?.probability as number);
    }
    expect(decodePredictions(probabilities, labels, 2).map((p) => p.index)).toEqual([1, 999]);
  });

  it("names a class the labels lack", () => {
    const labels: ImagenetLabels = { source: "tiny", classes: [["n0", "zero"]] };
    expect(decodePredictions([0.2, 0.8], labels, 2)).toEqual([
      { index: 1, wnid: "", name: "class 1", probability: 0.8 },
      { index: 0, wnid: "n0", name: "zero", probability: 0.2 },
    ]);
  });
});

describe("fallbackLabels", () => {
  it("has 1000 classes from mobilenet, no wnids", () => {
    const labels = fallbackLabels();
    expect(labels.classes).toHaveLength(1000);
    expect(labels.source).toMatch(/mobilenet/);
    expect(labels.classes.every(([wnid, name]) => wnid === "" && name.length > 0)).toBe(true);
    expect(labels.classes[0]?.[1]).toContain("tench");
    expect(labels.classes[999]?.[1]).toContain("toilet tissue");
  });
});

describe("parseClassIndex", () => {
  it("parses a well-formed index in class order", () => {
    const labels = parseClassIndex(classIndexJson(), "mem.json");
    expect(labels.source).toBe("mem.json");
    expect(labels.classes).toHaveLength(1000);
    expect(labels.classes[0]).toEqual(["n00000000", "class_0"]);
    expect(labels.classes[999]).toEqual(["n00000999", "class_999"]);
  });

  it("rejects 999 entries", () => {
    expectBadLabels(classIndexJson(999), "short.json", /entry "999"/);
  });

  it("rejects 1001 entries", () => {
    expectBadLabels(classIndexJson(1001), "long.json", /1000 entries/);
  });

  it("rejects a wrong entry shape", () => {
    const oneElement: Record<string, unknown> = classIndexJson();
    oneElement["5"] = ["n01"];
    expectBadLabels(oneElement, "shape.json", /entry "5"/);
    const numbers: Record<string, unknown> = classIndexJson();
    numbers["17"] = [17, "seventeen"];
    expectBadLabels(numbers, "numbers.json", /entry "17"/);
    const str: Record<string, unknown> = classIndexJson();
    str["0"] = "n01440764 tench";
    expectBadLabels(str, "string.json", /entry "0"/);
  });

  it("rejects an array and non-objects", () => {
    expectBadLabels(Object.values(classIndexJson()), "array.json", /expected an object/);
    expectBadLabels(null, "null.json", /expected an object/);
    expectBadLabels("tench", "string.json", /expected an object/);
  });
});

describe.skipIf(missingSharedData !== null)("Keras imagenet_class_index.json from shared data", () => {
  it("parses 1000 classes with wnids and decodes with them", () => {
    const labels = parseClassIndex(JSON.parse(readFileSync(CLASS_INDEX, "utf8")), CLASS_INDEX);
    expect(labels.source).toBe(CLASS_INDEX);
    expect(labels.classes).toHaveLength(1000);
    expect(labels.classes[0]).toEqual(["n01440764", "tench"]);
    expect(labels.classes[1]).toEqual(["n01443537", "goldfish"]);
    expect(labels.classes[999]).toEqual(["n15075141", "toilet_tissue"]);
    expect(new Set(labels.classes.map(([wnid]) => wnid)).size).toBe(1000);

    const probabilities = new Float32Array(1000);
    probabilities[999] = 0.7;
    probabilities[0] = 0.2;
    probabilities[1] = 0.1;
    const top = decodePredictions(probabilities, labels, 3);
    expect(top).toEqual([
      { index: 999, wnid: "n15075141", name: "toilet_tissue", probability: probabilities[999] },
      { index: 0, wnid: "n01440764", name: "tench", probability: probabilities[0] },
      { index: 1, wnid: "n01443537", name: "goldfish", probability: probabilities[1] },
    ]);
  });
});
