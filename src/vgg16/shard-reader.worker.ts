/** The shard reader thread (shard-reader.ts): reads cached shard files from OPFS and hashes them. */
import type { Folder } from "./opfs-entry";
import { type ReaderScope, serveShardReads } from "./shard-reader";

serveShardReads(
  self as unknown as ReaderScope,
  async () => (await navigator.storage.getDirectory()) as unknown as Folder,
);
