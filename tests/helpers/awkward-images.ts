/**
 * Writes the "awkward files" the input tests drop on the app: every image format and oddity users bring
 * (CMYK and progressive JPEG, EXIF orientation, 16-bit / grey / palette / alpha PNG, animated GIF, WebP, BMP,
 * SVG, 1×1, 8000×6000, truncated, empty, text named .png, upper-case extension). Pure Node, no native
 * packages: the small encoders below write each format's bytes by hand; the progressive JPEG comes from
 * MozJPEG (WASM, @jsquash/jpeg), which writes progressive scans by default.
 *
 * The hand-written JPEG encoder codes every 8×8 block as one flat colour (DC coefficient only, quantiser
 * 1): such a block decodes back to exactly its colour in any baseline decoder, so a picture made of flat
 * blocks decodes identically whether it is stored upright or rotated by 90° (used by the EXIF test), and an
 * 8000×6000 image needs neither a 192 MB pixel buffer here nor more than a few hundred kB on disk.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { deflateSync } from "node:zlib";
import encodeJpeg, { init as initJpegEncoder } from "@jsquash/jpeg/encode.js";

export type Rgb = readonly [number, number, number];

// ---------------------------------------------------------------------------------------------------------
// Byte helpers

function u16be(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}
function u32be(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}
function u16le(n: number): number[] {
  return [n & 0xff, (n >> 8) & 0xff];
}
function u32le(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}
function ascii(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0));
}

// ---------------------------------------------------------------------------------------------------------
// JPEG: baseline, DC-only blocks

/** The standard luminance DC table (ITU T.81 K.3): counts per code length 1..16, then the categories. */
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
/** An AC table with one symbol, end-of-block, coded as the single bit 0: every block ends at once. */
const AC_BITS = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const AC_VALUES = [0x00];

/** Canonical Huffman codes from a DHT's counts and symbols: symbol → [code, length]. */
function huffmanCodes(bits: readonly number[], values: readonly number[]): Map<number, [number, number]> {
  const codes = new Map<number, [number, number]>();
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    for (let i = 0; i < (bits[length - 1] ?? 0); i++) codes.set(values[k++] as number, [code++, length]);
    code <<= 1;
  }
  return codes;
}

class JpegBitWriter {
  readonly bytes: number[] = [];
  private acc = 0;
  private count = 0;
  write(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      if (++this.count === 8) this.flushByte();
    }
  }
  private flushByte(): void {
    this.bytes.push(this.acc);
    if (this.acc === 0xff) this.bytes.push(0x00); // byte stuffing
    this.acc = 0;
    this.count = 0;
  }
  finish(): number[] {
    while (this.count !== 0) this.write(1, 1); // pad with 1 bits
    return this.bytes;
  }
}

export interface DcJpegOptions {
  readonly width: number;
  readonly height: number;
  /**
   * The flat colour of block (bx, by): RGB for "rgb" (stored as YCbCr), [C, M, Y, K] for "cmyk" (stored
   * as Adobe-style CMYK, as Photoshop writes it).
   */
  readonly block: (bx: number, by: number) => readonly number[];
  readonly colour?: "rgb" | "cmyk";
  /** Adds an EXIF APP1 segment with this orientation tag (1..8). */
  readonly exifOrientation?: number;
}

/** An EXIF APP1 segment (big-endian TIFF) holding one IFD0 entry: Orientation (0x0112) = orientation. */
export function exifOrientationSegment(orientation: number): number[] {
  const tiff = [
    ...ascii("MM"),
    ...u16be(42),
    ...u32be(8), // IFD0 right after the header
    ...u16be(1), // one entry
    ...u16be(0x0112), // Orientation
    ...u16be(3), // SHORT
    ...u32be(1), // count
    ...u16be(orientation),
    0,
    0, // the value field's unused half
    ...u32be(0), // no IFD1
  ];
  const payload = [...ascii("Exif"), 0, 0, ...tiff];
  return [0xff, 0xe1, ...u16be(payload.length + 2), ...payload];
}

