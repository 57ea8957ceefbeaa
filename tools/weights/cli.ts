/**
 * npm run weights -- <fetch|convert|synthetic|info>
 *
 * Brings VGG16's weights to the browser as a fused TF.js graph model. Exit
 * codes: 0 ok, 1 a weights error (message names the file and layer), 2 usage.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { WeightsError } from "../../src/model/errors";
import { readVgg16Metadata } from "../../src/model/metadata";
import { isQuantization, QUANTIZATIONS, type Quantization } from "../../src/model/quantize";
import { KERAS_PARAM_COUNTS, summaryRows } from "../../src/model/vgg16-spec";
import {
  alternativesMessage,
  convertCommand,
  fetchCommand,
  type ModelResult,
  type Reporter,
  syntheticCommand,
} from "./commands";
import { defaultModelDir } from "./paths";
import { terminalReporter } from "./reporter";

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const int = (n: number) => n.toLocaleString("en-US");

function parseQuantization(value: string): Quantization {
  if (!isQuantization(value)) throw new InvalidArgumentError(`expected one of ${QUANTIZATIONS.join(", ")}`);
  return value;
}

function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new InvalidArgumentError("expected an integer ≥ 0");
  return n;
}

const quantizeOption = () =>
  new Option(
    "--quantize <mode>",
    "weight storage: none (float32, 528 MB), float16 (264 MB), uint8 (dense kernels uint8, conv float16: 153 MB)",
  )
    .argParser(parseQuantization)
    .default("none" as Quantization);

function printResult(result: ModelResult): void {
  const m = result.metadata;
  const source =
    m.source.kind === "synthetic"
      ? `synthetic, seed ${m.source.seed}`
      : `${m.source.file} (md5 ${m.source.md5})`;
  console.log(
    [
      "",
      `✔ VGG16 graph model written to ${result.written.modelJsonPath}`,
      `  source        ${source}${m.synthetic ? "  ← SYNTHETIC WEIGHTS: predictions are random, not ImageNet" : ""}`,
      `  outputs       ${Object.keys(m.outputs).join(", ")}`,
      `  quantization  ${m.quantization}`,
      `  parameters    ${int(m.params.total)} (conv base ${int(m.params.convBase)})`,
      `  labels        ${m.labels ? m.labels.source : "none (features-only model)"}`,
      `  files         ${result.written.files} (${mb(result.written.bytes)} MB)`,
      `  time          ${result.seconds.total.toFixed(1)} s (build ${result.seconds.build.toFixed(1)} s, write ${result.seconds.write.toFixed(1)} s)`,
    ].join("\n"),
  );
}

async function run(action: (reporter: Reporter) => Promise<ModelResult>): Promise<void> {
  const reporter = terminalReporter();
  try {
    const result = await action(reporter);
    reporter.stop();
    printResult(result);
  } catch (error) {
    reporter.stop();
    throw error;
  }
}

async function info(dir: string): Promise<void> {
  const path = join(dir, "model.json");
  const json = JSON.parse(await readFile(path, "utf8")) as { userDefinedMetadata?: unknown };
  const m = readVgg16Metadata(json.userDefinedMetadata);
  if (!m)
    throw new WeightsError("not-vgg16", `${path}: not a model written by this tool (no vgg16 metadata).`);
  console.log(`Model: ${path}${m.synthetic ? "   [SYNTHETIC WEIGHTS]" : ""}`);
  console.log(`${"Layer (type)".padEnd(34)}${"Output Shape".padEnd(24)}Param #`);
  for (const row of summaryRows(m.includeTop)) {
    console.log(`${`${row.layer} (${row.type})`.padEnd(34)}${row.outputShape.padEnd(24)}${int(row.params)}`);
  }
  console.log(`Total params: ${int(m.params.total)}   (conv base: ${int(m.params.convBase)})`);
  console.log(`Source: ${JSON.stringify(m.source)}; quantization: ${m.quantization}; id: ${m.modelId}`);
}

// Usage errors exit 2 (weights errors exit 1); set before adding subcommands so they inherit it.
const program = new Command("weights")
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  })
  .description("VGG16 weights → TF.js graph model for the browser app")
  .showHelpAfterError()
  .addHelpText(
    "after",
    `\nParameter counts: ${int(KERAS_PARAM_COUNTS.total)} (full), ${int(KERAS_PARAM_COUNTS.convBase)} (conv base).`,
  );

program
  .command("fetch")
  .description(
    "download Keras' ImageNet weights (resumable, md5-checked, cached in ~/.keras/models) and convert them",
  )
  .option("--notop", "the 58.9 MB conv-base file (features only) instead of the full 553 MB model", false)
  .addOption(quantizeOption())
  .option("--out <dir>", `output folder (default ${defaultModelDir(true)}, or …-notop)`)
  .option(
    "--cache-dir <dir>",
    "download cache (default: Keras' cache, $KERAS_HOME/models or ~/.keras/models)",
  )
  .option(
    "--mirror <url>",
    "base URL to download from instead of Keras' (repeatable)",
    (v: string, all: string[]) => [...all, v],
    [],
  )
  .action(
    (o: { notop: boolean; quantize: Quantization; out?: string; cacheDir?: string; mirror: string[] }) =>
      run(async (reporter) => {
        try {
          return await fetchCommand(
            { notop: o.notop, quantize: o.quantize, out: o.out, cacheDir: o.cacheDir, mirrors: o.mirror },
            reporter,
          );
        } catch (error) {
          if (
            error instanceof WeightsError &&
            (error.code === "offline" || error.code === "download-failed")
          ) {
            error.message = `${error.message}\n\n${alternativesMessage()}`;
          }
          throw error;
        }
      }),
  );

program
  .command("convert")
  .description("convert a local Keras .h5 (full → predictions + features; _notop → features only)")
  .argument("<file.h5>", "Keras weights file, e.g. vgg16_weights_tf_dim_ordering_tf_kernels.h5")
  .option(
    "--labels <file>",
    "imagenet_class_index.json (default: one next to the .h5, else names without WordNet ids)",
  )
  .addOption(quantizeOption())
  .option("--out <dir>", `output folder (default ${defaultModelDir(true)}, or …-notop)`)
  .action((file: string, o: { labels?: string; quantize: Quantization; out?: string }) =>
    run((reporter) => convertCommand(file, o, reporter)),
  );

program
  .command("synthetic")
  .description(
    "seeded random weights with VGG16's exact shapes, for tests, demos and benchmarks (labelled synthetic)",
  )
  .option("--seed <n>", "random seed", parseSeed, 1)
  .option("--notop", "features-only model", false)
  .addOption(quantizeOption())
  .option("--out <dir>", `output folder (default ${defaultModelDir(true)}, or …-notop)`)
  .action((o: { seed: number; notop: boolean; quantize: Quantization; out?: string }) =>
    run((reporter) => syntheticCommand(o, reporter)),
  );

program
  .command("info")
  .description("print a converted model's layer summary and metadata")
  .argument("[dir]", "model folder", defaultModelDir(true))
  .action(info);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof WeightsError) {
    console.error(`\n✖ ${error.message}`);
    process.exit(1);
  }
  throw error;
}
