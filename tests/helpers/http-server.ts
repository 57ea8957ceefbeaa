/**
 * A tiny HTTP server for tests, on 127.0.0.1 and a free port: it serves
 * in-memory files by path, supports single Range requests (206 with
 * Content-Range, 416 when unsatisfiable), logs every request, and can inject
 * faults per path (cut connections, stalls, ignored ranges, error statuses).
 *
 *   const server = await startTestServer({ "/w.h5": bytes, "/gone.h5": { body: bytes, status: 404 } });
 *   await fetch(server.url("/w.h5"));
 *   server.requests; // [{ method: "GET", path: "/w.h5", range: undefined, … }]
 *   await server.close();
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A served file with optional fault injection. */
export interface ServedFile {
  readonly body: Uint8Array;
  /** Content-Type header (default application/octet-stream). */
  readonly contentType?: string;
  /** Answer every request for this path with this status and a short text body (e.g. 404, 500). */
  readonly status?: number;
  /** Answer Range requests with 200 and the whole file, as servers without range support do. */
  readonly ignoreRange?: boolean;
  /**
   * Send the headers (with the full Content-Length) and only this many body
   * bytes, then destroy the socket — on the first `cutRequests` requests.
   */
  readonly cutAfterBytes?: number;
  /** How many requests (the first ones for this path) `cutAfterBytes` applies to; default 1. */
  readonly cutRequests?: number;
  /**
   * Send this many body bytes and then nothing, keeping the connection open
   * (to trigger idle timeouts) — on the first `stallRequests` requests.
   */
  readonly stallAfterBytes?: number;
  /** How many requests (the first ones for this path) `stallAfterBytes` applies to; default 1. */
  readonly stallRequests?: number;
  /** Wait this long before answering (every request for this path), e.g. to trigger header timeouts. */
  readonly headerDelayMs?: number;
}

/** A plain byte array serves as a file without faults. */
export type ServedEntry = Uint8Array | ServedFile;

export interface LoggedRequest {
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  /** The Range header as sent, if any. */
  readonly range: string | undefined;
  readonly headers: IncomingHttpHeaders;
}

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** Absolute URL of a path on this server (the path should start with "/"). */
  url(path: string): string;
  /** Every request received so far, in arrival order. */
  readonly requests: LoggedRequest[];
  /** The requests for one path. */
  requestsFor(path: string): LoggedRequest[];
  /** Adds or replaces a file (the fault counters of that path start over). */
  setFile(path: string, entry: ServedEntry): void;
  /** Stops the server and drops open connections (stalled ones included). */
  close(): Promise<void>;
}

/** Milliseconds between handing the last bytes of a cut response to the kernel and destroying the socket. */
const CUT_SETTLE_MS = 20;

type Range = { kind: "whole" } | { kind: "part"; start: number; end: number } | { kind: "unsatisfiable" };

/**
 * Parses a Range header against a file size (RFC 9110 §14): one range,
 * `bytes=a-b`, `bytes=a-` or `bytes=-n`. Multiple or malformed ranges are
 * ignored (the whole file is sent), as the RFC allows.
 */
export function parseRange(header: string | undefined, size: number): Range {
  const m = header?.trim().match(/^bytes=(\d*)-(\d*)$/);
  if (!m || (m[1] === "" && m[2] === "")) return { kind: "whole" };
  const first = m[1] ?? "";
  const last = m[2] ?? "";
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "part", start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) return { kind: "whole" };
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "part", start, end };
}

function normalize(entry: ServedEntry): ServedFile {
  return entry instanceof Uint8Array ? { body: entry } : entry;
}

/** Starts the server on 127.0.0.1, port 0 (a free one). */
export async function startTestServer(files: Readonly<Record<string, ServedEntry>>): Promise<TestServer> {
  const served = new Map<string, ServedFile>();
  const counts = new Map<string, number>();
  for (const [path, entry] of Object.entries(files)) served.set(path, normalize(entry));
  const requests: LoggedRequest[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? "GET";
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const range = req.headers.range;
    requests.push({ method, path, range, headers: req.headers });
    const index = counts.get(path) ?? 0;
    counts.set(path, index + 1);

    const file = served.get(path);
    if (file === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end(`no file at ${path}`);
      return;
    }
    if (file.headerDelayMs !== undefined) await new Promise((r) => setTimeout(r, file.headerDelayMs));
    if (res.destroyed) return;
    if (file.status !== undefined) {
      res.writeHead(file.status, { "content-type": "text/plain" }).end(`status ${file.status} for ${path}`);
      return;
    }
    if (method !== "GET" && method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }

    const size = file.body.byteLength;
    const parsed = file.ignoreRange ? ({ kind: "whole" } as const) : parseRange(range, size);
    const headers: Record<string, string | number> = {
      "content-type": file.contentType ?? "application/octet-stream",
      "accept-ranges": file.ignoreRange ? "none" : "bytes",
    };
    if (parsed.kind === "unsatisfiable") {
      res.writeHead(416, { ...headers, "content-range": `bytes */${size}` }).end();
      return;
    }
    const start = parsed.kind === "part" ? parsed.start : 0;
    const end = parsed.kind === "part" ? parsed.end : size - 1;
    const body = file.body.subarray(start, end + 1);
    headers["content-length"] = body.byteLength;
    if (parsed.kind === "part") headers["content-range"] = `bytes ${start}-${end}/${size}`;
    res.writeHead(parsed.kind === "part" ? 206 : 200, headers);
    if (method === "HEAD") {
      res.end();
      return;
    }

    const cut =
      file.cutAfterBytes !== undefined && index < (file.cutRequests ?? 1) ? file.cutAfterBytes : null;
    const stall =
      file.stallAfterBytes !== undefined && index < (file.stallRequests ?? 1) ? file.stallAfterBytes : null;
    if (cut !== null && cut < body.byteLength) {
      // Wait until the bytes are with the kernel, so the client gets exactly `cut` of them.
      res.write(body.subarray(0, cut), () => {
        setTimeout(() => req.socket.destroy(), CUT_SETTLE_MS);
      });
      return;
    }
    if (stall !== null && stall < body.byteLength) {
      res.write(body.subarray(0, stall)); // …and nothing more; close() drops the connection.
      return;
    }
    res.end(body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    url: (path) => `${origin}${path.startsWith("/") ? path : `/${path}`}`,
    requests,
    requestsFor: (path) => requests.filter((r) => r.path === path),
    setFile: (path, entry) => {
      served.set(path, normalize(entry));
      counts.delete(path);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** A TCP port on 127.0.0.1 where nothing listens (it was free a moment ago). */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
