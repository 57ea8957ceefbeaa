/**
 * Every awkward file users bring, in one drop, against the full-size synthetic model on WASM: each either
 * classifies or gets its own alert naming it and saying what is wrong, and the rest of the batch always
 * completes. The files are generated at run time by tests/helpers/awkward-images.ts (checked by
 * tests/awkward-images.test.ts). Orientation and animation are proven by comparison: the EXIF-rotated
 * photo gives the upright photo's top-5 and a wide thumbnail, while the same pixels without the EXIF tag
 * give another top-5; an animated GIF gives its first frame's top-5, not its second's.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, type Locator, type Page, test } from "@playwright/test";
import { awkwardFiles } from "../tests/helpers/awkward-images";

async function waitReady(page: Page): Promise<void> {
  await expect(page.getByRole("status").filter({ hasText: /Ready/ }).first()).toContainText(/WASM/i, {
    timeout: 180_000,
  });
}

/** What each file must end as: "classified", or an alert matching the pattern. */
const EXPECTED: Record<string, "classified" | RegExp> = {
  "cmyk.jpg": "classified",
  "progressive.jpg": "classified",
  "upright.jpg": "classified",
  "exif-rotated.jpg": "classified",
  "rotated-no-exif.jpg": "classified",
  "deep-16bit.png": "classified",
  "grey.png": "classified",
  "palette.png": "classified",
  "alpha.png": "classified",
  "animated.gif": "classified",
  "first-frame.gif": "classified",
  "second-frame.gif": "classified",
  "lossless.webp": "classified",
  "bitmap.bmp": "classified",
  "drawing.svg": "classified",
  "one-pixel.png": "classified",
  "huge-8000x6000.jpg": "classified",
  "PHOTO.JPG": "classified",
  "truncated.jpg": /the JPEG file is cut off/,
  "empty.jpg": /the file is empty \(0 bytes\)/,
  "notes.png": /this is not an image/,
};

async function top5(card: Locator): Promise<string[]> {
  return card.locator("ol > li").allTextContents();
}

test("every awkward file classifies or gets its own clear alert, and the batch completes", async ({
  page,
}) => {
  test.setTimeout(180_000);
  const dir = mkdtempSync(join(tmpdir(), "vgg16-awkward-"));
  const files = await awkwardFiles();
  expect(files.map((f) => f.name).sort()).toEqual(Object.keys(EXPECTED).sort());
  for (const f of files) writeFileSync(join(dir, f.name), f.bytes);

  await page.goto("/?backend=wasm");
  await waitReady(page);
  const started = Date.now();
  await page.getByLabel("Add images").setInputFiles(files.map((f) => join(dir, f.name)));

  const results = page.getByRole("region", { name: "Results" });
  const outcomes: Record<string, string> = {};
  for (const [name, expected] of Object.entries(EXPECTED)) {
    const card = results.getByRole("article", { name, exact: true });
    await expect(card).toHaveAttribute("aria-busy", "false", { timeout: 180_000 });
    const alert = card.getByRole("alert");
    if (expected === "classified") {
      await expect(alert, `${name} should classify`).toHaveCount(0);
      await expect(card.locator("ol > li")).toHaveCount(5);
      outcomes[name] = (await card.locator(".card__meta").textContent()) ?? "";
    } else {
      await expect(alert).toContainText(`Could not classify ${name}:`);
      await expect(alert).toContainText(expected);
      outcomes[name] = (await alert.textContent()) ?? "";
    }
  }
  console.log(`[awkward e2e] ${files.length} files in ${Date.now() - started} ms`);
  for (const [name, outcome] of Object.entries(outcomes)) console.log(`  ${name}: ${outcome}`);

  const card = (name: string) => results.getByRole("article", { name, exact: true });
  // EXIF orientation 6: shown and classified upright.
  const upright = await top5(card("upright.jpg"));
  expect(await top5(card("exif-rotated.jpg"))).toEqual(upright);
  expect(await top5(card("rotated-no-exif.jpg"))).not.toEqual(upright);
  await expect(card("exif-rotated.jpg").locator(".card__meta")).toContainText("256×192 px");
  await expect(card("rotated-no-exif.jpg").locator(".card__meta")).toContainText("192×256 px");
  // Thumbnails load lazily: scrolled into view, then read once loaded (Chromium applies EXIF orientation).
  const shape = async (name: string) => {
    const img = card(name).locator("img");
    await img.scrollIntoViewIfNeeded();
    await expect
      .poll(() => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth > 0))
      .toBe(true);
    return img.evaluate((i: HTMLImageElement) => (i.naturalWidth > i.naturalHeight ? "wide" : "tall"));
  };
  expect(await shape("upright.jpg")).toBe("wide");
  expect(await shape("exif-rotated.jpg")).toBe("wide");
  expect(await shape("rotated-no-exif.jpg")).toBe("tall");

  // An animated GIF is classified by its first frame.
  expect(await top5(card("animated.gif"))).toEqual(await top5(card("first-frame.gif")));
  expect(await top5(card("animated.gif"))).not.toEqual(await top5(card("second-frame.gif")));

  // The huge photo is reported at its real size (it was decoded at a reduced one).
  await expect(card("huge-8000x6000.jpg").locator(".card__meta")).toContainText("8000×6000 px");
  await expect(page.getByRole("status").filter({ hasText: /Ready/ }).first()).toBeVisible();
});
