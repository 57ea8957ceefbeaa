/**
 * Quantization against exact IEEE half bit patterns (decoded by an independent
 * decoder written here) and the tfjs-converter affine uint8 formula.
 */
import { describe, expect, it } from "vitest";
import {
  isQuantization,
  QUANTIZATIONS,
  quantizeFloat16,
  quantizeUint8,
  toFloat16Bits,
} from "../src/model/quantize";
import { createRandom } from "../src/model/random";

/** IEEE 754 binary16 bits → number, straight from the definition. */
function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0x1f) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

const hex = (n: number) => `0x${n.toString(16).padStart(4, "0")}`;

describe("toFloat16Bits", () => {
  const cases: ReadonlyArray<readonly [number, number]> = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-1, 0xbc00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [0.333251953125, 0x3555], // 1/3 rounded to half
    [65504, 0x7bff], // largest finite half
    [-65504, 0xfbff],
    [65520, 0x7c00], // halfway to 2^16: ties to even → Infinity
    [65519, 0x7bff], // just below the tie
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [Number.POSITIVE_INFINITY, 0x7c00],
    [Number.NEGATIVE_INFINITY, 0xfc00],
    [2 ** -24, 0x0001], // smallest subnormal
    [-(2 ** -24), 0x8001],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -14 - 2 ** -24, 0x03ff], // largest subnormal
    [2 ** -25, 0x0000], // tie between 0 and 2^-24: even is 0
    [-(2 ** -25), 0x8000],
    [2 ** -25 * 1.0001, 0x0001], // just above the tie
    [3 * 2 ** -25, 0x0002], // tie between 0x0001 and 0x0002: even is 0x0002
    [2 ** -26, 0x0000],
    [1e-10, 0x0000],
    [1 + 2 ** -11, 0x3c00], // tie: 0x3c00 is even
    [1 + 3 * 2 ** -11, 0x3c02], // tie: 0x3c01 is odd, round up
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // above the tie
    [2 - 2 ** -12, 0x4000], // rounding carries into the exponent
  ];
  it.each(cases.map(([value, bits]) => [value, hex(bits)] as const))("%s → %s", (value, bits) => {
    expect(hex(toFloat16Bits(value))).toBe(bits);
  });

  it("encodes NaN as a NaN pattern (exponent all ones, mantissa non-zero)", () => {
    for (const nan of [
      Number.NaN,
      -Number.NaN,
      new Float32Array(new Uint32Array([0x7f800001]).buffer)[0] as number,
    ]) {
      const bits = toFloat16Bits(nan);
      expect((bits >> 10) & 0x1f).toBe(0x1f);
      expect(bits & 0x3ff).not.toBe(0);
      expect(halfToNumber(bits)).toBeNaN();
    }
  });

  it("round-trips every finite half exactly", () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      if (((bits >> 10) & 0x1f) === 0x1f) continue; // Inf / NaN
      const got = toFloat16Bits(halfToNumber(bits));
      if (got !== bits) expect(hex(got), `round trip of ${hex(bits)}`).toBe(hex(bits));
    }
  });

  it("rounds every midpoint between neighbouring halves to the even one, and off-midpoints to the nearest", () => {
    for (let bits = 0; bits < 0x7bff; bits++) {
      const lo = halfToNumber(bits);
      const hi = halfToNumber(bits + 1);
      const mid = (lo + hi) / 2; // 12 significant bits: exact in float32
      expect(Math.fround(mid)).toBe(mid);
      const even = bits % 2 === 0 ? bits : bits + 1;
      const eps = (hi - lo) / 1024;
      const got = [
        toFloat16Bits(mid),
        toFloat16Bits(Math.fround(mid - eps)),
        toFloat16Bits(Math.fround(mid + eps)),
      ];
      const want = [even, bits, bits + 1];
      if (got.some((g, i) => g !== want[i])) {
        expect(got.map(hex), `around the midpoint of ${hex(bits)}`).toEqual(want.map(hex));
      }
    }
  });

  it("has relative error ≤ 2^-11 on 10,000 random normal-range values", () => {
    const random = createRandom(1234);
    const values = new Float32Array(10_000);
    for (let i = 0; i < values.length; i++) {
      const magnitude = 2 ** (-14 + random() * 29.9); // [2^-14, ~2^15.9] < 65504
      values[i] = (random() < 0.5 ? -1 : 1) * magnitude;
    }
    const halves = quantizeFloat16(values);
    expect(halves).toBeInstanceOf(Uint16Array);
    expect(halves).toHaveLength(values.length);
    let worst = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      const bits = halves[i] as number;
      expect(bits).toBe(toFloat16Bits(v));
      const back = halfToNumber(bits);
      expect(Math.sign(back)).toBe(Math.sign(v));
      worst = Math.max(worst, Math.abs(back - v) / Math.abs(v));
    }
    expect(worst).toBeLessThanOrEqual(2 ** -11);
    expect(worst).toBeGreaterThan(2 ** -13); // the test data does exercise rounding
  });
});

