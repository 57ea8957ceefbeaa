/**
 * Does a weights manifest hold VGG16's weights? Checked before any shard is
 * downloaded, so a model.json that names another network (or a VGG16 with a
 * layer changed) is refused with the layer named, instead of failing deep in
 * TF.js after 553 MB of download.
 */
import { biasShape, kernelShape, sameShape, shapeText, weightedLayers } from "./vgg16-spec";

export interface ManifestWeight {
  readonly name: string;
  readonly shape: readonly number[];
}

/** One line per problem, each naming the layer; empty when every VGG16 kernel and bias is there with its shape. */
export function vgg16ManifestProblems(weights: readonly ManifestWeight[], includeTop: boolean): string[] {
  const byName = new Map(weights.map((w) => [w.name, w.shape]));
  const problems: string[] = [];
  for (const layer of weightedLayers(includeTop)) {
    for (const [part, expected] of [
      ["kernel", kernelShape(layer)],
      ["bias", biasShape(layer)],
    ] as const) {
      const shape = byName.get(`${layer.name}/${part}`);
      if (shape === undefined) {
        problems.push(`layer "${layer.name}": the weights manifest has no ${part} (${layer.name}/${part}).`);
      } else if (!sameShape(shape, expected)) {
        problems.push(
          `layer "${layer.name}": ${part} has shape ${shapeText(shape)}, VGG16 expects ${shapeText(expected)}.`,
        );
      }
    }
  }
  return problems;
}

/** VGG16's kernels and biases as float32 manifest entries, in the converter's order (for stand-in models). */
export function vgg16ManifestWeights(
  includeTop: boolean,
): Array<{ name: string; shape: number[]; dtype: "float32" }> {
  return weightedLayers(includeTop).flatMap((layer) => [
    { name: `${layer.name}/kernel`, shape: [...kernelShape(layer)], dtype: "float32" as const },
    { name: `${layer.name}/bias`, shape: [...biasShape(layer)], dtype: "float32" as const },
  ]);
}
