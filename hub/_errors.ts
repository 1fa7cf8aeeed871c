/**
 * The Hub (or whatever answered at HF_ENDPOINT) replied with something unusable: a status that is
 * neither success nor retryable, a reply without `X-Repo-Commit`, a corrupt body, an unsafe
 * header value. Folder-private: `downloadFile` turns it into a one-line `RunError`, `message`
 * being the reason.
 *
 * @module
 */
export class HubReplyError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "HubReplyError";
  }
}
