/**
 * Where Keras gets VGG16's ImageNet weights (keras/src/applications/vgg16.py)
 * and the class index (imagenet_utils.py), with the md5 hashes Keras checks.
 * Mirrors are tried in order: the current Keras bucket, then the Keras 2 era
 * GitHub release with the same files.
 */
export interface RemoteFile {
  readonly fileName: string;
  readonly md5: string;
  readonly bytes: number | null;
  readonly urls: readonly string[];
}

const KERAS_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/";
const GITHUB_BASE = "https://github.com/fchollet/deep-learning-models/releases/download/v0.1/";

function weightsFile(fileName: string, md5: string, bytes: number): RemoteFile {
  return { fileName, md5, bytes, urls: [KERAS_BASE + fileName, GITHUB_BASE + fileName] };
}

export const VGG16_WEIGHTS = weightsFile(
  "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
  "64373286793e3c8b2b4e3219cbf3544b",
  553_467_096,
);

export const VGG16_WEIGHTS_NOTOP = weightsFile(
  "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
  "6d6bbae143d832006294945121d1f1fc",
  58_889_256,
);

export const IMAGENET_CLASS_INDEX: RemoteFile = {
  fileName: "imagenet_class_index.json",
  md5: "c2c37ea517e94d9795004a39431a14cb",
  bytes: null,
  urls: ["https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"],
};

/** Replaces each file's URLs with `<mirror>/<fileName>` (tests, local mirrors, air-gapped sites). */
export function withMirrors(file: RemoteFile, mirrors: readonly string[]): RemoteFile {
  if (mirrors.length === 0) return file;
  return { ...file, urls: mirrors.map((m) => `${m.replace(/\/+$/, "")}/${file.fileName}`) };
}
