// The router's keys (operations.md EIME_SECRET_KEY): one or more 32-byte
// master keys, base64, comma-separated, the first current. From each master
// key HKDF-SHA256 (RFC 5869) derives separate keys per use, so no key serves
// two purposes:
//   - secrets at rest: AES-256-GCM (NIST SP 800-38D), a fresh 96-bit IV per
//     value, the value's place (e.g. the channel address) as additional data so
//     a sealed value cannot be moved to another row;
//   - archive ids (XEP-0313 §3: unpredictable): a message id as one AES-256
//     block (8 bytes of marker, 8 of the id), so ids are not counted or guessed
//     and a forged one opens to no marker;
//   - keyed MSISDN hashes: HMAC-SHA256, one key for log tags and one for the
//     hashes sent to back-ends (Genesys userData), so neither can be reversed
//     by enumerating the numbering plan without the key;
//   - Genesys push tokens: HMAC-SHA256 over an episode's ids, the per-chat
//     secret GMS hands back with each push (adapters/genesys/gms-push.ts), so
//     nobody else can wake a chat's poller. Made under the current key and
//     checked against every key of the ring: a rotation does not orphan the
//     tokens of chats opened before it.
// Rotation: put the new key first and keep the old ones after it. Values
// sealed under an old key stay readable and are sealed again under the new one
// when written (and at start, see directory.resealSecrets). Keyed hashes always
// use the current key: after a rotation log tags and back-end hashes change.
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEALED_PREFIX = "v1";
/** Used when no EIME_SECRET_KEY is set (development, tests): public, so it protects nothing. */
const DEVELOPMENT_KEY = createHash("sha256").update("eime-router development key: not secret").digest();

export interface KeyRing {
  /** True when no key was configured and the public development key is in use. */
  readonly development: boolean;
  /** Id of the current key (8 hex digits, not secret), as written into sealed values. */
  readonly currentKeyId: string;
  /** AES-256-GCM under the current key; `context` is bound as additional data and must be given again to open. */
  readonly seal: (plain: string, context: string) => string;
  /** Opens a value sealed under any key of the ring; throws when it was altered, moved or sealed under an unknown key. */
  readonly open: (sealed: string, context: string) => string;
  /** Whether `sealed` was sealed under the current key (false: seal it again). */
  readonly isCurrent: (sealed: string) => boolean;
  /** A stable tag for an MSISDN in logs and admin listings: `msisdn#` and 12 hex digits of a keyed HMAC. */
  readonly msisdnTag: (msisdn: string) => string;
  /** The hash of an MSISDN sent to back-ends (Genesys userData.msisdnHash): lowercase hex HMAC-SHA256. */
  readonly backendMsisdnHash: (msisdn: string) => string;
  /** A message id (decimal) as the opaque archive id of XEP-0313, under the current key; and back (any key), null when forged. */
  readonly archiveId: { encode(messageId: string): string; decode(archiveId: string): string | null };
  /** The Genesys push token of `subject` (base64url HMAC-SHA256, current key); `verify` accepts one of any key of the ring. */
  readonly pushToken: { sign(subject: string): string; verify(subject: string, token: string): boolean };
}

/** Why `value` is not a usable EIME_SECRET_KEY, or null when it is. */
export function secretKeyProblem(value: string): string | null {
  const parts = value.split(",").map((p) => p.trim());
  for (const p of parts) {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(p) || Buffer.from(p, "base64").length !== KEY_BYTES) {
      return "must be one or more comma-separated base64 keys of 32 bytes (openssl rand -base64 32)";
    }
  }
  return null;
}

const derive = (master: Buffer, use: string) =>
  Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), `eime-router/${use}/v1`, KEY_BYTES));

interface Keys {
  id: string;
  seal: Buffer;
}

function keysOf(master: Buffer): Keys {
  const seal = derive(master, "secrets-at-rest");
  return { id: createHash("sha256").update(seal).digest("hex").slice(0, 8), seal };
}

