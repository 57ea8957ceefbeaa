/**
 * The transfer-learning half of the VGG16 worker (TransferWorkerApi): runs in
 * the worker next to src/vgg16/worker.ts, which passes in the loaded model
 * and its cancel set.
 *
 * Features: an in-memory Map (for this session, so training works even when
 * IndexedDB refused to store them) in front of the IndexedDB feature cache.
 *
 * The head: kept in memory and, after every epoch (and after an import), saved
 * with TF.js' own IndexedDB handler at `indexeddb://vgg16-transfer-head`
 * (database "tensorflowjs"). Its classes, config, history and modelId travel
 * in the saved model's userDefinedMetadata (`transferHead`, head.ts'
 * HeadMetadata), so one record holds everything and a reload restores it
 * lazily (on the first call that needs the head).
 *
 * The head's tensors are only created once a model is loaded, i.e. once the
 * worker has chosen and initialised a backend: TF.js would otherwise pick one
 * by itself (and with WASM's paths not yet set, fail — which used to leave a
 * reloaded page with "No head yet"). Before that, headState() and exportHead()
 * read the saved record without creating tensors.
 */

import type { LayersModel } from "@tensorflow/tfjs";
import * as tf from "@tensorflow/tfjs";
import type { Vgg16Metadata } from "../model/metadata";
import { sha256Hex } from "../model/sha256";
import { callbackSink } from "../vgg16/callback-sink";
import { type DecodedInput, decodeAllForVgg16, releaseDecodeCanvas } from "../vgg16/decode-image";
import { errorMessage, modelRunError, Vgg16Error } from "../vgg16/errors";
import { INPUT_ELEMENTS, INPUT_SIZE, outputName, type Vgg16Runnable } from "../vgg16/graph";
import type {
  EvaluateRequest,
  EvaluationResult,
  ExtractOptions,
  ExtractProgress,
  FeatureResult,
  HeadExport,
  HeadState,
  LabelledSample,
  LessonImage,
  TrainEvent,
  TrainRequest,
  TrainSummary,
  TransferWorkerApi,
  TryResult,
} from "./api";
import { type FeatureCache, type FeatureKey, openFeatureCache, type Preprocessing } from "./feature-cache";
import {
  buildHead,
  compileHead,
  defaultHeadConfig,
  type EpochLogs,
  evaluateHead as evaluateOnFeatures,
  exportHead as exportArtifacts,
  FEATURE_SIZE,
  type HeadConfig,
  type HeadMetadata,
  HeadTrainingError,
  headMetadata,
  importHead as importArtifacts,
  labelsTensor,
  trainHead as trainOnFeatures,
} from "./head";
import { badLabels, gatherFeatures, imagesPerSecond, memoryKey, sameClasses, splitRows } from "./samples";

export const HEAD_URL = "indexeddb://vgg16-transfer-head";
const DEFAULT_BATCH_SIZE = 4;
const MAX_BATCH_SIZE = 32;

export interface TransferDeps {
  /** The loaded conv base, or null. */
  current(): {
    readonly model: Vgg16Runnable;
    readonly metadata: Vgg16Metadata;
    /** Where the model runs, for error messages ("WASM, the WASM runner"). */
    readonly where: string;
  } | null;
  /** Called before the conv base runs: that run does the model's first-call work (worker.ts' idle warm-up). */
  modelRuns?(): void;
  /** Job ids cancel(jobId) was called for; this side deletes its own ids when a job ends. */
  readonly cancelled: Set<string>;
  /**
   * Throws when the GPU backend was lost meanwhile: numbers read back from a lost WebGL context are not
   * features, and must not reach the feature cache.
   */
  readonly checkBackend?: () => void;
}

interface Head {
  model: LayersModel;
  classes: string[];
  history: EpochLogs[];
  config: HeadConfig;
  modelId: string | null;
  preprocessing: Preprocessing | null;
}

