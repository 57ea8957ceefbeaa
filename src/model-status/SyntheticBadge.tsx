import { useId } from "react";
import type { Vgg16Metadata } from "../model/metadata";

/** Impossible to miss: a synthetic model's predictions mean nothing. */
export function SyntheticBadge({ metadata }: { readonly metadata: Vgg16Metadata }) {
  const labelId = useId();
  const seed = metadata.source.kind === "synthetic" ? metadata.source.seed : undefined;
  return (
    <div role="note" className="synthetic" aria-labelledby={labelId}>
      <strong id={labelId} className="synthetic__badge">
        Synthetic weights
      </strong>
      <p>
        This model has VGG16's architecture but seeded random weights
        {seed === undefined ? "" : ` (seed ${seed})`}, not the ones trained on ImageNet. Its predictions are
        random and say nothing about your image. Use it to try the app; for real predictions get the ImageNet
        weights with <code>npm run weights -- fetch</code>.
      </p>
    </div>
  );
}
