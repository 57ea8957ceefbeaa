import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WeightsError } from "../src/model/errors";
import { type DownloadProgress, downloadFile, md5File } from "../tools/weights/download";
import { startTestServer, type TestServer, unusedPort } from "./helpers/http-server";

const SIZE = 3 * 1024 * 1024 + 12_345;
const DATA = randomBytes(SIZE);
const MD5 = createHash("md5").update(DATA).digest("hex");
const MB = 1024 * 1024;

let dir: string;
let server: TestServer | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "vgg16-download-"));
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function serve(files: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
  server = await startTestServer(files);
  return server;
}

/** The rejection of a promise that must reject, as a WeightsError. */
async function weightsError(promise: Promise<unknown>): Promise<WeightsError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WeightsError);
  return error as WeightsError;
}

describe("md5File", () => {
  it("hashes a file by streaming", async () => {
    const path = join(dir, "f.bin");
    await writeFile(path, DATA);
    expect(await md5File(path)).toBe(MD5);
  });
});

describe("downloadFile", () => {
  it("downloads a file, verifies it and leaves no .part behind", async () => {
    const s = await serve({ "/w.h5": DATA });
    const dest = join(dir, "sub", "w.h5");
    const progress: DownloadProgress[] = [];
    const result = await downloadFile({
      urls: [s.url("/w.h5")],
      dest,
      md5: MD5,
      onProgress: (p) => progress.push(p),
    });

    expect(result).toEqual({ path: dest, bytes: SIZE, md5: MD5, downloaded: true, url: s.url("/w.h5") });
    const written = await readFile(dest);
    expect(written.length).toBe(SIZE);
    expect(createHash("md5").update(written).digest("hex")).toBe(MD5);
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(s.requests).toHaveLength(1);
    expect(s.requests[0]?.range).toBeUndefined();
    expect(progress[0]).toEqual({ received: 0, total: SIZE, resumedFrom: 0, url: s.url("/w.h5") });
    expect(progress.at(-1)).toEqual({ received: SIZE, total: SIZE, resumedFrom: 0, url: s.url("/w.h5") });
  });

  it("uppercase expected md5 is accepted", async () => {
    const s = await serve({ "/w.h5": DATA });
    const result = await downloadFile({
      urls: [s.url("/w.h5")],
      dest: join(dir, "w.h5"),
      md5: MD5.toUpperCase(),
    });
    expect(result.md5).toBe(MD5);
  });

  it("a second call is a cache hit with no request at all", async () => {
    const s = await serve({ "/w.h5": DATA });
    const dest = join(dir, "w.h5");
    await downloadFile({ urls: [s.url("/w.h5")], dest, md5: MD5 });
    const before = s.requests.length;

    const again = await downloadFile({ urls: [s.url("/w.h5")], dest, md5: MD5 });
    expect(again).toEqual({ path: dest, bytes: SIZE, md5: MD5, downloaded: false, url: null });
    const noMd5 = await downloadFile({ urls: [s.url("/w.h5")], dest });
    expect(noMd5.downloaded).toBe(false);
    expect(noMd5.md5).toBe(MD5);
    expect(s.requests.length).toBe(before);
  });

  it("resumes with a Range request when the connection breaks mid-body", async () => {
    const cut = Math.floor(SIZE * 0.4);
    const s = await serve({ "/w.h5": { body: DATA, cutAfterBytes: cut } });
    const dest = join(dir, "w.h5");
    const result = await downloadFile({ urls: [s.url("/w.h5")], dest, md5: MD5 });

    expect(result.md5).toBe(MD5);
    expect(result.bytes).toBe(SIZE);
    expect(s.requests.map((r) => r.range)).toEqual([undefined, `bytes=${cut}-`]);
    expect(await md5File(dest)).toBe(MD5);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it("keeps resuming across several breaks, and gives up after `retries`", async () => {
    const s = await serve({ "/w.h5": { body: DATA, cutAfterBytes: 500_000, cutRequests: 3 } });
    const result = await downloadFile({
      urls: [s.url("/w.h5")],
      dest: join(dir, "w.h5"),
      md5: MD5,
      retries: 3,
    });
    expect(result.md5).toBe(MD5);
    expect(s.requests.map((r) => r.range)).toEqual([
      undefined,
      "bytes=500000-",
      "bytes=1000000-",
      "bytes=1500000-",
    ]);

    s.setFile("/x.h5", { body: DATA, cutAfterBytes: 100_000, cutRequests: 10 });
    const dest = join(dir, "x.h5");
    const error = await weightsError(downloadFile({ urls: [s.url("/x.h5")], dest, md5: MD5, retries: 1 }));
    expect(error.code).toBe("download-failed");
    expect(error.message).toContain(s.url("/x.h5"));
    expect(s.requestsFor("/x.h5")).toHaveLength(2);
    // What arrived is kept for the next run.
    expect((await stat(`${dest}.part`)).size).toBe(200_000);
    expect(existsSync(dest)).toBe(false);
  });

  it("resumes a .part left by an earlier run", async () => {
    const s = await serve({ "/w.h5": DATA });
    const dest = join(dir, "w.h5");
    await writeFile(`${dest}.part`, DATA.subarray(0, MB));
    const progress: DownloadProgress[] = [];
    const result = await downloadFile({
      urls: [s.url("/w.h5")],
      dest,
      md5: MD5,
      onProgress: (p) => progress.push(p),
    });

    expect(s.requests.map((r) => r.range)).toEqual([`bytes=${MB}-`]);
    expect(result).toMatchObject({ bytes: SIZE, md5: MD5, downloaded: true });
    expect(progress[0]).toEqual({ received: MB, total: SIZE, resumedFrom: MB, url: s.url("/w.h5") });
    expect(progress.at(-1)?.received).toBe(SIZE);
  });

  it("restarts from zero when the server ignores Range", async () => {
    const s = await serve({ "/w.h5": { body: DATA, ignoreRange: true } });
    const dest = join(dir, "w.h5");
    // Garbage that would corrupt the file if it were appended to.
    await writeFile(`${dest}.part`, randomBytes(MB));
    const result = await downloadFile({ urls: [s.url("/w.h5")], dest, md5: MD5 });

    expect(s.requests.map((r) => r.range)).toEqual([`bytes=${MB}-`]);
    expect(result).toMatchObject({ bytes: SIZE, md5: MD5 });
    expect(await md5File(dest)).toBe(MD5);
  });

  it("takes a complete .part (416 to the Range request) after verifying it", async () => {
    const s = await serve({ "/w.h5": DATA });
    const dest = join(dir, "w.h5");
    await writeFile(`${dest}.part`, DATA);
    const result = await downloadFile({ urls: [s.url("/w.h5")], dest, md5: MD5 });

    expect(s.requests.map((r) => r.range)).toEqual([`bytes=${SIZE}-`]);
    expect(result).toMatchObject({ bytes: SIZE, md5: MD5, downloaded: true });
  });

  it("starts over once when a 416-complete .part fails the md5", async () => {
    const s = await serve({ "/w.h5": DATA });
    const dest = join(dir, "w.h5");
    await writeFile(`${dest}.part`, randomBytes(SIZE));
    const result = await downloadFile({ urls: [s.url("/w.h5")], dest, md5: MD5 });

    expect(s.requests.map((r) => r.range)).toEqual([`bytes=${SIZE}-`, undefined]);
    expect(result.md5).toBe(MD5);
    expect(await md5File(dest)).toBe(MD5);
  });

  it("rejects data with the wrong md5 and deletes it", async () => {
    const s = await serve({ "/w.h5": DATA });
    const dest = join(dir, "w.h5");
    const wrong = "0123456789abcdef0123456789abcdef";
    const error = await weightsError(downloadFile({ urls: [s.url("/w.h5")], dest, md5: wrong }));

    expect(error.code).toBe("md5-mismatch");
    expect(error.message).toContain("w.h5");
    expect(error.message).toContain(s.url("/w.h5"));
    expect(error.message).toContain(wrong);
    expect(error.message).toContain(MD5);
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it("replaces an existing file whose md5 is wrong", async () => {
    const s = await serve({ "/w.h5": DATA });
    const dest = join(dir, "w.h5");
    await writeFile(dest, randomBytes(1000));
    const result = await downloadFile({ urls: [s.url("/w.h5")], dest, md5: MD5 });

    expect(result).toMatchObject({ bytes: SIZE, md5: MD5, downloaded: true });
    expect(s.requests).toHaveLength(1);
    expect(await md5File(dest)).toBe(MD5);
  });

  it("falls back to the next mirror after a 404", async () => {
    const s = await serve({ "/a/w.h5": { body: DATA, status: 404 }, "/b/w.h5": DATA });
    const result = await downloadFile({
      urls: [s.url("/a/w.h5"), s.url("/b/w.h5")],
      dest: join(dir, "w.h5"),
      md5: MD5,
    });

    expect(result.url).toBe(s.url("/b/w.h5"));
    expect(result.md5).toBe(MD5);
    expect(s.requests.map((r) => r.path)).toEqual(["/a/w.h5", "/b/w.h5"]);
  });

  it("says download-failed with every URL and status when all mirrors answer with errors", async () => {
    const s = await serve({ "/a/w.h5": { body: DATA, status: 403 }, "/b/w.h5": { body: DATA, status: 500 } });
    const dest = join(dir, "w.h5");
    const error = await weightsError(downloadFile({ urls: [s.url("/a/w.h5"), s.url("/b/w.h5")], dest }));

    expect(error.code).toBe("download-failed");
    expect(error.message).toContain(`${s.url("/a/w.h5")}: HTTP 403`);
    expect(error.message).toContain(`${s.url("/b/w.h5")}: HTTP 500`);
    expect(existsSync(dest)).toBe(false);
  });

  it("says offline, quickly, when no mirror can be reached", async () => {
    const port = await unusedPort();
    const urls = [`http://127.0.0.1:${port}/w.h5`, `http://127.0.0.1:${port}/mirror/w.h5`];
    const started = Date.now();
    const error = await weightsError(downloadFile({ urls, dest: join(dir, "w.h5"), md5: MD5 }));

    expect(Date.now() - started).toBeLessThan(5000);
    expect(error.code).toBe("offline");
    expect(error.message).toContain("offline");
    const lines = error.message.split("\n");
    for (const url of urls) {
      expect(lines.find((line) => line.includes(`${url}: `))).toContain("ECONNREFUSED");
    }
    expect(existsSync(join(dir, "w.h5"))).toBe(false);
  });

  it("an HTTP error on one mirror and no connection on the other is download-failed, not offline", async () => {
    const s = await serve({ "/w.h5": { body: DATA, status: 404 } });
    const port = await unusedPort();
    const error = await weightsError(
      downloadFile({ urls: [`http://127.0.0.1:${port}/w.h5`, s.url("/w.h5")], dest: join(dir, "w.h5") }),
    );
    expect(error.code).toBe("download-failed");
    expect(error.message).toContain("HTTP 404");
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("counts a server that sends no headers in time as unreachable (connect timeout)", async () => {
    const s = await serve({ "/w.h5": { body: DATA, headerDelayMs: 2000 } });
    const started = Date.now();
    const error = await weightsError(
      downloadFile({ urls: [s.url("/w.h5")], dest: join(dir, "w.h5"), connectTimeoutMs: 150 }),
    );
    expect(Date.now() - started).toBeLessThan(1500);
    expect(error.code).toBe("offline");
    expect(error.message).toContain("connect timeout");
  });

  it("resumes after the body stalls past the idle timeout", async () => {
    const s = await serve({ "/w.h5": { body: DATA, stallAfterBytes: 700_000 } });
    const dest = join(dir, "w.h5");
    const result = await downloadFile({ urls: [s.url("/w.h5")], dest, md5: MD5, idleTimeoutMs: 200 });

    expect(result.md5).toBe(MD5);
    expect(s.requests).toHaveLength(2);
    const resumedAt = Number(s.requests[1]?.range?.match(/^bytes=(\d+)-$/)?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(700_000);
  });
});