function buildRing(secretKey: string | undefined): KeyRing {
  const masters = secretKey ? secretKey.split(",").map((p) => Buffer.from(p.trim(), "base64")) : [DEVELOPMENT_KEY];
  const ring = masters.map(keysOf);
  const current = ring[0]!;
  const byId = new Map(ring.map((k) => [k.id, k]));
  const tagKey = derive(masters[0]!, "msisdn-log-tag");
  const hashKey = derive(masters[0]!, "msisdn-backend-hash");
  const b64 = (b: Buffer) => b.toString("base64url");

  return {
    development: !secretKey,
    currentKeyId: current.id,
    seal: (plain, context) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", current.seal, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(context, "utf8"));
      const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
      return [SEALED_PREFIX, current.id, b64(iv), b64(body), b64(cipher.getAuthTag())].join(".");
    },
    open: (sealed, context) => {
      const [prefix, id, iv, body, tag] = sealed.split(".");
      if (prefix !== SEALED_PREFIX || !id || iv === undefined || body === undefined || tag === undefined) {
        throw new Error("not a sealed value");
      }
      const key = byId.get(id);
      if (!key) throw new Error(`sealed under key ${id}, which is not in EIME_SECRET_KEY`);
      const decipher = createDecipheriv("aes-256-gcm", key.seal, Buffer.from(iv, "base64url"), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
    },
    isCurrent: (sealed) => sealed.split(".")[1] === current.id,
    msisdnTag: (msisdn) => "msisdn#" + createHmac("sha256", tagKey).update(msisdn, "utf8").digest("hex").slice(0, 12),
    backendMsisdnHash: (msisdn) => createHmac("sha256", hashKey).update(msisdn, "utf8").digest("hex"),
    archiveId: archiveIds(masters),
    pushToken: pushTokens(masters),
  };
}

function pushTokens(masters: Buffer[]): KeyRing["pushToken"] {
  const keys = masters.map((m) => derive(m, "genesys-push-token"));
  const mac = (key: Buffer, subject: string) => createHmac("sha256", key).update(subject, "utf8").digest();
  return {
    sign: (subject) => mac(keys[0]!, subject).toString("base64url"),
    verify(subject, token) {
      if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return false;
      const given = Buffer.from(token, "base64url");
      return keys.some((key) => timingSafeEqual(mac(key, subject), given));
    },
  };
}

const ARCHIVE_MARKER = Buffer.from("eime-mam", "latin1");

function archiveIds(masters: Buffer[]): KeyRing["archiveId"] {
  const keys = masters.map((m) => derive(m, "mam-archive-id"));
  const block = (key: Buffer, data: Buffer, encrypt: boolean) => {
    const c = encrypt ? createCipheriv("aes-256-ecb", key, null) : createDecipheriv("aes-256-ecb", key, null);
    c.setAutoPadding(false);
    return Buffer.concat([c.update(data), c.final()]);
  };
  return {
    encode(messageId) {
      const plain = Buffer.alloc(16);
      ARCHIVE_MARKER.copy(plain, 0);
      plain.writeBigUInt64BE(BigInt(messageId), 8);
      return block(keys[0]!, plain, true).toString("base64url");
    },
    decode(archiveId) {
      if (!/^[A-Za-z0-9_-]{22}$/.test(archiveId)) return null;
      const data = Buffer.from(archiveId, "base64url");
      for (const key of keys) {
        const plain = block(key, data, false);
        if (plain.subarray(0, 8).equals(ARCHIVE_MARKER)) return plain.readBigUInt64BE(8).toString();
      }
      return null;
    },
  };
}

const rings = new Map<string, KeyRing>();

/** The key ring of `security.secretKey` (EIME_SECRET_KEY); undefined: the development key. Built once per value. */
export function keyRingFrom(secretKey: string | undefined): KeyRing {
  const name = secretKey ?? "";
  let ring = rings.get(name);
  if (!ring) {
    ring = buildRing(secretKey);
    rings.set(name, ring);
  }
  return ring;
}
