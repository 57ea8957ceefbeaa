/**
 * Typed errors of the weights pipeline. Each names the file (and the layer
 * where there is one) so that the CLI and the UI can say exactly what is wrong.
 */
export type WeightsErrorCode =
  | "not-hdf5"
  | "unreadable"
  | "not-vgg16"
  | "missing-layer"
  | "shape-mismatch"
  | "bad-dtype"
  | "md5-mismatch"
  | "download-failed"
  | "offline"
  | "bad-labels";

export class WeightsError extends Error {
  readonly code: WeightsErrorCode;
  readonly file?: string;
  readonly layer?: string;

  constructor(
    code: WeightsErrorCode,
    message: string,
    details: { file?: string; layer?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "WeightsError";
    this.code = code;
    this.file = details.file;
    this.layer = details.layer;
  }
}
