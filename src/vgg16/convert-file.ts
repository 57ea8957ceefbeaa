/**
 * In the worker: a Keras .h5 File → TF.js graph model artifacts, with the
 * shared conversion core (src/model/convert.ts) and h5wasm's ESM build. The
 * File is mounted with WORKERFS (read on demand, not copied into the WASM
 * heap); its md5 is computed in chunks with spark-md5.
 */
import h5wasm from "h5wasm";
import SparkMD5 from "spark-md5";
import { convertKerasH5 } from "../model/convert";
import { WeightsError } from "../model/errors";
import type { GraphModelArtifacts } from "../model/graph-model";
import { hasHdf5Signature } from "../model/keras-h5";
import { errorMessage, Vgg16Error } from "./errors";

const MD5_CHUNK = 8 * 1024 * 1024;

interface MinimalFS {
  filesystems: { WORKERFS: unknown };
  mkdir(path: string): void;
  mount(type: unknown, options: { files: File[] }, mountpoint: string): void;
  unmount(mountpoint: string): void;
  rmdir(path: string): void;
}

let mountCounter = 0;

/** md5 of a File, read in chunks; progress 0..1. */
export async function md5OfFile(file: Blob, onProgress?: (fraction: number) => void): Promise<string> {
  const spark = new SparkMD5.ArrayBuffer();
  for (let offset = 0; offset < file.size; offset += MD5_CHUNK) {
    spark.append(await file.slice(offset, offset + MD5_CHUNK).arrayBuffer());
    onProgress?.(Math.min(1, (offset + MD5_CHUNK) / file.size));
  }
  return spark.end();
}

/** WeightsError (names file and layer) → Vgg16Error "model-invalid" with the same message. */
function asVgg16Error(error: unknown, fileName: string): Vgg16Error {
  if (error instanceof Vgg16Error) return error;
  if (error instanceof WeightsError) return new Vgg16Error("model-invalid", error.message, { cause: error });
  return new Vgg16Error("model-invalid", `${fileName}: could not convert it (${errorMessage(error)})`, {
    cause: error,
  });
}

/**
 * Converts one Keras .h5 file (with or without the top) to float32 artifacts.
 * `onProgress(fraction)`: md5 is the first 20 %, the layers the rest.
 */
export async function convertH5File(
  file: File,
  onProgress: (fraction: number) => void,
): Promise<GraphModelArtifacts> {
  const head = new Uint8Array(await file.slice(0, 2048).arrayBuffer());
  if (file.size === 0 || !hasHdf5Signature(head)) {
    throw new Vgg16Error(
      "model-invalid",
      `${file.name}: not an HDF5 file (${file.size === 0 ? "it is empty" : "no HDF5 signature"}). Expected a Keras weights file such as vgg16_weights_tf_dim_ordering_tf_kernels.h5.`,
    );
  }
  const md5 = await md5OfFile(file, (f) => onProgress(0.2 * f));

  const module = (await h5wasm.ready) as unknown as { FS: MinimalFS };
  const { FS } = module;
  const dir = `/local-h5-${++mountCounter}`;
  FS.mkdir(dir);
  FS.mount(FS.filesystems.WORKERFS, { files: [file] }, dir);
  let h5: InstanceType<typeof h5wasm.File> | null = null;
  try {
    try {
      h5 = new h5wasm.File(`${dir}/${file.name}`, "r");
    } catch {
      h5 = null;
    }
    if (h5 === null || h5.file_id < 0n) {
      h5 = null;
      throw new Vgg16Error(
        "model-invalid",
        `${file.name}: not a readable HDF5 file (HDF5 cannot open it: truncated or corrupt).`,
      );
    }
    try {
      return convertKerasH5(
        h5,
        { name: file.name, md5, bytes: file.size },
        {
          quantization: "none",
          onLayer: (_layer, index, count) => onProgress(0.2 + (0.8 * (index + 1)) / count),
        },
      );
    } catch (error) {
      throw asVgg16Error(error, file.name);
    }
  } finally {
    try {
      h5?.close();
    } catch {
      // already closed
    }
    try {
      FS.unmount(dir);
      FS.rmdir(dir);
    } catch {
      // nothing mounted
    }
  }
}
