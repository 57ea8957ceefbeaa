/**
 * The weights CLI as a user meets it: `fetch` through a local mirror (cut
 * mid-way, resumed, md5-checked, cached, converted), `fetch` offline (fails
 * in seconds naming the alternatives), usage errors, and `info`.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syntheticVgg16Weights } from "../src/model/synthetic";
import { fetchCommand, syntheticCommand } from "../tools/weights/commands";
import type { RemoteFile } from "../tools/weights/sources";
import { writeFakeKerasH5 } from "./helpers/fake-keras-h5";
import { startTestServer, type TestServer, unusedPort } from "./helpers/http-server";

const CLI = resolve(import.meta.dirname, "../tools/weights/cli.ts");

function runCli(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
      cwd: resolve(import.meta.dirname, ".."),
      env: { ...process.env, KERAS_HOME: join(dir, "keras-home"), FORCE_COLOR: "0" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("close", (code) => done({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

let dir: string;
let server: TestServer;
let h5: Uint8Array;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vgg16-cli-"));
  await writeFakeKerasH5(join(dir, "source_notop.h5"), syntheticVgg16Weights(5, false));
  h5 = new Uint8Array(await readFile(join(dir, "source_notop.h5")));
  server = await startTestServer({
    // Cut at 40% on the first request, as a flaky connection would.
    "/mirror/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5": {
      body: h5,
      cutAfterBytes: Math.floor(h5.length * 0.4),
    },
  });
});

afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("fetch", () => {
  const md5 = () => createHash("md5").update(h5).digest("hex");
  const remote = (): RemoteFile => ({
    fileName: "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    md5: md5(),
    bytes: h5.length,
    urls: [server.url("/mirror/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")],
  });
  const labels: RemoteFile = {
    fileName: "imagenet_class_index.json",
    md5: "0".repeat(32),
    bytes: null,
    urls: [],
  };

  it("downloads through a broken connection, resumes, verifies md5, caches and converts", async () => {
    const cacheDir = join(dir, "cache");
    const out = join(dir, "fetched-notop");
    const result = await fetchCommand({
      notop: true,
      quantize: "float16",
      out,
      cacheDir,
      sources: { weights: remote(), labels },
    });
    const requests = server.requestsFor("/mirror/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5");
    expect(requests).toHaveLength(2);
    expect(requests[0]?.range).toBeUndefined();
    expect(requests[1]?.range).toMatch(/^bytes=\d+-$/);
    const resumedAt = Number(requests[1]?.range?.slice(6, -1));
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(Math.floor(h5.length * 0.4));

    const cached = await readFile(join(cacheDir, "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"));
    expect(createHash("md5").update(cached).digest("hex")).toBe(md5());
    expect(result.metadata).toMatchObject({ includeTop: false, quantization: "float16", synthetic: false });
    expect(result.metadata.source).toMatchObject({ md5: md5() });
    expect(existsSync(join(out, "model.json"))).toBe(true);

    // A second run finds the file in the cache: no request at all.
    await fetchCommand({
      notop: true,
      quantize: "none",
      out,
      cacheDir,
      sources: { weights: remote(), labels },
    });
    expect(server.requestsFor("/mirror/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")).toHaveLength(2);
  });

  it("fails within seconds when offline, naming the URL and the alternatives, writing nothing", async () => {
    const port = await unusedPort();
    const out = join(dir, "offline-out");
    const r = await runCli(["fetch", "--mirror", `http://127.0.0.1:${port}/keras/`, "--out", out]);
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(15_000); // includes ~2 s of tsx start-up
    expect(r.stderr).toContain("offline");
    expect(r.stderr).toContain(`http://127.0.0.1:${port}/keras/vgg16_weights_tf_dim_ordering_tf_kernels.h5`);
    expect(r.stderr).toContain("npm run weights -- convert");
    expect(r.stderr).toContain("npm run weights -- synthetic");
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(dir, "keras-home", "models", "vgg16_weights_tf_dim_ordering_tf_kernels.h5"))).toBe(
      false,
    );
  });
});

describe("usage and info", () => {
  it("rejects an unknown quantization with exit code 2", async () => {
    const r = await runCli(["synthetic", "--quantize", "int4"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("expected one of none, float16, uint8");
  });

  it("exits 1 with the file named for a file that is not HDF5", async () => {
    const r = await runCli(["convert", CLI, "--out", join(dir, "never")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cli.ts: not an HDF5 file");
    expect(existsSync(join(dir, "never"))).toBe(false);
  });

  it("prints a Keras-style summary of a synthetic notop model, marked synthetic", async () => {
    const out = join(dir, "synthetic-notop");
    const made = await syntheticCommand({ seed: 3, notop: true, quantize: "uint8", out });
    expect(made.metadata).toMatchObject({ synthetic: true, source: { kind: "synthetic", seed: 3 } });
    const r = await runCli(["info", out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("[SYNTHETIC WEIGHTS]");
    expect(r.stdout).toMatch(/block5_pool \(MaxPooling2D\)\s+\(None, 7, 7, 512\)\s+0/);
    expect(r.stdout).toMatch(/block1_conv1 \(Conv2D\)\s+\(None, 224, 224, 64\)\s+1,792/);
    expect(r.stdout).toContain("Total params: 14,714,688");
  });
});
