/**
 * The Hugging Face Hub client: where the Hub is and who we are (`HF_ENDPOINT`, `HF_TOKEN`,
 * `HF_HUB_OFFLINE`, `HF_HOME`, as `huggingface_hub` reads them), verified downloads into the HF
 * cache layout that Python shares, and the offline rules. `data/` fetches datasets through it,
 * `model/` model folders.
 *
 * @example
 * ```ts
 * import { downloadFile, hubOptionsFromEnv } from "../hub/mod.ts";
 * const hub = hubOptionsFromEnv(Deno.env.toObject());
 * const path = await downloadFile("distilbert-base-uncased", "config.json", { hub });
 * ```
 *
 * @module
 */
export {
  downloadFile,
  type DownloadOptions,
  HubDownloadFailed,
  type HubOptions,
  hubOptionsFromEnv,
  isRepoId,
  type RepoType,
  withCacheHint,
} from "./hub.ts";
