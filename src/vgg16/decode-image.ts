/**
 * Blob → VGG16 input, off the main thread (in the worker): createImageBitmap
 * (EXIF orientation applied), an OffscreenCanvas, getImageData, then the
 * Keras-exact preprocessing. Bounded: a file over MAX_BLOB_BYTES is refused
 * before decoding, an image over MAX_PIXELS right after.
 *
 * Huge images are decoded at a reduced size: the size is read from the
 * file's header first (image-header.ts, no pixels), and an image over
 * MAX_FULL_DECODE_PIXELS is asked of createImageBitmap with resizeWidth /
 * resizeHeight so that at most REDUCED_LONG_SIDE pixels on its long side
 * reach this code (an 8000×6000 photo becomes 2048×1536, 12.6 MB of RGBA
 * instead of 192 MB as a bitmap, again on the canvas, and again in
 * getImageData). Keras parity: for those images only, VGG16's 224×224 input
 * is sampled (PIL NEAREST, as always) from Chromium's downscaled picture
 * instead of the original pixels, so the top-5 can differ slightly from
 * Keras' on the same file; images up to 16.7 megapixels (4096×4096, every
 * phone camera up to 16 MP) are decoded at full size and stay Keras-exact.
 *
 * Colours are taken as stored (colorSpaceConversion "none"), as Keras' PIL
 * loader does: it ignores embedded ICC profiles.
 */
import { preprocessForVgg16, type ResizeMode } from "../preprocess/preprocess";
import {
  formatName,
  type ImageHeader,
  jpegLooksTruncated,
  readImageHeader,
  shownSize,
  sniffFormat,
} from "./image-header";

export const MAX_BLOB_BYTES = 64 * 1024 * 1024;
export const MAX_PIXELS = 50_000_000;
/** Above this many pixels (by the file's header) an image is decoded at a reduced size. */
export const MAX_FULL_DECODE_PIXELS = 4096 * 4096;
/** Refused from the header alone: Chromium cannot decode past 2^29 pixels, reduced or not. */
export const MAX_HEADER_PIXELS = 500_000_000;
/** The long side of a huge image once decoded at a reduced size. */
export const REDUCED_LONG_SIDE = 2048;
/** How much of a file is read for its header: the JPEG frame header follows APP segments of ≤ 64 kB each. */
const HEADER_BYTES = 512 * 1024;

export type DecodedInput =
  | {
      readonly ok: true;
      /** [224, 224, 3] float32, BGR minus the ImageNet mean. */
      readonly input: Float32Array;
      readonly width: number;
      readonly height: number;
      readonly decodeMs: number;
    }
  | { readonly ok: false; readonly error: string };

const MB = 1024 * 1024;

/** Why a blob is refused before decoding, or null. Pure; exported for tests. */
export function precheckBlob(size: number): string | null {
  if (size === 0) return "the file is empty (0 bytes)";
  if (size > MAX_BLOB_BYTES) return `too large to decode safely (${(size / MB).toFixed(1)} MB)`;
  return null;
}

/** Why decoded dimensions are refused, or null. Pure; exported for tests. */
export function checkDimensions(width: number, height: number): string | null {
  if (width < 1 || height < 1) return `not a decodable image (no pixels: ${width}×${height})`;
  if (width * height > MAX_PIXELS) return `too large to decode safely (${width}×${height})`;
  return null;
}

/**
 * The size to decode an image at, shown orientation (width, height), or null for its full size: an image
 * over MAX_FULL_DECODE_PIXELS is scaled to REDUCED_LONG_SIDE on its long side, keeping its aspect ratio.
 * Pure; exported for tests.
 */
