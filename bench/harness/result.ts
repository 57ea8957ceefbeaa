/**
 * What one bench page load reports in `window.__benchResult` (and POSTs to
 * `report`). Field names are those of the benchmark's JSON
 * (bench/results/*.json, "backends.<name>"), so a driver merges the cold-load
 * page and the full page by taking, field by field, the value that is not
 * null. Times in ms unless the name says s; null: not measured.
 */

export interface AdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly isFallbackAdapter: boolean;
}

export interface PageEnvironment {
  readonly user_agent: string;
  readonly hardware_concurrency: number;
  readonly cross_origin_isolated: boolean;
  /** WebGPU adapter (high-performance) as the page sees it; null: no navigator.gpu or no adapter. */
  readonly webgpu_adapter: AdapterInfo | null;
  /** WEBGL_debug_renderer_info's UNMASKED_RENDERER_WEBGL (else RENDERER) of a WebGL2 context; null: none. */
  readonly webgl_renderer: string | null;
  readonly webgl_vendor: string | null;
  /** The worker's capabilities (src/vgg16/capabilities.ts), which the app's backend choice reads. */
  readonly capabilities: unknown;
}

export interface PartTiming {
  readonly part: string;
  readonly start_ms: number;
  readonly end_ms: number;
}

export interface TrainFigures {
  /** Median seconds of the whole epochs run (or projected from the batches run when none finished). */
  readonly s_per_epoch: number | null;
  readonly epochs_run: number;
  readonly batches_run: number;
  readonly batches_per_epoch: number;
  readonly epoch_s: readonly number[];
  readonly total_s: number;
  /** Seconds 20 epochs take: measured when 20 ran, else the time so far plus the median epoch for the rest. */
  readonly projected_20_epochs_s: number | null;
  /** True when the time budget, not the epoch count, ended the run. */
  readonly stopped_by_budget: boolean;
  readonly final_loss: number | null;
  /** Which training step ran, e.g. "wasm-sparse-rmsprop, 2 threads" or "model.fit". */
  readonly step: string | null;
}

export interface PageResult {
  readonly schema: 1;
  readonly page: "bench";
  readonly url: string;
  readonly params: Record<string, unknown>;
  readonly requested_backend: string;
  /** The backend TF.js actually runs (what the app's worker reports). */
  readonly backend: string | null;
  readonly backend_reason: string | null;
  /** What ran VGG16 in the app's worker: "wasm-runner" or "graph-model" (LoadedModel.engine). */
  readonly engine: string | null;
  readonly threads: number | null;
  readonly simd: boolean | null;
  readonly environment: PageEnvironment | null;

  readonly model: {
    readonly url: string;
    readonly model_id: string;
    readonly synthetic: boolean;
    readonly quantization: string;
    /** Parameters × 4: the model's float32 weights in memory. */
    readonly float32_weight_bytes: number;
  } | null;
  readonly from_cache: boolean | null;
  readonly load_ms: { readonly cold: number | null; readonly warm: number | null };
  readonly load_phases_ms: {
    readonly download: number;
    readonly upload: number;
    /** null: the WASM runner is ready without a warm-up (the first image does it). */
    readonly warmup: number | null;
    readonly total: number;
  } | null;
  readonly first_inference_ms: number | null;
  /** The baseline's first classification after building it (not among its samples, as ours is not). */
  readonly baseline_first_inference_ms: number | null;
  /** Untimed classifications before the samples until two agreed within 10% (figures.ts settle), beyond ours' first. */
  readonly settle_runs: number | null;
  readonly baseline_settle_runs: number | null;
  /** With the model cached: ms from navigation start to the first top-5 (page, worker, load, classify). */
  readonly first_prediction_after_reload_ms: number | null;
  readonly tfjs_bytes_after_load: number | null;

  readonly classify_ms_per_image: number | null;
  readonly classify_samples_ms: readonly number[];
  readonly baseline_classify_ms_per_image: number | null;
  readonly baseline_classify_samples_ms: readonly number[];
  /**
   * Inference alone at batch 1 (median of reps): predictBatch / predict on an already decoded image, timed
   * inside the bench worker, so the difference to classify_ms_per_image is decoding, messaging and the app's
   * job queue.
   */
  readonly inference_ms_per_image: number | null;
  readonly baseline_inference_ms_per_image: number | null;

  readonly features_images_per_s: Record<string, number | null>;
  readonly features_samples_ms: Record<string, readonly number[]>;
  readonly baseline_features_images_per_s: Record<string, number | null>;
  readonly baseline_features_samples_ms: Record<string, readonly number[]>;

  readonly train_s_per_epoch: number | null;
  readonly train: TrainFigures | null;
  readonly baseline_train_s_per_epoch: number | null;
  readonly baseline_train: TrainFigures | null;

  /**
   * The most memory TF.js held during one batch-1 classification (our graph model / the tf.layers baseline),
   * each data buffer counted once (bench-worker.ts measurePeak).
   */
  readonly peak_tfjs_bytes: number | null;
  readonly baseline_peak_tfjs_bytes: number | null;
  /** The same peaks as tf.profile / tf.memory() count them: a reshaped view of a buffer counts again. */
  readonly peak_tfjs_bytes_reported: number | null;
  readonly baseline_peak_tfjs_bytes_reported: number | null;

  readonly notes: readonly string[];
  readonly parts: readonly PartTiming[];
  readonly total_ms: number;
}

declare global {
  interface Window {
    __benchResult?: PageResult;
    __benchError?: string;
    /** Every progress line so far (also logged to the console with a "[bench]" prefix). */
    __benchLog?: string[];
  }
}
