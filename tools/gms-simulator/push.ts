// GMS custom HTTP push notifications, as the public Genesys documentation
// describes them (eServices Chat "Push notifications via GMS to HTTP server";
// GMS "Push Notification Service", customhttp):
// - GMS is configured once with the URL to post to ([push] customhttp.url):
//   here `url`, set at start or later (setUrl, POST /sim/push).
// - A chat asks for pushes in its request chat userData:
//   GCTI_GMS_PushDeviceType=customhttp and GCTI_GMS_PushDeviceId=<id>.
// - On chat activity of the other parties (agents, the system; not the
//   client's own calls) GMS POSTs JSON {"deviceId": <id>, "message": <text>}
//   and expects HTTP 200; the body of the answer is ignored.
// - A failed delivery is not resent (the documentation's default, without
//   GCTI_GMS_PushResend): the client's polling has to cover it.
import type { GmsEngine, SimChat, TranscriptEvent } from "./simulator.js";

export const PUSH_DEVICE_TYPE_KEY = "GCTI_GMS_PushDeviceType";
export const PUSH_DEVICE_ID_KEY = "GCTI_GMS_PushDeviceId";
const PUSH_TIMEOUT_MS = 2_000;

/** One push GMS made, for assertions. */
export interface PushRecord {
  at: number;
  chatId: string;
  deviceId: string;
  url: string;
  /** The event that caused it. */
  index: number;
  /** The HTTP status of the answer; unset when there was none (error). */
  status?: number;
  error?: string;
}

export class PushNotifier {
  /** GMS' [push] customhttp.url; unset: no pushes. */
  url: string | undefined;
  readonly sent: PushRecord[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #stop: () => void;
  readonly #engine: GmsEngine;

  constructor(engine: GmsEngine, url?: string) {
    this.#engine = engine;
    this.url = url;
    this.#stop = engine.onTranscriptEvent((chat, event) => this.#notify(chat, event));
  }

  setUrl(url: string | undefined): void {
    this.url = url;
  }

  /** Stops pushing and waits for the posts under way. */
  async close(): Promise<void> {
    this.#stop();
    await Promise.all(this.#inFlight);
  }

  #notify(chat: SimChat, event: TranscriptEvent): void {
    const url = this.url;
    const deviceId = chat.userData[PUSH_DEVICE_ID_KEY];
    if (!url || event.from.type === "Client" || chat.userData[PUSH_DEVICE_TYPE_KEY] !== "customhttp" || !deviceId) return;
    const record: PushRecord = { at: Date.now(), chatId: chat.chatId, deviceId, url, index: event.index };
    this.sent.push(record);
    const post = (async () => {
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ deviceId, message: `${event.type} in chat ${chat.chatId}` }),
          signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
        });
        record.status = res.status;
        await res.arrayBuffer().catch(() => undefined);
        if (res.status !== 200) this.#engine.log(`push for chat ${chat.chatId} #${event.index}: HTTP ${res.status}, not resent`);
      } catch (err) {
        record.error = err instanceof Error ? err.message : String(err);
        this.#engine.log(`push for chat ${chat.chatId} #${event.index} failed (${record.error}), not resent`);
      }
      this.#engine.changed();
    })();
    this.#inFlight.add(post);
    void post.finally(() => this.#inFlight.delete(post));
  }
}
