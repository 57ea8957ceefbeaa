/**
 * Image decoding for Node tests (pure JS, deterministic): JPEG via jpeg-js,
 * PNG via pngjs (16-bit rescaled to 8). Also locates ../shared/data, and
 * says loudly when it is missing.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import jpeg from "jpeg-js";
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

export function decodeImage(bytes: Uint8Array, name: string): PixelImage {
  const ext = extname(name).toLowerCase();
  if (ext === ".png") {
    const png = PNG.sync.read(Buffer.from(bytes));
    return { width: png.width, height: png.height, channels: 4, data: png.data };
  }
  if (ext === ".jpg" || ext === ".jpeg") {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024 });
    return { width: img.width, height: img.height, channels: 3, data: img.data };
  }
  throw new Error(`${name}: no decoder for ${ext}`);
}

export function listPhotos(): string[] {
  return readdirSync(PHOTOS_DIR)
    .filter((f) => /\.(png|jpe?g)$/i.test(f))
    .sort();
}

export function loadPhoto(name: string): PixelImage {
  return decodeImage(readFileSync(join(PHOTOS_DIR, name)), name);
}
