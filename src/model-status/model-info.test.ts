import { describe, expect, it } from "vitest";
import { vgg16ManifestWeights } from "../model/manifest-check";
import { modelIdFor, type Vgg16Metadata } from "../model/metadata";
import {
  describeModelJson,
  describeSource,
  fetchModelInfo,
  formatBytes,
  formatCount,
  modelUrlFromSearch,
  summarizeManifest,
} from "./model-info";

function metadata(overrides: Partial<Vgg16Metadata> = {}): Vgg16Metadata {
  return {
    schema: 1,
    architecture: "vgg16",
    modelId: modelIdFor({ kind: "synthetic", seed: 7 }, "uint8", true),
    includeTop: true,
    synthetic: true,
    source: { kind: "synthetic", seed: 7 },
    quantization: "uint8",
    params: { total: 138_357_544, convBase: 14_714_688 },
    preprocessing: {
      mode: "caffe",
      inputSize: 224,
      channelOrder: "BGR",
      mean: [103.939, 116.779, 123.68],
      resize: "nearest",
    },
    outputs: {},
    labels: null,
    convertedBy: "test",
    createdAt: "2025-01-01T00:00:00.000Z",
    ...overrides,
  };
}

const SMALL_WEIGHTS = [
  { name: "a/kernel", shape: [3, 3, 3, 64], dtype: "float32", quantization: { dtype: "float16" } },
  { name: "a/bias", shape: [64], dtype: "float32" },
  { name: "fc/kernel", shape: [10, 10], dtype: "float32", quantization: { dtype: "uint8", min: 0 } },
  { name: "flatten/shape", shape: [2], dtype: "int32" },
];

function modelJson(meta: unknown = metadata(), weights: unknown[] = vgg16ManifestWeights(true)) {
  return {
    format: "graph-model",
    modelTopology: { node: [] },
    weightsManifest: [{ paths: ["group1-shard1of2.bin", "group1-shard2of2.bin"], weights }],
    userDefinedMetadata: { vgg16: meta },
  };
}

const fakeFetch =
  (body: string, init: ResponseInit): typeof fetch =>
  async () =>
    new Response(body, init);

