// Shared fixtures of the protocol tests: the config defaults (config/default.json)
// and the values of the worked examples, computed outside the code under test
// (printf … | sha256sum, printf … | base64).
import type { Element } from "@xmpp/xml";
import { parse } from "ltx";

export const NS = "urn:eime:x:0";
export const CC = "39";
export const OPTS = { namespace: NS, defaultLang: "it", maxPayloadBytes: 65536 } as const;
export const LIMITS = { maxTextLength: 4096, maxListEntries: 500 } as const;

/** protocol.md §3 worked example. */
export const EX_HEX = "21d4433455929a9142b565e944c7a1be576059d09824f15fd2c470701d5747dd";
export const EX_H = "MjFkNDQzMzQ1NTkyOWE5MTQyYjU2NWU5NDRjN2ExYmU1NzYwNTlkMDk4MjRmMTVmZDJjNDcwNzAxZDU3NDdkZA==";
export const EX_T = "U3VwcG9ydG8=";
/** Seed 004 response threads (v2, v2.1). */
export const SEED_R = "7ae1cb556a0cc9c29ca3fd36302628df5734e1b9edf1cd07eb0e7335eebd9ee2";
export const SEED_UUID = "14850c10-6093-46fb-a7c4-9abf014b3991";

/** The §1/§2 user 393471111111: sha256 and base64 of it. */
export const MARIO = "393471111111";
export const MARIO_HEX = "9753fdc6d16f7242bf2ece3bacab8d08024b58844ac8a459b73790b5eddc3105";
export const MARIO_H = "OTc1M2ZkYzZkMTZmNzI0MmJmMmVjZTNiYWNhYjhkMDgwMjRiNTg4NDRhYzhhNDU5YjczNzkwYjVlZGRjMzEwNQ==";
/** Another user, 393472222222. */
export const LUCA = "393472222222";
export const LUCA_H = "MTA5YWFmODU0ZjEwNWY0NjUxY2E3ZTJmMWU1NDhjMGQ4ODA0ZDA1OWI0MmM4YzY0NGI5MzlhNmI4NTFiMzhkMA==";
/** sha256("supporto"), sha256("atm_milano"): route keys. */
export const R_SUPPORTO = "b4730763cab6a06462c9f4563c7717f32c61c8a792e710fe7c8da3f7df54be49";
export const R_ATM_MILANO = "25fed539b92e702f1a9c2702f4aceb438c949525519b97ec90960827ab7917bb";

export function el(xmlText: string): Element {
  return parse(xmlText);
}

/** A message from Mario's phone to the supporto channel with the given x children. */
export function chatMessage(opts: {
  thread?: string;
  type?: string;
  action?: string;
  payload: string;
  lang?: string;
  id?: string;
}): Element {
  const parts = [
    `<message xmlns="jabber:client" from="393471111111@eime.local/android-7" to="supporto@router.eime.local" type="chat" id="${opts.id ?? "c2a9"}">`,
    opts.thread === undefined ? "" : `<thread>${opts.thread}</thread>`,
    `<x xmlns="${NS}"><type>${opts.type ?? "chat_text"}</type><action>${opts.action ?? opts.type ?? "chat_text"}</action>`,
    `<payload>${opts.payload.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</payload>`,
    opts.lang === undefined ? "" : `<lang>${opts.lang}</lang>`,
    `</x></message>`,
  ];
  return el(parts.join(""));
}
