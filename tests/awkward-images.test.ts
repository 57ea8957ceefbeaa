/**
 * The awkward-file generator must really write what its names say, or the input e2e would pass on files
 * that are not awkward at all. Checked here with independent readers where Node has one (MozJPEG's decoder,
 * pngjs) and byte by byte where it has none.
 */
import { PNG } from "pngjs";
import { beforeAll, describe, expect, it } from "vitest";
import { readImageHeader } from "../src/vgg16/image-header";
import {
  type AwkwardFile,
  awkwardFiles,
  encodeDcJpeg,
  HUGE_SIZE,
  ORIENTATION_SIZE,
  orientationBlock,
} from "./helpers/awkward-images";
import { decodeImage } from "./helpers/images";

let files: Map<string, Uint8Array>;
beforeAll(async () => {
  files = new Map((await awkwardFiles()).map((f: AwkwardFile) => [f.name, f.bytes]));
});
const file = (name: string): Uint8Array => {
  const bytes = files.get(name);
  if (!bytes) throw new Error(`no ${name}`);
  return bytes;
};
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

describe("awkward files", () => {
  it("exif-rotated.jpg carries an EXIF APP1 segment whose Orientation tag says 6", () => {
    const bytes = file("exif-rotated.jpg");
    // SOI, APP1, length, "Exif\0\0", "MM\0*", IFD at 8, 1 entry, tag 0112 type 3 count 1 value 6.
    expect(hex(bytes.subarray(0, 4))).toBe("ffd8ffe1");
    expect(hex(bytes.subarray(6, 32))).toBe(
      `${Buffer.from("Exif\0\0MM").toString("hex")}002a00000008000101120003000000010006`,
    );
    expect(readImageHeader(bytes)).toEqual({ format: "jpeg", width: 192, height: 256, orientation: 6 });
    expect(readImageHeader(file("rotated-no-exif.jpg"))?.orientation).toBe(1);
  });

  it("the rotated copy holds exactly the upright picture turned 90° counter-clockwise", async () => {
    const { width, height } = ORIENTATION_SIZE;
    const upright = await decodeImage(file("upright.jpg"), "u.jpg");
    const rotated = await decodeImage(file("exif-rotated.jpg"), "r.jpg");
    expect([upright.width, upright.height, rotated.width, rotated.height]).toEqual([
      width,
      height,
      height,
      width,
    ]);
    let differences = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        // Upright (x, y) is stored at (y, W − 1 − x).
        const u = (y * width + x) * 4;
        const r = ((width - 1 - x) * height + y) * 4;
        for (let c = 0; c < 3; c++) if (upright.data[u + c] !== rotated.data[r + c]) differences++;
      }
    }
    expect(differences).toBe(0);
    // And the picture is not symmetric: a 180° turn is a different picture.
    const block = orientationBlock(width / 8, height / 8);
    expect(block(0, 0)).not.toEqual(block(width / 8 - 1, height / 8 - 1));
  });

  it("flat blocks decode to exactly their colour (the encoder's premise)", async () => {
    const jpeg = encodeDcJpeg({
      width: 16,
      height: 8,
      block: (bx) => (bx === 0 ? [255, 0, 0] : [10, 200, 30]),
    });
    const img = await decodeImage(jpeg, "x.jpg");
    expect(Array.from(img.data).slice(0, 3)).toEqual([254, 0, 0]); // YCbCr rounding, as any JPEG
    expect(Array.from(img.data).slice(32, 35)).toEqual([10, 200, 30]);
  });

  it("deep-16bit.png has bit depth 16 and distinct low bytes; grey, palette and alpha PNGs have their colour types", () => {
    const deep = file("deep-16bit.png");
    expect(deep[24]).toBe(16); // IHDR bit depth
    expect(deep[25]).toBe(2); // RGB
    const decoded = PNG.sync.read(Buffer.from(deep), { skipRescale: true });
    expect(decoded.depth).toBe(16);
    expect((decoded.data as unknown as Uint16Array)[0]).toBe(51 * 257); // the first red sample, high and low byte;
    expect(file("grey.png")[25]).toBe(0);
    expect(file("palette.png")[25]).toBe(3);
    expect(file("alpha.png")[25]).toBe(6);
    expect(PNG.sync.read(Buffer.from(file("palette.png"))).width).toBe(96);
    expect(readImageHeader(file("one-pixel.png"))).toMatchObject({ width: 1, height: 1 });
  });

  it("cmyk.jpg is a 4-component JPEG with an Adobe marker; progressive.jpg has a progressive frame", () => {
    const cmyk = hex(file("cmyk.jpg"));
    expect(cmyk).toContain(Buffer.from("Adobe").toString("hex"));
    expect(cmyk).toMatch(/ffc0001408007800a004/); // SOF0, length 20, 8 bits, 120×160, 4 components
    expect(hex(file("progressive.jpg"))).toContain("ffc2");
    expect(hex(file("PHOTO.JPG"))).toContain("ffc2");
  });

  it("animated.gif has two frames in a loop; the WebP, BMP and the huge JPEG say their size", () => {
    const gif = file("animated.gif");
    expect(Buffer.from(gif).includes("NETSCAPE2.0")).toBe(true);
    // Walk the blocks: count image descriptors.
    let at = 13 + 768;
    let frames = 0;
    while (gif[at] !== 0x3b) {
      if (gif[at] === 0x21) at += 2;
      else {
        expect(gif[at]).toBe(0x2c);
        frames++;
        at += 11; // descriptor + LZW code size
      }
      while (gif[at] !== 0) at += (gif[at] as number) + 1;
      at++;
    }
    expect(frames).toBe(2);
    expect(readImageHeader(file("lossless.webp"))).toEqual({
      format: "webp",
      width: 120,
      height: 90,
      orientation: 1,
    });
    expect(readImageHeader(file("bitmap.bmp"))).toEqual({
      format: "bmp",
      width: 90,
      height: 70,
      orientation: 1,
    });
    const huge = file("huge-8000x6000.jpg");
    expect(readImageHeader(huge)).toEqual({ format: "jpeg", ...HUGE_SIZE, orientation: 1 });
    expect(huge.length).toBeLessThan(4 * 1024 * 1024);
  });

  it("the broken ones are broken: empty, text, cut-off JPEG", () => {
    expect(file("empty.jpg").length).toBe(0);
    expect(new TextDecoder().decode(file("notes.png"))).toMatch(/^Shopping/);
    const truncated = file("truncated.jpg");
    expect(truncated.length).toBe(Math.floor(file("PHOTO.JPG").length / 2));
    expect(hex(truncated.subarray(-2))).not.toBe("ffd9");
  });
});
