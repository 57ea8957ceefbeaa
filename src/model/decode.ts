/** Top-k decoding like Keras' `decode_predictions`: (wnid, name, probability), descending. */
import type { ImagenetLabels } from "./labels";

export interface Prediction {
  readonly index: number;
  readonly wnid: string;
  readonly name: string;
  readonly probability: number;
}

/** Indices of the k largest values, descending; ties keep the lower index first. */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (best.length === k && v <= (values[best[k - 1] as number] as number)) continue;
    let j = best.length < k ? best.length : k - 1;
    while (j > 0 && (values[best[j - 1] as number] as number) < v) {
      best[j] = best[j - 1] as number;
      j--;
    }
    best[j] = i;
  }
  return best;
}

export function decodePredictions(
  probabilities: ArrayLike<number>,
  labels: ImagenetLabels,
  k = 5,
): Prediction[] {
  return topK(probabilities, k).map((index) => {
    const [wnid, name] = labels.classes[index] ?? ["", `class ${index}`];
    return { index, wnid, name, probability: probabilities[index] as number };
  });
}
