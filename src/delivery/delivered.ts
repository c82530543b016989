// Client stanzas written to the server whose outbox rows are not deleted yet.
// Their deletion rides on the conversation's next step (one statement instead
// of two) or on a batch every 50 ms; until then the executor keeps their
// lease alive, and after a crash they are sent again with the same stanza id.
export class DeliveredRows {
  /** Conversation id → delivered row ids, oldest first. */
  private readonly rows = new Map<string, string[]>();

  add(conversationId: string, id: string): void {
    const list = this.rows.get(conversationId);
    if (list) list.push(id);
    else this.rows.set(conversationId, [id]);
  }

  /** The rows of one conversation, for its next step to delete (give them back if that step fails). */
  take(conversationId: string): string[] {
    const ids = this.rows.get(conversationId) ?? [];
    this.rows.delete(conversationId);
    return ids;
  }

  giveBack(conversationId: string, ids: readonly string[]): void {
    if (ids.length === 0) return;
    this.rows.set(conversationId, [...ids, ...(this.rows.get(conversationId) ?? [])]);
  }

  /** Every row, taken (conversation id → ids), for a batch delete. */
  takeAll(): Map<string, string[]> {
    const all = new Map(this.rows);
    this.rows.clear();
    return all;
  }

  ids(): string[] {
    return [...this.rows.values()].flat();
  }

  get size(): number {
    return this.rows.size;
  }
}
