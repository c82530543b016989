// http/ (design.md): health, status, metrics and the admin API.
export { buildHttp, baseUrl, MAX_USERS_PER_IMPORT } from "./server.js";
export { buildMetricsHttp } from "./metrics-server.js";
export type { HttpDeps } from "./server.js";
export { errorBody, HttpError } from "./errors.js";
export type { ErrorBody, FieldError } from "./errors.js";