describe("model info", () => {
  it("picks ?model= or the default under the base", () => {
    expect(modelUrlFromSearch("")).toBe("/models/vgg16/model.json");
    expect(modelUrlFromSearch("?x=1", "/app")).toBe("/app/models/vgg16/model.json");
    expect(modelUrlFromSearch("?model=%2Fm%2Fmodel.json")).toBe("/m/model.json");
    expect(modelUrlFromSearch("?model=")).toBe("/models/vgg16/model.json");
  });

  it("sums stored bytes per dtype and counts shards", () => {
    expect(summarizeManifest(modelJson(metadata(), SMALL_WEIGHTS).weightsManifest)).toEqual({
      weightBytes: 3 * 3 * 3 * 64 * 2 + 64 * 4 + 100 + 2 * 4,
      shards: 2,
      tensors: 4,
    });
    expect(summarizeManifest([])).toHaveProperty("problems");
    expect(
      summarizeManifest([{ paths: [], weights: [{ name: "x", shape: [1], dtype: "complex64" }] }]),
    ).toEqual({ problems: ['Weight "x" has an unknown dtype "complex64".'] });
  });

  it("describes a valid model", () => {
    const info = describeModelJson(modelJson());
    expect(info.kind).toBe("found");
    if (info.kind !== "found") return;
    expect(info.facts.shards).toBe(2);
    expect(describeSource(info.facts.metadata)).toBe("synthetic, seed 7");
  });

  it("says what is wrong with foreign or broken model.json files", () => {
    expect(describeModelJson([1, 2])).toEqual({
      kind: "invalid",
      problems: ["It is JSON, but not an object."],
    });
    const noMeta = describeModelJson({ ...modelJson(), userDefinedMetadata: undefined });
    expect(noMeta.kind).toBe("invalid");
    expect(JSON.stringify(noMeta)).toContain("no VGG16 metadata");
    const badParams = describeModelJson(modelJson(metadata({ params: { total: 5, convBase: 5 } })));
    expect(JSON.stringify(badParams)).toContain("VGG16 with top has 138357544");
    const badQuant = describeModelJson(modelJson({ ...metadata(), quantization: "int4" }));
    expect(JSON.stringify(badQuant)).toContain("int4");
  });

  it("refuses a manifest that is not VGG16's, naming the layer", () => {
    const weights = vgg16ManifestWeights(true)
      .filter((w) => w.name !== "fc2/bias")
      .map((w) => (w.name === "block4_conv1/kernel" ? { ...w, shape: [3, 3, 256, 511] } : w));
    expect(describeModelJson(modelJson(metadata(), weights))).toEqual({
      kind: "invalid",
      problems: [
        'layer "block4_conv1": kernel has shape [3, 3, 256, 511], VGG16 expects [3, 3, 256, 512].',
        'layer "fc2": the weights manifest has no bias (fc2/bias).',
      ],
    });
  });

  it("tells missing from invalid when fetching", async () => {
    expect(await fetchModelInfo("/m.json", { fetch: fakeFetch("nope", { status: 404 }) })).toEqual({
      kind: "missing",
      reason: "the server answered 404.",
    });
    const html = await fetchModelInfo("/m.json", {
      fetch: fakeFetch("<!doctype html>", { status: 200, headers: { "content-type": "text/html" } }),
    });
    expect(html.kind).toBe("missing");
    const failing: typeof fetch = async () => {
      throw new TypeError("Failed to fetch");
    };
    expect(await fetchModelInfo("/m.json", { fetch: failing })).toEqual({
      kind: "missing",
      reason: "the request failed (Failed to fetch).",
    });
    const notJson = await fetchModelInfo("/m.json", { fetch: fakeFetch("{", { status: 200 }) });
    expect(notJson.kind).toBe("invalid");
    const ok = await fetchModelInfo("/m.json", {
      fetch: fakeFetch(JSON.stringify(modelJson()), { status: 200 }),
    });
    expect(ok.kind).toBe("found");
  });

  it("fetches model.json with CORS and no credentials, so another host never gets the user's cookies", async () => {
    const inits: Array<RequestInit | undefined> = [];
    const ok = fakeFetch(JSON.stringify(modelJson()), { status: 200 });
    const recording: typeof fetch = (input, init) => {
      inits.push(init);
      return ok(input, init);
    };
    expect((await fetchModelInfo("https://other.example/m/model.json", { fetch: recording })).kind).toBe(
      "found",
    );
    expect(inits).toHaveLength(1);
    expect(inits[0]?.credentials).toBe("omit");
    expect(inits[0]?.mode).toBe("cors");
    expect(inits[0]?.method ?? "GET").toBe("GET");
  });

  it("uses a cached model.json first, and the network when the copy is missing or unusable", async () => {
    const failing: typeof fetch = async () => {
      throw new TypeError("offline");
    };
    const cached = async () => new Response(JSON.stringify(modelJson()));
    expect((await fetchModelInfo("/m.json", { fetch: failing, cached })).kind).toBe("found");
    const broken = async () => new Response("{");
    expect(await fetchModelInfo("/m.json", { fetch: failing, cached: broken })).toEqual({
      kind: "missing",
      reason: "the request failed (offline).",
    });
    const absent = async () => undefined;
    const ok = fakeFetch(JSON.stringify(modelJson()), { status: 200 });
    expect((await fetchModelInfo("/m.json", { fetch: ok, cached: absent })).kind).toBe("found");
  });

  it("formats counts and sizes", () => {
    expect(formatCount(138_357_544)).toBe("138,357,544");
    expect(formatBytes(553_430_184)).toBe("527.8 MiB");
    expect(formatBytes(512)).toBe("512 bytes");
  });
});
