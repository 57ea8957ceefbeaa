import { describe, expect, it } from "vitest";
import { Vgg16Error } from "../vgg16/errors";
import { errorMessage, isAbort } from "./client-port";

describe("client errors", () => {
  it("adds the Vgg16Error code to the message", () => {
    expect(errorMessage(new Vgg16Error("download-failed", "Could not fetch x"))).toBe(
      "Could not fetch x (download-failed)",
    );
    expect(errorMessage(new Error("plain"))).toBe("plain");
    expect(errorMessage("text")).toBe("text");
  });

  it("recognizes aborts", () => {
    const controller = new AbortController();
    expect(isAbort(new Error("x"), controller.signal)).toBe(false);
    controller.abort();
    expect(isAbort(new Error("x"), controller.signal)).toBe(true);
    expect(isAbort(new DOMException("stopped", "AbortError"))).toBe(true);
  });
});
