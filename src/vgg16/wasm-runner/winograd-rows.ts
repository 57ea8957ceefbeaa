/**
 * One Winograd layer over a range of tile rows, on whichever thread calls it:
 * the input transform, the (m+2)² products by the relaxed-SIMD `gemm`, and
 * the output transform (bias, ReLU, max-pool), block by block through this
 * thread's own scratch. Two threads given disjoint ranges write disjoint
 * output pixels, so a layer needs one handshake, not one per product; and no
 * V or M matrix of the whole image is ever held (block 1's were 29 MB each
 * per image).
 *
 * Output channels must be a multiple of GEMM_COLUMNS (8; VGG16's are ≥ 64).
 * A "unit" is one tile row of one image: image·TH + tile row, with TH =
 * rows / m. Jobs travel to the helper thread as int32s (encodeRowsJob).
 */
import { GEMM_COLUMNS, type WinogradFunctions, type WinogradTile } from "./kernels";

export interface WinogradRowsJob {
  readonly tile: WinogradTile;
  /** Byte offset of the zero-padded input batch [n][rows + 2][cols + 2][channels]. */
  readonly x: number;
  readonly rows: number;
  readonly cols: number;
  readonly channels: number;
  readonly outChannels: number;
  /** Byte offset of image 0's first output pixel (inside its zero border, if any). */
  readonly y: number;
  readonly yRowStride: number;
  readonly yImageBytes: number;
  readonly bias: number;
  readonly pool: boolean;
  /** Units [start, end) (see above). */
  readonly start: number;
  readonly end: number;
  /** This thread's scratch: byte offset and size (rowsScratchBytes). */
  readonly scratch: number;
  readonly scratchBytes: number;
  /** Byte offsets of the transformed kernels U_q, in gemm's panel layout [outChannels/8][channels][8]. */
  readonly u: readonly number[];
}

/**
 * Tiles per block: each U_q is read once per block, so a block should have many tiles; V and M of a block take
 * 0.5 MB (block 1) to 9 MB (block 4, where one block is the whole 7×7-tile image).
 */
const BLOCK_TILES = 64;

/** Tile rows per block for a layer `cols` wide. */
export function blockTileRows(cols: number, tile: WinogradTile): number {
  return Math.max(1, Math.floor(BLOCK_TILES / (cols / tile)));
}

/** Scratch bytes one thread needs for a layer: V and M of one block. */
export function rowsScratchBytes(
  cols: number,
  channels: number,
  outChannels: number,
  tile: WinogradTile,
): number {
  const tiles = blockTileRows(cols, tile) * (cols / tile);
  return (tile + 2) ** 2 * tiles * (channels + outChannels) * 4;
}

/** The helper thread's one job (rows-helper.worker.ts). */
export const ROWS_JOBS = ["rows"] as const;
export type RowsJob = (typeof ROWS_JOBS)[number];

const SCALARS = 15;

export function encodeRowsJob(job: WinogradRowsJob): number[] {
  return [
    job.tile,
    job.x,
    job.rows,
    job.cols,
    job.channels,
    job.outChannels,
    job.y,
    job.yRowStride,
    job.yImageBytes,
    job.bias,
    job.pool ? 1 : 0,
    job.start,
    job.end,
    job.scratch,
    job.scratchBytes,
    ...job.u,
  ];
}

export function decodeRowsJob(ints: ArrayLike<number>): WinogradRowsJob {
  const at = (i: number) => ints[i] as number;
  return {
    tile: at(0) as WinogradTile,
    x: at(1),
    rows: at(2),
    cols: at(3),
    channels: at(4),
    outChannels: at(5),
    y: at(6),
    yRowStride: at(7),
    yImageBytes: at(8),
    bias: at(9),
    pool: at(10) === 1,
    start: at(11),
    end: at(12),
    scratch: at(13),
    scratchBytes: at(14),
    u: Array.from({ length: ints.length - SCALARS }, (_, i) => at(SCALARS + i)),
  };
}

/** Runs the job's units. Needs `kernels.gemm` (relaxed SIMD). */
export function runWinogradRows(kernels: WinogradFunctions, job: WinogradRowsJob): void {
  const { tile: m, rows, cols, channels, outChannels } = job;
  const gemm = kernels.gemm;
  if (!gemm) throw new Error("Winograd rows: no relaxed-SIMD matrix product on this engine");
  const matrices = (m + 2) ** 2;
  if (job.u.length !== matrices) throw new Error(`Winograd rows: ${job.u.length} kernels for F(${m}×${m})`);
  if (outChannels % GEMM_COLUMNS !== 0) throw new Error(`Winograd rows: ${outChannels} output channels`);
  if (job.scratchBytes < rowsScratchBytes(cols, channels, outChannels, m)) {
    throw new Error("Winograd rows: scratch too small");
  }
  const tileRows = rows / m;
  const tileCols = cols / m;
  const xRowStride = (cols + 2) * channels * 4;
  const xImageBytes = (rows + 2) * xRowStride;
  const outRowsPerTileRow = job.pool ? m / 2 : m;
  const perBlock = blockTileRows(cols, m);
  const { input, output } = kernels[m];
  for (let unit = job.start; unit < job.end; ) {
    const image = Math.floor(unit / tileRows);
    const first = unit % tileRows;
    const count = Math.min(perBlock, tileRows - first, job.end - unit);
    const tiles = count * tileCols;
    const v = Array.from({ length: matrices }, (_, q) => job.scratch + q * tiles * channels * 4);
    const mBase = job.scratch + matrices * tiles * channels * 4;
    const mq = Array.from({ length: matrices }, (_, q) => mBase + q * tiles * outChannels * 4);
    input(job.x + image * xImageBytes + first * m * xRowStride, count * m, cols, channels, 0, ...v);
    for (let q = 0; q < matrices; q++) {
      gemm(v[q] as number, job.u[q] as number, mq[q] as number, tiles, channels, outChannels);
    }
    const y = job.y + image * job.yImageBytes + first * outRowsPerTileRow * job.yRowStride;
    output(y, job.yRowStride, count * m, cols, outChannels, 0, job.bias, job.pool ? 1 : 0, ...mq);
    unit += count;
  }
}
