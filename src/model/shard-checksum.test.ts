import { describe, expect, it } from "vitest";
import xxhash from "xxhash-wasm";
import { mulberry32 } from "../transfer/random";
import { isShardChecksum, shardChecksum, shardChecksumProblem } from "./shard-checksum";

/** Bytes like a shard's (float32 weights), `n` long. */
function shard(n: number, seed = 1): Uint8Array {
  const random = mulberry32(seed);
  const floats = new Float32Array(Math.ceil(n / 4));
  for (let i = 0; i < floats.length; i++) floats[i] = (random() - 0.5) * 0.1;
  return new Uint8Array(floats.buffer, 0, n);
}

const flipped = (bytes: Uint8Array, byte: number, bit: number) => {
  const copy = bytes.slice();
  copy[byte] = (copy[byte] as number) ^ (1 << bit);
  return copy;
};

describe("shard checksum", () => {
  it("is XXH64: the reference's test vectors", async () => {
    // From xxHash's own sanity checks (seed 0).
    expect(await shardChecksum(new Uint8Array(0))).toBe("xxh64-ef46db3751d8e999");
    expect(await shardChecksum(new TextEncoder().encode("abc"))).toBe("xxh64-44bc2cf5ad770999");
  });

  it("hashes in 4 MiB slices: a 9 MiB shard has the one-shot XXH64 of its bytes", async () => {
    const big = shard(9 * 1024 * 1024 + 5);
    const { h64Raw } = await xxhash();
    expect(await shardChecksum(big)).toBe(`xxh64-${h64Raw(big).toString(16).padStart(16, "0")}`);
  });

  it("is the same for the same bytes, whatever the view", async () => {
    const bytes = shard(1000);
    const sum = await shardChecksum(bytes);
    expect(isShardChecksum(sum)).toBe(true);
    expect(await shardChecksum(bytes.slice().buffer)).toBe(sum);
    const padded = new Uint8Array(1001);
    padded.set(bytes, 1);
    expect(await shardChecksum(padded.subarray(1))).toBe(sum);
  });

  it("changes with every single bit flipped, in whole stripes and in the tail", async () => {
    const bytes = shard(32 * 4 + 13); // four 32-byte stripes, then 8-, 4- and 1-byte tails
    const seen = new Set([await shardChecksum(bytes)]);
    for (let byte = 0; byte < bytes.length; byte++) {
      for (let bit = 0; bit < 8; bit++) seen.add(await shardChecksum(flipped(bytes, byte, bit)));
    }
    expect(seen.size).toBe(1 + bytes.length * 8);
  });

  it("catches two flips of the same bit in one lane, and swapped words", async () => {
    const bytes = shard(4096);
    const sum = await shardChecksum(bytes);
    expect(await shardChecksum(flipped(flipped(bytes, 7, 7), 39, 7))).not.toBe(sum);
    const swapped = bytes.slice();
    swapped.set(bytes.subarray(0, 8), 32);
    swapped.set(bytes.subarray(32, 40), 0);
    expect(await shardChecksum(swapped)).not.toBe(sum);
    expect(await shardChecksum(new Uint8Array(32))).not.toBe(await shardChecksum(new Uint8Array(64)));
  });

  it("says what is wrong, and accepts only this version's kind", async () => {
    const bytes = shard(100);
    const sum = (await shardChecksum(bytes)) as string;
    expect(await shardChecksumProblem(bytes.slice().buffer, sum)).toBeNull();
    const damaged = flipped(bytes, 50, 0);
    expect(await shardChecksumProblem(damaged.buffer, sum)).toBe(
      `has checksum ${await shardChecksum(damaged)}, stored with ${sum}`,
    );
    expect(isShardChecksum(null)).toBe(false);
    expect(isShardChecksum(`xxh32-${sum.slice(6, 14)}`)).toBe(false);
    expect(isShardChecksum(sum.toUpperCase())).toBe(false);
  });
});
