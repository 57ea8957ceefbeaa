/**
 * Keras-exact preprocessing, checked against values computed by hand from
 * PIL's NEAREST rule floor((i + 0.5) · in / out), Keras' keep_aspect_ratio
 * crop box and caffe-mode preprocess_input, and against TF.js'
 * resizeNearestNeighbor(halfPixelCenters=true) on the CPU backend.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { CAFFE_MEAN_BGR } from "../src/model/metadata";
import { createRandom } from "../src/model/random";
import {
  caffePreprocess,
  centerCropBox,
  nearestSourceIndex,
  type PixelImage,
  preprocessForVgg16,
  resizeNearestRgb,
} from "../src/preprocess/preprocess";

/** Distinct pixel values: R = 10y + x, G = 100 + 10y + x, B = 200 + 10y + x (bytes). */
function pixel(x: number, y: number): [number, number, number] {
  const v = 10 * y + x;
  return [v, 100 + v, 200 + v];
}

function rgbImage(
  width: number,
  height: number,
  at: (x: number, y: number) => readonly number[],
): PixelImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(at(x, y), (y * width + x) * 3);
  }
  return { width, height, channels: 3, data };
}

/** Float32 output vs the exact value: within 2 float32 ulps (Keras computes in float32 too). */
function expectF32(actual: number | undefined, want: number): void {
  expect(actual).toBeTypeOf("number");
  expect(Math.abs((actual as number) - want)).toBeLessThanOrEqual(Math.abs(want) * 2 ** -22);
}

function pixelsOf(out: Uint8Array): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < out.length; i += 3)
    rows.push([out[i] as number, out[i + 1] as number, out[i + 2] as number]);
  return rows;
}

describe("resizeNearestRgb (PIL NEAREST, half-pixel centres)", () => {
  it("downscales 5×3 → 2×2 sampling x = [1, 3], y = [0, 2]", () => {
    // x: floor(0.5·5/2) = 1, floor(1.5·5/2) = 3; y: floor(0.5·3/2) = 0, floor(1.5·3/2) = 2
    const out = resizeNearestRgb(rgbImage(5, 3, pixel), 2);
    expect(out).toBeInstanceOf(Uint8Array);
    expect(pixelsOf(out)).toEqual([pixel(1, 0), pixel(3, 0), pixel(1, 2), pixel(3, 2)]);
    expect(Array.from(out)).toEqual([1, 101, 201, 3, 103, 203, 21, 121, 221, 23, 123, 223]);
  });

  it("upscales 2×2 → 4×4 sampling [0, 0, 1, 1] on both axes", () => {
    const out = resizeNearestRgb(rgbImage(2, 2, pixel), 4);
    const src = [0, 0, 1, 1];
    const want: number[][] = [];
    for (const y of src) for (const x of src) want.push(pixel(x, y));
    expect(pixelsOf(out)).toEqual(want);
  });

  it("keeps an image of the target size unchanged", () => {
    const image = rgbImage(3, 3, pixel);
    expect(Array.from(resizeNearestRgb(image, 3))).toEqual(Array.from(image.data));
  });

  it("computes source indices as floor(box0 + (i + 0.5)·boxSize/out), clamped", () => {
    expect([0, 1].map((i) => nearestSourceIndex(i, 2, 0, 5, 5))).toEqual([1, 3]);
    expect([0, 1, 2, 3].map((i) => nearestSourceIndex(i, 4, 0, 2, 2))).toEqual([0, 0, 1, 1]);
    expect([0, 1].map((i) => nearestSourceIndex(i, 2, 50, 200, 300))).toEqual([100, 200]);
    expect(nearestSourceIndex(0, 1, 10, 10, 12)).toBe(11); // clamped to width - 1
  });

  it("replicates grey (1 channel) to R = G = B", () => {
    const image: PixelImage = { width: 2, height: 1, channels: 1, data: Uint8Array.from([17, 240]) };
    expect(pixelsOf(resizeNearestRgb(image, 2))).toEqual([
      [17, 17, 17],
      [240, 240, 240],
      [17, 17, 17],
      [240, 240, 240],
    ]);
  });

  it("drops alpha without compositing (RGBA)", () => {
    const image: PixelImage = {
      width: 2,
      height: 1,
      channels: 4,
      data: Uint8Array.from([200, 100, 50, 0, 1, 2, 3, 128]),
    };
    expect(pixelsOf(resizeNearestRgb(image, 2))).toEqual([
      [200, 100, 50],
      [1, 2, 3],
      [200, 100, 50],
      [1, 2, 3],
    ]);
  });

  it("replicates grey and drops alpha (grey + alpha)", () => {
    const image: PixelImage = { width: 2, height: 1, channels: 2, data: Uint8Array.from([90, 0, 33, 255]) };
    expect(pixelsOf(resizeNearestRgb(image, 2))).toEqual([
      [90, 90, 90],
      [33, 33, 33],
      [90, 90, 90],
      [33, 33, 33],
    ]);
  });

  it("accepts plain number arrays", () => {
    const image: PixelImage = { width: 1, height: 1, channels: 3, data: [9, 8, 7] };
    expect(Array.from(resizeNearestRgb(image, 2))).toEqual([9, 8, 7, 9, 8, 7, 9, 8, 7, 9, 8, 7]);
  });

  it("throws RangeError for an image without pixels or with too little data", () => {
    expect(() => resizeNearestRgb({ width: 0, height: 3, channels: 3, data: [] }, 2)).toThrow(RangeError);
    expect(() => resizeNearestRgb({ width: 3, height: 0, channels: 3, data: [] }, 2)).toThrow(RangeError);
    expect(() => resizeNearestRgb({ width: 2, height: 2, channels: 3, data: new Uint8Array(11) }, 2)).toThrow(
      RangeError,
    );
    expect(() => resizeNearestRgb({ width: 2, height: 2, channels: 4, data: new Uint8Array(12) }, 2)).toThrow(
      /too short/,
    );
    expect(() => preprocessForVgg16({ width: 0, height: 0, channels: 3, data: [] })).toThrow(RangeError);
  });
});

