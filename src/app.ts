// Builds the router from its config and returns {start, stop}. Nothing here
// listens or connects until start(); tests build several apps in one process.
import { startAttachmentRetention } from "./attachments/retention.js";
import { signedAttachmentUrl, urlSigningKey } from "./attachments/signed-url.js";
import { attachmentStorageOf } from "./attachments/storage-of.js";
import { isLoopbackHost } from "./security/loopback.js";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { Element } from "@xmpp/xml";
import type { Job } from "./delivery/job.js";
import { createWebhookBot } from "./adapters/bot/webhook-bot.js";
import { createContacts } from "./contacts/index.js";
import {
  PUSH_PATH,
  createGmsCallback,
  createGmsFiles,
  createGmsOperator,
  pushUserData,
  readPushDeviceId,
} from "./adapters/genesys/index.js";
import {
  cloudFilesFrom,
  cloudOperatorFrom,
  cloudReceipts,
  cloudWebhookHandler,
  cloudWebhookRoutes,
  operatorSwitch,
  receiptStore,
  webhookDedup,
  type CloudReceipts,
} from "./adapters/genesys-cloud/index.js";
import { createTokenVerifier } from "./adapters/token/verifiers.js";
import type { Config } from "./config/schema.js";
import { systemClock, type Clock, type OperatorChatRequest, type OperatorPort } from "./core/ports.js";
import { baseUrl, buildHttp, buildMetricsHttp } from "./http/index.js";
import { genesysPushRoutes } from "./http/genesys-push.js";
import { createLogging, type Logging } from "./log.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { createReadiness, DB_CHECK_TIMEOUT_MS } from "./readiness.js";
import { parseDirectoryTree, protocolErrorText, readBounce } from "./protocol/index.js";
import { WaitEstimates } from "./router/wait-estimates.js";
import { ConversationService } from "./router/conversation-service.js";
import { DirectoryCache } from "./router/directory-cache.js";
import { ChannelInbound } from "./router/inbound.js";
import { OperatorPoller } from "./router/operator-poller.js";
import { announcePush, listenForPushes } from "./router/push-wake.js";
import { DeliveredRows } from "./delivery/delivered.js";
import { Executor } from "./delivery/executor.js";
import { GroupCommit } from "./delivery/group-commit.js";
import { registerHandlers } from "./delivery/handlers/index.js";
import { openStore, type Store } from "./store/index.js";
import { createDomainLock, type DomainLock } from "./store/domain-lock.js";
import { createComponentConnection, type ComponentConnection } from "./xmpp/connection.js";
import { directoryHandlers } from "./xmpp/directory-handlers.js";
import { createDispatcher, type Routes } from "./xmpp/dispatch.js";
import { FairShare, fairShareOptions } from "./xmpp/fair-share.js";
import { presenceHandler } from "./xmpp/presence.js";
import { senderDomainRule, userDomainsOf } from "./security/sender-domain.js";
import { keyRingFrom } from "./security/keyring.js";
import { configTargets, targetProblem } from "./security/targets.js";
import { withAdHocCommands } from "./xmpp/adhoc.js";
import { mamHandlers } from "./xmpp/mam.js";
import { PlainInbound } from "./xmpp/plain-inbound.js";

export interface AppOptions {
  logging?: Logging;
  clock?: Clock;
  /** Steps per group-commit transaction at most (default 100); 1 writes every step alone (the benchmark's comparison). */
  groupCommitMaxBatch?: number;
}

export interface App {
  start(): Promise<void>;
  /** Graceful: stop taking stanzas, finish or persist what is in flight, close the stream. */
  stop(): Promise<void>;
  readonly config: Config;
  readonly metrics: Metrics;
  readonly connection: ComponentConnection;
  /** Set once started. */
  readonly store: Store;
  /** Resolves when no stanza, conversation step or job is in flight (tests). */
  idle(): Promise<void>;
  /** Base URL of the HTTP server (health, status, metrics, admin API) once started, e.g. http://127.0.0.1:8080. */
  readonly httpAddress: string | undefined;
  /** Base URL of the metrics listener once started, when http.metricsPort is set. */
  readonly metricsAddress: string | undefined;
}

