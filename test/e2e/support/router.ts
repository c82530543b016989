// The router under test, wired to a private Prosody (harness/), the sample
// bot and, when given, the GMS simulator. Embedded PGlite in memory by
// default: each test file gets a fresh database.
import { randomUUID } from "node:crypto";
import { buildApp, type App } from "../../../src/app.js";
import { loadConfig } from "../../../src/config/load.js";
import type { Config } from "../../../src/config/schema.js";
import type { DirectoryTree } from "../../../src/core/model.js";
import type { Prosody } from "../harness/prosody.js";
import { routerLogging } from "../harness/router-logs.js";

type Json = { [key: string]: unknown };

export function routerConfig(prosody: Prosody, overrides: Json = {}): Config {
  return loadConfig({
    env: {},
    argv: [],
    overrides: deepMerge(
      {
        instanceId: `test-${randomUUID()}`,
        xmpp: {
          service: prosody.componentService,
          domain: prosody.componentDomain,
          secret: prosody.secret,
          userDomain: prosody.userDomain,
        },
        database: { dataDir: "memory://" },
        http: { port: 0 },
        // The sample bot and the GMS simulator listen on loopback (operations.md EIME_ALLOW_PRIVATE_TARGETS).
        security: { allowPrivateTargets: true },
        bot: { timeoutMs: 2000, retries: 1, retryBackoffMs: 50 },
        outbox: { pollIntervalMs: 100, backoffBaseMs: 200, backoffMaxMs: 1000 },
        log: { level: process.env.EIME_TEST_LOG ?? "silent" },
      },
      overrides,
    ),
  });
}

function deepMerge(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      typeof prev === "object" && prev && !Array.isArray(prev) && typeof v === "object" && v && !Array.isArray(v)
        ? deepMerge(prev as Json, v as Json)
        : v;
  }
  return out;
}

export async function startRouter(config: Config, directory?: DirectoryTree): Promise<App> {
  // Kept for the log scan when EIME_E2E_LOG_DIR is set (harness/router-logs.ts).
  const app = buildApp(config, { logging: routerLogging(config) });
  await app.start();
  if (directory) await app.store.directory.replaceTree(directory);
  return app;
}

/** testDirectory with the `supporto` channel routed to a bot and then a Genesys Cloud integration (backends.md 2b). */
export function cloudDirectory(botUrl: string, integrationId: string): DirectoryTree {
  const tree = testDirectory(botUrl);
  for (const item of tree.items) {
    if (item.address === "supporto") item.route = { mode: "bot+operator", bot: { url: botUrl }, genesysCloud: { integrationId } };
  }
  return tree;
}

/** A directory like the spec's: a mobile-only group with a channel at a server address, channels for both platforms. */
export function testDirectory(botUrl: string, opts: { genesysService?: string } = {}): DirectoryTree {
  const info = (name: string, status = "", extra: Json = {}) => ({ name, status, imageUrl: "", thumbUrl: "", ...extra });
  const genesys = opts.genesysService
    ? { genesys: { serviceName: opts.genesysService, premiumServiceName: `${opts.genesysService}-premium` } }
    : {};
  return {
    items: [
      {
        address: "mobile_ticketing_group",
        type: "group",
        mobileIsPublished: true,
        webIsPublished: false,
        info: info("Mobile Ticketing", "Acquista qui i tuoi biglietti"),
        items: [
          {
            address: "atm_milano",
            type: "channel",
            serverAddress: "myticket",
            mobileIsPublished: true,
            webIsPublished: false,
            info: info("ATM Milano", "Qui i biglietti di Milano", {
              imageUrl: "http://img.example/atm.png",
              defaultMessage: "Ciao da ATM",
            }),
            route: { mode: "bot", bot: { url: botUrl } },
          },
        ],
      },
      {
        address: "supporto",
        type: "channel",
        mobileIsPublished: true,
        webIsPublished: true,
        info: info("Supporto", "Assistenza clienti", { defaultMessage: "Come possiamo aiutarti?" }),
        route: { mode: opts.genesysService ? "bot+operator" : "bot", bot: { url: botUrl }, ...genesys },
      },
      {
        address: "webchat",
        type: "channel",
        mobileIsPublished: false,
        webIsPublished: true,
        info: info("Web Chat", "Solo web", { defaultMessage: "" }),
        route: { mode: "bot", bot: { url: botUrl } },
      },
      {
        address: "bozza",
        type: "channel",
        mobileIsPublished: false,
        webIsPublished: false,
        info: info("Bozza", "Non pubblicato", { defaultMessage: "" }),
        route: { mode: "bot", bot: { url: botUrl } },
      },
      ...(opts.genesysService
        ? [
            {
              address: "operatori",
              type: "channel" as const,
              mobileIsPublished: true,
              webIsPublished: true,
              info: info("Operatori", "Parla con una persona", { defaultMessage: "" }),
              route: { mode: "operator" as const, ...genesys },
            },
          ]
        : []),
    ],
  };
}
