/**
 * Writes graph-model artifacts to a folder atomically: everything goes to a
 * sibling temp folder first and is renamed into place only when complete, so
 * a failed or interrupted run never leaves a half-written model behind (and
 * never destroys the previous one).
 */
import { createHash } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { GraphModelArtifacts } from "../../src/model/graph-model";
import { readVgg16Metadata } from "../../src/model/metadata";

export interface WrittenModel {
  readonly dir: string;
  readonly modelJsonPath: string;
  readonly files: number;
  readonly bytes: number;
}

/**
 * model.json with every shard's size and SHA-256 in `userDefinedMetadata.vgg16.shards`, so the app can tell a
 * truncated or altered shard (from the server or from its own cache) from a good one.
 */
export function withShardDigests(artifacts: GraphModelArtifacts): GraphModelArtifacts["modelJson"] {
  const json = artifacts.modelJson;
  const meta = readVgg16Metadata(json.userDefinedMetadata);
  if (!meta) return json;
  const shards = artifacts.shards.map((shard) => ({
    bytes: shard.length,
    sha256: createHash("sha256").update(shard).digest("hex"),
  }));
  return { ...json, userDefinedMetadata: { ...json.userDefinedMetadata, vgg16: { ...meta, shards } } };
}

export async function writeModelDir(outDir: string, artifacts: GraphModelArtifacts): Promise<WrittenModel> {
  const dir = resolve(outDir);
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const temp = join(parent, `.${basename(dir)}.tmp-${process.pid}-${Date.now()}`);
  await mkdir(temp);
  try {
    const paths = artifacts.modelJson.weightsManifest[0]?.paths ?? [];
    if (paths.length !== artifacts.shards.length) {
      throw new Error(`manifest names ${paths.length} shards but ${artifacts.shards.length} were produced`);
    }
    let bytes = 0;
    for (const [i, shard] of artifacts.shards.entries()) {
      await writeFile(join(temp, paths[i] as string), shard);
      bytes += shard.length;
    }
    const json = JSON.stringify(withShardDigests(artifacts));
    await writeFile(join(temp, "model.json"), json);
    bytes += Buffer.byteLength(json);
    const old = `${temp}.old`;
    await rename(dir, old).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e;
    });
    await rename(temp, dir);
    await rm(old, { recursive: true, force: true });
    return { dir, modelJsonPath: join(dir, "model.json"), files: paths.length + 1, bytes };
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}
