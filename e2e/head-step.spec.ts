/**
 * The hand-written head training step as the browser runs it (two threads:
 * the sparse kernels' helper worker on TF.js' shared WASM memory, and
 * relaxed SIMD's fused multiply-add) against model.fit, in one worker, from
 * the same seed on the same synthetic features with 60 % zeros. Node's unit
 * tests cover the one-thread plain-SIMD path (tests/transfer-head-fast.test.ts).
 *
 * Run: npx tsx tools/e2e-prepare.ts && npx playwright test e2e/head-step.spec.ts
 */
import { expect, test } from "@playwright/test";

const HARNESS = "/e2e/harness/worker-harness.html";

test("the two-thread sparse step gives model.fit's loss and accuracy, epoch by epoch", async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto(HARNESS);
  await page.waitForFunction(() => document.body.dataset.ready === "true");
  // 100 samples: 5 batches of 20 per epoch; 3 epochs.
  const outcome = await page.evaluate(() => window.vgg16Harness.headStepParity(100, 3, 0.6));
  if (!outcome.ok) throw new Error(`parity run failed: ${JSON.stringify(outcome.error)}`);
  const run = outcome.value;
  expect(run.backend).toBe("wasm");
  expect(run.threads).toBe(2);
  expect(run.hand.step).toEqual({ kind: "wasm-sparse-rmsprop", threads: 2 });
  expect(run.fit.step).toEqual({ kind: "fit" });
  // Chromium has had relaxed SIMD since 114: the fused kernels are the ones under test.
  expect(run.fused).toBe(true);
  console.log(
    `hand-written: ${run.hand.history.map((h) => h.loss.toFixed(6)).join(", ")}; ` +
      `model.fit: ${run.fit.history.map((h) => h.loss.toFixed(6)).join(", ")}`,
  );
  expect(run.hand.history).toHaveLength(3);
  run.fit.history.forEach((expected, i) => {
    const actual = run.hand.history[i];
    // Float32 rounding only (sums in another order, fused multiply-adds): far below a learning step's change.
    expect(actual?.loss).toBeCloseTo(expected.loss, 4);
    expect(actual?.acc).toBeCloseTo(expected.acc, 4);
  });
  const first = run.fit.history[0]?.loss ?? 0;
  const last = run.fit.history[2]?.loss ?? 0;
  expect(Math.abs(first - last)).toBeGreaterThan(0.01);
});
