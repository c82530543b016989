// The one configuration schema: it validates the merged config at start-up and
// is the TypeScript type (`Config`) every module receives. Defaults live in
// config/default.json, so the schema has none and unknown keys are errors.
import { z } from "zod";
import { secretKeyProblem } from "../security/keyring.js";
import { isLoopbackHost } from "../security/loopback.js";

const level = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);
const ms = z.number().int().positive();
const count = z.number().int().positive();
const httpUrl = z.url({ protocol: /^https?$/ });

/** `none`, `hmac:SECRET` or `http:URL` (operations.md, EIME_TOKEN_VERIFIER). */
const tokenVerifier = z
  .string()
  .refine((v) => v === "none" || /^hmac:.+/.test(v) || /^http:https?:\/\/.+/.test(v), "must be none, hmac:SECRET or http:URL");

const commandWord = z.string().regex(/^[^\s!]\S*$/u, "must be one word, not starting with !");

const ConfigObject = z.strictObject({
  /**
   * This instance's name, as owner of outbox rows and Genesys leases. Unset: the
   * host name. Instances sharing a database need distinct ones; a restarted
   * instance with the same one takes back at once what it held.
   */
  instanceId: z.string().min(1).max(200).optional(),
  xmpp: z.strictObject({
    /** The server's component port. */
    service: z.string().regex(/^xmpp:\/\/[^/:]+:\d{1,5}$/, "must look like xmpp://host:port"),
    /** The component domain D (protocol.md section 1). */
    domain: z.string().min(1),
    secret: z.string().min(1, "must not be empty"),
    /** The users' domain, where users log in. */
    userDomain: z.string().min(1),
    /** protocol.md section 8: the domains whose users may write to the router; unset: `[userDomain]`. */
    userDomains: z.array(z.string().min(1)).min(1).optional(),
    /** FN of the directory vCard and the disco identity name. */
    serviceName: z.string().min(1),
    /** Stanzas held in memory while the component is offline; beyond it a send fails and the outbox retries it later. */
    outboundQueueLimit: count,
    /** Messages written this long before the stream went down are written again once it is back (XEP-0114 acknowledges nothing); 0: none. */
    resendWindowMs: z.number().int().min(0),
    iqTimeoutMs: ms,
    /**
     * The server takes one connection per component domain (Prosody): instances on one
     * PostgreSQL database take turns through an advisory lock, one active, the others
     * standby (issue 19). false: every instance connects (ejabberd without domain_balancing).
     * No effect on PGlite (one instance). Unset: true.
     */
    standby: z.boolean().optional(),
    /** A standby tries the domain lock this often (bounds the takeover after the active one dies). Unset: 1000. */
    standbyRetryMs: ms.optional(),
    /**
     * Messages received and not yet stored, plus deliveries running; beyond it
     * new messages are answered resource-constraint (BUSY: send again later).
     */
    maxInFlight: count,
    /** Fraction of maxInFlight one sender (bare JID) may hold, at least 20 messages; beyond it BUSY. */
    senderShare: z.number().gt(0).max(1).optional(),
    /** Messages per sender and window; beyond it RATE_LIMITED (policy-violation, wait). 0: no rate. */
    senderRateMessages: z.number().int().min(0).optional(),
    senderRateWindowMs: ms.optional(),
  }),
  database: z.strictObject({
    /** PostgreSQL URL; unset means embedded PGlite. */
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
      .optional(),
    /** Where PGlite keeps its files; `memory://` keeps nothing. */
    dataDir: z.string().min(1),
    poolMax: count,
  }),
  http: z.strictObject({
    host: z.string().min(1),
    port: z.number().int().min(0).max(65535),
    /** Bearer token for /admin/*; unset means the admin API refuses every call. */
    adminToken: z.string().min(8, "must be at least 8 characters").optional(),
    /** /metrics on a listener of its own (this port); unset: on the main listener. */
    metricsPort: z.number().int().min(0).max(65535).optional(),
    /** EIME_PUBLIC_URL: the base users reach this router's HTTP server at (signed attachment URLs); unset: the listener's own address. */
    publicUrl: httpUrl.optional(),
    /** Address of the metrics listener; unset: http.host. */
    metricsHost: z.string().min(1).optional(),
  }),
  security: z.strictObject({
    /** EIME_SECRET_KEY: base64 32-byte keys, comma-separated, the first current (src/security/keyring.ts). */
    secretKey: z
      .string()
      .refine((v) => secretKeyProblem(v) === null, "must be one or more comma-separated base64 keys of 32 bytes (openssl rand -base64 32)")
      .optional(),
    /** Bot and back-end URLs may point at loopback, link-local or private addresses (tests, demos). */
    allowPrivateTargets: z.boolean(),
    /** Conversations one user may have open at once; a message that would open one more is refused. */
    maxOpenConversationsPerUser: count,
    /** Failed admin authentications per client address per minute; beyond it 429. */
    adminAuthFailuresPerMinute: count,
  }),
  protocol: z.strictObject({
    /** Namespace of the `x` element (protocol.md section 2). */
    namespace: z.string().min(1),
    defaultLang: z.string().min(2),
    /** IANA time zone in which dates in notice texts are written (payload.data keeps ISO 8601 UTC). */
    timeZone: z.string().refine((tz) => {
      try {
        new Intl.DateTimeFormat("en", { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, "must be an IANA time zone such as Europe/Rome"),
    /** Prepended to MSISDNs of 10 digits or fewer. */
    defaultCountryCode: z.string().regex(/^\d{1,3}$/, "must be 1 to 3 digits"),
    acceptV1: z.boolean(),
    maxPayloadBytes: count,
    maxTextLength: count,
    maxListEntries: count,
    /** Leave out directory items not published on the requester's platform. */
    platformFilter: z.boolean(),
    /** XEP-0313 archive queries: the most messages one page holds, and the page size when the client asks none. Unset: 100. */
    mamMaxPageSize: z.number().int().min(1).max(1000).optional(),
  }),
  /** Plain XMPP clients, no `x` element (protocol.md section 9). */
  plain: z.strictObject({
    /** Accept them; false answers them policy-violation. */
    enabled: z.boolean(),
    /**
     * Per language: the words (the whole message, alone or after `!`) that are commands, not text for the bot.
     * `callback` may be left out of a language (one configured before it existed): the other languages' words still work.
     */
    commands: z.record(
      z.string().min(2),
      z.strictObject({
        operator: commandWord,
        close: commandWord,
        reset: commandWord,
        vote: commandWord,
        callback: commandWord.optional(),
      }),
    ),
  }),
  /** protocol.md section 10 (docs/attachments.md). */
  attachments: z.strictObject({
    /** Hosts (host or host:port) users' files may come from; unset: `upload.{xmpp.userDomain}`, the usual XEP-0363 share. */
    allowedHosts: z.array(z.string().min(1)).min(1).optional(),
    /** Largest file passed on, in bytes. */
    maxBytes: count,
    /** Media types passed on; `image/*` names a family. */
    allowedTypes: z.array(z.string().regex(/^[\w.+-]+\/([\w.+-]+|\*)$/, "must be a media type such as image/png or image/*")).min(1),
    /** Attachments a user may send per episode (bot session or operator episode). */
    maxPerEpisode: count,
    /** How long a signed download URL works. */
    urlTtlSeconds: count,
    /** Stored files are deleted this many days after they were stored (the periodic retention job). */
    retentionDays: count,
    /** EIME_ATTACHMENTS_STORAGE: where stored files' bytes go: in their database rows, or in files under `directory`. */
    storage: z.enum(["database", "directory"], { error: "must be database or directory" }),
    /** EIME_ATTACHMENTS_DIRECTORY: the directory of storage "directory" (shared by every instance). */
    directory: z.string().min(1).optional(),
    /** Longest time the router takes to fetch one file it stores (a bot's file it proxies). */
    fetchTimeoutMs: ms,
    /** Bot files the router fetches and serves itself: "private" (those at an address the user cannot reach) or "all". */
    proxyBotFiles: z.enum(["private", "all"], { error: "must be private or all" }),
  }),
  directory: z.strictObject({
    /** A JSON file in the admin directory format, loaded when the database holds no directory yet. */
    seedFile: z.string().min(1).optional(),
    cacheTtlSeconds: count,
  }),
  tokens: z.strictObject({
    verifier: tokenVerifier,
    cacheTtlSeconds: count,
    timeoutMs: ms,
  }),
  bot: z.strictObject({
    timeoutMs: ms,
    retries: z.number().int().min(0).max(10),
    retryBackoffMs: ms,
  }),
  genesys: z.strictObject({
    /** Base URL of GMS (before /genesys/2/chat); unset means no operator route. */
    url: httpUrl.optional(),
    requestTimeoutMs: ms,
    pollIntervalMs: ms,
    /** No operator activity for this long closes the episode with GENESYS#0003. */
    idleTimeoutMs: ms,
    /** ROUTER_INACTIVITY_WARNING#0001 comes this long before the idle close (and is how long a Genesys idle alert gives). */
    idleWarningMs: ms,
    /** Waiting in the queue for this long closes the episode with GENESYS#0003. */
    queueTimeoutMs: ms,
    /** ROUTER_QUEUED#0001 is repeated on change, at most this often. */
    queuedNoticeIntervalMs: ms,
    /** How long a poller's lease on a conversation lasts before another instance may take it. */
    leaseMs: ms,
    nickname: z.string().min(1),
    /**
     * EIME_GENESYS_PUSH: chats ask GMS to push their new transcript events to
     * POST {http.publicUrl}/genesys/push (adapters/genesys/gms-push.ts); GMS
     * must be configured for it (operations.md "Genesys push").
     */
    push: z.boolean(),
    /** In push mode, an episode GMS has pushed for is polled only this often (and at once on each push). */
    pushKeepAliveMs: ms,
  }),
  /** Genesys Cloud Open Messaging (backends.md section 2b, docs/genesys-cloud.md); unset apiUrl: no Genesys Cloud route. */
  genesysCloud: z.strictObject({
    /** e.g. https://api.mypurecloud.de */
    apiUrl: httpUrl.optional(),
    /** e.g. https://login.mypurecloud.de (the OAuth token endpoint is {loginUrl}/oauth/token). */
    loginUrl: httpUrl.optional(),
    clientId: z.string().min(1).optional(),
    clientSecret: z.string().min(1).optional(),
    /** The Open Messaging integration's outbound webhook signature secret. */
    webhookSecret: z.string().min(1).optional(),
    requestTimeoutMs: ms,
    /** Requests per minute allowed per OAuth token (Genesys Cloud default 300). */
    requestsPerMinute: count,
    /** Share of requestsPerMinute the conversation-state reads may use; the rest is kept for messages. */
    stateReadShare: z.number().gt(0).max(1),
    /** Shortest interval between two state reads of one conversation. */
    stateIntervalMs: ms,
    /** How long an agent message waits for the client's XEP-0184 receipt before Delivered is sent as it was sent. */
    receiptTimeoutMs: ms,
    /**
     * EIME_GCLOUD_MEDIA_HOSTS: hosts (host, host:port or `*.domain`) an agent's attachment may be downloaded
     * from (and redirected to); unset: apiUrl's host and every host under its region's domain.
     */
    mediaHosts: z.array(z.string().min(1)).min(1).optional(),
  }),
  voting: z.strictObject({
    windowMs: ms,
    /** Optional survey webhook; without it the vote goes to Genesys as updateData. */
    surveyUrl: httpUrl.optional(),
  }),
  contacts: z.strictObject({
    searchRequestsPerHour: count,
    searchNumbersPerHour: count,
  }),
  outbox: z.strictObject({
    pollIntervalMs: ms,
    batchSize: count,
    backoffBaseMs: ms,
    backoffMaxMs: ms,
    /** Attempts of a client delivery before it is dead-lettered (bot and Genesys calls have their own, below and in docs/delivery.md). */
    maxAttempts: count,
    /** Lease of a claimed row, renewed while its owner lives: a dead instance's rows are taken over after this long. */
    takeoverMs: z.number().int().min(1000),
  }),
  log: z.strictObject({
    level,
    /** Per-module levels, e.g. {"xmpp": "debug"}. */
    modules: z.record(z.string(), level),
  }),
});

/** Issue 13: a router reachable beyond this host has its admin API guarded by a token; one left out by mistake stops start-up (exit 2) instead of passing unnoticed. */
export const ConfigSchema = ConfigObject.superRefine((c, ctx) => {
  if (c.attachments.storage === "directory" && c.attachments.directory === undefined) {
    ctx.addIssue({ code: "custom", path: ["attachments", "directory"], message: 'required when attachments.storage is "directory"' });
  }
  if (c.genesys.pushKeepAliveMs < c.genesys.pollIntervalMs) {
    ctx.addIssue({ code: "custom", path: ["genesys", "pushKeepAliveMs"], message: "must be at least genesys.pollIntervalMs" });
  }
  if (c.http.adminToken === undefined && !isLoopbackHost(c.http.host)) {
    ctx.addIssue({
      code: "custom",
      path: ["http", "adminToken"],
      message: `required when http.host (${c.http.host}) is not a loopback address: set an admin token, or listen on 127.0.0.1`,
    });
  }
});

export type Config = z.infer<typeof ConfigSchema>;