function segment(marker: number, payload: readonly number[]): number[] {
  return [0xff, marker, ...u16be(payload.length + 2), ...payload];
}

function toYCbCr([r, g, b]: readonly number[]): number[] {
  const R = r ?? 0;
  const G = g ?? 0;
  const B = b ?? 0;
  return [
    0.299 * R + 0.587 * G + 0.114 * B,
    128 - 0.168736 * R - 0.331264 * G + 0.5 * B,
    128 + 0.5 * R - 0.418688 * G - 0.081312 * B,
  ];
}

/** A baseline JPEG whose 8×8 blocks are flat colours (see the module comment). */
export function encodeDcJpeg(options: DcJpegOptions): Uint8Array {
  const { width, height, block } = options;
  const cmyk = options.colour === "cmyk";
  const components = cmyk ? 4 : 3;
  const out: number[] = [0xff, 0xd8];
  if (options.exifOrientation !== undefined) out.push(...exifOrientationSegment(options.exifOrientation));
  else if (!cmyk) out.push(...segment(0xe0, [...ascii("JFIF"), 0, 1, 1, 0, ...u16be(1), ...u16be(1), 0, 0]));
  // Adobe APP14, transform 0: the four components are CMYK as stored (no colour transform).
  if (cmyk) out.push(...segment(0xee, [...ascii("Adobe"), ...u16be(100), ...u16be(0), ...u16be(0), 0]));
  out.push(...segment(0xdb, [0x00, ...new Array<number>(64).fill(1)])); // table 0, all quantisers 1
  const sof = [8, ...u16be(height), ...u16be(width), components];
  for (let c = 0; c < components; c++) sof.push(c + 1, 0x11, 0); // 1×1 sampling, table 0
  out.push(...segment(0xc0, sof));
  out.push(...segment(0xc4, [0x00, ...DC_BITS, ...DC_VALUES]));
  out.push(...segment(0xc4, [0x10, ...AC_BITS, ...AC_VALUES]));
  const sos = [components];
  for (let c = 0; c < components; c++) sos.push(c + 1, 0x00);
  sos.push(0, 63, 0);
  out.push(...segment(0xda, sos));

  const dc = huffmanCodes(DC_BITS, DC_VALUES);
  const ac = huffmanCodes(AC_BITS, AC_VALUES);
  const eob = ac.get(0) as [number, number];
  const bits = new JpegBitWriter();
  const previous = new Array<number>(components).fill(0);
  const blocksX = Math.ceil(width / 8);
  const blocksY = Math.ceil(height / 8);
  for (let by = 0; by < blocksY; by++) {
    for (let bx = 0; bx < blocksX; bx++) {
      const colour = block(bx, by);
      const values = cmyk ? colour : toYCbCr(colour);
      for (let c = 0; c < components; c++) {
        const level = Math.max(0, Math.min(255, Math.round(values[c] ?? 0)));
        // FDCT of a flat block: DC = 8 · (level − 128); quantiser 1 keeps it exact.
        const coefficient = 8 * (level - 128);
        const diff = coefficient - (previous[c] as number);
        previous[c] = coefficient;
        const magnitude = Math.abs(diff);
        const category = magnitude === 0 ? 0 : Math.floor(Math.log2(magnitude)) + 1;
        const [code, length] = dc.get(category) as [number, number];
        bits.write(code, length);
        if (category > 0) bits.write(diff > 0 ? diff : diff + (1 << category) - 1, category);
        bits.write(eob[0], eob[1]);
      }
    }
  }
  // Concatenated, not spread: the entropy-coded data of a big image has more bytes than a call has arguments.
  return Uint8Array.from(out.concat(bits.finish(), [0xff, 0xd9]));
}

// ---------------------------------------------------------------------------------------------------------
// PNG

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: ArrayLike<number>): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++)
    c = (CRC_TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: ArrayLike<number>): number[] {
  const body = [...ascii(type), ...Array.from(data)];
  return [...u32be(data.length), ...body, ...u32be(crc32(body))];
}

