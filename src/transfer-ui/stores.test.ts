import { afterEach, describe, expect, it } from "vitest";
import type { TrainEvent, TrainRequest } from "../transfer/api";
import { setTransferPort, type TransferPort } from "./port";
import { useDataset, useEvaluation, useFeatures, useTraining } from "./stores";

function fakePort(overrides: Partial<TransferPort> = {}): TransferPort {
  const fail = () => Promise.reject(new Error("not in this test"));
  return {
    extractFeatures: async (images, _options, onResult) => {
      images.forEach((image, i) => {
        onResult(
          { id: image.id, ok: true, contentHash: `h-${image.id}`, cached: i === 0 },
          { done: i + 1, total: images.length, imagesPerSecond: 5, cacheHits: 1 },
        );
      });
    },
    trainHead: fail,
    evaluateHead: fail,
    tryHead: fail,
    exportHead: fail,
    importHead: fail,
    featureCacheInfo: async () => ({ entries: 3, bytes: 300_000, problem: null }),
    clearFeatureCache: async () => {},
    headState: async () => null,
    ...overrides,
  };
}

const file = (name: string) => ({ file: new Blob([name]), path: name });

afterEach(() => {
  setTransferPort(null);
  useDataset.getState().clear();
  useTraining.getState().startOver();
});

describe("transfer stores with a fake client", () => {
  it("reads a folder, extracts features, trains (stop keeps what was learned) and evaluates", async () => {
    let request: Omit<TrainRequest, "jobId"> | null = null;
    setTransferPort(
      fakePort({
        trainHead: async (req, onEvent: (e: TrainEvent) => void, signal) => {
          request = req;
          onEvent({ type: "batch", epoch: 0, batch: 0, batchesPerEpoch: 1, loss: 0.7, acc: 0.5 });
          const logs = { epoch: 1, loss: 0.6, acc: 0.6, val_loss: 0.65, val_acc: 0.5 };
          onEvent({ type: "epoch", logs, secondsPerEpoch: 1 });
          useTraining.getState().stop();
          expect(signal?.aborted).toBe(true);
          return { history: [logs], stopped: true, seed: 7, seconds: 1 };
        },
        evaluateHead: async (req) => ({
          accuracy: 1,
          loss: 0.1,
          confusion: [
            [1, 0],
            [0, 1],
          ],
          probabilities: req.test.map((s) => (s.label === 1 ? 0.9 : 0.1)),
          predictedLabels: req.test.map((s) => s.label),
        }),
      }),
    );
    const ok = useDataset
      .getState()
      .addFolder([
        file("d/train/cats/c1.jpg"),
        file("d/train/dogs/d1.jpg"),
        file("d/validation/cats/c2.jpg"),
        file("d/test/cats/c3.jpg"),
        file("d/test/dogs/d3.jpg"),
        file("d/notes.txt"),
      ]);
    expect(ok).toBe(true);
    expect(useDataset.getState().dataset.ignored).toHaveLength(1);

    await useFeatures.getState().extract();
    const f = useFeatures.getState();
    expect(f.phase).toBe("done");
    expect(f.done).toBe(5);
    expect(f.cached).toBe(1);
    expect(f.computed).toBe(4);
    expect(f.cacheInfo?.entries).toBe(3);

    await useTraining.getState().train(false);
    const t = useTraining.getState();
    expect(t.phase).toBe("stopped");
    expect(t.history).toHaveLength(1);
    expect(request).toMatchObject({
      classes: ["cats", "dogs"],
      train: [
        { contentHash: "h-d/train/cats/c1.jpg", label: 0 },
        { contentHash: "h-d/train/dogs/d1.jpg", label: 1 },
      ],
      validation: [{ contentHash: "h-d/validation/cats/c2.jpg", label: 0 }],
      resume: false,
    });

    await useEvaluation.getState().evaluate();
    const e = useEvaluation.getState();
    expect(e.result?.accuracy).toBe(1);
    expect(e.samples.map((s) => s.id)).toEqual(["d/test/cats/c3.jpg", "d/test/dogs/d3.jpg"]);
  });

  it("refuses to train before features are extracted, and shows the worker's NaN message", async () => {
    setTransferPort(
      fakePort({
        trainHead: () =>
          Promise.reject(new Error("The loss became NaN in epoch 1: lower the learning rate.")),
      }),
    );
    useDataset.getState().addToClass(0, [file("a.jpg")]);
    await useTraining.getState().train(false);
    expect(useTraining.getState().phase).toBe("error");
    expect(useTraining.getState().error).toMatch(/no training images with extracted features/i);

    await useFeatures.getState().extract();
    await useTraining.getState().train(false);
    expect(useTraining.getState().error).toBe("The loss became NaN in epoch 1: lower the learning rate.");
  });
});
