import { describe, expect, it } from "vitest";
import {
  counts,
  datasetFromClasses,
  detectLayout,
  labelledFiles,
  seededSplit,
} from "../src/transfer/dataset";

/** Mirrors ../shared/data/dogs-vs-cats: train 1–100, validation 101–150, test 151–200 per class. */
function dogsVsCatsPaths(root = "dogs-vs-cats"): string[] {
  const ranges = { train: [1, 100], validation: [101, 150], test: [151, 200] } as const;
  const paths: string[] = [];
  for (const [split, [from, to]] of Object.entries(ranges)) {
    for (const [dir, prefix] of [
      ["dogs", "dog"],
      ["cats", "cat"],
    ]) {
      for (let i = to; i >= from; i--) paths.push(`${root}/${split}/${dir}/${prefix}.${i}.jpg`);
    }
  }
  return paths;
}

describe("detectLayout", () => {
  it("recognises the dogs-vs-cats folder, with junk and a misplaced image left out", () => {
    const paths = [
      ...dogsVsCatsPaths(),
      "dogs-vs-cats/.DS_Store",
      "dogs-vs-cats/train/cats/.DS_Store",
      "__MACOSX/dogs-vs-cats/train/cats/._cat.1.jpg",
      "dogs-vs-cats/README.txt",
      "dogs-vs-cats/train/cat.999.jpg", // wrong depth: in a split, not in a class
    ];
    const ds = detectLayout(paths);
    expect(ds).not.toBeNull();
    if (!ds) return;
    expect(ds.source).toBe("directory");
    expect(ds.root).toBe("dogs-vs-cats");
    expect(ds.classes).toEqual(["cats", "dogs"]); // Keras: sorted, cats = 0
    const c = counts(ds);
    expect(c.perSplit).toEqual({ train: [100, 100], validation: [50, 50], test: [50, 50] });
    expect(c.splitTotals).toEqual({ train: 200, validation: 100, test: 100 });
    expect(c.classTotals).toEqual([200, 200]);
    expect(c.total).toBe(400);
    // Sorted like Python's sorted(): code points, so cat.10 < cat.100 < cat.11.
    expect(ds.files.train[0]?.slice(0, 4)).toEqual([
      "dogs-vs-cats/train/cats/cat.1.jpg",
      "dogs-vs-cats/train/cats/cat.10.jpg",
      "dogs-vs-cats/train/cats/cat.100.jpg",
      "dogs-vs-cats/train/cats/cat.11.jpg",
    ]);
    expect(ds.ignored).toEqual([
      { path: "dogs-vs-cats/.DS_Store", reason: "junk" },
      { path: "dogs-vs-cats/train/cats/.DS_Store", reason: "junk" },
      { path: "__MACOSX/dogs-vs-cats/train/cats/._cat.1.jpg", reason: "junk" },
      { path: "dogs-vs-cats/README.txt", reason: "not-an-image" },
      { path: "dogs-vs-cats/train/cat.999.jpg", reason: "outside-class-folder" },
    ]);
    const test = labelledFiles(ds, "test");
    expect(test).toHaveLength(100);
    expect(test[0]).toEqual({ path: "dogs-vs-cats/test/cats/cat.151.jpg", label: 0 });
    expect(test[99]?.label).toBe(1);
  });

  it("accepts val/valid aliases, Windows separators, a bare root, and Keras' recursion into class folders", () => {
    const ds = detectLayout([
      "train\\a\\1.png",
      "train/b/2.PNG",
      "train/b/nested/3.jpeg",
      "val/a/4.jpg",
      "valid/b/5.jpg",
      "test/c/6.webp",
    ]);
    expect(ds?.root).toBe("");
    expect(ds?.classes).toEqual(["a", "b", "c"]);
    expect(ds?.files.train).toEqual([["train\\a\\1.png"], ["train/b/2.PNG", "train/b/nested/3.jpeg"], []]);
    expect(ds?.files.validation).toEqual([["val/a/4.jpg"], ["valid/b/5.jpg"], []]);
    expect(ds?.files.test).toEqual([[], [], ["test/c/6.webp"]]);
  });

  it("picks the root with most images when other folders come along", () => {
    const ds = detectLayout([...dogsVsCatsPaths("data/dvc"), "other/train/x/1.jpg", "loose.jpg"]);
    expect(ds?.root).toBe("data/dvc");
    expect(ds?.ignored).toEqual([
      { path: "other/train/x/1.jpg", reason: "outside-dataset" },
      { path: "loose.jpg", reason: "outside-dataset" },
    ]);
  });

  it("returns null without a train split of class folders", () => {
    expect(detectLayout([])).toBeNull();
    expect(detectLayout(["cats/cat.1.jpg", "dogs/dog.1.jpg"])).toBeNull();
    expect(detectLayout(["test/cats/cat.1.jpg"])).toBeNull();
    expect(detectLayout(["train/cat.1.jpg", "train/notes.txt"])).toBeNull();
  });
});

