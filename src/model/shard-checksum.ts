/**
 * A fast checksum of a cached weights shard, stored beside it (a header of
 * its Cache Storage entry) when the shard is stored, and compared when it is
 * read back.
 *
 * Why not the SHA-256 from model.json again: on a cached reload that is
 * ~0.8 s of CPU for VGG16's 553 MB on this project's 2-core machine, on the
 * path to the first prediction, and it proves nothing more here. The
 * SHA-256 guards the download (the bytes are the ones model.json names);
 * after that, what can go wrong is damage to the stored copy, and whoever
 * could alter the cached shards could alter the cached model.json and its
 * digests as well.
 *
 * The checksum is XXH64 (xxhash-wasm): ~0.11–0.18 s for 553 MB in Node here,
 * a millisecond or two per 4 MiB shard. It is not cryptographic; accidental
 * damage goes unnoticed with a chance of about 2⁻⁶⁴. The entry also keeps the
 * SHA-256 that model.json gave for the shard (model-files.ts), so cached
 * bytes are only used for the model.json that named them.
 */
import xxhash, { type XXHashAPI } from "xxhash-wasm";

/** The Cache Storage header that carries a shard's checksum. */
export const SHARD_CHECKSUM_HEADER = "X-VGG16-Checksum";

/** Names the function, so that it can change without misreading older entries (see isShardChecksum). */
const PREFIX = "xxh64-";

/** xxhash-wasm copies its input into its own memory, which never shrinks: hash in slices of this many bytes. */
const SLICE_BYTES = 4 * 1024 * 1024;

let hasher: Promise<XXHashAPI> | null = null;

/**
 * The checksum of `bytes` as stored in the header ("xxh64-" and 16 hex digits), or null where xxhash-wasm
 * cannot start (then the caller goes without: SHA-256 on reading, no header on storing).
 */
export async function shardChecksum(bytes: ArrayBuffer | ArrayBufferView): Promise<string | null> {
  hasher ??= xxhash();
  let api: XXHashAPI;
  try {
    api = await hasher;
  } catch {
    hasher = null; // try again next time
    return null;
  }
  const view =
    bytes instanceof ArrayBuffer
      ? new Uint8Array(bytes)
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const state = api.create64();
  for (let at = 0; at < view.byteLength; at += SLICE_BYTES) state.update(view.subarray(at, at + SLICE_BYTES));
  return PREFIX + state.digest().toString(16).padStart(16, "0");
}

/** Whether a stored checksum is of the kind this version computes (for any other, the caller falls back to the SHA-256). */
export function isShardChecksum(stored: string | null): stored is string {
  return stored !== null && /^xxh64-[0-9a-f]{16}$/.test(stored);
}

/**
 * Compares a shard's bytes with the checksum stored beside them: null when they match, else what is wrong, in
 * words; undefined when no checksum can be computed here. `computed`: the bytes' checksum where another thread
 * computed it already (it is then not computed again).
 */
export async function shardChecksumProblem(
  bytes: ArrayBuffer,
  stored: string,
  computed?: string | null,
): Promise<string | null | undefined> {
  const actual = isShardChecksum(computed ?? null) ? computed : await shardChecksum(bytes);
  if (actual === null || actual === undefined) return undefined;
  return actual === stored ? null : `has checksum ${actual}, stored with ${stored}`;
}