describe("center crop (Keras load_img keep_aspect_ratio=True)", () => {
  it("crops the largest centred square of a wide image", () => {
    expect(centerCropBox(300, 200, 224, 224)).toEqual({ x: 50, y: 0, width: 200, height: 200 });
    expect(centerCropBox(301, 200, 224, 224)).toEqual({ x: 50, y: 0, width: 200, height: 200 });
  });

  it("crops the largest centred square of a tall image", () => {
    expect(centerCropBox(200, 300, 224, 224)).toEqual({ x: 0, y: 50, width: 200, height: 200 });
    expect(centerCropBox(3, 10, 224, 224)).toEqual({ x: 0, y: 3, width: 3, height: 3 });
  });

  it("keeps a square image whole and handles a non-square target", () => {
    expect(centerCropBox(224, 224, 224, 224)).toEqual({ x: 0, y: 0, width: 224, height: 224 });
    // Keras: crop_height = 400·100//200 = 200, crop_width = min(400, 300·200//100) = 400
    expect(centerCropBox(400, 300, 200, 100)).toEqual({ x: 0, y: 50, width: 400, height: 200 });
  });

  it("samples only inside the crop box", () => {
    const red = [255, 0, 0];
    const green = [0, 255, 0];
    const image = rgbImage(300, 200, (x) => (x < 50 || x >= 250 ? red : green));
    const cropped = resizeNearestRgb(image, 224, "center-crop");
    expect(cropped).toHaveLength(224 * 224 * 3);
    const colours = new Set(pixelsOf(cropped).map((p) => p.join(",")));
    expect([...colours]).toEqual(["0,255,0"]);
    // Stretching the same image keeps the red borders.
    const stretched = new Set(pixelsOf(resizeNearestRgb(image, 224, "stretch")).map((p) => p.join(",")));
    expect(stretched).toEqual(new Set(["255,0,0", "0,255,0"]));
  });

  it("matches the hand-computed crop samples on a small wide image", () => {
    // 6×2 → size 2, center-crop box {x:2, y:0, 2×2}: x = floor(2 + (i+0.5)·2/2) = [2, 3]
    const out = resizeNearestRgb(rgbImage(6, 2, pixel), 2, "center-crop");
    expect(pixelsOf(out)).toEqual([pixel(2, 0), pixel(3, 0), pixel(2, 1), pixel(3, 1)]);
  });
});

