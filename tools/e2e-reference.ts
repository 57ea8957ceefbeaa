/**
 * The Node reference the browser e2e tests compare against: the e2e model run
 * on the shared photos with TF.js WASM in Node, decoded with pure-JS decoders
 * and preprocessed with the same shared function the app uses. Written next
 * to the model as reference.json and recomputed only when the model changes.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type * as tfType from "@tensorflow/tfjs";
import { topK } from "../src/model/decode";
import { readVgg16Metadata } from "../src/model/metadata";
import { preprocessForVgg16 } from "../src/preprocess/preprocess";
import { listPhotos, loadPhoto, missingSharedData } from "../tests/helpers/images";
import { loadGraphModelFromDir } from "../tests/helpers/tf-node";

const DECODER = "mozjpeg-wasm (=libjpeg-turbo) + pngjs";

export interface ReferenceFile {
  readonly modelId: string;
  /** How the reference decoded JPEGs; a change of decoder invalidates the file. */
  readonly decoder: string;
  readonly photos: Record<string, { readonly top5: ReadonlyArray<readonly [number, number]> }>;
}

export async function ensureReference(modelDir: string): Promise<string | null> {
  if (missingSharedData) {
    console.warn(`e2e reference: ${missingSharedData}`);
    return null;
  }
  const path = join(modelDir, "reference.json");
  const json = JSON.parse(await readFile(join(modelDir, "model.json"), "utf8"));
  const modelId = readVgg16Metadata(json.userDefinedMetadata)?.modelId;
  if (!modelId) throw new Error(`${modelDir}: no vgg16 metadata`);
  try {
    const existing = JSON.parse(await readFile(path, "utf8")) as ReferenceFile;
    if (existing.modelId === modelId && existing.decoder === DECODER) {
      console.log(`e2e reference: ${path} is up to date.`);
      return path;
    }
  } catch {
    // absent: compute it
  }
  const started = performance.now();
  const model = await loadGraphModelFromDir(modelDir);
  const tf = (await import("@tensorflow/tfjs")) as typeof tfType;
  const photos: ReferenceFile["photos"] = {};
  for (const name of listPhotos()) {
    const input = tf.tensor4d(preprocessForVgg16(await loadPhoto(name)), [1, 224, 224, 3]);
    const output = model.execute(input, "predictions") as tfType.Tensor;
    const probabilities = (await output.data()) as Float32Array;
    photos[name] = { top5: topK(probabilities, 5).map((i) => [i, probabilities[i] as number] as const) };
    tf.dispose([input, output]);
  }
  model.dispose();
  const reference: ReferenceFile = { modelId, decoder: DECODER, photos };
  await writeFile(path, JSON.stringify(reference, null, 1));
  console.log(
    `e2e reference: ${Object.keys(photos).length} photos in ${((performance.now() - started) / 1000).toFixed(1)} s → ${path}`,
  );
  return path;
}
