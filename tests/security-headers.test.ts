import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  APP_CSP_DIRECTIVES,
  APP_HEADERS,
  DEV_CSP_DIRECTIVES,
  DEV_HEADERS,
  serializeCsp,
} from "../tools/security-headers";

describe("security headers", () => {
  it("serializes directives in order, sources separated by spaces", () => {
    expect(serializeCsp({ "default-src": ["'self'"], "img-src": ["'self'", "blob:"] })).toBe(
      "default-src 'self'; img-src 'self' blob:",
    );
  });

  it("lets production run only its own scripts and WASM: no inline script, no eval, no plugins, no framing", () => {
    const csp = APP_HEADERS["Content-Security-Policy"];
    expect(csp).not.toMatch(/'unsafe-inline'|'unsafe-eval'|\*/);
    expect(APP_CSP_DIRECTIVES["script-src"]).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    expect(APP_CSP_DIRECTIVES["object-src"]).toEqual(["'none'"]);
    expect(APP_CSP_DIRECTIVES["frame-ancestors"]).toEqual(["'none'"]);
    // Data may go only to this origin and to https model hosts the user names.
    expect(APP_CSP_DIRECTIVES["connect-src"]).toEqual(["'self'", "https:"]);
  });

  it("relaxes only what Vite's dev server needs, and keeps cross-origin isolation in both", () => {
    const changed = Object.keys(DEV_CSP_DIRECTIVES).filter(
      (k) => JSON.stringify(DEV_CSP_DIRECTIVES[k]) !== JSON.stringify(APP_CSP_DIRECTIVES[k]),
    );
    expect(changed.sort()).toEqual(["connect-src", "script-src", "style-src"]);
    expect(DEV_CSP_DIRECTIVES["script-src"]).not.toContain("'unsafe-eval'");
    for (const headers of [APP_HEADERS, DEV_HEADERS]) {
      expect(headers["Cross-Origin-Opener-Policy"]).toBe("same-origin");
      expect(headers["Cross-Origin-Embedder-Policy"]).toBe("require-corp");
    }
  });

  it("is the policy the README tells static hosts to send", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const lines = readme.split("\n").filter((line) => line.startsWith("default-src "));
    expect(lines).toEqual([APP_HEADERS["Content-Security-Policy"]]);
  });
});
