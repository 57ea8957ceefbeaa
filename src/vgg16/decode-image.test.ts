import { describe, expect, it } from "vitest";
import { checkDimensions, MAX_BLOB_BYTES, MAX_PIXELS, precheckBlob } from "./decode-image";

describe("decode limits", () => {
  it("refuses empty and over-64 MB files before decoding", () => {
    expect(precheckBlob(0)).toBe("empty file");
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
});