export interface PngOptions {
  readonly width: number;
  readonly height: number;
  /** 0 grey, 2 RGB, 3 palette, 6 RGBA. */
  readonly colourType: 0 | 2 | 3 | 6;
  readonly bitDepth: 8 | 16;
  /** Samples of pixel (x, y) at bitDepth (palette: [index]). */
  readonly pixel: (x: number, y: number) => readonly number[];
  readonly palette?: readonly Rgb[];
}

export function encodePng(options: PngOptions): Uint8Array {
  const { width, height, colourType, bitDepth, pixel } = options;
  const channels = { 0: 1, 2: 3, 3: 1, 6: 4 }[colourType];
  const bytesPerSample = bitDepth / 8;
  const stride = 1 + width * channels * bytesPerSample;
  const raw = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    let o = y * stride + 1; // filter byte 0 (none)
    for (let x = 0; x < width; x++) {
      const samples = pixel(x, y);
      for (let c = 0; c < channels; c++) {
        const v = samples[c] ?? 0;
        if (bitDepth === 16) {
          raw.writeUInt16BE(v, o);
          o += 2;
        } else raw[o++] = v;
      }
    }
  }
  const parts = [0x89, ...ascii("PNG"), 0x0d, 0x0a, 0x1a, 0x0a];
  parts.push(...pngChunk("IHDR", [...u32be(width), ...u32be(height), bitDepth, colourType, 0, 0, 0]));
  if (colourType === 3) parts.push(...pngChunk("PLTE", (options.palette ?? []).flat()));
  const out = Buffer.concat([
    Buffer.from(parts),
    Buffer.from(pngChunk("IDAT", deflateSync(raw))),
    Buffer.from(pngChunk("IEND", [])),
  ]);
  return new Uint8Array(out);
}

/** A valid black PNG of any size, tiny on disk: 1-bit greyscale, all-zero rows, deflated. */
export function blackPng(width: number, height: number): Uint8Array {
  const raw = Buffer.alloc((Math.ceil(width / 8) + 1) * height); // filter byte 0 + zero bits per row
  const parts = [0x89, ...ascii("PNG"), 0x0d, 0x0a, 0x1a, 0x0a];
  // bit depth 1, greyscale, deflate, no filter, no interlace
  parts.push(...pngChunk("IHDR", [...u32be(width), ...u32be(height), 1, 0, 0, 0, 0]));
  const out = Buffer.concat([
    Buffer.from(parts),
    Buffer.from(pngChunk("IDAT", deflateSync(raw, { level: 9 }))),
    Buffer.from(pngChunk("IEND", [])),
  ]);
  return new Uint8Array(out);
}

// ---------------------------------------------------------------------------------------------------------
// GIF (animated), BMP, WebP (lossless), SVG

/**
 * An animated GIF89a (looping) with a 256-colour global palette and one frame per pixel function. LZW
 * without compression: 9-bit literal codes with a clear code every 100, so the code width never grows.
 */
export function encodeGif(
  width: number,
  height: number,
  palette: readonly Rgb[],
  frames: ReadonlyArray<(x: number, y: number) => number>,
): Uint8Array {
  const table = new Array<number>(768).fill(0);
  for (const [i, rgb] of palette.slice(0, 256).entries()) table.splice(i * 3, 3, ...rgb);
  const out = [...ascii("GIF89a"), ...u16le(width), ...u16le(height), 0xf7, 0, 0, ...table];
  // NETSCAPE2.0: loop forever.
  out.push(0x21, 0xff, 11, ...ascii("NETSCAPE2.0"), 3, 1, ...u16le(0), 0);
  for (const frame of frames) {
    out.push(0x21, 0xf9, 4, 0x04, ...u16le(50), 0, 0); // graphic control: keep, 0.5 s
    out.push(0x2c, ...u16le(0), ...u16le(0), ...u16le(width), ...u16le(height), 0);
    const codes: number[] = [];
    let sinceClear = 0;
    codes.push(256);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (sinceClear === 100) {
          codes.push(256);
          sinceClear = 0;
        }
        codes.push(frame(x, y) & 0xff);
        sinceClear++;
      }
    }
    codes.push(257);
    const data: number[] = [];
    let acc = 0;
    let count = 0;
    for (const code of codes) {
      acc |= code << count;
      count += 9;
      while (count >= 8) {
        data.push(acc & 0xff);
        acc >>>= 8;
        count -= 8;
      }
    }
    if (count > 0) data.push(acc & 0xff);
    out.push(8); // LZW minimum code size
    for (let i = 0; i < data.length; i += 255) {
      const chunk = data.slice(i, i + 255);
      out.push(chunk.length, ...chunk);
    }
    out.push(0);
  }
  out.push(0x3b);
  return Uint8Array.from(out);
}

