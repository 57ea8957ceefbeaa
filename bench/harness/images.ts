/**
 * Distinct JPEG photos-to-be for the bench, drawn in the page: every image
 * differs (the app's feature cache is keyed by content, so a repeated image
 * would be a cache hit, not a measurement). 320×240, like a small photo, so
 * decoding and resizing to 224×224 are part of every timing, as in the app.
 */
import { mulberry32 } from "../../src/transfer/random";

export const IMAGE_WIDTH = 320;
export const IMAGE_HEIGHT = 240;

/** `count` JPEG blobs drawn from `seed` (random rectangles over a noisy gradient). */
export async function syntheticJpegs(count: number, seed: number): Promise<Blob[]> {
  const canvas = new OffscreenCanvas(IMAGE_WIDTH, IMAGE_HEIGHT);
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("no 2D canvas context");
  const blobs: Blob[] = [];
  for (let n = 0; n < count; n++) {
    const random = mulberry32(seed + n * 7919);
    const pixels = ctx.createImageData(IMAGE_WIDTH, IMAGE_HEIGHT);
    const [r0, g0, b0] = [random() * 255, random() * 255, random() * 255];
    for (let i = 0; i < IMAGE_WIDTH * IMAGE_HEIGHT; i++) {
      const x = i % IMAGE_WIDTH;
      const noise = random() * 40;
      pixels.data[i * 4] = (r0 + x / 2 + noise) % 256;
      pixels.data[i * 4 + 1] = (g0 + noise) % 256;
      pixels.data[i * 4 + 2] = (b0 + i / IMAGE_WIDTH / 2 + noise) % 256;
      pixels.data[i * 4 + 3] = 255;
    }
    ctx.putImageData(pixels, 0, 0);
    for (let k = 0; k < 12; k++) {
      ctx.fillStyle = `rgb(${Math.floor(random() * 256)},${Math.floor(random() * 256)},${Math.floor(random() * 256)})`;
      ctx.fillRect(random() * IMAGE_WIDTH, random() * IMAGE_HEIGHT, random() * 120, random() * 120);
    }
    blobs.push(await canvas.convertToBlob({ type: "image/jpeg", quality: 0.9 }));
  }
  return blobs;
}
