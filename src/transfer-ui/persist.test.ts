import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { addToClass, emptyDataset } from "./logic";
import { loadHashes, loadLesson, saveBlobs, saveDataset, saveHashes, saveHistory } from "./persist";

describe("persistence", () => {
  it("restores the dataset, its files and the training history", async () => {
    expect(await loadLesson()).toBeNull();
    const dataset = addToClass(emptyDataset(), 0, ["class-0/a.jpg"]);
    await saveBlobs(new Map([["class-0/a.jpg", new Blob(["abc"])]]), true);
    await saveDataset(dataset);
    await saveHistory([{ epoch: 1, loss: 0.5, acc: 0.7, val_loss: 0.6, val_acc: 0.65 }]);
    const saved = await loadLesson();
    expect(saved?.dataset).toEqual(dataset);
    expect([...(saved?.blobs.keys() ?? [])]).toEqual(["class-0/a.jpg"]);
    expect(saved?.history).toHaveLength(1);
  });

  it("keeps the content hashes of extracted features", async () => {
    await saveHashes({ "class-0/a.jpg": "abc123" });
    expect(await loadHashes()).toEqual({ "class-0/a.jpg": "abc123" });
  });
});
