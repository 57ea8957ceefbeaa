/**
 * Datasets for the transfer-learning lesson.
 *
 * Two ways in, one shape out:
 *  - a folder in Keras' `flow_from_directory` layout
 *    (`<root>/train|validation|test/<class>/…image`), recognised from the
 *    relative paths alone (a dropped folder's `webkitRelativePath`s), so the
 *    lesson can show the same train/validation/test split as Chollet's book;
 *  - images dropped onto a class, split into train/validation/test by a seeded,
 *    order-independent rule so the same files always land in the same split.
 *
 * Everything here is pure: paths in, plain objects out. No File, no DOM.
 */
import { hashString } from "./random";

export const SPLITS = ["train", "validation", "test"] as const;
export type Split = (typeof SPLITS)[number];

/** Folder names accepted for each split (matched case-insensitively). */
const SPLIT_ALIASES: Record<string, Split> = {
  train: "train",
  training: "train",
  validation: "validation",
  val: "validation",
  valid: "validation",
  test: "test",
  testing: "test",
};

/**
 * Extensions the browser can decode. Keras' own white list is
 * png/jpg/jpeg/bmp/ppm/tif/tiff; ppm and tiff are left out because no browser
 * decodes them, gif and webp are added because every browser does.
 */
const IMAGE_EXTENSIONS = new Set(["png", "jpg", "jpeg", "bmp", "gif", "webp"]);

export type IgnoredReason =
  /** OS/tool litter: .DS_Store, Thumbs.db, __MACOSX/…, dot-files. */
  | "junk"
  /** A file that is not a decodable image (README.txt, labels.csv…). */
  | "not-an-image"
  /** An image not inside a class folder (e.g. `train/cat.1.jpg`), which Keras would not see either. */
  | "outside-class-folder"
  /** An image outside the dataset root that was recognised (another folder dropped alongside). */
  | "outside-dataset";

export interface IgnoredFile {
  path: string;
  reason: IgnoredReason;
}

export interface Dataset {
  /** How the split was obtained: read from the folders, or drawn with a seed. */
  source: "directory" | "seeded-split";
  /** Folder that holds train/validation/test ("" when the paths start there). */
  root: string;
  /**
   * Class names sorted by code point, as Keras' `sorted(os.listdir(...))`
   * does, so label i here is label i in the book's Python code
   * (cats = 0, dogs = 1). The union over all splits, so every split shares one
   * label mapping even when a class is missing from one of them.
   */
  classes: string[];
  /** files[split][classIndex] = paths, sorted like Keras sorts file names. */
  files: Record<Split, string[][]>;
  /** What was left out and why, so the UI can say "3 files ignored". */
  ignored: IgnoredFile[];
  /** Seed of a seeded split (absent for the directory layout). */
  seed?: number;
}

export interface DatasetCounts {
  classes: string[];
  /** perSplit[split][classIndex] = number of images. */
  perSplit: Record<Split, number[]>;
  splitTotals: Record<Split, number>;
  /** classTotals[classIndex] over all splits. */
  classTotals: number[];
  total: number;
}

/** Code-point order, like Python's sorted(): "Dogs" < "cats", "b10" < "b2". */
export function codePointCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function normalisePath(path: string): string[] {
  return path
    .replace(/\\/g, "/")
    .split("/")
    .filter((segment) => segment !== "" && segment !== ".");
}

function isJunk(segments: string[]): boolean {
  return segments.some(
    (s) =>
      s.startsWith(".") ||
      s === "__MACOSX" ||
      s.toLowerCase() === "thumbs.db" ||
      s.toLowerCase() === "desktop.ini",
  );
}

export function isImagePath(path: string): boolean {
  const dot = path.lastIndexOf(".");
  return dot >= 0 && IMAGE_EXTENSIONS.has(path.slice(dot + 1).toLowerCase());
}

function splitOf(segment: string | undefined): Split | undefined {
  return segment === undefined ? undefined : SPLIT_ALIASES[segment.toLowerCase()];
}

/**
 * Recognises Keras' flow_from_directory layout in a list of relative paths.
 *
 * The root is wherever a split folder sits with a class folder and an image
 * below it; when several roots are possible (two datasets dropped together, or
 * a folder that happens to be called "test" deep inside), the root holding the
 * most images wins and the rest is listed as ignored. Like Keras, images in
 * sub-folders of a class folder belong to that class (os.walk recurses);
 * images directly in a split folder belong to no class and are ignored.
 *
 * Returns null when there is no `train` split with at least one image in a
 * class folder: without training data the layout is of no use, and the caller
 * falls back to "drop images onto a class".
 */
