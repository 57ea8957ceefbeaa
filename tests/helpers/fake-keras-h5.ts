/**
 * Writes Keras weight files with the real legacy layout (what
 * `vgg16_weights_tf_dim_ordering_tf_kernels*.h5` contain, per
 * ../shared/docs/vgg16-formats.md §1): root attribute `layer_names` (fixed
 * length byte strings), one group per layer with `weight_names`, datasets
 * `<layer>_W_1:0` / `<layer>_b_1:0` in float32, and an empty float64
 * `weight_names` for weightless layers. Options break it in specific ways so
 * tests can check every error path.
 */
import h5wasm from "h5wasm/node";
import type { Vgg16Weights } from "../../src/model/keras-h5";
import { biasShape, kernelShape, type Vgg16Layer, vgg16Layers } from "../../src/model/vgg16-spec";

export interface FakeKerasOptions {
  /** Nest everything under /model_weights as full-model saves do. */
  readonly nestUnderModelWeights?: boolean;
  /** Split layer_names into layer_names0, layer_names1 (Keras does past 64 KB). */
  readonly splitLayerNames?: boolean;
  /** Leave this layer out entirely. */
  readonly dropLayer?: string;
  /** Give this layer's kernel a wrong shape (first dimension + 1). */
  readonly wrongShapeLayer?: string;
  /** Use other layer names (conv2d_1, …) as files from other Keras versions do. */
  readonly renameLayers?: boolean;
}

function fileLayerName(layer: Vgg16Layer, i: number, options: FakeKerasOptions): string {
  return options.renameLayers ? `layer_${i}` : layer.name;
}

export async function writeFakeKerasH5(
  path: string,
  weights: Vgg16Weights,
  options: FakeKerasOptions = {},
): Promise<void> {
  await h5wasm.ready;
  const file = new h5wasm.File(path, "w");
  try {
    const root = options.nestUnderModelWeights ? file.create_group("model_weights") : file;
    const layers = [{ kind: "input", name: "input_1" } as const, ...vgg16Layers(weights.includeTop)].filter(
      (l) => l.name !== options.dropLayer,
    );
    const names = layers.map((l, i) => (l.kind === "input" ? l.name : fileLayerName(l, i, options)));
    const width = Math.max(...names.map((n) => n.length));
    if (options.splitLayerNames) {
      const half = Math.ceil(names.length / 2);
      root.create_attribute("layer_names0", names.slice(0, half), null, `S${width}`);
      root.create_attribute("layer_names1", names.slice(half), null, `S${width}`);
    } else {
      root.create_attribute("layer_names", names, null, `S${width}`);
    }
    if (!options.nestUnderModelWeights) {
      root.create_attribute("backend", "tensorflow", null, "S10");
      root.create_attribute("keras_version", "1.1.0", null, "S5");
    }
    layers.forEach((layer, i) => {
      const name = names[i] as string;
      const group = root.create_group(name);
      if (layer.kind !== "conv" && layer.kind !== "dense") {
        group.create_attribute("weight_names", new Float64Array(0), [0], "<d");
        return;
      }
      const w = weights.layers.get(layer.name);
      if (!w) throw new Error(`no weights for ${layer.name}`);
      const kShape = [...kernelShape(layer)];
      let kernel = w.kernel;
      if (options.wrongShapeLayer === layer.name) {
        kShape[0] = (kShape[0] as number) + 1;
        kernel = new Float32Array(kShape.reduce((a, b) => a * b, 1));
      }
      const weightNames = [`${name}_W_1:0`, `${name}_b_1:0`];
      group.create_attribute("weight_names", weightNames, null, `S${weightNames[0]?.length}`);
      group.create_dataset({ name: weightNames[0] as string, data: kernel, shape: kShape, dtype: "<f" });
      group.create_dataset({
        name: weightNames[1] as string,
        data: w.bias,
        shape: [...biasShape(layer)],
        dtype: "<f",
      });
    });
    file.flush();
  } finally {
    file.close();
  }
}
