// One numbered schema migration (the list is in index.ts).
export interface Migration {
  /** 1, 2, 3…: applied in this order, each exactly once. */
  version: number;
  name: string;
  /** One script (several statements), run in the migration's transaction. */
  sql: string;
}
