/**
 * The worker API for the transfer-learning lesson: the same VGG16 worker
 * (src/vgg16/worker.ts) gains these methods, exposed through Comlink and
 * wrapped by Vgg16Client like load/classify (queued, cancellable with an
 * AbortSignal, re-run after a worker crash). Features never cross to the main
 * thread: the worker computes them, keeps them in the IndexedDB feature cache
 * (feature-cache.ts) and trains on them there.
 */

import type { Preprocessing } from "./feature-cache";
import type { EpochLogs, Evaluation, HeadConfig } from "./head";

/** One image of the dataset: `id` is the UI's, `blob` the file. */
export interface LessonImage {
  readonly id: string;
  readonly name: string;
  readonly blob: Blob;
}

export type FeatureResult =
  | { readonly id: string; readonly ok: true; readonly contentHash: string; readonly cached: boolean }
  | { readonly id: string; readonly ok: false; readonly error: string };

export interface ExtractOptions {
  readonly jobId: string;
  readonly batchSize?: number;
  readonly preprocessing?: Preprocessing;
}

export interface ExtractProgress {
  readonly done: number;
  readonly total: number;
  /** Images computed (not cache hits) per second so far. */
  readonly imagesPerSecond: number;
  readonly cacheHits: number;
}

/** A labelled sample, by the content hash extractFeatures reported. */
export interface LabelledSample {
  readonly contentHash: string;
  readonly label: number;
}

export interface TrainRequest {
  readonly jobId: string;
  readonly classes: readonly string[];
  readonly train: readonly LabelledSample[];
  readonly validation: readonly LabelledSample[];
  readonly config: HeadConfig;
  readonly preprocessing: Preprocessing;
  /** Continue the head in memory (and its history) instead of starting over. */
  readonly resume: boolean;
}

export type TrainEvent =
  | {
      readonly type: "batch";
      readonly epoch: number;
      readonly batch: number;
      readonly batchesPerEpoch: number;
      readonly loss: number;
      readonly acc: number;
    }
  | { readonly type: "epoch"; readonly logs: EpochLogs; readonly secondsPerEpoch: number };

export interface TrainSummary {
  readonly history: readonly EpochLogs[];
  readonly stopped: boolean;
  readonly seed: number;
  readonly seconds: number;
}

export interface EvaluateRequest {
  readonly classes: readonly string[];
  readonly test: readonly LabelledSample[];
  readonly preprocessing: Preprocessing;
}

export type EvaluationResult = Omit<Evaluation, "predictions" | "predictedLabels"> & {
  /** Per test sample, in request order: P(class 1) for two classes, else the max probability. */
  readonly probabilities: readonly number[];
  readonly predictedLabels: readonly number[];
};

export interface TryResult {
  readonly id: string;
  readonly ok: boolean;
  /** The predicted class index. */
  readonly label?: number;
  /** The head's probability for `label` (its confidence in the prediction). */
  readonly probability?: number;
  readonly error?: string;
}

/** The head as TF.js layers-model artifacts (model.json + one weights file), for download or import. */
export interface HeadExport {
  readonly modelJson: unknown;
  readonly weightData: ArrayBuffer;
}

/** The head the worker holds (restored lazily from IndexedDB after a reload), for the UI. */
export interface HeadState {
  readonly classes: readonly string[];
  readonly history: readonly EpochLogs[];
  readonly config: HeadConfig;
  /** The conv base the head was trained on (its features only fit that base); null for a foreign import. */
  readonly modelId: string | null;
}

export interface TransferWorkerApi {
  extractFeatures(
    images: readonly LessonImage[],
    options: ExtractOptions,
    onResult: (result: FeatureResult, progress: ExtractProgress) => void,
  ): Promise<void>;
  trainHead(request: TrainRequest, onEvent: (event: TrainEvent) => void): Promise<TrainSummary>;
  evaluateHead(request: EvaluateRequest): Promise<EvaluationResult>;
  tryHead(images: readonly LessonImage[], preprocessing: Preprocessing): Promise<TryResult[]>;
  exportHead(): Promise<HeadExport | null>;
  importHead(artifacts: HeadExport): Promise<void>;
  /**
   * The feature cache's size and storage problems: `problem` for features, `headProblem` for the head
   * (not saved, or the saved one unreadable).
   */
  featureCacheInfo(): Promise<{
    readonly entries: number;
    readonly bytes: number;
    readonly problem: string | null;
    readonly headProblem?: string | null;
  }>;
  clearFeatureCache(): Promise<void>;
  /** The current head (trained, imported, or restored from IndexedDB), or null when there is none. */
  headState(): Promise<HeadState | null>;
}