export function createTransferApi(deps: TransferDeps): TransferWorkerApi {
  const memory = new Map<string, Float32Array>();
  let cachePromise: Promise<FeatureCache> | null = null;
  /** The last storing problem this session (putMany failures are kept here; the cache's own is per call). */
  let storeProblem: string | null = null;
  let head: Head | null = null;
  let restored = false;
  let persistProblem: string | null = null;

  const cache = (): Promise<FeatureCache> => {
    cachePromise ??= openFeatureCache();
    return cachePromise;
  };

  function base(): { model: Vgg16Runnable; metadata: Vgg16Metadata; featuresName: string; where: string } {
    const loaded = deps.current();
    if (!loaded) throw new Vgg16Error("not-loaded", "No model is loaded: call load() first");
    deps.modelRuns?.();
    const featuresName = outputName(loaded.metadata, "features");
    if (featuresName === null) {
      throw new Vgg16Error("model-invalid", `model ${loaded.metadata.modelId} has no "features" output`);
    }
    return { model: loaded.model, metadata: loaded.metadata, featuresName, where: loaded.where };
  }

  /** Conv-base features of preprocessed inputs, one Float32Array [7·7·512] per input; every tensor disposed. */
  async function computeFeatures(inputs: readonly Float32Array[]): Promise<Float32Array[]> {
    if (inputs.length === 0) return [];
    const { model, metadata, featuresName, where } = base();
    const batch = new Float32Array(inputs.length * INPUT_ELEMENTS);
    inputs.forEach((input, i) => {
      batch.set(input, i * INPUT_ELEMENTS);
    });
    let values: Float32Array;
    try {
      const out = tf.tidy(
        () =>
          model.execute(
            tf.tensor4d(batch, [inputs.length, INPUT_SIZE, INPUT_SIZE, 3]),
            featuresName,
          ) as tf.Tensor,
      );
      try {
        values = (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
    } catch (error) {
      deps.checkBackend?.(); // a lost GPU backend is the cause, not what it threw
      throw modelRunError(error, where);
    }
    deps.checkBackend?.();
    if (values.length !== inputs.length * FEATURE_SIZE) {
      throw new Vgg16Error(
        "model-invalid",
        `model ${metadata.modelId}: "features" gave ${values.length / inputs.length} values per image, expected ${FEATURE_SIZE} (7×7×512)`,
      );
    }
    return splitRows(values, inputs.length);
  }

  /** Features by content hash: memory first, then the IndexedDB cache (hits are kept in memory too). */
  async function lookupAll(
    hashes: readonly string[],
    modelId: string,
    preprocessing: Preprocessing,
  ): Promise<Map<string, Float32Array>> {
    const found = new Map<string, Float32Array>();
    const misses: string[] = [];
    for (const hash of new Set(hashes)) {
      const hit = memory.get(memoryKey(modelId, preprocessing, hash));
      if (hit) found.set(hash, hit);
      else misses.push(hash);
    }
    if (misses.length > 0) {
      const c = await cache();
      const keys: FeatureKey[] = misses.map((contentHash) => ({ modelId, preprocessing, contentHash }));
      let values: (Float32Array | undefined)[] = [];
      try {
        values = await c.getMany(keys);
      } catch (error) {
        storeProblem = `reading the feature cache failed: ${errorMessage(error)}`;
      }
      misses.forEach((hash, i) => {
        const v = values[i];
        if (v) {
          found.set(hash, v);
          memory.set(memoryKey(modelId, preprocessing, hash), v);
        }
      });
    }
    return found;
  }

  async function gather(
    samples: readonly LabelledSample[],
    split: string,
    modelId: string,
    preprocessing: Preprocessing,
    numClasses: number,
  ) {
    const bad = badLabels(samples, numClasses);
    if (bad.length > 0) {
      throw new Vgg16Error(
        "training-failed",
        `${bad.length} ${split} label(s) are not class indices 0…${numClasses - 1} (index:label ${bad.slice(0, 5).join(", ")})`,
      );
    }
    const found = await lookupAll(
      samples.map((s) => s.contentHash),
      modelId,
      preprocessing,
    );
    const gathered = gatherFeatures(samples, (hash) => found.get(hash), FEATURE_SIZE);
    if (gathered.missing.length > 0) {
      throw new Vgg16Error(
        "features-missing",
        `${gathered.missing.length} of the ${split} images have no features for this model and preprocessing (${preprocessing}): extract features first`,
      );
    }
    if (gathered.wrongSize.length > 0) {
      throw new Vgg16Error(
        "training-failed",
        `${gathered.wrongSize.length} ${split} feature vectors do not have ${FEATURE_SIZE} values: clear the feature cache and extract again`,
      );
    }
    return gathered;
  }

  function metaOf(h: Head): HeadMetadata {
    return {
      classes: [...h.classes],
      config: h.config,
      ...(h.modelId === null ? {} : { modelId: h.modelId }),
      ...(h.preprocessing === null ? {} : { preprocessing: h.preprocessing }),
      history: [...h.history],
    };
  }

  /** Saves the head (weights + metadata) to IndexedDB; a failure is remembered, never thrown. */
  async function persist(h: Head): Promise<void> {
    try {
      h.model.setUserDefinedMetadata({ transferHead: metaOf(h) as unknown as Record<string, unknown> });
      await h.model.save(HEAD_URL);
      persistProblem = null;
    } catch (error) {
      persistProblem = `the head could not be saved in IndexedDB: ${errorMessage(error)}`;
    }
  }

  function setHead(next: Head | null): void {
    if (head && head.model !== next?.model) {
      head.model.optimizer?.dispose();
      head.model.dispose();
    }
    head = next;
  }

  /** The saved head's record (weights and metadata), read without creating tensors; null when none. */
  async function savedArtifacts(): Promise<tf.io.ModelArtifacts | null> {
    const models = await tf.io.listModels();
    if (!(HEAD_URL in models)) return null;
    const [handler] = tf.io.getLoadHandlers(HEAD_URL);
    if (!handler?.load) return null;
    const artifacts = await handler.load();
    return headMetadata(artifacts) ? artifacts : null;
  }

  /**
   * The head: the one in memory, else the saved one, restored once per worker (lazily); none saved or
   * unreadable → no head. Before a model (and so a backend) is loaded nothing is restored yet.
   */
  async function currentHead(): Promise<Head | null> {
    if (head || restored) return head;
    if (deps.current() === null) return null;
    restored = true;
    try {
      const models = await tf.io.listModels();
      if (!(HEAD_URL in models)) return null;
      const model = await tf.loadLayersModel(HEAD_URL);
      const meta = (model.getUserDefinedMetadata() as { transferHead?: HeadMetadata } | undefined)
        ?.transferHead;
      if (!meta) {
        model.dispose();
        return null;
      }
      const config = meta.config ?? defaultHeadConfig();
      compileHead(tf, model, config);
      if (head) {
        model.dispose(); // trained or imported meanwhile
        return head;
      }
      head = {
        model,
        classes: [...meta.classes],
        history: [...(meta.history ?? [])],
        config,
        modelId: meta.modelId ?? null,
        preprocessing: meta.preprocessing ?? null,
      };
    } catch (error) {
      persistProblem = `the saved head could not be restored: ${errorMessage(error)}`;
    }
    return head;
  }

  async function requireHead(): Promise<Head> {
    const h = await currentHead();
    if (!h) throw new Vgg16Error("no-head", "No head yet: train one or import one first");
    return h;
  }

  async function extractFeatures(
    images: readonly LessonImage[],
    options: ExtractOptions,
    onResult: (result: FeatureResult, progress: ExtractProgress) => void,
  ): Promise<void> {
    const sink = callbackSink<[FeatureResult, ExtractProgress]>(([r, p]) => onResult(r, p));
    const { jobId } = options;
    try {
      const { metadata } = base();
      const modelId = metadata.modelId;
      const preprocessing = options.preprocessing ?? "stretch";
      const batchSize = Math.max(
        1,
        Math.min(MAX_BATCH_SIZE, Math.floor(options.batchSize ?? DEFAULT_BATCH_SIZE)),
      );
      const c = await cache();
      if (!c.available) storeProblem = c.problem;
      const total = images.length;
      let done = 0;
      let cacheHits = 0;
      let computed = 0;
      let computeMs = 0;
      const progress = (): ExtractProgress => ({
        done,
        total,
        imagesPerSecond: imagesPerSecond(computed, computeMs),
        cacheHits,
      });

      for (let start = 0; start < images.length; start += batchSize) {
        if (deps.cancelled.has(jobId)) break;
        const batch = images.slice(start, start + batchSize);
        const hashes: (string | { error: string })[] = [];
        for (const image of batch) {
          try {
            hashes.push(await sha256Hex(await image.blob.arrayBuffer()));
          } catch (error) {
            hashes.push({ error: `the file could not be read (${errorMessage(error)})` });
          }
        }
        const found = await lookupAll(
          hashes.flatMap((h) => (typeof h === "string" ? [h] : [])),
          modelId,
          preprocessing,
        );

        const computeStart = performance.now();
        const toCompute: number[] = [];
        const decoded = new Map<number, DecodedInput>();
        const inBatch = new Set<string>();
        const toDecode: number[] = [];
        for (const i of batch.keys()) {
          const hash = hashes[i];
          if (typeof hash !== "string" || found.has(hash)) continue;
          if (inBatch.has(hash)) continue; // the same bytes twice in one batch: compute once
          inBatch.add(hash);
          toDecode.push(i);
        }
        const decodedList = await decodeAllForVgg16(
          toDecode.map((i) => (batch[i] as LessonImage).blob),
          preprocessing,
        );
        toDecode.forEach((i, k) => {
          const d = decodedList[k] as DecodedInput;
          decoded.set(i, d);
          if (d.ok) toCompute.push(i);
        });
        const features = await computeFeatures(
          toCompute.map((i) => (decoded.get(i) as DecodedInput & { ok: true }).input),
        );
        if (toCompute.length > 0) {
          computeMs += performance.now() - computeStart;
          computed += toCompute.length;
        }
        const fresh: { key: FeatureKey; features: Float32Array }[] = [];
        toCompute.forEach((i, row) => {
          const hash = hashes[i] as string;
          const f = features[row] as Float32Array;
          memory.set(memoryKey(modelId, preprocessing, hash), f);
          fresh.push({ key: { modelId, preprocessing, contentHash: hash }, features: f });
        });
        if (fresh.length > 0) {
          try {
            const put = await c.putMany(fresh);
            if (!put.stored) storeProblem = put.reason;
          } catch (error) {
            storeProblem = `storing features failed: ${errorMessage(error)}`;
          }
        }

        for (const [i, image] of batch.entries()) {
          const hash = hashes[i];
          done++;
          let result: FeatureResult;
          if (typeof hash !== "string") {
            result = { id: image.id, ok: false, error: hash?.error ?? "unreadable" };
          } else if (found.has(hash)) {
            cacheHits++;
            result = { id: image.id, ok: true, contentHash: hash, cached: true };
          } else {
            const d = decoded.get(i);
            if (d && !d.ok) result = { id: image.id, ok: false, error: d.error };
            else result = { id: image.id, ok: true, contentHash: hash, cached: false };
          }
          sink.send([result, progress()]);
        }
        await sink.flush();
      }
    } finally {
      deps.cancelled.delete(jobId);
      releaseDecodeCanvas();
      await sink.flush();
      sink.release();
    }
  }

  async function trainHead(
    request: TrainRequest,
    onEvent: (event: TrainEvent) => void,
  ): Promise<TrainSummary> {
    const sink = callbackSink(onEvent);
    const { jobId } = request;
    const started = performance.now();
    const tensors: tf.Tensor[] = [];
    try {
      const { metadata } = base();
      const modelId = metadata.modelId;
      const numClasses = request.classes.length;
      if (numClasses < 2) {
        throw new Vgg16Error("training-failed", `A classifier needs at least 2 classes, got ${numClasses}`);
      }
      if (request.train.length === 0) throw new Vgg16Error("training-failed", "No training images");
      const train = await gather(request.train, "training", modelId, request.preprocessing, numClasses);
      const validation = await gather(
        request.validation,
        "validation",
        modelId,
        request.preprocessing,
        numClasses,
      );

      const existing = await currentHead();
      const resume =
        request.resume &&
        existing !== null &&
        sameClasses(existing.classes, request.classes) &&
        (existing.modelId === null || existing.modelId === modelId);
      let h: Head;
      if (resume && existing) {
        h = existing;
        h.config = request.config;
      } else {
        let model: LayersModel;
        try {
          model = buildHead(tf, request.config, numClasses);
        } catch (error) {
          throw new Vgg16Error("training-failed", errorMessage(error), { cause: error });
        }
        h = {
          model,
          classes: [...request.classes],
          history: [],
          config: request.config,
          modelId,
          preprocessing: request.preprocessing,
        };
        setHead(h);
      }

      const xTrain = tf.tensor2d(train.x, [request.train.length, FEATURE_SIZE]);
      tensors.push(xTrain);
      const yTrain = labelsTensor(tf, train.labels, numClasses);
      tensors.push(yTrain);
      let xVal: tf.Tensor2D | undefined;
      let yVal: tf.Tensor2D | undefined;
      if (request.validation.length > 0) {
        xVal = tf.tensor2d(validation.x, [request.validation.length, FEATURE_SIZE]);
        yVal = labelsTensor(tf, validation.labels, numClasses);
        tensors.push(xVal, yVal);
      }

      let epochStart = performance.now();
      try {
        const result = await trainOnFeatures(
          tf,
          h.model,
          { xTrain, yTrain, ...(xVal && yVal ? { xVal, yVal } : {}) },
          request.config,
          {
            onBatchEnd: (logs) => {
              sink.send({
                type: "batch",
                epoch: logs.epoch,
                batch: logs.batch,
                batchesPerEpoch: logs.batchesPerEpoch,
                loss: logs.loss,
                acc: logs.acc,
              });
            },
            onEpochEnd: async (_epoch, logs) => {
              const secondsPerEpoch = (performance.now() - epochStart) / 1000;
              h.history = [...h.history, logs];
              await persist(h);
              sink.send({ type: "epoch", logs, secondsPerEpoch });
              await sink.flush();
              epochStart = performance.now();
            },
            shouldStop: () => deps.cancelled.has(jobId),
          },
          { history: h.history },
        );
        h.history = result.history;
        return {
          history: result.history,
          stopped: result.stopped,
          seed: result.seed,
          seconds: (performance.now() - started) / 1000,
        };
      } catch (error) {
        if (error instanceof HeadTrainingError) {
          h.history = error.history;
          await persist(h);
          throw new Vgg16Error("training-failed", error.explanation, { cause: error });
        }
        throw error;
      }
    } finally {
      for (const t of tensors) t.dispose();
      deps.cancelled.delete(jobId);
      await sink.flush();
      sink.release();
    }
  }

  async function evaluateHead(request: EvaluateRequest): Promise<EvaluationResult> {
    const h = await requireHead();
    const { metadata } = base();
    const numClasses = h.classes.length;
    if (!sameClasses(h.classes, request.classes)) {
      throw new Vgg16Error(
        "training-failed",
        `The head was trained for ${h.classes.join(", ")}, not ${request.classes.join(", ")}`,
      );
    }
    const test = await gather(request.test, "test", metadata.modelId, request.preprocessing, numClasses);
    const x = tf.tensor2d(test.x, [request.test.length, FEATURE_SIZE]);
    try {
      const evaluation = await evaluateOnFeatures(tf, h.model, x, test.labels, numClasses);
      const probabilities: number[] = [];
      if (numClasses === 2) probabilities.push(...evaluation.predictions);
      else {
        for (let i = 0; i < request.test.length; i++) {
          const row = evaluation.predictions.subarray(i * numClasses, (i + 1) * numClasses);
          probabilities.push(Math.max(...row));
        }
      }
      return {
        accuracy: evaluation.accuracy,
        loss: evaluation.loss,
        confusion: evaluation.confusion,
        probabilities,
        predictedLabels: [...evaluation.predictedLabels],
      };
    } finally {
      x.dispose();
    }
  }

  async function tryHead(images: readonly LessonImage[], preprocessing: Preprocessing): Promise<TryResult[]> {
    const h = await requireHead();
    base();
    const results: TryResult[] = [];
    try {
      for (let start = 0; start < images.length; start += DEFAULT_BATCH_SIZE) {
        const batch = images.slice(start, start + DEFAULT_BATCH_SIZE);
        const decoded = await decodeAllForVgg16(
          batch.map((image) => image.blob),
          preprocessing,
        );
        const inputs = decoded.flatMap((d) => (d.ok ? [d.input] : []));
        const features = await computeFeatures(inputs);
        let probs: Float32Array = new Float32Array(0);
        if (features.length > 0) {
          const flat = new Float32Array(features.length * FEATURE_SIZE);
          features.forEach((f, i) => {
            flat.set(f, i * FEATURE_SIZE);
          });
          const out = tf.tidy(() => {
            const x = tf.tensor4d(flat, [features.length, 7, 7, 512]);
            return h.model.predict(x) as tf.Tensor;
          });
          try {
            probs = (await out.data()) as Float32Array;
          } finally {
            out.dispose();
          }
        }
        const units = features.length > 0 ? probs.length / features.length : 1;
        let row = 0;
        batch.forEach((image, i) => {
          const d = decoded[i] as DecodedInput;
          if (!d.ok) {
            results.push({ id: image.id, ok: false, error: d.error });
            return;
          }
          const p = probs.subarray(row * units, (row + 1) * units);
          row++;
          if (units === 1) {
            const p1 = p[0] ?? Number.NaN;
            const label = p1 > 0.5 ? 1 : 0;
            results.push({ id: image.id, ok: true, label, probability: label === 1 ? p1 : 1 - p1 });
          } else {
            let label = 0;
            for (let c = 1; c < units; c++) if ((p[c] ?? 0) > (p[label] ?? 0)) label = c;
            results.push({ id: image.id, ok: true, label, probability: p[label] ?? Number.NaN });
          }
        });
      }
    } finally {
      releaseDecodeCanvas();
    }
    return results;
  }

  async function exportHead(): Promise<HeadExport | null> {
    if (!head && !restored && deps.current() === null) {
      const saved = await savedArtifacts();
      return saved ? toExport(saved) : null;
    }
    const h = await currentHead();
    if (!h) return null;
    return toExport(await exportArtifacts(tf, h.model, metaOf(h)));
  }

  function toExport(artifacts: tf.io.ModelArtifacts): HeadExport {
    const weightData =
      artifacts.weightData === undefined
        ? new ArrayBuffer(0)
        : Array.isArray(artifacts.weightData)
          ? tf.io.concatenateArrayBuffers(artifacts.weightData)
          : artifacts.weightData;
    const modelJson = {
      format: artifacts.format ?? "layers-model",
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: ["weights.bin"], weights: artifacts.weightSpecs ?? [] }],
      userDefinedMetadata: artifacts.userDefinedMetadata,
    };
    return { modelJson, weightData };
  }

  async function importHead(exported: HeadExport): Promise<void> {
    const json = exported.modelJson as Partial<tf.io.ModelJSON> | null;
    if (!json || typeof json !== "object" || !json.modelTopology) {
      throw new Vgg16Error("model-invalid", "The head's model.json has no modelTopology");
    }
    const artifacts: tf.io.ModelArtifacts = {
      modelTopology: json.modelTopology,
      weightSpecs: (json.weightsManifest ?? []).flatMap((g) => g.weights),
      weightData: exported.weightData,
      ...(json.format === undefined ? {} : { format: json.format }),
      ...(json.userDefinedMetadata === undefined ? {} : { userDefinedMetadata: json.userDefinedMetadata }),
    };
    const meta = headMetadata(artifacts);
    let model: LayersModel;
    try {
      model = (await importArtifacts(tf, artifacts)).model;
    } catch (error) {
      throw new Vgg16Error("model-invalid", `The head could not be loaded: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    const shape = model.inputs[0]?.shape ?? [];
    const size = shape.slice(1).reduce<number>((a, d) => a * (d ?? 0), 1);
    if (size !== FEATURE_SIZE) {
      model.dispose();
      throw new Vgg16Error(
        "model-invalid",
        `The head takes input ${JSON.stringify(shape)}, not VGG16's 7×7×512 features`,
      );
    }
    const units = Number(model.outputs[0]?.shape.at(-1) ?? 0);
    const classes =
      meta?.classes && meta.classes.length >= 2
        ? [...meta.classes]
        : Array.from({ length: units === 1 ? 2 : units }, (_, i) => `class ${i}`);
    restored = true;
    const h: Head = {
      model,
      classes,
      history: [...(meta?.history ?? [])],
      config: meta?.config ?? defaultHeadConfig(),
      modelId: meta?.modelId ?? null,
      preprocessing: meta?.preprocessing ?? null,
    };
    setHead(h);
    await persist(h);
  }

  return {
    extractFeatures,
    trainHead,
    evaluateHead,
    tryHead,
    exportHead,
    importHead,
    async featureCacheInfo() {
      const c = await cache();
      let entries = 0;
      let bytes = 0;
      try {
        entries = await c.count();
        bytes = await c.sizeBytes();
      } catch (error) {
        return {
          entries,
          bytes,
          problem: `the feature cache could not be read: ${errorMessage(error)}`,
          headProblem: persistProblem,
        };
      }
      return { entries, bytes, problem: storeProblem ?? c.problem, headProblem: persistProblem };
    },
    async clearFeatureCache() {
      memory.clear();
      storeProblem = null;
      await (await cache()).clear();
    },
    async headState(): Promise<HeadState | null> {
      if (!head && !restored && deps.current() === null) {
        // Asked at page start, before the model is loaded: the saved record says it all.
        let meta: HeadMetadata | undefined;
        try {
          const saved = await savedArtifacts();
          meta = saved ? headMetadata(saved) : undefined;
        } catch (error) {
          persistProblem = `the saved head could not be read: ${errorMessage(error)}`;
        }
        if (!meta) return null;
        return {
          classes: [...meta.classes],
          history: [...(meta.history ?? [])],
          config: meta.config ?? defaultHeadConfig(),
          modelId: meta.modelId ?? null,
        };
      }
      const h = await currentHead();
      if (!h) return null;
      return { classes: [...h.classes], history: [...h.history], config: h.config, modelId: h.modelId };
    },
  };
}
