/**
 * What the transfer-learning view needs of the VGG16 worker client, narrowed
 * so unit tests can pass fakes and so this folder type-checks on its own.
 * Mirrors src/transfer/api.ts (TransferWorkerApi) as Vgg16Client exposes it:
 * jobIds are the client's business, cancellation is an AbortSignal.
 */
import type {
  EvaluateRequest,
  EvaluationResult,
  ExtractProgress,
  FeatureResult,
  HeadExport,
  LessonImage,
  TrainEvent,
  TrainRequest,
  TrainSummary,
  TryResult,
} from "../transfer/api";
import type { Preprocessing } from "../transfer/feature-cache";
import type { EpochLogs, HeadConfig } from "../transfer/head";
import { getVgg16Client } from "../vgg16/client";

export interface FeatureCacheInfo {
  readonly entries: number;
  readonly bytes: number;
  /** Why features are not being cached, or null. */
  readonly problem: string | null;
  /** Why the trained head is not kept across reloads (not saved, or the saved one unreadable), or null. */
  readonly headProblem?: string | null;
}

export interface HeadState {
  readonly classes: readonly string[];
  readonly history: readonly EpochLogs[];
  readonly config: HeadConfig;
  readonly modelId: string | null;
}

export interface TransferPort {
  extractFeatures(
    images: readonly LessonImage[],
    options: { readonly batchSize?: number; readonly preprocessing?: Preprocessing },
    onResult: (result: FeatureResult, progress: ExtractProgress) => void,
    signal?: AbortSignal,
  ): Promise<void>;
  trainHead(
    request: Omit<TrainRequest, "jobId">,
    onEvent: (event: TrainEvent) => void,
    signal?: AbortSignal,
  ): Promise<TrainSummary>;
  evaluateHead(request: EvaluateRequest): Promise<EvaluationResult>;
  tryHead(images: readonly LessonImage[], preprocessing: Preprocessing): Promise<TryResult[]>;
  exportHead(): Promise<HeadExport | null>;
  importHead(artifacts: HeadExport): Promise<void>;
  featureCacheInfo(): Promise<FeatureCacheInfo>;
  clearFeatureCache(): Promise<void>;
  headState(): Promise<HeadState | null>;
}

let port: TransferPort | null = null;

/** Tests (and nothing else) may inject a fake. */
export function setTransferPort(next: TransferPort | null): void {
  port = next;
}

export function transferPort(): TransferPort {
  // The one place the real client meets the port: Vgg16Client implements these methods (src/transfer/api.ts),
  // and `satisfies` keeps the two in step at compile time.
  port ??= getVgg16Client() satisfies TransferPort;
  return port;
}
