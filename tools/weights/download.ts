/**
 * Resumable, md5-verified download of large files (the Keras weight files are
 * 500+ MB) from a list of mirrors.
 *
 * - Partial data lives in `${dest}.part`; a later attempt (in this run or the
 *   next one) asks for the rest with `Range: bytes=N-`.
 * - A broken body (socket closed, stream error, idle timeout) is resumed from
 *   what reached the disk, up to `retries` times per mirror.
 * - The file is verified (md5) before it is renamed into place, so `dest` only
 *   ever holds a verified file (or, without an md5, a complete one).
 * - Failures are reported as `WeightsError`: "offline" when no mirror could be
 *   reached at all, "download-failed" otherwise, "md5-mismatch" for bad data.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { WeightsError } from "../../src/model/errors";

export interface DownloadProgress {
  /** Bytes of the file present so far (including a resumed prefix). */
  received: number;
  /** Size of the whole file when the server said so, else null. */
  total: number | null;
  /** Offset this response started at (0 for a fresh download). */
  resumedFrom: number;
  url: string;
}

export interface DownloadOptions {
  /** Mirrors, tried in order; an HTTP error or a network failure moves to the next one. */
  urls: readonly string[];
  /** Final path; partial data lives in `${dest}.part`. */
  dest: string;
  /** Expected md5 (hex); verified before the file is renamed into place. */
  md5?: string;
  /** Resumptions after a broken connection, per URL (default 5). */
  retries?: number;
  /** Longest wait for the response headers, in ms (default 15000). */
  connectTimeoutMs?: number;
  /** Abort (and resume) when no body bytes arrive for this long, in ms (default 30000). */
  idleTimeoutMs?: number;
  /** Called as bytes arrive (throttled), and always at the start and the end of each response. */
  onProgress?: (p: DownloadProgress) => void;
  /** Default: globalThis.fetch. */
  fetchImpl?: typeof fetch;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  md5: string;
  /** false: `dest` was already there (and matched the md5), nothing was fetched. */
  downloaded: boolean;
  /** The mirror the file came from; null for a cache hit. */
  url: string | null;
}

const DEFAULT_RETRIES = 5;
const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
const BACKOFF_MS = 200;
const PROGRESS_INTERVAL_MS = 100;
/** Restarts from zero (bad Content-Range and the like) allowed per mirror before giving up on it. */
const MAX_RESTARTS = 3;

/** md5 of a file as lowercase hex, streamed (the files are hundreds of MB). */
export async function md5File(path: string): Promise<string> {
  const hash = createHash("md5");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest("hex");
}

/** Downloads `urls` (first one that works) to `dest`, resuming and verifying; see the module comment. */
export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const dest = options.dest;
  const part = `${dest}.part`;
  const expected = options.md5?.trim().toLowerCase() || undefined;
  const retries = options.retries ?? DEFAULT_RETRIES;
  if (!Number.isInteger(retries) || retries < 0)
    throw new RangeError(`retries must be an integer ≥ 0, got ${retries}`);

  // Cache: a file already in place is trusted when it matches (or when there is nothing to match).
  const existing = await fileSize(dest);
  if (existing !== null) {
    const actual = await md5File(dest);
    if (expected === undefined || actual === expected) {
      return { path: dest, bytes: existing, md5: actual, downloaded: false, url: null };
    }
    await rm(dest, { force: true });
  }

  if (options.urls.length === 0) {
    throw new WeightsError("download-failed", `Could not download ${basename(dest)}: no URL given.`, {
      file: dest,
    });
  }
  await mkdir(dirname(dest), { recursive: true });

  const settings: Settings = {
    dest,
    part,
    expected,
    retries,
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    onProgress: options.onProgress,
    fetchImpl: options.fetchImpl ?? globalThis.fetch,
  };

  const failures: MirrorFailure[] = [];
  for (const url of options.urls) {
    let md5: string;
    try {
      md5 = await fetchFromMirror(url, settings);
    } catch (error) {
      if (error instanceof MirrorError) {
        failures.push(error.failure);
        continue;
      }
      if (error instanceof WeightsError) throw error;
      // Local trouble (disk full, permissions…): another mirror would not help.
      throw new WeightsError(
        "download-failed",
        `Could not download ${basename(dest)} from ${url}: ${errorMessage(error)} (while writing ${part})`,
        { file: dest, cause: error },
      );
    }
    await rename(part, dest);
    const bytes = (await fileSize(dest)) ?? 0;
    return { path: dest, bytes, md5, downloaded: true, url };
  }

  const list = failures.map((f) => `  - ${f.url}: ${f.reason}`).join("\n");
  if (failures.every((f) => f.kind === "network")) {
    throw new WeightsError(
      "offline",
      `Could not download ${basename(dest)}: this machine appears to be offline (no mirror could be reached):\n${list}\n` +
        `Check the network connection (or proxy), or put the file at ${dest} by hand.`,
      { file: dest, cause: failures[failures.length - 1]?.cause },
    );
  }
  throw new WeightsError(
    "download-failed",
    `Could not download ${basename(dest)} from any mirror:\n${list}`,
    {
      file: dest,
      cause: failures[failures.length - 1]?.cause,
    },
  );
}

