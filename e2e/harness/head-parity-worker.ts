/**
 * For e2e/head-step.spec.ts: trains the lesson's head in a browser worker on
 * WASM (2 threads), once with the hand-written step (the sparse kernels, the
 * helper thread, relaxed SIMD where the browser has it) and once with
 * model.fit, from the same seed on the same synthetic features, and returns
 * both histories. Node's tests cannot run the helper thread or (without a
 * flag) relaxed SIMD, so this is where that path is checked against
 * model.fit.
 */
import * as tf from "@tensorflow/tfjs";
import * as Comlink from "comlink";
import {
  buildHead,
  defaultHeadConfig,
  FEATURE_SIZE,
  type TrainResult,
  trainHead,
} from "../../src/transfer/head";
import { mulberry32 } from "../../src/transfer/random";
import { sparseHeadKernels } from "../../src/transfer/sparse-head-kernels";
import { initBackend } from "../../src/vgg16/backends";
import { measureCapabilities } from "../../src/vgg16/capabilities";
import { wasmInternals } from "../../src/wasm/tfjs-heap";

export interface ParityRun {
  backend: string;
  threads: number | null;
  fused: boolean | null;
  hand: Pick<TrainResult, "history" | "step">;
  fit: Pick<TrainResult, "history" | "step">;
}

const api = {
  async run(samples: number, epochs: number, zeros: number): Promise<ParityRun> {
    const info = await initBackend("wasm", await measureCapabilities(), 2);
    const random = mulberry32(7);
    const x = new Float32Array(samples * FEATURE_SIZE);
    const labels = new Float32Array(samples);
    for (let i = 0; i < samples; i++) {
      labels[i] = i % 2;
      for (let d = 0; d < FEATURE_SIZE; d++) {
        const r = random();
        // Class 1 is brighter on the first 3000 features, so the head has something to learn.
        x[i * FEATURE_SIZE + d] = r < zeros ? 0 : r + (labels[i] === 1 && d < 3000 ? 0.2 : 0);
      }
    }
    const xTrain = tf.tensor2d(x, [samples, FEATURE_SIZE]);
    const yTrain = tf.tensor2d(labels, [samples, 1]);
    const config = { ...defaultHeadConfig(), epochs, seed: 11 };
    const train = async (loop: "auto" | "fit") => {
      const model = buildHead(tf, config, 2);
      try {
        const { history, step } = await trainHead(
          tf,
          model,
          { xTrain, yTrain },
          config,
          {},
          { history: [] },
          { loop },
        );
        return { history, step };
      } finally {
        model.dispose();
      }
    };
    const hand = await train("auto");
    const fit = await train("fit");
    const internals = wasmInternals(tf);
    const fused = internals ? (sparseHeadKernels(internals.memory)?.fused ?? null) : null;
    tf.dispose([xTrain, yTrain]);
    return { backend: info.name, threads: info.threads, fused, hand, fit };
  },
};

export type HeadParityApi = typeof api;
Comlink.expose(api);