/** A 24-bit bottom-up Windows BMP. */
export function encodeBmp(width: number, height: number, pixel: (x: number, y: number) => Rgb): Uint8Array {
  const rowBytes = Math.ceil((width * 3) / 4) * 4;
  const size = 54 + rowBytes * height;
  const out = Buffer.alloc(size);
  out.write("BM", 0, "ascii");
  out.writeUInt32LE(size, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  out.writeUInt32LE(rowBytes * height, 34);
  out.writeInt32LE(2835, 38);
  out.writeInt32LE(2835, 42);
  for (let y = 0; y < height; y++) {
    const row = 54 + (height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      out[row + x * 3] = b;
      out[row + x * 3 + 1] = g;
      out[row + x * 3 + 2] = r;
    }
  }
  return new Uint8Array(out);
}

class LsbBitWriter {
  readonly bytes: number[] = [];
  private acc = 0;
  private count = 0;
  write(value: number, length: number): void {
    for (let i = 0; i < length; i++) {
      this.acc |= ((value >> i) & 1) << this.count;
      if (++this.count === 8) {
        this.bytes.push(this.acc);
        this.acc = 0;
        this.count = 0;
      }
    }
  }
  finish(): number[] {
    if (this.count > 0) this.bytes.push(this.acc);
    return this.bytes;
  }
}

/**
 * A lossless WebP (VP8L, RFC 9649) of two colours: no transforms, no colour cache, and for each of green,
 * red, blue a "simple" prefix code of the two colours' values (one bit per pixel, the smaller value coded
 * 0); alpha and distance codes have one symbol (zero bits).
 */
export function encodeWebpTwoColour(
  width: number,
  height: number,
  colours: readonly [Rgb, Rgb],
  which: (x: number, y: number) => 0 | 1,
): Uint8Array {
  const bits = new LsbBitWriter();
  bits.write(0x2f, 8);
  bits.write(width - 1, 14);
  bits.write(height - 1, 14);
  bits.write(0, 1); // alpha not used
  bits.write(0, 3); // version
  bits.write(0, 1); // no transform
  bits.write(0, 1); // no colour cache
  bits.write(0, 1); // no meta prefix codes
  const channelOrder = [1, 0, 2] as const; // green, red, blue as indices into Rgb
  const twoSymbol = (a: number, b: number): void => {
    if (a === b) {
      bits.write(1, 1); // simple
      bits.write(0, 1); // one symbol
      bits.write(1, 1); // 8-bit symbol
      bits.write(a, 8);
      return;
    }
    bits.write(1, 1);
    bits.write(1, 1); // two symbols
    bits.write(1, 1);
    bits.write(Math.min(a, b), 8);
    bits.write(Math.max(a, b), 8);
  };
  for (const c of channelOrder) twoSymbol(colours[0][c], colours[1][c]);
  for (const symbol of [255, 0]) {
    // alpha 255, distance 0: one symbol each
    bits.write(1, 1);
    bits.write(0, 1);
    bits.write(1, 1);
    bits.write(symbol, 8);
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const colour = colours[which(x, y)];
      const other = colours[1 - which(x, y)] as Rgb;
      for (const c of channelOrder) {
        if (colours[0][c] !== colours[1][c]) bits.write(colour[c] > other[c] ? 1 : 0, 1);
      }
    }
  }
  const data = bits.finish();
  const chunk = [...ascii("VP8L"), ...u32le(data.length), ...data];
  if (data.length % 2 === 1) chunk.push(0);
  return Uint8Array.from([...ascii("RIFF"), ...u32le(4 + chunk.length), ...ascii("WEBP"), ...chunk]);
}

