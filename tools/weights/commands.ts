/**
 * The weights CLI's commands as plain async functions (tests call them
 * directly; cli.ts wires them to commander and progress bars).
 */
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { convertWeights, syntheticModel } from "../../src/model/convert";
import { WeightsError } from "../../src/model/errors";
import type { GraphModelArtifacts } from "../../src/model/graph-model";
import { readKerasVgg16 } from "../../src/model/keras-h5";
import { type ImagenetLabels, parseClassIndex } from "../../src/model/labels";
import type { Vgg16Metadata } from "../../src/model/metadata";
import type { Quantization } from "../../src/model/quantize";
import { type DownloadProgress, downloadFile, md5File } from "./download";
import { openKerasH5 } from "./open-h5";
import { defaultModelDir, kerasCacheDir } from "./paths";
import {
  IMAGENET_CLASS_INDEX,
  type RemoteFile,
  VGG16_WEIGHTS,
  VGG16_WEIGHTS_NOTOP,
  withMirrors,
} from "./sources";
import { type WrittenModel, writeModelDir } from "./write-model";

export interface Reporter {
  /** A line of progress or information. */
  info(message: string): void;
  /** Per-layer progress while reading an HDF5 file. */
  layer?(name: string, index: number, count: number): void;
  /** Download progress for one file; called with done=true at the end. */
  download?(file: string, progress: DownloadProgress, done: boolean): void;
}

export const silentReporter: Reporter = { info: () => {} };

export interface ModelResult {
  readonly written: WrittenModel;
  readonly metadata: Vgg16Metadata;
  readonly seconds: { readonly build: number; readonly write: number; readonly total: number };
}

async function writeArtifacts(
  out: string,
  build: () => GraphModelArtifacts,
  reporter: Reporter,
): Promise<ModelResult> {
  const start = performance.now();
  const artifacts = build();
  const built = performance.now();
  reporter.info(
    `Writing ${artifacts.shards.length} shards (${(artifacts.weightBytes / 1e6).toFixed(1)} MB) to ${out}`,
  );
  const written = await writeModelDir(out, artifacts);
  const end = performance.now();
  return {
    written,
    metadata: artifacts.modelJson.userDefinedMetadata.vgg16,
    seconds: { build: (built - start) / 1000, write: (end - built) / 1000, total: (end - start) / 1000 },
  };
}

export async function readLabelsFile(path: string): Promise<ImagenetLabels> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (cause) {
    throw new WeightsError("bad-labels", `${path}: cannot read labels (${(cause as Error).message}).`, {
      file: basename(path),
      cause,
    });
  }
  return parseClassIndex(json, basename(path));
}

export interface ConvertCommandOptions {
  readonly labels?: string;
  readonly quantize: Quantization;
  readonly out?: string;
}

export async function convertCommand(
  file: string,
  options: ConvertCommandOptions,
  reporter: Reporter = silentReporter,
): Promise<ModelResult> {
  const labelsPath = options.labels ?? labelsNextTo(file);
  if (labelsPath && !options.labels) reporter.info(`Using labels found next to the weights: ${labelsPath}`);
  const labels = labelsPath ? await readLabelsFile(labelsPath) : null;
  const h5 = await openKerasH5(file);
  try {
    reporter.info(`Reading ${basename(file)} (${(h5.bytes / 1e6).toFixed(1)} MB)`);
    const md5 = await md5File(file);
    const weights = readKerasVgg16(h5.file, basename(file), { onLayer: reporter.layer });
    // A notop file gives a features-only model, which gets its own default folder.
    const out = options.out ?? defaultModelDir(weights.includeTop);
    const source = { kind: "keras-h5", file: basename(file), md5, bytes: h5.bytes } as const;
    return await writeArtifacts(
      out,
      () => convertWeights(weights, source, { quantization: options.quantize, labels }),
      reporter,
    );
  } finally {
    h5.close();
  }
}

export interface SyntheticCommandOptions {
  readonly seed: number;
  readonly notop: boolean;
  readonly quantize: Quantization;
  readonly out?: string;
}

export async function syntheticCommand(
  options: SyntheticCommandOptions,
  reporter: Reporter = silentReporter,
): Promise<ModelResult> {
  const includeTop = !options.notop;
  const out = options.out ?? defaultModelDir(includeTop);
  reporter.info(
    `Generating synthetic VGG16 weights (seed ${options.seed}, ${includeTop ? "full" : "notop"})…`,
  );
  return writeArtifacts(
    out,
    () => syntheticModel(options.seed, includeTop, { quantization: options.quantize }),
    reporter,
  );
}

export interface FetchCommandOptions {
  readonly notop: boolean;
  readonly quantize: Quantization;
  readonly out?: string;
  readonly cacheDir?: string;
  /** Base URLs replacing the canonical ones (a local mirror). */
  readonly mirrors?: readonly string[];
  /** Replaces the canonical files (URLs and md5) outright; for tests. */
  readonly sources?: { readonly weights: RemoteFile; readonly labels: RemoteFile };
}

async function fetchOne(file: RemoteFile, cacheDir: string, reporter: Reporter): Promise<string> {
  const result = await downloadFile({
    urls: file.urls,
    dest: join(cacheDir, file.fileName),
    md5: file.md5,
    onProgress: (p) => reporter.download?.(file.fileName, p, false),
  });
  if (result.downloaded) {
    reporter.download?.(
      file.fileName,
      { received: result.bytes, total: result.bytes, resumedFrom: 0, url: result.url ?? "" },
      true,
    );
  } else {
    reporter.info(`Using cached ${result.path} (md5 verified)`);
  }
  return result.path;
}

export async function fetchCommand(
  options: FetchCommandOptions,
  reporter: Reporter = silentReporter,
): Promise<ModelResult> {
  const cacheDir = options.cacheDir ?? kerasCacheDir();
  await mkdir(cacheDir, { recursive: true });
  const mirrors = options.mirrors ?? [];
  const weights =
    options.sources?.weights ?? withMirrors(options.notop ? VGG16_WEIGHTS_NOTOP : VGG16_WEIGHTS, mirrors);
  const labels = options.sources?.labels ?? withMirrors(IMAGENET_CLASS_INDEX, mirrors);
  const h5Path = await fetchOne(weights, cacheDir, reporter);
  const labelsPath = options.notop ? undefined : await fetchOne(labels, cacheDir, reporter);
  return convertCommand(
    h5Path,
    { labels: labelsPath, quantize: options.quantize, out: options.out ?? defaultModelDir(!options.notop) },
    reporter,
  );
}

/** What to tell a user who cannot download: the two other ways to a model. */
export function alternativesMessage(): string {
  return [
    "Other ways to get a model:",
    "  • Convert a Keras file you have (copied from a machine with internet, or from ~/.keras/models):",
    "      npm run weights -- convert path/to/vgg16_weights_tf_dim_ordering_tf_kernels.h5 --labels path/to/imagenet_class_index.json",
    "  • Or generate synthetic (seeded random) weights for a demo; predictions are meaningless:",
    "      npm run weights -- synthetic",
    `  • Or point fetch at a local mirror holding ${VGG16_WEIGHTS.fileName}: npm run weights -- fetch --mirror http://host/path/`,
  ].join("\n");
}

export function labelsNextTo(file: string): string | undefined {
  const candidate = join(dirname(file), IMAGENET_CLASS_INDEX.fileName);
  return existsSync(candidate) ? candidate : undefined;
}
