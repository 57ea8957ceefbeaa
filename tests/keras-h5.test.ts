/**
 * The Keras reader and `convert` on good and broken files: layouts Keras
 * writes (nested, split layer_names, other layer names) are read; anything
 * else stops with an error naming the file and the layer, and leaves no
 * partial output. Uses notop-size files (58 MB) to stay fast; the full-size
 * path is proven in convert-parity.test.ts.
 */
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, open, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WeightsError } from "../src/model/errors";
import { readKerasVgg16, type Vgg16Weights } from "../src/model/keras-h5";
import { syntheticVgg16Weights } from "../src/model/synthetic";
import { convertCommand } from "../tools/weights/commands";
import { openKerasH5 } from "../tools/weights/open-h5";
import { type FakeKerasOptions, writeFakeKerasH5 } from "./helpers/fake-keras-h5";

let dir: string;
let weights: Vgg16Weights;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vgg16-h5-"));
  weights = syntheticVgg16Weights(11, false);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function fakeFile(name: string, options: FakeKerasOptions = {}): Promise<string> {
  const path = join(dir, name);
  await writeFakeKerasH5(path, weights, options);
  return path;
}

async function read(path: string): Promise<Vgg16Weights> {
  const h5 = await openKerasH5(path);
  try {
    return readKerasVgg16(h5.file, path.split("/").pop() as string);
  } finally {
    h5.close();
  }
}

async function rejection(promise: Promise<unknown>): Promise<WeightsError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WeightsError);
  return error as WeightsError;
}

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function expectSameWeights(got: Vgg16Weights): void {
  expect(got.includeTop).toBe(false);
  expect([...got.layers.keys()]).toEqual([...weights.layers.keys()]);
  for (const [name, w] of weights.layers) {
    const g = got.layers.get(name);
    // Byte comparison: vitest's deep equality takes a minute on 2.4M-element arrays.
    expect(
      g && Buffer.from(g.kernel.buffer, g.kernel.byteOffset, g.kernel.byteLength).equals(bytes(w.kernel)),
    ).toBe(true);
    expect(g && Buffer.from(g.bias.buffer, g.bias.byteOffset, g.bias.byteLength).equals(bytes(w.bias))).toBe(
      true,
    );
  }
}

describe("reading Keras layouts", () => {
  it("reads the legacy notop layout exactly (13 conv layers, kernel HWIO)", async () => {
    const got = await read(await fakeFile("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"));
    expectSameWeights(got);
    expect(got.layers.get("block5_conv3")?.kernel.length).toBe(3 * 3 * 512 * 512);
  });

  it("descends into /model_weights and joins layer_names0, layer_names1", async () => {
    expectSameWeights(
      await read(await fakeFile("nested.h5", { nestUnderModelWeights: true, splitLayerNames: true })),
    );
  });

  it("matches layers by order, as Keras does, when the file uses other layer names", async () => {
    expectSameWeights(await read(await fakeFile("renamed.h5", { renameLayers: true })));
  });
});

