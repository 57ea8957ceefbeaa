/**
 * Opens a local Keras .h5 file with h5wasm's Node build (NODERAWFS: the file is
 * read from disk, not copied into the WASM heap), after checking that it is an
 * HDF5 file at all, so that a wrong file gets a clear message, not an HDF5 trace.
 */
import { open, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename } from "node:path";
import h5wasm from "h5wasm/node";
import { WeightsError } from "../../src/model/errors";
import { hasHdf5Signature } from "../../src/model/keras-h5";

const require = createRequire(import.meta.url);

export interface OpenedH5 {
  readonly file: InstanceType<typeof h5wasm.File>;
  readonly bytes: number;
  close(): void;
}

export async function openKerasH5(path: string): Promise<OpenedH5> {
  const name = basename(path);
  const info = await stat(path).catch((cause: unknown) => {
    throw new WeightsError("unreadable", `${path}: cannot read the file (${(cause as Error).message}).`, {
      file: name,
      cause,
    });
  });
  const head = new Uint8Array(2048);
  const handle = await open(path, "r");
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  if (info.size === 0 || !hasHdf5Signature(head)) {
    throw new WeightsError(
      "not-hdf5",
      `${name}: not an HDF5 file (${info.size === 0 ? "it is empty" : "no HDF5 signature"}). Expected a Keras weights file such as vgg16_weights_tf_dim_ordering_tf_kernels.h5.`,
      { file: name },
    );
  }
  await h5wasm.ready;
  // h5wasm does not throw when HDF5 cannot open a file: it prints HDF5's error
  // stack and returns a negative id. Capture that text to explain the failure.
  const { result: file, diagnostics } = captureStderr(() => {
    try {
      return new h5wasm.File(path, "r");
    } catch {
      return null;
    }
  });
  if (file === null || file.file_id < 0n) {
    const detail =
      /truncated file[^\n]*/.exec(diagnostics)?.[0] ?? /minor: ([^\n]*)\n?$/.exec(diagnostics.trim())?.[1];
    throw new WeightsError(
      "unreadable",
      `${name}: HDF5 cannot open this file: it is truncated or corrupt${detail ? ` (${detail.trim()})` : ""}.`,
      { file: name },
    );
  }
  return { file, bytes: info.size, close: () => file.close() };
}

/** h5wasm's Node build writes HDF5's diagnostics to fd 2 with fs.writeSync. */
function captureStderr<T>(run: () => T): { result: T; diagnostics: string } {
  const fs = require("node:fs") as typeof import("node:fs");
  const writeSync = fs.writeSync;
  let diagnostics = "";
  fs.writeSync = ((fd: number, data: string | NodeJS.ArrayBufferView, ...rest: unknown[]) => {
    if (fd !== 2) return (writeSync as (...args: unknown[]) => number)(fd, data, ...rest);
    if (typeof data === "string") {
      diagnostics += data;
      return Buffer.byteLength(data);
    }
    // writeSync(fd, buffer, offset?, length?)
    const offset = typeof rest[0] === "number" ? rest[0] : 0;
    const length = typeof rest[1] === "number" ? rest[1] : data.byteLength - offset;
    diagnostics += Buffer.from(data.buffer, data.byteOffset + offset, length).toString();
    return length;
  }) as typeof fs.writeSync;
  try {
    return { result: run(), diagnostics };
  } finally {
    fs.writeSync = writeSync;
  }
}
