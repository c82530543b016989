// The per-chat push token of Genesys push mode (adapters/genesys/gms-push.ts):
// the device id a chat is requested with names its episode and carries an HMAC
// under the router's key; GMS gives it back with every push.
import { describe, expect, it } from "vitest";
import {
  PUSH_DEVICE_ID_KEY,
  PUSH_DEVICE_TYPE_KEY,
  pushDeviceId,
  pushUserData,
  readPushDeviceId,
} from "../../../src/adapters/genesys/gms-push.js";
import { keyRingFrom } from "../../../src/security/keyring.js";

const KEY_A = Buffer.alloc(32, 1).toString("base64");
const KEY_B = Buffer.alloc(32, 2).toString("base64");
const target = { conversationId: "5d7c1f0e-8b7a-4a53-9d0c-2f3c1b2a4e5f", episodeUuid: "0b9e6c2a-1d3f-4e5a-8b7c-6d5e4f3a2b1c" };

describe("Genesys push device ids", () => {
  it("reads back the episode of a device id it made", () => {
    const keys = keyRingFrom(KEY_A);
    const id = pushDeviceId(keys, target);
    expect(id.startsWith(`${target.conversationId}.${target.episodeUuid}.`)).toBe(true);
    expect(readPushDeviceId(keys, id)).toEqual(target);
  });

  it("refuses a forged, altered or moved one, and one of another key", () => {
    const keys = keyRingFrom(KEY_A);
    const id = pushDeviceId(keys, target);
    const token = id.split(".")[2]!;
    expect(readPushDeviceId(keys, `${target.conversationId}.${target.episodeUuid}.${"A".repeat(43)}`)).toBeNull();
    expect(
      readPushDeviceId(keys, `${target.conversationId}.${target.episodeUuid}.${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`),
    ).toBeNull();
    expect(readPushDeviceId(keys, `${target.conversationId}.0b9e6c2a-0000-4e5a-8b7c-6d5e4f3a2b1c.${token}`)).toBeNull();
    expect(readPushDeviceId(keys, pushDeviceId(keyRingFrom(KEY_B), target))).toBeNull();
    for (const bad of [undefined, 42, "", "a.b", `${id}.x`, `${id} `]) expect(readPushDeviceId(keys, bad)).toBeNull();
  });

  it("after a key rotation, tokens of chats opened before it still open", () => {
    const old = pushDeviceId(keyRingFrom(KEY_A), target);
    const rotated = keyRingFrom(`${KEY_B},${KEY_A}`);
    expect(readPushDeviceId(rotated, old)).toEqual(target);
    expect(pushDeviceId(rotated, target)).not.toBe(old);
  });

  it("a chat request asks for customhttp pushes with the device id of its episode", () => {
    const keys = keyRingFrom(KEY_A);
    const req = { serviceName: "s", nickname: "n", subject: "t", userData: { ...target, channel: "supporto" } };
    expect(pushUserData(keys, req)).toEqual({ [PUSH_DEVICE_TYPE_KEY]: "customhttp", [PUSH_DEVICE_ID_KEY]: pushDeviceId(keys, target) });
    expect(pushUserData(keys, { ...req, userData: { channel: "supporto" } })).toEqual({});
  });
});