describe("quantizeUint8", () => {
  const dequantize = (q: number, scale: number, min: number) => q * scale + min;

  it("follows the converter's formula on [-1, 0, 0.5, 3]", () => {
    const { data, scale, min } = quantizeUint8(Float32Array.from([-1, 0, 0.5, 3]));
    expect(scale).toBeCloseTo(4 / 255, 12);
    // zero_point = round(1 / scale) = round(63.75) = 64, min nudged to -64·scale
    expect(min).toBeCloseTo(-64 * (4 / 255), 12);
    expect(min).toBe(-64 * scale);
    expect(Array.from(data)).toEqual([0, 64, Math.round((0.5 - min) / scale), 255]);
    expect(data[2]).toBe(96); // 0.5 / (4/255) = 31.875 → 64 + 32
    expect(dequantize(data[1] as number, scale, min)).toBe(0);
  });

  it("makes 0 exactly representable, also after a JSON round trip of scale and min", () => {
    const random = createRandom(99);
    const cases: Float32Array[] = [
      Float32Array.from([-1, 0, 0.5, 3]),
      Float32Array.from([0.25, 1, 2, 3.7]), // all positive
      Float32Array.from([-3.3, -2, -0.1]), // all negative
      Float32Array.from([-0.013, 0.77, 0.3]),
    ];
    for (let c = 0; c < 20; c++) {
      const lo = -random() * 5;
      const hi = random() * 7;
      cases.push(Float32Array.from({ length: 50 }, () => lo + random() * (hi - lo)));
    }
    for (const values of cases) {
      const withZero = Float32Array.from([...values, 0]);
      const a = quantizeUint8(values);
      const b = quantizeUint8(withZero);
      // The range always includes 0, so appending 0 changes nothing.
      expect(b.scale).toBe(a.scale);
      expect(b.min).toBe(a.min);
      const q0 = b.data[values.length] as number;
      expect(dequantize(q0, b.scale, b.min)).toBe(0);
      // As TF.js does it: scale/min through model.json, double math, float32 store.
      const manifest = JSON.parse(JSON.stringify({ scale: b.scale, min: b.min })) as {
        scale: number;
        min: number;
      };
      expect(Float32Array.of(q0 * manifest.scale + manifest.min)[0]).toBe(0);
    }
  });

  it("keeps the round-trip error within scale/2 on random data", () => {
    const random = createRandom(5);
    for (const [lo, hi] of [
      [-1, 1],
      [-0.05, 0.2],
      [-7, 0.5],
      [0.1, 3],
    ] as const) {
      const values = Float32Array.from({ length: 5000 }, () => lo + random() * (hi - lo));
      const { data, scale, min } = quantizeUint8(values);
      let worst = 0;
      for (let i = 0; i < values.length; i++) {
        worst = Math.max(worst, Math.abs(dequantize(data[i] as number, scale, min) - (values[i] as number)));
      }
      expect(worst, `range [${lo}, ${hi}]`).toBeLessThanOrEqual(scale / 2 + 1e-7);
      const range = Math.max(hi, 0) - Math.min(lo, 0);
      expect(scale).toBeCloseTo(range / 255, 3);
    }
  });

  it("maps the extremes to 0 and 255 without wrapping", () => {
    const values = Float32Array.from([-2.5, -1, 0, 1, 4.75]);
    const { data } = quantizeUint8(values);
    expect(data[0]).toBe(0);
    expect(data[4]).toBe(255);
    for (let i = 1; i < data.length; i++) expect(data[i] as number).toBeGreaterThan(data[i - 1] as number);
    for (const q of data) {
      expect(q).toBeGreaterThanOrEqual(0);
      expect(q).toBeLessThanOrEqual(255);
    }
  });

  it("gives scale 1 and zeros for constant-zero input", () => {
    const { data, scale, min } = quantizeUint8(new Float32Array(8));
    expect(scale).toBe(1);
    expect(min).toBe(0);
    expect(Array.from(data)).toEqual(new Array(8).fill(0));
    expect(quantizeUint8(new Float32Array(0)).data).toHaveLength(0);
  });
});

describe("quantization names", () => {
  it("recognises exactly the three modes", () => {
    expect(QUANTIZATIONS).toEqual(["none", "float16", "uint8"]);
    expect(isQuantization("float16")).toBe(true);
    expect(isQuantization("uint8")).toBe(true);
    expect(isQuantization("none")).toBe(true);
    expect(isQuantization("uint16")).toBe(false);
    expect(isQuantization("")).toBe(false);
  });
});
