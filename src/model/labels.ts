/**
 * ImageNet class labels, index-aligned with VGG16's 1000 outputs. The Keras
 * file (`imagenet_class_index.json`, {"0": ["n01440764", "tench"], …}) gives
 * WordNet ids and names; without it we fall back to the names that
 * @tensorflow-models/mobilenet ships, in the same order, with empty wnids.
 */
import { IMAGENET_CLASSES } from "@tensorflow-models/mobilenet/dist/imagenet_classes.js";
import { WeightsError } from "./errors";
import { NUM_CLASSES } from "./vgg16-spec";

export interface ImagenetLabels {
  readonly source: string;
  /** [wnid, name] per class index; wnid is "" when the source has none. */
  readonly classes: ReadonlyArray<readonly [string, string]>;
}

export function parseClassIndex(json: unknown, source: string): ImagenetLabels {
  const fail = (why: string): never => {
    throw new WeightsError("bad-labels", `${source}: not a Keras imagenet_class_index.json (${why}).`, {
      file: source,
    });
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail("expected an object");
  const record = json as Record<string, unknown>;
  const classes: Array<readonly [string, string]> = [];
  for (let i = 0; i < NUM_CLASSES; i++) {
    const entry = record[String(i)];
    if (
      !Array.isArray(entry) ||
      entry.length !== 2 ||
      typeof entry[0] !== "string" ||
      typeof entry[1] !== "string"
    ) {
      fail(`entry "${i}" is missing or not [wnid, name]`);
    }
    const [wnid, name] = entry as [string, string];
    classes.push([wnid, name]);
  }
  if (Object.keys(record).length !== NUM_CLASSES) fail(`expected ${NUM_CLASSES} entries`);
  return { source, classes };
}

export function fallbackLabels(): ImagenetLabels {
  const classes: Array<readonly [string, string]> = [];
  for (let i = 0; i < NUM_CLASSES; i++) {
    const name = (IMAGENET_CLASSES as Record<number, string>)[i];
    if (name === undefined) throw new Error(`@tensorflow-models/mobilenet lacks class ${i}`);
    classes.push(["", name]);
  }
  return { source: "@tensorflow-models/mobilenet IMAGENET_CLASSES", classes };
}
