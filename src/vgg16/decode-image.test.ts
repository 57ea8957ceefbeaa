import { afterEach, describe, expect, it, vi } from "vitest";
import {
  checkDimensions,
  decodeAllForVgg16,
  MAX_BLOB_BYTES,
  MAX_PIXELS,
  precheckBlob,
  reducedSize,
  undecodableMessage,
} from "./decode-image";

describe("decode limits", () => {
  it("refuses empty and over-64 MB files before decoding", () => {
    expect(precheckBlob(0)).toBe("the file is empty (0 bytes)");
    expect(precheckBlob(1)).toBeNull();
    expect(precheckBlob(MAX_BLOB_BYTES)).toBeNull();
    expect(precheckBlob(MAX_BLOB_BYTES + 1)).toBe("too large to decode safely (64.0 MB)");
    expect(precheckBlob(100 * 1024 * 1024)).toBe("too large to decode safely (100.0 MB)");
  });

  it("refuses images over 50 megapixels, naming their size", () => {
    expect(MAX_PIXELS).toBe(50_000_000);
    expect(checkDimensions(224, 224)).toBeNull();
    expect(checkDimensions(10_000, 5_000)).toBeNull();
    expect(checkDimensions(10_000, 5_001)).toBe("too large to decode safely (10000×5001)");
    expect(checkDimensions(0, 10)).toBe("not a decodable image (no pixels: 0×10)");
  });

  it("decodes images over 16.7 megapixels at 2048 on the long side, in shown orientation", () => {
    const jpeg = (width: number, height: number, orientation = 1) =>
      ({ format: "jpeg", width, height, orientation }) as const;
    expect(reducedSize(jpeg(4096, 4096))).toBeNull();
    expect(reducedSize(jpeg(4000, 3000))).toBeNull();
    expect(reducedSize(jpeg(8000, 6000))).toEqual({ width: 2048, height: 1536 });
    expect(reducedSize(jpeg(8000, 6000, 6))).toEqual({ width: 1536, height: 2048 });
  });

  it("says in words why a file does not decode", () => {
    const bytes = (...b: number[]) => Uint8Array.from(b);
    expect(undecodableMessage(new TextEncoder().encode("hello"), bytes(), "x")).toMatch(
      /^this is not an image/,
    );
    expect(undecodableMessage(bytes(0xff, 0xd8, 0xff, 0xe0), bytes(1, 2), "x")).toMatch(
      /JPEG file is cut off/,
    );
    expect(undecodableMessage(bytes(0xff, 0xd8, 0xff, 0xe0), bytes(0xff, 0xd9), "x")).toMatch(
      /the JPEG file is damaged/,
    );
  });
});

describe("decoding a batch", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("decodes at most 4 files at once and returns the results in input order", async () => {
    let running = 0;
    let most = 0;
    // A decoder that takes a while and then fails: the error names which file it was.
    vi.stubGlobal("createImageBitmap", async (blob: Blob) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5 + (blob.size % 3) * 5));
      running--;
      throw new Error(`cannot decode file of ${blob.size} bytes`);
    });
    // Three kinds of file, told apart by their messages: text, empty, the start of a JPEG.
    const kinds = ["text", "empty", "jpeg", "text", "jpeg", "jpeg", "text"] as const;
    const bytes = { text: [0x68, 0x69, 0x21, 0x0a], empty: [], jpeg: [0xff, 0xd8, 0xff, 0xe0, 0, 0x10] };
    const blobs = kinds.map((kind) => new Blob([Uint8Array.from(bytes[kind])]));
    const results = await decodeAllForVgg16(blobs, "stretch");
    expect(most).toBe(4); // 6 files reach the decoder
    const expected = {
      text: /^this is not an image/,
      empty: /^the file is empty \(0 bytes\)$/,
      jpeg: /JPEG/,
    };
    kinds.forEach((kind, i) => {
      const r = results[i];
      expect(r?.ok).toBe(false);
      expect(r?.ok === false ? r.error : "").toMatch(expected[kind]);
    });
  });
});