describe("caffePreprocess (Keras preprocess_input, caffe mode)", () => {
  it("reorders to BGR and subtracts the ImageNet mean", () => {
    expect(CAFFE_MEAN_BGR).toEqual([103.939, 116.779, 123.68]);
    const rgb = Uint8Array.from([1, 101, 201, 255, 0, 128]);
    const out = caffePreprocess(rgb);
    expect(out).toBeInstanceOf(Float32Array);
    const want = [201 - 103.939, 101 - 116.779, 1 - 123.68, 128 - 103.939, 0 - 116.779, 255 - 123.68];
    expect(out).toHaveLength(6);
    want.forEach((w, i) => {
      expectF32(out[i], w);
    });
  });

  it("preprocesses the 5×3 → 2×2 resize to the hand-computed values", () => {
    const out = caffePreprocess(resizeNearestRgb(rgbImage(5, 3, pixel), 2));
    const want = [pixel(1, 0), pixel(3, 0), pixel(1, 2), pixel(3, 2)].flatMap(([r, g, b]) => [
      b - 103.939,
      g - 116.779,
      r - 123.68,
    ]);
    expect(out).toHaveLength(12);
    want.forEach((w, i) => {
      expectF32(out[i], w);
    });
  });

  it("writes into a provided buffer", () => {
    const target = new Float32Array(3);
    const out = caffePreprocess([10, 20, 30], target);
    expect(out).toBe(target);
    expectF32(target[0], 30 - 103.939);
    expectF32(target[2], 10 - 123.68);
  });
});

describe("preprocessForVgg16", () => {
  it("returns one 224×224×3 BGR mean-subtracted input", () => {
    const image = rgbImage(40, 30, () => [10, 20, 30]);
    const out = preprocessForVgg16(image);
    expect(out).toHaveLength(224 * 224 * 3);
    for (const i of [0, 3 * 1000, out.length - 3]) {
      expectF32(out[i], 30 - 103.939);
      expectF32(out[i + 1], 20 - 116.779);
      expectF32(out[i + 2], 10 - 123.68);
    }
  });

  it("honours size and mode", () => {
    const image = rgbImage(6, 2, pixel);
    const out = preprocessForVgg16(image, { size: 2, mode: "center-crop" });
    expect(out).toHaveLength(12);
    expectF32(out[2], pixel(2, 0)[0] - 123.68);
    expectF32(out[5], pixel(3, 0)[0] - 123.68);
  });
});

describe("agreement with TF.js resizeNearestNeighbor(halfPixelCenters=true)", () => {
  beforeAll(async () => {
    expect(await tf.setBackend("cpu")).toBe(true);
    await tf.ready();
  });

  it.each([
    [300, 200, 224],
    [200, 300, 224],
    [97, 131, 224],
    [640, 480, 224],
    [5, 3, 2],
  ])("gives the same pixels for a random %i×%i image resized to %i", async (width, height, size) => {
    const random = createRandom(width * 1000 + height);
    const data = Uint8Array.from({ length: width * height * 3 }, () => Math.floor(random() * 256));
    const ours = resizeNearestRgb({ width, height, channels: 3, data }, size);
    const theirs = tf.tidy(() =>
      tf.image.resizeNearestNeighbor(
        tf.tensor3d(data, [height, width, 3], "int32"),
        [size, size],
        false,
        true,
      ),
    );
    const values = await theirs.data();
    theirs.dispose();
    expect(values).toHaveLength(ours.length);
    let mismatches = 0;
    for (let i = 0; i < ours.length; i++) if (values[i] !== ours[i]) mismatches++;
    expect(mismatches).toBe(0);
  });

  it("differs from the default halfPixelCenters=false (the test can tell them apart)", async () => {
    const random = createRandom(42);
    const data = Uint8Array.from({ length: 300 * 200 * 3 }, () => Math.floor(random() * 256));
    const ours = resizeNearestRgb({ width: 300, height: 200, channels: 3, data }, 224);
    const legacy = tf.tidy(() =>
      tf.image.resizeNearestNeighbor(tf.tensor3d(data, [200, 300, 3], "int32"), [224, 224], false, false),
    );
    const values = await legacy.data();
    legacy.dispose();
    let mismatches = 0;
    for (let i = 0; i < ours.length; i++) if (values[i] !== ours[i]) mismatches++;
    expect(mismatches).toBeGreaterThan(1000);
  });
});