interface Settings {
  dest: string;
  part: string;
  expected: string | undefined;
  retries: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  onProgress: ((p: DownloadProgress) => void) | undefined;
  fetchImpl: typeof fetch;
}

/**
 * network: the mirror could not be reached at all (counts towards "offline");
 * http: it answered with an error status; broken: the body kept breaking;
 * other: anything else (bad ranges, unsupported URL…).
 */
type FailureKind = "network" | "http" | "broken" | "other";

interface MirrorFailure {
  url: string;
  kind: FailureKind;
  reason: string;
  cause?: unknown;
}

/** This mirror is done for; try the next. */
class MirrorError extends Error {
  constructor(readonly failure: MirrorFailure) {
    super(failure.reason);
  }
}

/** fetch() itself rejected (no response). */
class RequestError extends Error {
  constructor(
    readonly kind: "network" | "other",
    reason: string,
    readonly original: unknown,
  ) {
    super(reason);
  }
}

type Outcome =
  /** The body arrived in full; `.part` is the whole file. */
  | { kind: "complete" }
  /** 416 to our Range request: the part may already be the whole file. */
  | { kind: "range-complete"; total: number | null }
  /** Start again from byte 0. */
  | { kind: "restart"; reason: string }
  /** The body broke; what arrived is on disk. */
  | { kind: "broken"; reason: string };

/** Gets the complete file from one mirror into `.part` and verifies it; returns its md5. */
async function fetchFromMirror(url: string, s: Settings): Promise<string> {
  let retriesUsed = 0;
  let restarts = 0;
  let restartedAfter416 = false;
  let answered = false;
  let lastBreak = "";

  const restart = async (reason: string): Promise<void> => {
    restarts += 1;
    if (restarts > MAX_RESTARTS) {
      throw new MirrorError({
        url,
        kind: "other",
        reason: `gave up after ${MAX_RESTARTS} restarts: ${reason}`,
      });
    }
    await rm(s.part, { force: true });
  };

  for (;;) {
    const offset = (await fileSize(s.part)) ?? 0;
    let outcome: Outcome;
    try {
      outcome = await requestOnce(url, offset, s);
    } catch (error) {
      if (!(error instanceof RequestError)) throw error;
      if (!answered || error.kind !== "network") {
        throw new MirrorError({ url, kind: error.kind, reason: error.message, cause: error.original });
      }
      // Could not reconnect after a break: counts as one more break.
      outcome = { kind: "broken", reason: error.message };
    }
    answered = true;

    switch (outcome.kind) {
      case "complete":
        return verify(url, s);
      case "range-complete": {
        if (outcome.total !== null && outcome.total !== offset) {
          await restart(`server says the file has ${outcome.total} bytes, the partial file has ${offset}`);
          continue;
        }
        const md5 = await md5File(s.part);
        if (s.expected === undefined || md5 === s.expected) return md5;
        if (restartedAfter416) return verify(url, s, md5);
        restartedAfter416 = true;
        await rm(s.part, { force: true });
        continue;
      }
      case "restart":
        await restart(outcome.reason);
        continue;
      case "broken": {
        lastBreak = outcome.reason;
        if (retriesUsed >= s.retries) {
          throw new MirrorError({
            url,
            kind: "broken",
            reason: `connection broke and ${s.retries} resumption(s) did not finish the file (last: ${lastBreak})`,
          });
        }
        retriesUsed += 1;
        await sleep(BACKOFF_MS * retriesUsed);
        continue;
      }
    }
  }
}

/** Checks the complete `.part` against the expected md5; deletes it and throws on mismatch. */
async function verify(url: string, s: Settings, known?: string): Promise<string> {
  const actual = known ?? (await md5File(s.part));
  if (s.expected !== undefined && actual !== s.expected) {
    await rm(s.part, { force: true });
    throw new WeightsError(
      "md5-mismatch",
      `md5 mismatch for ${s.dest} downloaded from ${url}: expected ${s.expected}, got ${actual}. ` +
        "The downloaded data was deleted; try again or use another mirror.",
      { file: s.dest },
    );
  }
  return actual;
}

