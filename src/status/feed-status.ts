/** What the config feed reports of its store (`/debug/storez`, the store metric): the app's ConfigFeed fills it. */
export interface FeedStatus {
  readonly store: string;
  readonly connected: boolean;
  /** The revision of the configuration served. */
  readonly revision: string;
  /** When `connected` last changed (RFC 3339). */
  readonly since: string;
  readonly message: string;
  readonly changesApplied: number;
  readonly resyncs: number;
  readonly problems: readonly string[];
}