export function reducedSize(header: ImageHeader): { width: number; height: number } | null {
  const { width, height } = shownSize(header);
  if (width * height <= MAX_FULL_DECODE_PIXELS) return null;
  const scale = REDUCED_LONG_SIDE / Math.max(width, height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** Why the browser could not decode a file, in words a user understands. Pure; exported for tests. */
export function undecodableMessage(head: Uint8Array, tail: Uint8Array, reason: string): string {
  const format = sniffFormat(head);
  if (format === null) {
    return "this is not an image: its contents are not in any picture format (JPEG, PNG, GIF, WebP, BMP, AVIF, SVG)";
  }
  if (format === "jpeg" && jpegLooksTruncated(tail)) {
    return `the JPEG file is cut off: it ends before the end of the picture (incomplete download or copy?) (${reason})`;
  }
  return `the ${formatName(format)} file is damaged or uses a feature this browser cannot decode (${reason})`;
}

function reasonOf(error: unknown): string {
  if (error instanceof Error || error instanceof DOMException) return error.message || error.name;
  return String(error);
}

let canvas: OffscreenCanvas | null = null;
let context: OffscreenCanvasRenderingContext2D | null = null;

function drawingContext(width: number, height: number): OffscreenCanvasRenderingContext2D {
  if (!canvas || !context) {
    canvas = new OffscreenCanvas(width, height);
    context = canvas.getContext("2d", { willReadFrequently: true });
    if (!context) throw new Error("no 2D context on OffscreenCanvas");
  } else {
    canvas.width = width;
    canvas.height = height;
  }
  return context;
}

/** Shrinks the shared canvas so a big image's pixels are not kept between jobs. */
export function releaseDecodeCanvas(): void {
  if (canvas) {
    canvas.width = 1;
    canvas.height = 1;
  }
}

/**
 * decodeForVgg16 over several files, `concurrency` at a time, results in
 * input order. Chromium decodes each file on its own threads while this one
 * waits, so a batch decodes in about half the time on two cores. Safe with
 * the shared canvas: each call uses it only in the synchronous stretch after
 * its bitmap arrives (draw, read, preprocess), which no other call can enter.
 */
export async function decodeAllForVgg16(
  blobs: readonly Blob[],
  resize: ResizeMode,
  concurrency = 4,
): Promise<DecodedInput[]> {
  const results: DecodedInput[] = new Array(blobs.length);
  let next = 0;
  const lane = async () => {
    while (next < blobs.length) {
      const i = next++;
      results[i] = await decodeForVgg16(blobs[i] as Blob, resize);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, blobs.length) }, lane));
  return results;
}

export async function decodeForVgg16(blob: Blob, resize: ResizeMode): Promise<DecodedInput> {
  const started = performance.now();
  const refused = precheckBlob(blob.size);
  if (refused) return { ok: false, error: refused };
  const head = new Uint8Array(await blob.slice(0, HEADER_BYTES).arrayBuffer());
  const header = readImageHeader(head);
  const original = header ? shownSize(header) : null;
  // Only absurd sizes are refused up front (decompression bombs; Chromium cannot decode them anyway).
  if (original && original.width * original.height > MAX_HEADER_PIXELS) {
    return { ok: false, error: `too large to decode safely (${original.width}×${original.height})` };
  }
  const reduced = header ? reducedSize(header) : null;
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, {
      imageOrientation: "from-image",
      colorSpaceConversion: "none",
      premultiplyAlpha: "none",
      ...(reduced
        ? { resizeWidth: reduced.width, resizeHeight: reduced.height, resizeQuality: "medium" }
        : {}),
    });
  } catch (error) {
    const tail = new Uint8Array(await blob.slice(Math.max(0, blob.size - 64)).arrayBuffer());
    return { ok: false, error: undecodableMessage(head, tail, reasonOf(error)) };
  }
  const { width, height } = bitmap;
  try {
    const tooBig = checkDimensions(width, height);
    if (tooBig) return { ok: false, error: tooBig };
    const ctx = drawingContext(width, height);
    ctx.clearRect(0, 0, width, height);
    ctx.drawImage(bitmap, 0, 0);
    const pixels = ctx.getImageData(0, 0, width, height);
    const input = preprocessForVgg16(
      { width, height, channels: 4, data: pixels.data },
      { size: 224, mode: resize },
    );
    // The size the user knows the picture by (a reduced decode is an implementation detail).
    const shown = reduced && original ? original : { width, height };
    return { ok: true, input, ...shown, decodeMs: performance.now() - started };
  } catch (error) {
    return { ok: false, error: `not a decodable image (${reasonOf(error)})` };
  } finally {
    bitmap.close();
  }
}