const within = <T>(ms: number, p: Promise<T>) => Promise.race([p, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);

export function buildApp(config: Config, options: AppOptions = {}): App {
  const keys = keyRingFrom(config.security.secretKey);
  const attachmentUrlKey = urlSigningKey(config.security.secretKey);
  const logging = options.logging ?? createLogging(config.log, undefined, keys.msisdnTag);
  const log = logging.child("app");
  const clock = options.clock ?? systemClock;
  const owner = config.instanceId ?? hostname();
  let store: Store | undefined;
  let accepting = false;
  let http: ReturnType<typeof buildHttp> | undefined;
  let metricsHttp: ReturnType<typeof buildMetricsHttp> | undefined;
  let stopRetention: (() => void) | undefined;
  let stopPushes: (() => Promise<void>) | undefined;

  const needStore = (): Store => {
    if (!store) throw new Error("the router is not started");
    return store;
  };

  const connection = createComponentConnection(
    {
      service: config.xmpp.service,
      domain: config.xmpp.domain,
      secret: config.xmpp.secret,
      outboundQueueLimit: config.xmpp.outboundQueueLimit,
      resendWindowMs: config.xmpp.resendWindowMs,
      iqTimeoutMs: config.xmpp.iqTimeoutMs,
    },
    logging.child("xmpp"),
  );
  const send = (stanza: Element) => connection.send(stanza);

  // One readiness check for GET /health/ready and the eime_ready gauge.
  const readiness = createReadiness({
    store: () => store,
    connectionStatus: () => connection.status(),
    ready: () => (accepting ? [] : ["router: not accepting stanzas (stopping)"]),
    dbCheckTimeoutMs: DB_CHECK_TIMEOUT_MS,
    logger: logging.child("http"),
  });
  const metrics = createMetrics({
    conversationsByState: async () => (store ? await store.conversations.countByState() : {}),
    outboxDepth: async () => (store ? await store.outbox.depth() : 0),
    deadLetters: async () => (store ? await store.outbox.deadCounts() : {}),
    readiness,
    componentOnline: () => connection.isOnline(),
  });

  // Built in start(), once the store is open.
  let directory!: DirectoryCache;
  let service!: ConversationService;
  let executor!: Executor;
  let inbound!: ChannelInbound;
  let plainInbound!: PlainInbound;
  let poller: OperatorPoller | undefined;
  /** Genesys Cloud receipts for agent messages (backends.md 2b); undefined without Genesys Cloud. */
  let receipts: CloudReceipts | undefined;
  // Prosody takes one connection per component domain: instances on one PostgreSQL take turns (issue 19).
  const domainLock: DomainLock | undefined =
    config.xmpp.standby !== false && config.database.url
      ? createDomainLock(
          { url: config.database.url, domain: config.xmpp.domain, retryMs: config.xmpp.standbyRetryMs ?? 1000 },
          logging.child("xmpp"),
        )
      : undefined;
  const gms: OperatorPort | null = config.genesys.url
    ? createGmsOperator(
        {
          baseUrl: config.genesys.url,
          requestTimeoutMs: config.genesys.requestTimeoutMs,
          onCall: (op, outcome, seconds) => metrics.genesysLatency.observe({ op, outcome }, seconds),
          // Push mode: each chat asks GMS for custom HTTP pushes, with its own token (gms-push.ts).
          ...(config.genesys.push ? { requestUserData: (req: OperatorChatRequest) => pushUserData(keys, req) } : {}),
        },
        logging.child("genesys"),
      )
    : null;
  // backends.md section 2 file calls (protocol.md section 10): GMS episodes exchange files.
  const gmsFiles = config.genesys.url
    ? createGmsFiles(
        {
          baseUrl: config.genesys.url,
          requestTimeoutMs: config.genesys.requestTimeoutMs,
          onCall: (op, outcome, seconds) => metrics.genesysLatency.observe({ op, outcome }, seconds),
        },
        logging.child("genesys"),
      )
    : null;
  // backends.md section 2c: callbacks at a full queue, booked with the GMS Callback Services API.
  const gmsCallback = config.genesys.url
    ? createGmsCallback(
        {
          baseUrl: config.genesys.url,
          requestTimeoutMs: config.genesys.requestTimeoutMs,
          onCall: (op, outcome, seconds) => metrics.genesysLatency.observe({ op, outcome }, seconds),
        },
        logging.child("genesys"),
      )
    : null;
  // backends.md 2b: Genesys Cloud beside GMS; each episode's serviceName picks one.
  const cloud = cloudOperatorFrom(config, logging.child("genesys"));
  const operator = operatorSwitch(gms, cloud);

  const dispatcher = createDispatcher({
    domain: config.xmpp.domain,
    namespace: config.protocol.namespace,
    send,
    log: logging.child("dispatch"),
    metrics,
    accepting: () => accepting,
    maxInFlight: config.xmpp.maxInFlight,
    othersInFlight: () => executor?.inFlight ?? 0,
    senderDomainAllowed: senderDomainRule(userDomainsOf(config.xmpp)),
    fairShare: new FairShare(fairShareOptions(config.xmpp)),
    routes: {
      get iq() {
        return iqRoutes;
      },
      // Plain XMPP clients (protocol.md section 9) first; anything else is the EiMe pipeline's.
      channelMessage: (stanza, to, from) => plainInbound.handle(stanza, to, from, () => inbound.handle(stanza, to, from)),
      serviceMessage: (stanza, from) => serviceMessage(stanza, from),
      presence: (stanza, to, from) => presence(stanza, to, from),
      // A bounced agent message is a Failed receipt (the user's server refused it).
      bounce: async (stanza, _to, from) => {
        const b = readBounce(stanza);
        if (b) await receipts?.bounced(from.bare, b.id, b.condition);
      },
    },
  });
  // Set in start(), before the component connects: no stanza arrives earlier.
  let iqRoutes: ReturnType<typeof directoryHandlers> = {};
  let serviceMessage: Routes["serviceMessage"] = async () => undefined;
  let presence: ReturnType<typeof presenceHandler> = async () => undefined;
  connection.onStanza(dispatcher);

  async function seedDirectory(s: Store): Promise<void> {
    const file = config.directory.seedFile;
    if (!file || !(await s.directory.isEmpty())) return;
    const parsed = parseDirectoryTree(JSON.parse(readFileSync(file, "utf8")));
    if (!parsed.ok) throw new Error(`directory seed ${file}: ${protocolErrorText(parsed.error)}`);
    await s.directory.replaceTree(parsed.value);
    log.info({ file }, "directory seeded");
  }

  async function listenMetrics(host: string, port: number): Promise<ReturnType<typeof buildMetricsHttp>> {
    const server = buildMetricsHttp({ registry: metrics.registry, logger: logging.child("http") });
    try {
      await server.listen({ host, port });
    } catch (err) {
      await server.close().catch(() => undefined);
      throw err;
    }
    return server;
  }

  return {
    config,
    metrics,
    connection,
    get store() {
      return needStore();
    },
    get httpAddress() {
      return http ? baseUrl(http) : undefined;
    },
    get metricsAddress() {
      return metricsHttp ? baseUrl(metricsHttp) : undefined;
    },

    async start() {
      for (const t of configTargets(config)) {
        const problem = await targetProblem(t.url, config.security);
        if (problem) throw new Error(`config ${t.path}: ${problem}`);
      }
      const s = await openStore(config.database, logging, keys, { attachments: attachmentStorageOf(config) });
      store = s;
      try {
        if (keys.development) log.warn("no EIME_SECRET_KEY: secrets at rest and MSISDN hashes use the public development key");
        const resealed = await s.directory.resealSecrets();
        if (resealed > 0) log.info({ channels: resealed }, "route secrets sealed under the current key");
        await seedDirectory(s);
        // What this instance held when it last stopped is due again now, not after its lock expires.
        const released = await s.outbox.releaseOwner(owner);
        if (released > 0) log.info({ rows: released }, "outbox rows of the previous run released");

        directory = new DirectoryCache(s, config.directory.cacheTtlSeconds * 1000, logging.child("directory"));
        await directory.start();
        const tokens = createTokenVerifier(config.tokens, clock);
        const bot = createWebhookBot(
          { timeoutMs: config.bot.timeoutMs, onAttempt: (outcome, seconds) => metrics.botLatency.observe({ outcome }, seconds) },
          logging.child("bot"),
        );
        const delivered = new DeliveredRows();
        executor = new Executor({
          store: s,
          clock,
          log: logging.child("outbox"),
          metrics,
          delivered,
          options: {
            owner,
            pollIntervalMs: config.outbox.pollIntervalMs,
            batchSize: config.outbox.batchSize,
            takeoverMs: config.outbox.takeoverMs,
          },
        });
        const deliver = (jobs: readonly Job[]) => executor.submit(jobs);
        if (cloud) {
          const timeoutMs = config.genesysCloud.receiptTimeoutMs;
          receipts = cloudReceipts(receiptStore(s.db), { timeoutMs }, () => executor.wake(), logging.child("genesys"));
        }
        service = new ConversationService({
          store: s,
          directory,
          config,
          clock,
          log: logging.child("core"),
          newUuid: randomUUID,
          owner,
          leaseMs: config.outbox.takeoverMs,
          waitEstimates: new WaitEstimates(s, clock, logging.child("core")),
          ephemeral: {
            sendToClient: send,
            operatorTyping: async (c, episodeUuid, typing) => {
              const ep = c.episode;
              if (operator && ep?.chat && ep.uuid === episodeUuid && !ep.endedAt) await operator.typing(ep.serviceName, ep.chat, typing);
            },
          },
          delivered,
          // protocol.md section 10: a stored file's URL, for the one user, expiring; EIME_PUBLIC_URL, else this listener.
          storedFileUrl: (id, user) =>
            signedAttachmentUrl(attachmentUrlKey, {
              base: config.http.publicUrl ?? (http ? baseUrl(http) : `http://${config.http.host}:${config.http.port}`),
              id,
              user,
              expiresAt: new Date(clock.now().getTime() + config.attachments.urlTtlSeconds * 1000),
            }),
          // Half the pool writes steps (each writer one transaction at a time); the rest serves claims, reads and the admin API.
          commits: new GroupCommit(
            s,
            { writers: Math.max(1, Math.min(4, Math.floor(config.database.poolMax / 2))), maxBatch: options.groupCommitMaxBatch ?? 100 },
            logging.child("store"),
          ),
        });
        registerHandlers(executor, {
          store: s,
          steps: service,
          directory,
          send,
          bot,
          operator,
          operatorFiles: gmsFiles,
          callbacks: gmsCallback,
          linkFiles: cloudFilesFrom(config, cloud),
          cloudReceipt: cloud ? (...args) => cloud.receipt(...args) : null,
          attachmentUrlKey: urlSigningKey(config.security.secretKey),
          publicUrl: () => config.http.publicUrl ?? (http ? baseUrl(http) : `http://${config.http.host}:${config.http.port}`),
          config,
          clock,
          log: logging.child("jobs"),
          metrics,
        });
        inbound = new ChannelInbound({ config, directory, service, tokens, send, deliver, log: logging.child("inbound"), metrics });
        plainInbound = new PlainInbound({
          config,
          directory,
          service,
          send,
          deliver,
          log: logging.child("plain"),
          metrics,
          ...(receipts ? { onReceived: (id, from) => receipts!.received(from.bare, id) } : {}),
        });
        iqRoutes = {
          ...withAdHocCommands(directoryHandlers({ config, directory, latestOs: (jid) => s.conversations.latestOs(jid) }), {
            config,
            directory,
            plain: () => plainInbound,
          }),
          // XEP-0313: the user's history at channel and server-address JIDs (issue 17).
          ...mamHandlers({ config, directory, archive: () => s.archive, send, archiveIds: keys.archiveId }),
        };
        presence = presenceHandler({ config, directory, send });

        // --- Contacts (protocol.md section 7): roster port and commands ---
        // The XEP-0356 roster adapter learns its rights from the server's
        // advertisement, which reaches serviceMessage like the commands do.
        const contacts = createContacts({ config, store: s, directory, connection, send, logging, metrics, clock });
        serviceMessage = contacts.serviceMessage;

        // A standby waits here, before it polls or connects; stop() meanwhile ends the wait (and cleans up).
        if (domainLock && !(await domainLock.acquire())) return;

        // --- Operators (backends.md section 2): Genesys adapter and poller ---
        if (operator) {
          poller = new OperatorPoller(
            s,
            service,
            operator,
            clock,
            {
              owner,
              pollIntervalMs: config.genesys.pollIntervalMs,
              leaseMs: config.genesys.leaseMs,
              maxFailures: 5,
              concurrency: 16,
              ...(gms && config.genesys.push ? { keepAliveMs: config.genesys.pushKeepAliveMs } : {}),
            },
            logging.child("genesys"),
            deliver,
          );
          poller.start();
          // Push mode: a push reaching any instance wakes the episode here (router/push-wake.ts).
          if (gms && config.genesys.push)
            stopPushes = await listenForPushes(s.db, (e) => void poller?.wake(e.conversationId, e.episodeUuid));
        }

        accepting = true;
        await connection.start();
        await executor.start();
        receipts?.start();
        stopRetention = startAttachmentRetention({
          attachments: () => store?.attachments,
          retentionDays: config.attachments.retentionDays,
          log: logging.child("attachments"),
          onBytes: (bytes) => metrics.attachmentBytes.set(bytes),
        });

        // --- HTTP (operations.md): health, status, metrics, admin API ---
        const httpServer = buildHttp({
          config,
          store: () => store,
          connectionStatus: () => connection.status(),
          registry: metrics.registry,
          readiness,
          logger: logging.child("http"),
          attachmentUrlKey,
          plugins: [
            ...(gms && config.genesys.push
              ? [
                  genesysPushRoutes({
                    path: PUSH_PATH,
                    readDeviceId: (deviceId) => readPushDeviceId(keys, deviceId),
                    announce: (target) => announcePush(s.db, target),
                    onPush: (outcome) => metrics.genesysPushes.inc({ outcome }),
                    log: logging.child("genesys"),
                  }),
                ]
              : []),
            ...(cloud && config.genesysCloud.webhookSecret
              ? [
                  cloudWebhookRoutes({
                    secret: config.genesysCloud.webhookSecret,
                    handle: cloudWebhookHandler({
                      dedup: webhookDedup(s.db),
                      steps: service,
                      deliver,
                      receipts: receipts!,
                      log: logging.child("genesys"),
                    }),
                    log: logging.child("genesys"),
                  }),
                ]
              : []),
          ],
        });
        try {
          await httpServer.listen({ host: config.http.host, port: config.http.port });
        } catch (err) {
          await httpServer.close().catch(() => undefined);
          throw err;
        }
        http = httpServer;
        log.info({ http: baseUrl(httpServer) }, "http listening");
        if (!config.http.publicUrl && !isLoopbackHost(config.http.host)) {
          log.warn("EIME_PUBLIC_URL is unset: signed file URLs name this listener's own address, which users may not reach");
        }
        if (gms && config.genesys.push) {
          // operations.md "Genesys push": GMS' [push] customhttp.url must name this.
          log.info(
            { customhttpUrl: `${(config.http.publicUrl ?? baseUrl(httpServer)).replace(/\/+$/, "")}${PUSH_PATH}` },
            "Genesys push mode on",
          );
        }
        if (config.http.metricsPort !== undefined) {
          metricsHttp = await listenMetrics(config.http.metricsHost ?? config.http.host, config.http.metricsPort);
          log.info({ metrics: baseUrl(metricsHttp) }, "metrics listening");
        }

        log.info({ domain: config.xmpp.domain, instance: owner, engine: s.db.engine }, "router started");
      } catch (err) {
        accepting = false;
        await http?.close().catch(() => undefined);
        http = undefined;
        await connection.stop().catch(() => undefined);
        await domainLock?.release();
        receipts?.stop();
        await executor?.close().catch(() => undefined);
        await stopPushes?.().catch(() => undefined);
        stopPushes = undefined;
        await poller?.stop().catch(() => undefined);
        await directory?.stop().catch(() => undefined);
        await s.close().catch(() => undefined);
        store = undefined;
        throw err;
      }
    },

    async stop() {
      if (!store) return;
      accepting = false;
      if (domainLock && !domainLock.isHeld()) await domainLock.release(); // a standby stops waiting
      stopRetention?.();
      stopRetention = undefined;
      // --- HTTP: closed first ---
      const httpServer = http;
      http = undefined;
      // Requests in flight may finish (bounded); idle keep-alive connections are closed at once.
      if (httpServer) await within(3_000, httpServer.close()).catch((err: unknown) => log.warn({ err }, "http close failed"));
      const metricsServer = metricsHttp;
      metricsHttp = undefined;
      if (metricsServer) await within(1_000, metricsServer.close()).catch((err: unknown) => log.warn({ err }, "metrics close failed"));

      // Finish what is in flight, within bounds (operations.md: exit within 10 s).
      await within(4_000, Promise.all([dispatcher.idle(), service?.idle()]));
      await stopPushes?.().catch((err: unknown) => log.warn({ err }, "push listener stop failed"));
      stopPushes = undefined;
      await poller?.stop();
      receipts?.stop();
      await executor?.stopClaiming();
      await within(3_000, executor ? executor.idle() : Promise.resolve());
      await executor?.close();
      await connection.stop();
      await domainLock?.release(); // after our stream closed: the standby connects without a conflict
      await directory?.stop();
      const s = store;
      store = undefined;
      await s.close();
      log.info("router stopped");
    },

    async idle() {
      for (let i = 0; i < 3; i++) {
        await Promise.all([dispatcher.idle(), service?.idle(), executor?.idle()]);
      }
    },
  };
}
