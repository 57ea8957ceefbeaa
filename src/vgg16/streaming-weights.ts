/**
 * Weight tensors made while the shards are still arriving. The shards,
 * joined in manifest order, are every weight's bytes in weightSpecs order
 * (what tf.io.decodeWeights walks); as soon as the shards read so far cover a
 * weight, its tensor is made. So the upload into the backend (a copy into the
 * WASM heap, or a texture) overlaps the reading of the later shards, where
 * before it waited for all 553 MB.
 *
 * A float32 weight inside one shard is uploaded from a view of it (no extra
 * copy). One that spans shards is, given `inPlace` (the WASM heap), written
 * into its tensor shard by shard as they come; else assembled first. On a
 * cached reload in Chromium that assembly (a fresh 411 MB buffer for fc1,
 * then the copy into the heap) cost the worker ~0.5 s while it was also
 * reading the cache. Other dtypes and quantized weights go through
 * tf.io.decodeWeights, which dequantizes.
 */
import type * as tfjs from "@tensorflow/tfjs";
import { weightBytes } from "./model-files";

type TF = typeof tfjs;

/** Float32 tensors that can be allocated first and written in place (WasmInternals has both). */
export interface InPlaceTensors {
  uninitialised(shape: number[]): tfjs.Tensor;
  /** The tensor's bytes, writable (a fresh view on each call). */
  bytesOf(t: tfjs.Tensor): Uint8Array;
}

export interface StreamingWeightsOptions {
  /** Where weights that span shards are written in place (the WASM heap), or null: assembled first. */
  readonly inPlace?: InPlaceTensors | null;
  /** Called with each weight's tensor as soon as it is made (the caller must not dispose it). */
  readonly onWeight?: (name: string, tensor: tfjs.Tensor) => void;
}

/** A weight being written into its tensor as shards arrive: `written` of its bytes so far. */
interface PartialWeight {
  readonly tensor: tfjs.Tensor;
  readonly inPlace: InPlaceTensors;
  written: number;
}

export class StreamingWeights {
  private readonly shards: (ArrayBuffer | undefined)[];
  /** Shards 0 … nextShard − 1 have arrived, and bytes [0, availableBytes) with them. */
  private nextShard = 0;
  private availableBytes = 0;
  /** Start (in the joined bytes) of each arrived shard. */
  private readonly shardStarts: number[] = [];
  private nextWeight = 0;
  private weightStart = 0;
  private readonly tensors: Record<string, tfjs.Tensor> = {};
  /** The weight at nextWeight, when it is being written in place. */
  private partial: PartialWeight | null = null;
  private disposed = false;

  constructor(
    private readonly tf: TF,
    private readonly specs: readonly tfjs.io.WeightsManifestEntry[],
    shardCount: number,
    private readonly options: StreamingWeightsOptions = {},
  ) {
    this.shards = new Array(shardCount);
  }

  /** Shard `index` arrived (any order); makes every weight the shards so far cover. */
  add(index: number, buffer: ArrayBuffer): void {
    if (this.disposed) return;
    if (index < 0 || index >= this.shards.length || this.shards[index] !== undefined) {
      throw new Error(`weights: shard ${index} given twice or out of range`);
    }
    this.shards[index] = buffer;
    while (this.nextShard < this.shards.length) {
      const next = this.shards[this.nextShard];
      if (next === undefined) break;
      this.shardStarts.push(this.availableBytes);
      this.availableBytes += next.byteLength;
      this.nextShard++;
    }
    this.makeCovered();
  }

  /** Every weight's tensor, by name; throws when the shards did not cover them all (nothing is freed). */
  finish(): Record<string, tfjs.Tensor> {
    if (this.nextWeight < this.specs.length) {
      throw new Error(
        `weights: ${this.specs.length - this.nextWeight} of ${this.specs.length} weights were not made ` +
          `(${this.availableBytes} bytes arrived)`,
      );
    }
    return this.tensors;
  }