// ---------------------------------------------------------------------------------------------------------
// The suite

let jpegEncoderReady: Promise<void> | null = null;

/** MozJPEG (progressive by default) for an RGBA picture. */
export async function encodeMozJpeg(
  width: number,
  height: number,
  pixel: (x: number, y: number) => Rgb,
): Promise<Uint8Array> {
  jpegEncoderReady ??= (async () => {
    const wasm = createRequire(import.meta.url).resolve("@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm");
    await initJpegEncoder(await WebAssembly.compile(readFileSync(wasm)));
  })();
  await jpegEncoderReady;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      data.set([r, g, b, 255], (y * width + x) * 4);
    }
  }
  const image = { data, width, height, colorSpace: "srgb" } as ImageData;
  return new Uint8Array(await encodeJpeg(image, { quality: 85, progressive: true, baseline: false }));
}

/** A smooth, asymmetric test picture (a gradient with a bright disc in the upper left). */
export function scene(width: number, height: number, seed = 0): (x: number, y: number) => Rgb {
  return (x, y) => {
    const u = x / width;
    const v = y / height;
    const d = Math.hypot(u - 0.3, v - 0.3);
    const disc = d < 0.18 ? 1 : 0;
    return [
      Math.round(255 * (disc ? 0.95 : 0.2 + 0.6 * u)),
      Math.round(255 * (disc ? 0.8 : 0.3 + 0.5 * v * ((seed % 3) / 3 + 0.5))),
      Math.round(255 * (disc ? 0.1 : 0.7 - 0.5 * u * v)),
    ];
  };
}

/**
 * The block picture used for the EXIF test: flat 8×8 blocks, a red-to-blue ramp across, a green band in
 * the top quarter, and a yellow square in the upper-left corner, so a rotation changes what VGG16 sees.
 */
export function orientationBlock(blocksWide: number, blocksHigh: number): (bx: number, by: number) => Rgb {
  return (bx, by) => {
    if (bx < blocksWide / 4 && by < blocksHigh / 3) return [250, 230, 20];
    if (by < blocksHigh / 4) return [30, 200, 60];
    const t = bx / Math.max(1, blocksWide - 1);
    return [Math.round(230 * (1 - t)), 40, Math.round(230 * t)];
  };
}

/**
 * Upright W×H (multiples of 8), and the same picture stored rotated 90° counter-clockwise (H×W): what a
 * camera held upright writes with EXIF orientation 6 ("rotate 90° clockwise to display").
 * Stored pixel (x, y) is upright pixel (W − 1 − y, x); with flat blocks, block for block.
 */
export function orientationPair(width: number, height: number, exif: boolean): Uint8Array {
  const bw = width / 8;
  const upright = orientationBlock(bw, height / 8);
  return encodeDcJpeg({
    width: height,
    height: width,
    block: (bx, by) => upright(bw - 1 - by, bx),
    ...(exif ? { exifOrientation: 6 } : {}),
  });
}

export interface AwkwardFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export const ORIENTATION_SIZE = { width: 256, height: 192 } as const;
export const HUGE_SIZE = { width: 8000, height: 6000 } as const;

