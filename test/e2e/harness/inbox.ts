// Received stanzas, kept until a test consumes them: a reply that arrives
// before the test starts waiting for it is never missed.
import type { Element } from "@xmpp/xml";

export type Predicate = (el: Element) => boolean;

export interface Collector {
  /** Matching stanzas so far, in arrival order (consumed: waitFor will not see them). */
  readonly items: Element[];
  /** Resolves with the items once there are at least `count` of them. */
  until(count: number, timeoutMs?: number): Promise<Element[]>;
  /** Stops collecting. */
  stop(): void;
}

interface Waiter {
  predicate: Predicate;
  resolve(el: Element): void;
}

const UNCONSUMED_LIMIT = 1000;
const HISTORY = 10;

export class Inbox {
  private readonly unconsumed: Element[] = [];
  private readonly history: Element[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly collectors = new Set<{ predicate: Predicate; push(el: Element): void }>();

  /** @param owner names the receiver in timeout errors, e.g. "alice@localhost/test". */
  constructor(private readonly owner: () => string) {}

  push(el: Element): void {
    this.history.push(el);
    if (this.history.length > HISTORY) this.history.shift();
    for (const w of this.waiters) {
      if (w.predicate(el)) {
        this.waiters.delete(w);
        w.resolve(el);
        return;
      }
    }
    for (const c of this.collectors) {
      if (c.predicate(el)) {
        c.push(el);
        return;
      }
    }
    this.unconsumed.push(el);
    if (this.unconsumed.length > UNCONSUMED_LIMIT) this.unconsumed.shift();
  }

  /** The first matching stanza, already received and not consumed, or the next one to arrive. */
  waitFor(predicate: Predicate, timeoutMs = 5000, what = "a matching stanza"): Promise<Element> {
    const i = this.unconsumed.findIndex(predicate);
    if (i >= 0) return Promise.resolve(this.unconsumed.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (el) => {
          clearTimeout(timer);
          resolve(el);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.owner()}: timed out after ${timeoutMs} ms waiting for ${what}; ${this.describeRecent()}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Takes every matching stanza (those already received and not consumed, then new ones). */
  collect(predicate: Predicate, what = "matching stanzas"): Collector {
    const items: Element[] = [];
    let notify = () => {};
    const entry = {
      predicate,
      push: (el: Element) => {
        items.push(el);
        notify();
      },
    };
    for (let i = 0; i < this.unconsumed.length;) {
      if (predicate(this.unconsumed[i]!)) items.push(this.unconsumed.splice(i, 1)[0]!);
      else i++;
    }
    this.collectors.add(entry);
    return {
      items,
      until: (count, timeoutMs = 5000) =>
        new Promise((resolve, reject) => {
          const check = () => {
            if (items.length < count) return false;
            clearTimeout(timer);
            notify = () => {};
            resolve(items);
            return true;
          };
          const timer = setTimeout(() => {
            notify = () => {};
            reject(
              new Error(
                `${this.owner()}: timed out after ${timeoutMs} ms waiting for ${count} ${what} (got ${items.length}); ${this.describeRecent()}`,
              ),
            );
          }, timeoutMs);
          notify = check;
          check();
        }),
      stop: () => {
        this.collectors.delete(entry);
      },
    };
  }

  /** "last stanzas received: …" for error messages. */
  describeRecent(): string {
    if (this.history.length === 0) return "no stanza received yet";
    const lines = this.history.map((el) => {
      const s = el.toString();
      return "  " + (s.length > 400 ? s.slice(0, 400) + "…" : s);
    });
    return `last ${this.history.length} stanzas received:\n${lines.join("\n")}`;
  }
}