  /** Frees every tensor made so far; later shards are ignored. */
  dispose(): void {
    this.disposed = true;
    this.tf.dispose(Object.values(this.tensors));
    this.partial?.tensor.dispose();
    this.partial = null;
  }

  private makeCovered(): void {
    while (this.nextWeight < this.specs.length) {
      const spec = this.specs[this.nextWeight] as tfjs.io.WeightsManifestEntry;
      const end = this.weightStart + weightBytes(spec);
      // Begun but not complete: it spans shards (a whole shard has arrived, so one inside it would be complete).
      const spansShards = this.weightStart < this.availableBytes && end > this.availableBytes;
      const inPlace = this.partial === null && spansShards ? this.inPlaceFor(spec) : null;
      if (inPlace) this.partial = { tensor: inPlace.uninitialised(spec.shape), inPlace, written: 0 };
      let tensor: tfjs.Tensor;
      if (this.partial) {
        const upTo = Math.min(end, this.availableBytes);
        this.writeInPlace(this.partial, upTo);
        if (upTo < end) return;
        tensor = this.partial.tensor;
        this.partial = null;
      } else {
        if (end > this.availableBytes) return;
        tensor = this.make(spec, this.weightStart, end);
      }
      this.tensors[spec.name] = tensor;
      this.nextWeight++;
      this.weightStart = end;
      this.options.onWeight?.(spec.name, tensor);
    }
  }

  /** Where this weight can be written in place: float32 as stored, given a heap to write it into. */
  private inPlaceFor(spec: tfjs.io.WeightsManifestEntry): InPlaceTensors | null {
    return spec.dtype === "float32" && !spec.quantization ? (this.options.inPlace ?? null) : null;
  }

  /** Copies the partial weight's bytes that have arrived, up to joined byte `upTo`, into its tensor. */
  private writeInPlace(partial: PartialWeight, upTo: number): void {
    const from = this.weightStart + partial.written;
    if (upTo <= from) return;
    this.copyInto(partial.inPlace.bytesOf(partial.tensor), from - this.weightStart, from, upTo);
    partial.written = upTo - this.weightStart;
  }

  /** The tensor of the weight at joined bytes [start, end). */
  private make(spec: tfjs.io.WeightsManifestEntry, start: number, end: number): tfjs.Tensor {
    const { index, offset } = this.locate(start);
    const shard = this.shards[index] as ArrayBuffer;
    const plainFloat32 = spec.dtype === "float32" && !spec.quantization;
    if (plainFloat32 && offset + (end - start) <= shard.byteLength && offset % 4 === 0) {
      return this.tf.tensor(new Float32Array(shard, offset, (end - start) / 4), spec.shape, "float32");
    }
    const joined = this.copy(start, end);
    if (plainFloat32) return this.tf.tensor(new Float32Array(joined), spec.shape, "float32");
    const decoded = this.tf.io.decodeWeights(joined, [spec]);
    return decoded[spec.name] as tfjs.Tensor;
  }

  /** The shard holding joined byte `at`, and the offset in it. */
  private locate(at: number): { index: number; offset: number } {
    let index = 0;
    while (index + 1 < this.nextShard && (this.shardStarts[index + 1] as number) <= at) index++;
    return { index, offset: at - (this.shardStarts[index] as number) };
  }

  /** Joined bytes [start, end) as one new buffer. */
  private copy(start: number, end: number): ArrayBuffer {
    const out = new Uint8Array(end - start);
    this.copyInto(out, 0, start, end);
    return out.buffer;
  }

  /** Copies joined bytes [start, end), across shard ends, into `target` from byte `at`. */
  private copyInto(target: Uint8Array, at: number, start: number, end: number): void {
    let { index, offset } = this.locate(start);
    for (let from = start; from < end; index++, offset = 0) {
      const shard = this.shards[index] as ArrayBuffer;
      const take = Math.min(shard.byteLength - offset, end - from);
      target.set(new Uint8Array(shard, offset, take), at + (from - start));
      from += take;
    }
  }
}