describe("rejecting what is not VGG16", () => {
  it("names the missing layer", async () => {
    const error = await rejection(read(await fakeFile("missing.h5", { dropLayer: "block3_conv2" })));
    expect(error.code).toBe("missing-layer");
    expect(error.layer).toBe("block3_conv2");
    expect(error.message).toContain("missing.h5");
    expect(error.message).toContain('layer "block3_conv2" is missing');
  });

  it("names the layer and both shapes on a shape mismatch", async () => {
    const error = await rejection(read(await fakeFile("shape.h5", { wrongShapeLayer: "block4_conv1" })));
    expect(error.code).toBe("shape-mismatch");
    expect(error.layer).toBe("block4_conv1");
    expect(error.message).toContain("shape.h5");
    expect(error.message).toContain("[4, 3, 256, 512]");
    expect(error.message).toContain("[3, 3, 256, 512]");
  });

  it("calls another network another network", async () => {
    const path = join(dir, "mnist.h5");
    await h5wasm.ready;
    const file = new h5wasm.File(path, "w");
    file.create_attribute("layer_names", ["dense_1", "dense_2"], null, "S7");
    for (const [name, shape] of [
      ["dense_1", [784, 128]],
      ["dense_2", [128, 10]],
    ] as const) {
      const g = file.create_group(name);
      g.create_attribute("weight_names", [`${name}/kernel:0`, `${name}/bias:0`], null, "S16");
      const sub = g.create_group(name);
      sub.create_dataset({
        name: "kernel:0",
        data: new Float32Array(shape[0] * shape[1]),
        shape: [...shape],
        dtype: "<f",
      });
      sub.create_dataset({
        name: "bias:0",
        data: new Float32Array(shape[1]),
        shape: [shape[1]],
        dtype: "<f",
      });
    }
    file.close();
    const error = await rejection(read(path));
    expect(error.code).toBe("not-vgg16");
    expect(error.message).toContain("mnist.h5: not VGG16");
    expect(error.message).toContain("dense_1, dense_2");
  });

  it("refuses a file that is not HDF5, and an empty one", async () => {
    const text = join(dir, "weights.h5");
    await writeFile(text, "this is not HDF5\n".repeat(100));
    const notHdf5 = await rejection(read(text));
    expect(notHdf5.code).toBe("not-hdf5");
    expect(notHdf5.message).toContain("weights.h5: not an HDF5 file");

    const empty = join(dir, "empty.h5");
    await writeFile(empty, "");
    const emptyError = await rejection(read(empty));
    expect(emptyError.code).toBe("not-hdf5");
    expect(emptyError.message).toContain("it is empty");
  });

  it("reports a truncated file with its real and expected size", async () => {
    const path = join(dir, "truncated.h5");
    await copyFile(await fakeFile("whole.h5"), path);
    await truncate(path, 20_000_000);
    const error = await rejection(read(path));
    expect(error.code).toBe("unreadable");
    expect(error.message).toContain("truncated.h5");
    expect(error.message).toMatch(/truncated file: eof = 20000000\b.*stored_eof = \d+/);
  });

  it("reports a file with damaged HDF5 structure as corrupt, naming the layer", async () => {
    const path = await fakeFile("corrupt.h5");
    const handle = await open(path, "r+");
    // Overwrite object headers past the superblock: the file opens, its layers do not read.
    await handle.write(Buffer.alloc(3000, 0xab), 0, 3000, 3000);
    await handle.close();
    const error = await rejection(read(path));
    expect(error.code).toBe("unreadable");
    expect(error.message).toMatch(/^corrupt\.h5: the HDF5 file is corrupt at layer "block\d_conv\d"/);
    expect(error.layer).toMatch(/^block\d_conv\d$/);
  });
});

describe("convert", () => {
  it("writes a features-only model for a _notop file", async () => {
    const out = join(dir, "out-notop");
    const result = await convertCommand(await fakeFile("vgg16_notop.h5"), { quantize: "none", out });
    const json = JSON.parse(await readFile(join(out, "model.json"), "utf8"));
    expect(Object.keys(json.signature.outputs)).toEqual([
      "features",
      "block1_pool",
      "block2_pool",
      "block3_pool",
      "block4_pool",
    ]);
    expect(result.metadata).toMatchObject({ includeTop: false, labels: null, synthetic: false });
    expect(result.metadata.params).toEqual({ total: 14_714_688, convBase: 14_714_688 });
    expect(result.metadata.source).toMatchObject({ kind: "keras-h5", file: "vgg16_notop.h5" });
    expect((result.metadata.source as { md5: string }).md5).toMatch(/^[0-9a-f]{32}$/);
    // 14,714,688 float32 + the int32 reshape is top-only → 58,858,752 bytes in 15 shards of 4 MiB.
    expect(json.weightsManifest[0].paths).toHaveLength(15);
  });

  it("leaves an existing model untouched and no temp folders when conversion fails", async () => {
    const out = join(dir, "models", "vgg16");
    await mkdir(out, { recursive: true });
    await writeFile(join(out, "model.json"), '{"previous":true}');
    const error = await rejection(
      convertCommand(await fakeFile("bad.h5", { wrongShapeLayer: "block2_conv1" }), {
        quantize: "float16",
        out,
      }),
    );
    expect(error.code).toBe("shape-mismatch");
    expect(await readFile(join(out, "model.json"), "utf8")).toBe('{"previous":true}');
    expect(await readdir(join(dir, "models"))).toEqual(["vgg16"]);
    expect(existsSync(join(out, "group1-shard1of8.bin"))).toBe(false);
  });
});