export function detectLayout(paths: readonly string[]): Dataset | null {
  const parsed = paths.map((path) => ({ path, segments: normalisePath(path) }));

  // Score every candidate root by how many images it would hold.
  const rootScores = new Map<string, number>();
  for (const { segments } of parsed) {
    if (isJunk(segments) || !isImagePath(segments.at(-1) ?? "")) continue;
    // A split folder needs at least a class folder and a file below it.
    for (let i = 0; i + 2 < segments.length; i++) {
      if (splitOf(segments[i]) !== undefined) {
        const root = segments.slice(0, i).join("/");
        rootScores.set(root, (rootScores.get(root) ?? 0) + 1);
      }
    }
  }
  let best: { root: string; score: number } | null = null;
  for (const [root, score] of rootScores) {
    // Most images first; on a tie the shallower root, so "a/train/x/train/c/i.jpg" reads as data in a/train.
    if (!best || score > best.score || (score === best.score && root.length < best.root.length)) {
      best = { root, score };
    }
  }
  if (!best) return null;
  const root = best.root;
  const rootDepth = root === "" ? 0 : root.split("/").length;

  const byClass: Record<Split, Map<string, string[]>> = {
    train: new Map(),
    validation: new Map(),
    test: new Map(),
  };
  const ignored: IgnoredFile[] = [];
  for (const { path, segments } of parsed) {
    if (isJunk(segments)) {
      ignored.push({ path, reason: "junk" });
      continue;
    }
    if (!isImagePath(segments.at(-1) ?? "")) {
      ignored.push({ path, reason: "not-an-image" });
      continue;
    }
    const underRoot = segments.slice(0, rootDepth).join("/") === root;
    const split = underRoot ? splitOf(segments[rootDepth]) : undefined;
    if (split === undefined) {
      ignored.push({ path, reason: "outside-dataset" });
      continue;
    }
    const className = segments[rootDepth + 1];
    if (className === undefined || segments.length < rootDepth + 3) {
      ignored.push({ path, reason: "outside-class-folder" });
      continue;
    }
    const list = byClass[split].get(className) ?? [];
    list.push(path);
    byClass[split].set(className, list);
  }
  if (byClass.train.size === 0) return null;

  const classes = [...new Set(SPLITS.flatMap((split) => [...byClass[split].keys()]))].sort(codePointCompare);
  const files = Object.fromEntries(
    SPLITS.map((split) => [
      split,
      classes.map((c) => [...(byClass[split].get(c) ?? [])].sort(codePointCompare)),
    ]),
  ) as Record<Split, string[][]>;
  return { source: "directory", root, classes, files, ignored };
}

export interface SplitOptions<T> {
  seed: number;
  /** Fraction for validation, default 0.2 (Chollet: 1000/500/500 → 0.5/0.25/0.25; 0.2 keeps more to train on small drops). */
  validation?: number;
  /** Fraction for test, default 0.2. */
  test?: number;
  /**
   * Stable identity of an item. Default: the item itself for strings, else its
   * index. Pass a file name or content hash so the split does not depend on
   * the order in which the browser lists dropped files.
   */
  key?: (item: T, index: number) => string;
}

export interface SplitResult<T> {
  train: T[];
  validation: T[];
  test: T[];
}

/**
 * Deterministic train/validation/test split.
 *
 * Items are ranked by hash(seed, key) rather than shuffled in input order, so
 *  - the same items and seed give the same split whatever order they arrive in;
 *  - adding one image moves at most a boundary item, so cached features,
 *    earlier results and the learner's mental picture stay comparable.
 * Counts are exact: round(n·test) test, round(n·validation) validation, the
 * rest train, and train always keeps at least one item when there is one.
 */
export function seededSplit<T>(items: readonly T[], options: SplitOptions<T>): SplitResult<T> {
  const validation = options.validation ?? 0.2;
  const test = options.test ?? 0.2;
  if (!(validation >= 0 && test >= 0 && validation + test < 1)) {
    throw new RangeError(`validation (${validation}) + test (${test}) must be ≥ 0 and < 1`);
  }
  const keyOf =
    options.key ?? ((item: T, index: number) => (typeof item === "string" ? item : String(index)));
  const ranked = items
    .map((item, index) => {
      const key = keyOf(item, index);
      return { item, key, rank: hashString(key, options.seed) };
    })
    .sort((a, b) => a.rank - b.rank || codePointCompare(a.key, b.key));
  const n = ranked.length;
  let nTest = Math.round(n * test);
  let nVal = Math.round(n * validation);
  // Rounding up both can leave no training data for tiny classes (n = 1, 2).
  while (n > 0 && nTest + nVal > n - 1) {
    if (nVal >= nTest && nVal > 0) nVal--;
    else nTest--;
  }
  return {
    test: ranked.slice(0, nTest).map((r) => r.item),
    validation: ranked.slice(nTest, nTest + nVal).map((r) => r.item),
    train: ranked.slice(nTest + nVal).map((r) => r.item),
  };
}

/**
 * Builds a dataset from images dropped onto classes (class name → paths or
 * ids), splitting each class on its own (stratified) so every split has the
 * class balance of the whole.
 */
export function datasetFromClasses(
  byClass: Readonly<Record<string, readonly string[]>>,
  options: { seed: number; validation?: number; test?: number },
): Dataset {
  const classes = Object.keys(byClass).sort(codePointCompare);
  const files: Record<Split, string[][]> = { train: [], validation: [], test: [] };
  for (const className of classes) {
    // Each class is ranked with the same seed; keys differ so classes don't mirror each other.
    const split = seededSplit(byClass[className] ?? [], options);
    for (const s of SPLITS) files[s].push([...split[s]].sort(codePointCompare));
  }
  return { source: "seeded-split", root: "", classes, files, ignored: [], seed: options.seed };
}

/** Images per class and split, with totals, for the dataset summary table. */
export function counts(dataset: Dataset): DatasetCounts {
  const perSplit = Object.fromEntries(
    SPLITS.map((split) => [split, dataset.classes.map((_, c) => dataset.files[split][c]?.length ?? 0)]),
  ) as Record<Split, number[]>;
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const splitTotals = Object.fromEntries(SPLITS.map((s) => [s, sum(perSplit[s])])) as Record<Split, number>;
  const classTotals = dataset.classes.map((_, c) => sum(SPLITS.map((s) => perSplit[s][c] ?? 0)));
  return { classes: [...dataset.classes], perSplit, splitTotals, classTotals, total: sum(classTotals) };
}

/** Flat (path, label) list of one split, in class order then file order: what feature extraction iterates over. */
export function labelledFiles(dataset: Dataset, split: Split): { path: string; label: number }[] {
  return dataset.files[split].flatMap((paths, label) => paths.map((path) => ({ path, label })));
}
