import { describe, expect, it } from "vitest";
import {
  formatDuration,
  formatEta,
  formatImagesPerSecond,
  formatMB,
  formatMBOf,
  formatMBPerSecond,
  formatMs,
  formatPercent,
  formatSeconds,
} from "./format";

describe("formatPercent", () => {
  it("shows a probability as a percentage with two decimals", () => {
    expect(formatPercent(0.697234)).toBe("69.72%");
    expect(formatPercent(1)).toBe("100.00%");
    expect(formatPercent(0.00001)).toBe("0.00%");
    expect(formatPercent(0)).toBe("0.00%");
    expect(formatPercent(0.12345)).toBe("12.35%");
  });

  it("clamps rounding noise and rejects non-numbers", () => {
    expect(formatPercent(1.0000001)).toBe("100.00%");
    expect(formatPercent(-1e-9)).toBe("0.00%");
    expect(formatPercent(Number.NaN)).toBe("–");
  });
});

describe("times", () => {
  it("formats milliseconds without separators", () => {
    expect(formatMs(812.4)).toBe("812 ms");
    expect(formatMs(2345.6)).toBe("2346 ms");
    expect(formatMs(-3)).toBe("0 ms");
    expect(formatSeconds(8734)).toBe("8.7 s");
  });

  it("formats durations", () => {
    expect(formatDuration(0)).toBe("0 s");
    expect(formatDuration(9.2)).toBe("10 s");
    expect(formatDuration(120)).toBe("2 min");
    expect(formatDuration(125)).toBe("2 min 5 s");
    expect(formatDuration(3725)).toBe("1 h 2 min");
  });

  it("estimates the time left from the average rate", () => {
    expect(formatEta(12, 18, 6000)).toBe("about 3 s left");
    expect(formatEta(100_000_000, 500_000_000, 10_000)).toBe("about 40 s left");
    expect(formatEta(0, 18, 6000)).toBeNull();
    expect(formatEta(5, 18, 0)).toBeNull();
    expect(formatEta(18, 18, 6000)).toBeNull();
  });

  it("formats images per second", () => {
    expect(formatImagesPerSecond(12, 3500)).toBe("3.4 images/s");
    expect(formatImagesPerSecond(120, 3000)).toBe("40 images/s");
    expect(formatImagesPerSecond(0, 3000)).toBeNull();
    expect(formatImagesPerSecond(3, 0)).toBeNull();
  });
});

describe("sizes and speeds", () => {
  it("uses decimal megabytes", () => {
    expect(formatMB(553_430_184)).toBe("553.4 MB");
    expect(formatMBOf(123_400_000, 553_430_184)).toBe("123.4 of 553.4 MB");
    expect(formatMBOf(123_400_000, undefined)).toBe("123.4 MB");
    expect(formatMBOf(123_400_000, 0)).toBe("123.4 MB");
  });

  it("formats MB/s, with no decimals from 100 MB/s", () => {
    expect(formatMBPerSecond(45_600_000, 1000)).toBe("45.6 MB/s");
    expect(formatMBPerSecond(553_430_184, 4100)).toBe("135 MB/s");
    expect(formatMBPerSecond(1_000_000, 0)).toBeNull();
    expect(formatMBPerSecond(Number.NaN, 10)).toBeNull();
  });
});
