import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { addToClass, emptyDataset } from "./logic";
import {
  describeSaveError,
  loadHashes,
  loadLesson,
  saveBlobs,
  saveDataset,
  saveHashes,
  saveHistory,
} from "./persist";

describe("persistence", () => {
  it("restores the dataset, its files and the training history", async () => {
    expect(await loadLesson()).toBeNull();
    const dataset = addToClass(emptyDataset(), 0, ["class-0/a.jpg"]);
    expect(await saveBlobs(new Map([["class-0/a.jpg", new Blob(["abc"])]]), true)).toBeNull();
    expect(await saveDataset(dataset)).toBeNull();
    await saveHistory([{ epoch: 1, loss: 0.5, acc: 0.7, val_loss: 0.6, val_acc: 0.65 }]);
    const saved = await loadLesson();
    expect(saved?.dataset).toEqual(dataset);
    expect([...(saved?.blobs.keys() ?? [])]).toEqual(["class-0/a.jpg"]);
    expect(saved?.history).toHaveLength(1);
  });

  it("a dataset whose files cannot all be saved leaves the files saved before (a full disk loses nothing)", async () => {
    expect(await saveBlobs(new Map([["class-0/old.jpg", new Blob(["old"])]]), true)).toBeNull();
    // As on a full disk (or for a value that cannot be cloned): the second put throws.
    const put = IDBObjectStore.prototype.put;
    let puts = 0;
    IDBObjectStore.prototype.put = function (
      this: IDBObjectStore,
      ...args: Parameters<IDBObjectStore["put"]>
    ) {
      if (++puts === 2) throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
      return put.apply(this, args);
    };
    try {
      const next = new Map([
        ["class-0/a.jpg", new Blob(["a"])],
        ["class-0/b.jpg", new Blob(["b"])],
      ]);
      expect(await saveBlobs(next, true)).toBe("the browser's storage quota is full");
    } finally {
      IDBObjectStore.prototype.put = put;
    }
    await saveDataset(addToClass(emptyDataset(), 0, ["class-0/old.jpg"]));
    const saved = await loadLesson();
    expect([...(saved?.blobs.keys() ?? [])]).toEqual(["class-0/old.jpg"]);
    expect(await saved?.blobs.get("class-0/old.jpg")?.text()).toBe("old");
  });

  it("keeps the content hashes of extracted features", async () => {
    await saveHashes({ "class-0/a.jpg": "abc123" });
    expect(await loadHashes()).toEqual({ "class-0/a.jpg": "abc123" });
  });

  it("says why a write failed, a full quota in plain words", () => {
    expect(describeSaveError(new DOMException("over quota", "QuotaExceededError"))).toBe(
      "the browser's storage quota is full",
    );
    expect(describeSaveError(new DOMException("closing", "InvalidStateError"))).toBe(
      "InvalidStateError: closing",
    );
  });
});
