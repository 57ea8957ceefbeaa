/**
 * Blob → VGG16 input, off the main thread (in the worker): createImageBitmap
 * (EXIF orientation applied), an OffscreenCanvas, getImageData, then the
 * Keras-exact preprocessing. Bounded: a file over MAX_BLOB_BYTES is refused
 * before decoding, an image over MAX_PIXELS right after.
 *
 * Colours are taken as stored (colorSpaceConversion "none"), as Keras' PIL
 * loader does: it ignores embedded ICC profiles.
 */
import { preprocessForVgg16, type ResizeMode } from "../preprocess/preprocess";

export const MAX_BLOB_BYTES = 64 * 1024 * 1024;
export const MAX_PIXELS = 50_000_000;

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
  if (size === 0) return "empty file";
  if (size > MAX_BLOB_BYTES) return `too large to decode safely (${(size / MB).toFixed(1)} MB)`;
  return null;
}

/** Why decoded dimensions are refused, or null. Pure; exported for tests. */
export function checkDimensions(width: number, height: number): string | null {
  if (width < 1 || height < 1) return `not a decodable image (no pixels: ${width}×${height})`;
  if (width * height > MAX_PIXELS) return `too large to decode safely (${width}×${height})`;
  return null;
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

export async function decodeForVgg16(blob: Blob, resize: ResizeMode): Promise<DecodedInput> {
  const started = performance.now();
  const refused = precheckBlob(blob.size);
  if (refused) return { ok: false, error: refused };
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, {
      imageOrientation: "from-image",
      colorSpaceConversion: "none",
      premultiplyAlpha: "none",
    });
  } catch (error) {
    return { ok: false, error: `not a decodable image (${reasonOf(error)})` };
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
    return { ok: true, input, width, height, decodeMs: performance.now() - started };
  } catch (error) {
    return { ok: false, error: `not a decodable image (${reasonOf(error)})` };
  } finally {
    bitmap.close();
  }
}