describe("seededSplit", () => {
  const items = Array.from({ length: 1000 }, (_, i) => `img-${i}.jpg`);

  it("gives exact 60/20/20 proportions with no overlap or loss", () => {
    const s = seededSplit(items, { seed: 42 });
    expect([s.train.length, s.validation.length, s.test.length]).toEqual([600, 200, 200]);
    expect(new Set([...s.train, ...s.validation, ...s.test]).size).toBe(1000);
    const custom = seededSplit(items, { seed: 42, validation: 0.25, test: 0.1 });
    expect([custom.train.length, custom.validation.length, custom.test.length]).toEqual([650, 250, 100]);
  });

  it("is deterministic, independent of input order, and changes with the seed", () => {
    const a = seededSplit(items, { seed: 7 });
    const b = seededSplit([...items].reverse(), { seed: 7 });
    expect(new Set(b.test)).toEqual(new Set(a.test));
    expect(new Set(b.validation)).toEqual(new Set(a.validation));
    expect(seededSplit(items, { seed: 7 })).toEqual(a);
    const c = seededSplit(items, { seed: 8 });
    expect(c.test).not.toEqual(a.test);
    // Neither the first nor the last items: it's a shuffle, not a slice.
    expect(a.test.filter((x) => Number(x.slice(4, -4)) < 200).length).toBeLessThan(100);
  });

  it("adding one item moves at most one other item between splits", () => {
    const before = seededSplit(items, { seed: 3 });
    const after = seededSplit([...items, "img-new.jpg"], { seed: 3 });
    const splitOf = (s: typeof before, x: string) =>
      s.train.includes(x) ? "train" : s.validation.includes(x) ? "validation" : "test";
    const moved = items.filter((x) => splitOf(before, x) !== splitOf(after, x));
    expect(moved.length).toBeLessThanOrEqual(2);
  });

  it("keeps at least one training item for tiny classes and uses key() for objects", () => {
    expect(seededSplit(["a"], { seed: 1 })).toEqual({ train: ["a"], validation: [], test: [] });
    const two = seededSplit(["a", "b"], { seed: 1 });
    expect(two.train.length).toBeGreaterThanOrEqual(1);
    const objs = items.slice(0, 10).map((name) => ({ name }));
    const s = seededSplit(objs, { seed: 5, key: (o) => o.name });
    expect([s.train.length, s.validation.length, s.test.length]).toEqual([6, 2, 2]);
    expect(() => seededSplit(items, { seed: 1, validation: 0.5, test: 0.5 })).toThrow(RangeError);
  });

  it("datasetFromClasses splits each class on its own", () => {
    const ds = datasetFromClasses(
      { dogs: items.slice(0, 50), cats: items.slice(50, 150) },
      { seed: 11, validation: 0.2, test: 0.2 },
    );
    expect(ds.classes).toEqual(["cats", "dogs"]);
    expect(counts(ds).perSplit).toEqual({ train: [60, 30], validation: [20, 10], test: [20, 10] });
    expect(ds).toEqual(
      datasetFromClasses({ cats: items.slice(50, 150), dogs: items.slice(0, 50) }, { seed: 11 }),
    );
  });
});
