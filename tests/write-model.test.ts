/**
 * writeModelDir records every shard's size and SHA-256 in model.json's
 * metadata: what the app checks downloaded and cached shards against.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import type { GraphModelArtifacts } from "../src/model/graph-model";
import { readVgg16Metadata } from "../src/model/metadata";
import { writeModelDir } from "../tools/weights/write-model";

let dir = "";
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("writes each shard's size and SHA-256 into userDefinedMetadata.vgg16.shards", async () => {
  dir = await mkdtemp(join(tmpdir(), "vgg16-write-model-"));
  const shards = [Uint8Array.from([1, 2, 3, 4]), Uint8Array.from([5, 6])];
  const artifacts = {
    modelJson: {
      format: "graph-model",
      modelTopology: { node: [] },
      weightsManifest: [{ paths: ["group1-shard1of2.bin", "group1-shard2of2.bin"], weights: [] }],
      userDefinedMetadata: { vgg16: { schema: 1, architecture: "vgg16", modelId: "m" } },
    },
    shards,
    weightBytes: 6,
  } as unknown as GraphModelArtifacts;
  const written = await writeModelDir(join(dir, "vgg16"), artifacts);
  const json = JSON.parse(await readFile(written.modelJsonPath, "utf8"));
  const meta = readVgg16Metadata(json.userDefinedMetadata);
  const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
  expect(meta?.shards).toEqual([
    { bytes: 4, sha256: sha(shards[0] as Uint8Array) },
    { bytes: 2, sha256: sha(shards[1] as Uint8Array) },
  ]);
  // The shards on disk are the ones described.
  expect(sha(await readFile(join(written.dir, "group1-shard2of2.bin")))).toBe(meta?.shards?.[1]?.sha256);
  // The artifacts themselves are left as they were.
  expect(readVgg16Metadata(artifacts.modelJson.userDefinedMetadata)?.shards).toBeUndefined();
});