/** Every awkward file, by name. */
export async function awkwardFiles(): Promise<AwkwardFile[]> {
  const { width: ow, height: oh } = ORIENTATION_SIZE;
  const smooth = scene(200, 150, 1);
  const gif = (seed: number) => {
    const f = scene(120, 90, seed);
    return (x: number, y: number) => {
      const [r, g, b] = f(x, y);
      return ((r >> 5) << 5) | ((g >> 5) << 2) | (b >> 6); // 3-3-2 palette index
    };
  };
  const palette332: Rgb[] = Array.from({ length: 256 }, (_, i) => [
    Math.round(((i >> 5) / 7) * 255),
    Math.round((((i >> 2) & 7) / 7) * 255),
    Math.round(((i & 3) / 3) * 255),
  ]);
  const progressive = await encodeMozJpeg(200, 150, smooth);
  const photo = await encodeMozJpeg(160, 120, scene(160, 120, 2));
  return [
    {
      name: "cmyk.jpg",
      bytes: encodeDcJpeg({
        width: 160,
        height: 120,
        colour: "cmyk",
        block: (bx, by) => [bx * 10, by * 12, 255 - bx * 8, 40],
      }),
    },
    { name: "progressive.jpg", bytes: progressive },
    {
      name: "upright.jpg",
      bytes: encodeDcJpeg({ width: ow, height: oh, block: orientationBlock(ow / 8, oh / 8) }),
    },
    { name: "exif-rotated.jpg", bytes: orientationPair(ow, oh, true) },
    { name: "rotated-no-exif.jpg", bytes: orientationPair(ow, oh, false) },
    {
      name: "deep-16bit.png",
      bytes: encodePng({
        width: 96,
        height: 64,
        colourType: 2,
        bitDepth: 16,
        pixel: (x, y) => smooth(x * 2, y * 2).map((v) => v * 257 + ((x * 37 + y) % 200)),
      }),
    },
    {
      name: "grey.png",
      bytes: encodePng({
        width: 96,
        height: 64,
        colourType: 0,
        bitDepth: 8,
        pixel: (x, y) => [Math.round((x / 95) * 255 * (y < 32 ? 1 : 0.5))],
      }),
    },
    {
      name: "palette.png",
      bytes: encodePng({
        width: 96,
        height: 64,
        colourType: 3,
        bitDepth: 8,
        palette: [
          [255, 0, 0],
          [0, 128, 0],
          [0, 0, 255],
          [250, 250, 240],
        ],
        pixel: (x, y) => [((x >> 4) + (y >> 4)) % 4],
      }),
    },
    {
      name: "alpha.png",
      bytes: encodePng({
        width: 96,
        height: 64,
        colourType: 6,
        bitDepth: 8,
        pixel: (x, y) => [...smooth(x * 2, y * 2), Math.round((x / 95) * 255)],
      }),
    },
    { name: "animated.gif", bytes: encodeGif(120, 90, palette332, [gif(0), gif(2)]) },
    { name: "first-frame.gif", bytes: encodeGif(120, 90, palette332, [gif(0)]) },
    { name: "second-frame.gif", bytes: encodeGif(120, 90, palette332, [gif(2)]) },
    {
      name: "lossless.webp",
      bytes: encodeWebpTwoColour(
        120,
        90,
        [
          [200, 40, 30],
          [20, 150, 220],
        ],
        (x, y) => (x + y < 100 || (x > 80 && y > 60) ? 0 : 1),
      ),
    },
    { name: "bitmap.bmp", bytes: encodeBmp(90, 70, (x, y) => smooth(x * 2, y * 2)) },
    {
      name: "drawing.svg",
      bytes: new TextEncoder().encode(
        `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200" viewBox="0 0 300 200">` +
          `<rect width="300" height="200" fill="#8fd3ff"/><circle cx="90" cy="80" r="50" fill="#ffcc00"/>` +
          `<path d="M0 200 L120 110 L300 200 Z" fill="#2e7d32"/></svg>`,
      ),
    },
    {
      name: "one-pixel.png",
      bytes: encodePng({ width: 1, height: 1, colourType: 2, bitDepth: 8, pixel: () => [200, 30, 90] }),
    },
    {
      name: "huge-8000x6000.jpg",
      bytes: encodeDcJpeg({
        ...HUGE_SIZE,
        // Large flat areas keep the file small (a few bits per block); bands make it not uniform.
        block: (bx, by) => (by < 250 ? [90, 160, 230] : bx < 500 ? [60, 140, 40] : [150, 110, 70]),
      }),
    },
    { name: "truncated.jpg", bytes: photo.subarray(0, Math.floor(photo.length / 2)) },
    { name: "empty.jpg", bytes: new Uint8Array(0) },
    { name: "notes.png", bytes: new TextEncoder().encode("Shopping list: milk, eggs, flour.\n") },
    { name: "PHOTO.JPG", bytes: photo },
  ];
}
