/**
 * Image decoding for Node tests and the e2e reference. JPEG goes through
 * MozJPEG compiled to WASM (@jsquash/jpeg, Squoosh's codec): its pixels are
 * identical to libjpeg-turbo's djpeg, which PIL (so Keras' load_img) and
 * Chromium both use — checked on the shared photos, max difference 0, where
 * the pure-JS jpeg-js differed by up to 46 levels. PNG via pngjs (16-bit
 * rescaled to 8). Also locates ../shared/data, and says loudly when it is
 * missing.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import decodeJpeg, { init as initJpeg } from "@jsquash/jpeg/decode.js";
import { PNG } from "pngjs";
import type { PixelImage } from "../../src/preprocess/preprocess";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** ../shared/data beside the checkout, or $VGG16_SHARED_DATA. */
export const SHARED_DATA = process.env.VGG16_SHARED_DATA ?? resolve(repoRoot, "../shared/data");
export const PHOTOS_DIR = join(SHARED_DATA, "photos");
export const CLASS_INDEX = join(SHARED_DATA, "imagenet_class_index.json");

export const missingSharedData = existsSync(PHOTOS_DIR)
  ? null
  : `SKIPPED: shared test photos not found at ${PHOTOS_DIR} (set VGG16_SHARED_DATA)`;

if (missingSharedData) console.warn(`\n*** ${missingSharedData} ***\n`);

let jpegReady: Promise<void> | null = null;

function jpegDecoder(): Promise<void> {
  // In Node the codec cannot fetch its .wasm by URL: compile it from disk.
  jpegReady ??= (async () => {
    const wasmPath = createRequire(import.meta.url).resolve("@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm");
    await initJpeg(await WebAssembly.compile(readFileSync(wasmPath)));
  })();
  return jpegReady;
}

export async function decodeImage(bytes: Uint8Array, name: string): Promise<PixelImage> {
  const ext = extname(name).toLowerCase();
  if (ext === ".png") {
    const png = PNG.sync.read(Buffer.from(bytes));
    return { width: png.width, height: png.height, channels: 4, data: png.data };
  }
  if (ext === ".jpg" || ext === ".jpeg") {
    await jpegDecoder();
    const copy = bytes.slice().buffer;
    const img = await decodeJpeg(copy);
    return { width: img.width, height: img.height, channels: 4, data: img.data };
  }
  throw new Error(`${name}: no decoder for ${ext}`);
}

export function listPhotos(): string[] {
  return readdirSync(PHOTOS_DIR)
    .filter((f) => /\.(png|jpe?g)$/i.test(f))
    .sort();
}

export function loadPhoto(name: string): Promise<PixelImage> {
  return decodeImage(readFileSync(join(PHOTOS_DIR, name)), name);
}
