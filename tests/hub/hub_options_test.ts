import assert from "node:assert/strict";
import { hubOptionsFromEnv } from "../../hub/mod.ts";
import { InputError, parseRetryAfter, retryDelayMs } from "../../core/mod.ts";
// Private: the progress line's text is only seen on a terminal, which a test has no public path to.
import { formatBytes, formatProgress } from "../../hub/_progress.ts";

Deno.test("hubOptionsFromEnv defaults to huggingface.co and ~/.cache/huggingface/hub", () => {
  assert.deepEqual(hubOptionsFromEnv({ HOME: "/home/ada" }), {
    endpoint: "https://huggingface.co",
    cacheDir: "/home/ada/.cache/huggingface/hub",
    offline: false,
    timeoutMs: 10_000,
    etagTimeoutMs: 10_000,
  });
});

Deno.test("hubOptionsFromEnv picks the cache as Python does: HF_HUB_CACHE, HF_HOME, XDG", () => {
  const home = { HOME: "/home/ada" };
  assert.equal(
    hubOptionsFromEnv({ ...home, XDG_CACHE_HOME: "/xdg" }).cacheDir,
    "/xdg/huggingface/hub",
  );
  assert.equal(
    hubOptionsFromEnv({ ...home, XDG_CACHE_HOME: "/xdg", HF_HOME: "~/hf" }).cacheDir,
    "/home/ada/hf/hub",
  );
  assert.equal(
    hubOptionsFromEnv({ ...home, HF_HOME: "/hf", HF_HUB_CACHE: "/cache/hub2" }).cacheDir,
    "/cache/hub2",
  );
  assert.equal(
    hubOptionsFromEnv({ ...home, HF_HUB_CACHE: "" }).cacheDir,
    "/home/ada/.cache/huggingface/hub",
  );
});

Deno.test("hubOptionsFromEnv reads HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE and the timeout", () => {
  const options = hubOptionsFromEnv({
    HOME: "/h",
    HF_ENDPOINT: "https://hf-mirror.example/",
    HF_TOKEN: " hf_abc ",
    HF_HUB_OFFLINE: "1",
    HF_HUB_DOWNLOAD_TIMEOUT: "2.5",
  });
  assert.equal(options.endpoint, "https://hf-mirror.example");
  assert.equal(options.token, "hf_abc");
  assert.equal(options.offline, true);
  assert.equal(options.timeoutMs, 2500);
  for (const value of ["true", "YES", "on"]) {
    assert.equal(hubOptionsFromEnv({ HOME: "/h", HF_HUB_OFFLINE: value }).offline, true);
  }
  for (const value of ["0", "false", "", "no"]) {
    assert.equal(hubOptionsFromEnv({ HOME: "/h", HF_HUB_OFFLINE: value }).offline, false);
  }
  assert.equal("token" in hubOptionsFromEnv({ HOME: "/h", HF_TOKEN: "" }), false);
});

Deno.test("hubOptionsFromEnv rejects a bad endpoint, timeout or a missing HOME", () => {
  assert.throws(
    () => hubOptionsFromEnv({ HOME: "/h", HF_ENDPOINT: "ftp://x" }),
    new InputError(`Invalid HF_ENDPOINT "ftp://x": expected an http(s) URL`),
  );
  assert.throws(
    () => hubOptionsFromEnv({ HOME: "/h", HF_HUB_DOWNLOAD_TIMEOUT: "soon" }),
    new InputError(`Invalid HF_HUB_DOWNLOAD_TIMEOUT "soon": expected seconds above 0`),
  );
  assert.throws(
    () => hubOptionsFromEnv({}),
    new InputError("Cannot locate the Hugging Face cache: set HF_HOME or HF_HUB_CACHE"),
  );
});

Deno.test("Retry-After is read as seconds or a date; backoff doubles up to its cap", () => {
  const now = Date.parse("2024-05-01T12:00:00Z");
  assert.equal(parseRetryAfter("3", now), 3000);
  assert.equal(parseRetryAfter("Wed, 01 May 2024 12:00:10 GMT", now), 10_000);
  assert.equal(parseRetryAfter("soon", now), null);
  assert.equal(parseRetryAfter(null, now), null);
  const policy = { maxAttempts: 5, backoffBaseMs: 100, maxBackoffMs: 1000, deadlineMs: 30_000 };
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, policy, null)), [
    100,
    200,
    400,
    800,
    1000,
  ]);
  assert.equal(retryDelayMs(1, policy, 700), 700);
  assert.equal(retryDelayMs(1, policy, 60_000), 1000);
});

Deno.test("the progress line shows percent, sizes and speed", () => {
  assert.equal(formatBytes(999), "999 B");
  assert.equal(formatBytes(1_500_000), "1.5 MB");
  assert.equal(
    formatProgress("train.parquet", 500_000, 1_000_000, 250_000),
    "train.parquet  50% |##########          | 500.0 kB/1.0 MB 250.0 kB/s",
  );
  assert.equal(formatProgress("x.bin", 2000, null, 0), "x.bin  2.0 kB 0 B/s");
});
