// The channel directory as every handler reads it: loaded from the store,
// indexed, and dropped when any instance edits it (LISTEN/NOTIFY, design.md
// rule 4). The TTL is a safety net for a missed notification.
import type { DirectoryItem, DirectoryTree } from "../core/model.js";
import { channelsOf, descJson, type DirectoryPlatform } from "../protocol/index.js";
import type { Logger } from "../log.js";
import type { Store } from "../store/index.js";

export interface DirectoryView {
  tree: DirectoryTree;
  /** Channels by address. */
  channels: Map<string, DirectoryItem>;
  /** Addresses used as server addresses (protocol.md section 1). */
  serverAddresses: Set<string>;
  /** The DESC JSON per platform filter, built once per load. */
  desc(platform: DirectoryPlatform | null): string;
}

function index(tree: DirectoryTree): DirectoryView {
  const channels = new Map(channelsOf(tree).map((c) => [c.address, c]));
  const serverAddresses = new Set([...channels.values()].flatMap((c) => (c.serverAddress ? [c.serverAddress] : [])));
  const descs = new Map<string, string>();
  return {
    tree,
    channels,
    serverAddresses,
    desc(platform) {
      const key = platform ?? "all";
      let d = descs.get(key);
      if (d === undefined) descs.set(key, (d = descJson(tree, platform)));
      return d;
    },
  };
}

export class DirectoryCache {
  private view: Promise<DirectoryView> | null = null;
  private loadedAt = 0;
  private unlisten: (() => Promise<void>) | null = null;

  constructor(
    private readonly store: Store,
    private readonly ttlMs: number,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.unlisten = await this.store.directory.onDirectoryChanged(() => this.invalidate());
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
    this.unlisten = null;
  }

  invalidate(): void {
    this.view = null;
  }

  get(): Promise<DirectoryView> {
    if (!this.view || Date.now() - this.loadedAt > this.ttlMs) {
      this.loadedAt = Date.now();
      const loading = this.store.directory.getTree().then(index);
      loading.catch((err: unknown) => {
        // A failed load is not cached: the next request tries again.
        if (this.view === loading) this.view = null;
        this.log.error({ err }, "directory load failed");
      });
      this.view = loading;
    }
    return this.view;
  }
}
