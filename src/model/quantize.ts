/**
 * Weight quantization in the TF.js manifest formats (tfjs-converter's
 * quantization.py): IEEE float16, and affine uint8 with `value = q*scale + min`
 * where min is nudged so that 0 is exactly representable. TF.js dequantizes to
 * float32 at load time, so this saves download and cache size, not memory.
 */
export type Quantization = "none" | "float16" | "uint8";

export const QUANTIZATIONS: readonly Quantization[] = ["none", "float16", "uint8"];

export function isQuantization(value: string): value is Quantization {
  return (QUANTIZATIONS as readonly string[]).includes(value);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → float16 bits, round-to-nearest-even, with overflow to ±Infinity. */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // Inf / NaN
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    if (e < -10) return sign; // underflows to ±0
    mantissa |= 0x800000; // subnormal: add the implicit bit, then shift
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mantissa & ((1 << shift) - 1);
    let result = mantissa >>> shift;
    if (rest > half || (rest === half && result & 1)) result++;
    return sign | result;
  }
  let result = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && result & 1)) result++; // may carry into the exponent: correct
  return sign | result;
}

export function quantizeFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toFloat16Bits(values[i] as number);
  return out;
}

export interface AffineQuantized {
  readonly data: Uint8Array;
  readonly scale: number;
  readonly min: number;
}

export function quantizeUint8(values: Float32Array): AffineQuantized {
  let lo = 0;
  let hi = 0; // the range always includes 0, as in the converter
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const qmax = 255;
  const scale = hi > lo ? (hi - lo) / qmax : 1;
  const zeroPoint = Math.round(-lo / scale);
  const min = -zeroPoint * scale;
  const max = qmax * scale + min;
  const data = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.min(max, Math.max(min, values[i] as number));
    data[i] = Math.round((v - min) / scale);
  }
  return { data, scale, min };
}