/** One HTTP request, streaming its body into `.part` (appending from `offset` when the server agrees). */
async function requestOnce(url: string, offset: number, s: Settings): Promise<Outcome> {
  const controller = new AbortController();
  // An object, not a `let`: it is set from timer callbacks.
  const aborted: { reason: string | null } = { reason: null };
  const abort = (reason: string): void => {
    aborted.reason = reason;
    controller.abort(new Error(reason));
  };
  let timer = setTimeout(
    () => abort(`no response within ${s.connectTimeoutMs} ms (connect timeout)`),
    s.connectTimeoutMs,
  );

  const headers: Record<string, string> = { "accept-encoding": "identity" };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  let res: Response;
  try {
    res = await s.fetchImpl(url, { headers, signal: controller.signal, redirect: "follow" });
  } catch (error) {
    clearTimeout(timer);
    if (aborted.reason !== null) throw new RequestError("network", aborted.reason, error);
    const network = isNetworkError(error);
    throw new RequestError(network ? "network" : "other", describeError(error), error);
  }
  clearTimeout(timer);

  const discard = (): void => {
    res.body?.cancel().catch(() => {});
    controller.abort();
  };

  let start: number;
  let total: number | null;
  const length = parseLength(res.headers.get("content-length"));
  if (res.status === 416 && offset > 0) {
    discard();
    const range = parseContentRange(res.headers.get("content-range"));
    report(s, { received: offset, total: range?.total ?? null, resumedFrom: offset, url });
    return { kind: "range-complete", total: range?.total ?? null };
  } else if (res.status === 206) {
    const range = parseContentRange(res.headers.get("content-range"));
    if (range === null || range.start !== offset) {
      discard();
      const got = res.headers.get("content-range") ?? "none";
      return { kind: "restart", reason: `asked for bytes from ${offset}, got Content-Range ${got}` };
    }
    start = offset;
    total = range.total ?? (length === null ? null : offset + length);
  } else if (res.ok) {
    // 200 to a Range request: the server ignored it and sends everything.
    start = 0;
    total = length;
  } else {
    discard();
    const text = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
    throw new MirrorError({ url, kind: "http", reason: text });
  }

  const file = await open(s.part, start === 0 ? "w" : "a").catch((error: unknown) => {
    discard();
    throw error;
  });
  const reader = res.body?.getReader();
  let received = start;
  let lastReport = Date.now();
  const progress = (): void => {
    lastReport = Date.now();
    report(s, { received, total, resumedFrom: start, url });
  };
  const armIdle = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => abort(`no data for ${s.idleTimeoutMs} ms (idle timeout)`), s.idleTimeoutMs);
  };

  let finished = false;
  try {
    progress();
    if (reader !== undefined) {
      armIdle();
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          return { kind: "broken", reason: aborted.reason ?? describeError(error) };
        }
        if (chunk.done) break;
        armIdle();
        await file.write(chunk.value);
        received += chunk.value.byteLength;
        if (Date.now() - lastReport >= PROGRESS_INTERVAL_MS) progress();
      }
    }
    clearTimeout(timer);
    if (total !== null && received < total) {
      return { kind: "broken", reason: `body ended at byte ${received} of ${total}` };
    }
    if (total !== null && received > total) {
      return { kind: "restart", reason: `server sent ${received} bytes, more than the announced ${total}` };
    }
    await file.sync();
    finished = true;
  } finally {
    clearTimeout(timer);
    if (!finished) {
      reader?.cancel().catch(() => {});
      controller.abort();
    }
    // Closing flushes: the next attempt measures the part's size from disk.
    await file.close();
  }
  progress();
  return { kind: "complete" };
}

function report(s: Settings, p: DownloadProgress): void {
  s.onProgress?.(p);
}

async function fileSize(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

function parseLength(header: string | null): number | null {
  if (header === null || !/^\d+$/.test(header.trim())) return null;
  return Number(header.trim());
}

/** `bytes 100-199/1000`, `bytes 100-199/*` or `bytes *\/1000`. */
function parseContentRange(header: string | null): { start: number | null; total: number | null } | null {
  const m = header?.trim().match(/^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/i);
  if (!m) return null;
  return {
    start: m[1] === undefined ? null : Number(m[1]),
    total: m[3] === undefined || m[3] === "*" ? null : Number(m[3]),
  };
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_FAIL",
  "ENETUNREACH",
  "ENETDOWN",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ETIMEDOUT",
  "EPIPE",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
]);

/** Error codes on an error, its causes and (for AggregateError) its members. */
function errorCodes(error: unknown, depth = 0): string[] {
  if (depth > 5 || typeof error !== "object" || error === null) return [];
  const codes: string[] = [];
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") codes.push(code);
  codes.push(...errorCodes((error as { cause?: unknown }).cause, depth + 1));
  if (error instanceof AggregateError) {
    for (const inner of error.errors) codes.push(...errorCodes(inner, depth + 1));
  }
  return codes;
}

function isNetworkError(error: unknown): boolean {
  return errorCodes(error).some((code) => NETWORK_CODES.has(code));
}

/** "ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:9)" rather than "fetch failed". */
function describeError(error: unknown): string {
  const code = errorCodes(error)[0];
  let inner: unknown = error;
  while (inner instanceof Error && inner.cause instanceof Error) inner = inner.cause;
  let message = errorMessage(inner);
  if (inner instanceof AggregateError && inner.errors[0] !== undefined)
    message = errorMessage(inner.errors[0]);
  if (!message || message === code) return code ?? errorMessage(error);
  return code && !message.includes(code) ? `${code} (${message})` : message;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
