// Genesys GMS Chat API v2 (backends.md section 2), behind OperatorPort.
export { createGmsOperator } from "./gms-operator.js";
export { PUSH_PATH, pushDeviceId, pushUserData, readPushDeviceId } from "./gms-push.js";
export type { PushTarget } from "./gms-push.js";
export { CHAT_SERVER_FILE_DEFAULTS, UPLOAD_KEY_FIELD, createGmsFiles, readFileLimits } from "./gms-files.js";
export type { GmsFilesOptions } from "./gms-files.js";
export type { GmsCallOutcome, GmsOperator, GmsOperatorOptions } from "./gms-operator.js";
export { GenesysError, describeGenesysError, isGenesysError, redact } from "./errors.js";
export type { GenesysFailureKind, GmsErrorItem, GmsOp } from "./errors.js";
export { QUEUE_POSITION_RE, translateTranscript } from "./transcript.js";
export type { ChatTrack, Translation } from "./transcript.js";
