// Where stored attachments' bytes go, as the config says (attachments.storage).
import type { Config } from "../config/schema.js";
import { attachmentFiles, type AttachmentStorage } from "../store/index.js";

export function attachmentStorageOf(config: Pick<Config, "attachments">): AttachmentStorage {
  const { storage, directory } = config.attachments;
  return storage === "directory" && directory !== undefined
    ? { kind: "directory", files: attachmentFiles(directory) }
    : { kind: "database" };
}
