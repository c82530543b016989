// One handler per kind of job, registered with the executor by payload type.
import type { Element } from "@xmpp/xml";
import type { Config } from "../../config/schema.js";
import type { BotPort, CallbackPort, Clock, OperatorFilesPort, OperatorLinkFilesPort, OperatorPort } from "../../core/ports.js";
import type { Logger } from "../../log.js";
import type { Metrics } from "../../metrics.js";
import type { DirectoryCache } from "../../router/directory-cache.js";
import type { Store } from "../../store/index.js";
import type { ConversationSteps } from "../conversation-port.js";
import type { Executor } from "../executor.js";
import { botCallHandler } from "./bot-call.js";
import { callbackBookingHandler, CALLBACK_JOB_TYPES } from "./callback-booking.js";
import { clientStanzaHandler } from "./client-stanza.js";
import { cloudReceiptHandler, CLOUD_RECEIPT_JOB_TYPES, type PostReceipt } from "./cloud-receipt.js";
import { operatorCallHandler, OPERATOR_JOB_TYPES } from "./operator-call.js";
import { operatorFilesHandler, OPERATOR_FILE_JOB_TYPES } from "./operator-files.js";
import { surveyHandler } from "./survey.js";
import { urlSigningKey } from "../../attachments/signed-url.js";

export interface HandlerDeps {
  store: Store;
  steps: ConversationSteps;
  directory: DirectoryCache;
  send: (stanza: Element) => Promise<void>;
  bot: BotPort;
  operator: OperatorPort | null;
  /** GMS file calls (protocol.md section 10); null without GMS. */
  operatorFiles?: OperatorFilesPort | null;
  /** The GMS Callback Services API (backends.md section 2c); null without GMS. */
  callbacks?: CallbackPort | null;
  /** Genesys Cloud files by URL (protocol.md section 10); null without Genesys Cloud. */
  linkFiles?: OperatorLinkFilesPort | null;
  /** Genesys Cloud receipts for agent messages (backends.md 2b); null without Genesys Cloud. */
  cloudReceipt?: PostReceipt | null;
  /** Signing key and base of attachment URLs. */
  attachmentUrlKey?: Buffer;
  publicUrl?: () => string;
  config: Config;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
}

export function registerHandlers(executor: Pick<Executor, "register">, deps: HandlerDeps): void {
  const { config, steps } = deps;
  executor.register(["send_client"], clientStanzaHandler(deps));
  executor.register(["call_bot"], botCallHandler(deps));
  executor.register(OPERATOR_JOB_TYPES, operatorCallHandler(deps));
  executor.register(
    OPERATOR_FILE_JOB_TYPES,
    operatorFilesHandler({
      ...deps,
      files: deps.operatorFiles ?? null,
      linkFiles: deps.linkFiles ?? null,
      urlKey: deps.attachmentUrlKey ?? urlSigningKey(config.security.secretKey),
      publicUrl: deps.publicUrl ?? (() => config.http.publicUrl ?? `http://${config.http.host}:${config.http.port}`),
    }),
  );
  executor.register(CLOUD_RECEIPT_JOB_TYPES, cloudReceiptHandler({ post: deps.cloudReceipt ?? null, config }));
  executor.register(CALLBACK_JOB_TYPES, callbackBookingHandler({ callbacks: deps.callbacks ?? null, steps, store: deps.store, config }));
  const surveyUrl = config.voting.surveyUrl;
  if (surveyUrl) executor.register(["submit_vote"], surveyHandler({ surveyUrl, steps, config, clock: deps.clock }));
}
