/**
 * TF.js for Node tests on the WASM backend (SIMD, XNNPACK): the same kernels
 * the browser uses, ~25× faster than the pure-JS CPU backend.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

let ready: Promise<typeof tf> | null = null;

export function tfWasm(): Promise<typeof tf> {
  ready ??= (async () => {
    if (!(await tf.setBackend("wasm"))) throw new Error("TF.js WASM backend failed to initialise");
    await tf.ready();
    return tf;
  })();
  return ready;
}

/**
 * Loads a model folder through TF.js' own HTTP IO handler, with a fetch that
 * reads from disk: model.json, the manifest's shard paths and dequantization
 * all go through the code path a browser uses.
 */
export async function loadGraphModelFromDir(dir: string): Promise<tf.GraphModel> {
  await tfWasm();
  const fetchFunc = async (url: string | URL | Request): Promise<Response> => {
    const path = new URL(String(url)).pathname.replace(/^\/model\//, "");
    const body = await readFile(join(dir, decodeURIComponent(path)));
    return new Response(body, { status: 200 });
  };
  return tf.loadGraphModel("http://localhost/model/model.json", { fetchFunc });
}
