/**
 * What an image file is and how big it is, from its first bytes only: no pixels are decoded. Used before
 * decoding so a huge photo is decoded at a reduced size (decode-image.ts), and to tell the user what is
 * wrong with a file the browser cannot decode ("not an image", "cut off"). Pure; unit-tested.
 */

export type ImageFormat = "jpeg" | "png" | "gif" | "webp" | "bmp" | "avif" | "ico" | "svg";

export interface ImageHeader {
  readonly format: ImageFormat;
  /** As stored in the file. */
  readonly width: number;
  readonly height: number;
  /** EXIF orientation 1..8 (JPEG only; 1 when absent). 5..8 swap width and height when shown. */
  readonly orientation: number;
}

const FORMAT_NAMES: Record<ImageFormat, string> = {
  jpeg: "JPEG",
  png: "PNG",
  gif: "GIF",
  webp: "WebP",
  bmp: "BMP",
  avif: "AVIF",
  ico: "ICO",
  svg: "SVG",
};

export function formatName(format: ImageFormat): string {
  return FORMAT_NAMES[format];
}

function startsWith(bytes: Uint8Array, signature: readonly number[], at = 0): boolean {
  return signature.every((b, i) => bytes[at + i] === b);
}

function text(bytes: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + length));
}

/** The format from the file's signature (magic bytes), or null when it is none of the image formats. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (text(bytes, 0, 6) === "GIF87a" || text(bytes, 0, 6) === "GIF89a") return "gif";
  if (text(bytes, 0, 4) === "RIFF" && text(bytes, 8, 4) === "WEBP") return "webp";
  if (text(bytes, 0, 2) === "BM" && bytes.length >= 26) return "bmp";
  if (text(bytes, 4, 4) === "ftyp" && /^avi[fs]$/.test(text(bytes, 8, 4))) return "avif";
  if (startsWith(bytes, [0, 0, 1, 0])) return "ico";
  const head = new TextDecoder().decode(bytes.subarray(0, 1024)).trimStart().toLowerCase();
  if (head.startsWith("<svg") || (head.startsWith("<?xml") && head.includes("<svg"))) return "svg";
  return null;
}

function u16be(b: Uint8Array, at: number): number {
  return ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
}
function u16le(b: Uint8Array, at: number): number {
  return (b[at] ?? 0) | ((b[at + 1] ?? 0) << 8);
}
function u32be(b: Uint8Array, at: number): number {
  return u16be(b, at) * 65536 + u16be(b, at + 2);
}
function u32le(b: Uint8Array, at: number): number {
  return u16le(b, at) + u16le(b, at + 2) * 65536;
}

/** The Orientation tag (0x0112) of an EXIF APP1 payload that starts at `at` ("Exif\0\0"), or 1. */
export function exifOrientation(b: Uint8Array, at: number, end: number): number {
  if (text(b, at, 6) !== "Exif\0\0") return 1;
  const tiff = at + 6;
  const little = text(b, tiff, 2) === "II";
  if (!little && text(b, tiff, 2) !== "MM") return 1;
  const r16 = (o: number) => (little ? u16le(b, o) : u16be(b, o));
  const r32 = (o: number) => (little ? u32le(b, o) : u32be(b, o));
  const ifd = tiff + r32(tiff + 4);
  if (ifd + 2 > end) return 1;
  const entries = r16(ifd);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > end) return 1;
    if (r16(entry) === 0x0112) {
      const value = r16(entry + 8);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

function jpegHeader(b: Uint8Array): ImageHeader | null {
  let orientation = 1;
  let at = 2;
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return null;
    const marker = b[at + 1] as number;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      at += 2;
      continue;
    }
    const length = u16be(b, at + 2);
    if (length < 2) return null;
    if (marker === 0xe1 && orientation === 1) {
      orientation = exifOrientation(b, at + 4, Math.min(b.length, at + 2 + length));
    }
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (at + 9 > b.length) return null;
      return { format: "jpeg", height: u16be(b, at + 5), width: u16be(b, at + 7), orientation };
    }
    if (marker === 0xda || marker === 0xd9) return null; // scan data before any frame header
    at += 2 + length;
  }
  return null;
}

function webpHeader(b: Uint8Array): ImageHeader | null {
  const chunk = text(b, 12, 4);
  const d = 20; // chunk data
  if (chunk === "VP8 " && b.length >= d + 10) {
    return {
      format: "webp",
      width: u16le(b, d + 6) & 0x3fff,
      height: u16le(b, d + 8) & 0x3fff,
      orientation: 1,
    };
  }
  if (chunk === "VP8L" && b.length >= d + 5 && b[d] === 0x2f) {
    const bits = u32le(b, d + 1);
    return {
      format: "webp",
      width: (bits & 0x3fff) + 1,
      height: ((bits >>> 14) & 0x3fff) + 1,
      orientation: 1,
    };
  }
  if (chunk === "VP8X" && b.length >= d + 10) {
    const w = (b[d + 4] ?? 0) | ((b[d + 5] ?? 0) << 8) | ((b[d + 6] ?? 0) << 16);
    const h = (b[d + 7] ?? 0) | ((b[d + 8] ?? 0) << 8) | ((b[d + 9] ?? 0) << 16);
    return { format: "webp", width: w + 1, height: h + 1, orientation: 1 };
  }
  return null;
}

/**
 * Format, stored size and orientation from a file's first bytes (a few hundred kB are plenty: the JPEG
 * frame header follows the APP segments, each at most 64 kB). Null when the format is unknown or the
 * size is not in the bytes given (SVG, AVIF, ICO: the browser decides).
 */
export function readImageHeader(b: Uint8Array): ImageHeader | null {
  const format = sniffFormat(b);
  switch (format) {
    case "jpeg":
      return jpegHeader(b);
    case "png":
      return b.length >= 24 && text(b, 12, 4) === "IHDR"
        ? { format, width: u32be(b, 16), height: u32be(b, 20), orientation: 1 }
        : null;
    case "gif":
      return b.length >= 10 ? { format, width: u16le(b, 6), height: u16le(b, 8), orientation: 1 } : null;
    case "webp":
      return webpHeader(b);
    case "bmp": {
      const height = u32le(b, 22);
      // Negative height (top-down rows) as a signed 32-bit value.
      return {
        format,
        width: u32le(b, 18),
        height: height > 0x7fffffff ? 0x100000000 - height : height,
        orientation: 1,
      };
    }
    default:
      return null;
  }
}

/** The size an image is shown at: EXIF orientations 5..8 turn it by 90°. */
export function shownSize(header: ImageHeader): { readonly width: number; readonly height: number } {
  return header.orientation >= 5
    ? { width: header.height, height: header.width }
    : { width: header.width, height: header.height };
}

/** A JPEG's last bytes should be its end-of-image marker (FF D9); without it the file was cut off. */
export function jpegLooksTruncated(tail: Uint8Array): boolean {
  for (let i = tail.length - 2; i >= 0; i--) {
    if (tail[i] === 0xff && tail[i + 1] === 0xd9) return false;
  }
  return true;
}
