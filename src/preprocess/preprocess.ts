/**
 * Keras-exact VGG16 preprocessing as pure functions on pixel arrays, shared
 * by the app (in its worker), the CLI and the Node reference tests.
 *
 * - `load_img(target_size=(224,224))` resizes with PIL NEAREST, which samples
 *   source pixel floor((i + 0.5) · in / out): half-pixel centres, the same as
 *   tf.image.resizeNearestNeighbor(x, size, false, halfPixelCenters=true).
 *   With `keep_aspect_ratio=True` Keras first crops the largest centred box of
 *   the target's aspect ratio; that is our "center-crop" mode.
 * - Colour conversion as PIL's convert("RGB"): grey is replicated, alpha is
 *   dropped (not composited).
 * - `preprocess_input` (caffe mode): RGB → BGR, minus the ImageNet mean
 *   [103.939, 116.779, 123.68] (B, G, R), no scaling.
 */
import { CAFFE_MEAN_BGR } from "../model/metadata";

export interface PixelImage {
  readonly width: number;
  readonly height: number;
  /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA; row-major, interleaved. */
  readonly channels: 1 | 2 | 3 | 4;
  readonly data: ArrayLike<number>;
}

export type ResizeMode = "stretch" | "center-crop";

export interface CropBox {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Keras' keep_aspect_ratio crop box (integer arithmetic as in image_utils.load_img). */
export function centerCropBox(
  width: number,
  height: number,
  targetWidth: number,
  targetHeight: number,
): CropBox {
  const cropHeight = Math.min(height, Math.floor((width * targetHeight) / targetWidth));
  const cropWidth = Math.min(width, Math.floor((height * targetWidth) / targetHeight));
  return {
    x: Math.floor((width - cropWidth) / 2),
    y: Math.floor((height - cropHeight) / 2),
    width: cropWidth,
    height: cropHeight,
  };
}

/** PIL NEAREST source index for output index i: floor(box0 + (i + 0.5) · boxSize / out). */
export function nearestSourceIndex(
  i: number,
  out: number,
  boxStart: number,
  boxSize: number,
  inSize: number,
): number {
  const src = Math.floor(boxStart + ((i + 0.5) * boxSize) / out);
  return Math.min(inSize - 1, Math.max(0, src));
}

/** Reads pixel (x, y) as RGB the way PIL's convert("RGB") does. */
function rgbAt(image: PixelImage, x: number, y: number, out: number[]): void {
  const { channels, data } = image;
  const base = (y * image.width + x) * channels;
  if (channels <= 2) {
    const g = data[base] as number;
    out[0] = g;
    out[1] = g;
    out[2] = g;
  } else {
    out[0] = data[base] as number;
    out[1] = data[base + 1] as number;
    out[2] = data[base + 2] as number;
  }
}

/** Nearest-neighbour resize to size×size RGB, Keras load_img style. */
export function resizeNearestRgb(image: PixelImage, size: number, mode: ResizeMode = "stretch"): Uint8Array {
  const { width, height } = image;
  if (width < 1 || height < 1) throw new RangeError(`image has no pixels (${width}×${height})`);
  if (image.data.length < width * height * image.channels) {
    throw new RangeError(`pixel data too short for ${width}×${height}×${image.channels}`);
  }
  const box =
    mode === "center-crop" ? centerCropBox(width, height, size, size) : { x: 0, y: 0, width, height };
  const xs = new Int32Array(size);
  const ys = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    xs[i] = nearestSourceIndex(i, size, box.x, box.width, width);
    ys[i] = nearestSourceIndex(i, size, box.y, box.height, height);
  }
  const out = new Uint8Array(size * size * 3);
  const rgb = [0, 0, 0];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      rgbAt(image, xs[x] as number, ys[y] as number, rgb);
      const o = (y * size + x) * 3;
      out[o] = rgb[0] as number;
      out[o + 1] = rgb[1] as number;
      out[o + 2] = rgb[2] as number;
    }
  }
  return out;
}

/** Keras `preprocess_input` caffe mode on interleaved RGB: → BGR minus the mean. */
export function caffePreprocess(rgb: ArrayLike<number>, out = new Float32Array(rgb.length)): Float32Array {
  const [meanB, meanG, meanR] = CAFFE_MEAN_BGR;
  for (let i = 0; i < rgb.length; i += 3) {
    out[i] = (rgb[i + 2] as number) - meanB;
    out[i + 1] = (rgb[i + 1] as number) - meanG;
    out[i + 2] = (rgb[i] as number) - meanR;
  }
  return out;
}

/** The whole pipeline: an image → one [224, 224, 3] float32 BGR input, HWC. */
export function preprocessForVgg16(
  image: PixelImage,
  options: { readonly size?: number; readonly mode?: ResizeMode } = {},
): Float32Array {
  return caffePreprocess(resizeNearestRgb(image, options.size ?? 224, options.mode ?? "stretch"));
}
