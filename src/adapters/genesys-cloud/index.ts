// Genesys Cloud Open Messaging (backends.md section 2b), behind OperatorPort.
import type { AxiosInstance } from "axios";
import type { Config } from "../../config/schema.js";
import type { Logger } from "../../log.js";
import { createApiClient, plainHttp } from "./api-client.js";
import { createCloudOperator, type CloudOperator } from "./cloud-operator.js";
import type { CloudOp } from "./errors.js";
import { cloudMediaHosts, fetchCloudMedia } from "./media.js";
import type { OperatorLinkFilesPort } from "../../core/ports.js";
import { createTokenSource } from "./token.js";

export { cloudWebhookHandler } from "./webhook-handler.js";
export { cloudWebhookRoutes } from "./webhook-route.js";
export { webhookDedup } from "./webhook-dedup.js";
export { cloudReceipts, type CloudReceipts } from "./receipts.js";
export { receiptStore } from "./receipt-store.js";
export { operatorSwitch } from "./operator-switch.js";
export { cloudServiceName, isCloudServiceName, parseCloudServiceName } from "./service-name.js";
export type { CloudOperator } from "./cloud-operator.js";

/** The adapter from config.genesysCloud; null when it is not (fully) configured. */
export function cloudOperatorFrom(
  config: Config,
  log: Logger,
  onCall?: (op: CloudOp, status: number | "timeout" | "failed", seconds: number) => void,
  http: AxiosInstance = plainHttp(),
): CloudOperator | null {
  const g = config.genesysCloud;
  if (!g.apiUrl || !g.loginUrl || !g.clientId || !g.clientSecret) return null;
  const tokens = createTokenSource(
    { loginUrl: g.loginUrl, clientId: g.clientId, clientSecret: g.clientSecret, timeoutMs: g.requestTimeoutMs },
    http,
  );
  const api = createApiClient(
    { apiUrl: g.apiUrl, timeoutMs: g.requestTimeoutMs, requestsPerMinute: g.requestsPerMinute, ...(onCall ? { onCall } : {}) },
    tokens,
    http,
    log,
  );
  return createCloudOperator(
    {
      requestsPerMinute: g.requestsPerMinute,
      stateReadShare: g.stateReadShare,
      stateIntervalMs: g.stateIntervalMs,
      nickname: config.genesys.nickname,
    },
    api,
    log,
  );
}

/** The Genesys Cloud files (docs/attachments.md): the operator's inbound message, and downloads from the media hosts. */
export function cloudFilesFrom(config: Config, cloud: CloudOperator | null): OperatorLinkFilesPort | null {
  if (!cloud) return null;
  const hosts = cloudMediaHosts(config.genesysCloud);
  return {
    sendLink: (serviceName, chat, file, messageId) => cloud.sendLink(serviceName, chat, file, messageId),
    fetch: (url, maxBytes) =>
      fetchCloudMedia(url, {
        hosts,
        maxBytes,
        timeoutMs: config.attachments.fetchTimeoutMs,
        allowHttp: config.security.allowPrivateTargets,
      }),
  };
}
