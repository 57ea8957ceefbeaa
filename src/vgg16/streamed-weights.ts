/**
 * Weight tensors made as the shards arrive (streaming-weights.ts), so that the upload overlaps the reading,
 * while the backend is still starting: tensors can only be made once it has, so the shards read before then
 * wait in a list, and every later one goes straight into StreamingWeights.
 */
import type * as tfjs from "@tensorflow/tfjs";
import { StreamingWeights, type StreamingWeightsOptions } from "./streaming-weights";

export interface StreamHooks {
  /** The StreamingWeights options, asked for once the backend has started (its heap, for one). */
  options(): StreamingWeightsOptions;
  /** Frees what `options().onWeight` made early that the model did not take. */
  releaseEarly(): void;
}

export interface WeightStream {
  /** For fetchModelFiles' onShards: called with the manifest, returns the per-shard callback. */
  onShards(
    specs: readonly tfjs.io.WeightsManifestEntry[],
    shardCount: number,
  ): (index: number, buffer: ArrayBuffer) => void;
  /**
   * The tensors by name (the caller owns them from here), or null when nothing was streamed; frees them if
   * incomplete or if a shard failed. Only after the backend started.
   */
  take(): tfjs.NamedTensorMap | null;
  /** Frees the early products the model did not take (call once it is built, or failed to). */
  releaseEarly(): void;
  /** Frees everything (the load failed). */
  dispose(): void;
}

export function streamWhileBackendStarts(
  tf: typeof tfjs,
  backendStarted: Promise<unknown>,
  hooks: StreamHooks,
): WeightStream {
  let weights: StreamingWeights | null = null;
  /** Shards read before the backend started, and the arguments to make the weights with once it has. */
  let waiting: {
    specs: readonly tfjs.io.WeightsManifestEntry[];
    shardCount: number;
    shards: [number, ArrayBuffer][];
  } | null = null;
  let failure: unknown = null;
  let disposed = false;
  let started = false;
  /** Makes the weights from the shards so far; only once the backend has started (tensors go to it). */
  const begin = () => {
    if (!waiting || disposed) return;
    const { specs, shardCount, shards } = waiting;
    waiting = null;
    weights = new StreamingWeights(tf, specs, shardCount, hooks.options());
    try {
      for (const [index, buffer] of shards) weights.add(index, buffer);
    } catch (error) {
      failure = error;
    }
  };
  void backendStarted.then(
    () => {
      started = true;
      begin();
    },
    () => {},
  );
  return {
    onShards(specs, shardCount) {
      waiting = { specs, shardCount, shards: [] };
      if (started) begin();
      return (index, buffer) => {
        // Before the backend started: kept for begin(). After: made at once (a bad shard fails the read).
        if (waiting) waiting.shards.push([index, buffer]);
        else weights?.add(index, buffer);
      };
    },
    take() {
      begin();
      const made = weights;
      weights = null;
      if (!made) return null;
      try {
        if (failure !== null) throw failure;
        return made.finish();
      } catch (error) {
        made.dispose();
        throw error;
      }
    },
    releaseEarly() {
      hooks.releaseEarly();
    },
    dispose() {
      disposed = true;
      waiting = null;
      hooks.releaseEarly();
      weights?.dispose();
      weights = null;
    },
  };
}
