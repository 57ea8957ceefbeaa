import { describe, expect, it } from "vitest";
import { isVgg16Error } from "./errors";
import {
  baseName,
  isLocalModelUrl,
  isModelDrop,
  localModelUrl,
  matchShards,
  modelFileSet,
} from "./local-files";

const f = (name: string) => ({ name });

describe("which dropped files are a model", () => {
  it("images alone are not", () => {
    expect(isModelDrop([f("cat.jpg"), f("dog.png")])).toBe(false);
    expect(modelFileSet([])).toBeNull();
  });

  it("a .h5 file is (any case), and wins over a model.json", () => {
    const h5 = f("vgg16_weights_tf_dim_ordering_tf_kernels_notop.H5");
    expect(modelFileSet([f("a.jpg"), h5, f("model.json")])).toEqual({ kind: "h5", file: h5 });
    expect(isModelDrop([f("weights.hdf5")])).toBe(true);
  });

  it("a model.json (also as a folder path) is, with the other files as shard candidates", () => {
    const json = f("vgg16/model.json");
    const shard = f("vgg16/group1-shard1of1.bin");
    expect(modelFileSet([shard, json])).toEqual({ kind: "folder", modelJson: json, others: [shard] });
    expect(isModelDrop([f("other.json")])).toBe(false);
  });
});

describe("matching shards by base name", () => {
  const manifest = [{ paths: ["group1-shard1of2.bin", "sub/group1-shard2of2.bin"], weights: [] }];

  it("returns the files in manifest order, whatever their folder", () => {
    const a = f("x/group1-shard2of2.bin");
    const b = f("group1-shard1of2.bin");
    expect(matchShards("model.json", manifest, [a, f("notes.txt"), b])).toEqual([b, a]);
  });

  it("names every missing shard", () => {
    let caught: unknown;
    try {
      matchShards("my/model.json", manifest, [f("group1-shard1of2.bin")]);
    } catch (error) {
      caught = error;
    }
    expect(isVgg16Error(caught, "model-invalid")).toBe(true);
    expect((caught as Error).message).toContain("my/model.json");
    expect((caught as Error).message).toContain("1 of its 2 weight files");
    expect((caught as Error).message).toContain("group1-shard2of2.bin");
  });

  it("base names of both separators", () => {
    expect(baseName("a\\b\\c.bin")).toBe("c.bin");
    expect(baseName("c.bin")).toBe("c.bin");
  });
});

describe("local model URLs", () => {
  it("live under /__local-models__/<modelId>/ on the page's origin", () => {
    const url = localModelUrl("http://localhost:4173", "vgg16-notop-keras-abc-none");
    expect(url).toBe("http://localhost:4173/__local-models__/vgg16-notop-keras-abc-none/model.json");
    expect(isLocalModelUrl(url)).toBe(true);
    expect(isLocalModelUrl("http://localhost:4173/models/vgg16/model.json")).toBe(false);
    expect(isLocalModelUrl("not a url")).toBe(false);
  });
});
