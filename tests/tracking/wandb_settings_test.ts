import assert from "node:assert/strict";
import { InputError } from "../../core/mod.ts";
import {
  appUrl,
  netrcPassword,
  newRunId,
  resolveWandbSettings,
  runUrl,
  wrapConfig,
} from "../../tracking/mod.ts";

Deno.test("wandb settings: flags over the environment over defaults; the mode follows the key", () => {
  const none = resolveWandbSettings({}, {}, { netrc: null });
  assert.equal(none.mode, "offline");
  assert.match(none.note ?? "", /no API key .* logged offline/);
  assert.equal(none.project, "mrpc-tune");
  assert.equal(none.baseUrl, "https://api.wandb.ai");
  const env = {
    WANDB_API_KEY: "k",
    WANDB_PROJECT: "p-env",
    WANDB_ENTITY: "team",
    WANDB_NAME: "n",
    WANDB_RUN_GROUP: "g",
    WANDB_TAGS: "a, b,,c",
    WANDB_JOB_TYPE: "trial",
    WANDB_BASE_URL: "https://wandb.example.org/",
    WANDB_RUN_ID: "abc123",
    WANDB_SWEEP_ID: "sw1",
  };
  const fromEnv = resolveWandbSettings({}, env, { netrc: null });
  assert.deepEqual(
    [fromEnv.mode, fromEnv.project, fromEnv.entity, fromEnv.name, fromEnv.group, fromEnv.jobType],
    ["online", "p-env", "team", "n", "g", "trial"],
  );
  assert.deepEqual(fromEnv.tags, ["a", "b", "c"]);
  assert.equal(fromEnv.baseUrl, "https://wandb.example.org");
  assert.deepEqual([fromEnv.runId, fromEnv.sweepId, fromEnv.note], ["abc123", "sw1", null]);
  const flags = resolveWandbSettings(
    { mode: "offline", project: "p-flag", tags: "x", name: "flag-name" },
    env,
    { netrc: null },
  );
  assert.deepEqual([flags.mode, flags.project, flags.name], ["offline", "p-flag", "flag-name"]);
  assert.deepEqual(flags.tags, ["x"]);
  assert.equal(resolveWandbSettings({}, { WANDB_MODE: "dryrun" }, { netrc: null }).mode, "offline");
  assert.equal(
    resolveWandbSettings({}, { ...env, WANDB_MODE: "disabled" }, { netrc: null }).mode,
    "disabled",
  );
  assert.throws(
    () => resolveWandbSettings({}, { WANDB_MODE: "fast" }, { netrc: null }),
    InputError,
  );
  assert.throws(
    () => resolveWandbSettings({ mode: "online" }, {}, { netrc: null }),
    /W&B mode online needs an API key/,
  );
  assert.throws(
    () => resolveWandbSettings({}, { WANDB_BASE_URL: "nope" }, { netrc: null }),
    /Invalid WANDB_BASE_URL "nope"/,
  );
});

Deno.test("wandb settings: the key from ~/.netrc as wandb login writes it, for the base URL's host", () => {
  const netrc = "machine api.wandb.ai\n  login user\n  password key-cloud\n" +
    "machine wandb.example.org login user password key-self\n";
  assert.equal(netrcPassword(netrc, "api.wandb.ai"), "key-cloud");
  assert.equal(netrcPassword(netrc, "wandb.example.org"), "key-self");
  assert.equal(netrcPassword(netrc, "other.org"), null);
  assert.equal(netrcPassword("default login x password any", "h"), "any");
  const s = resolveWandbSettings({}, { WANDB_BASE_URL: "https://wandb.example.org" }, { netrc });
  assert.deepEqual([s.mode, s.apiKey], ["online", "key-self"]);
});

Deno.test("wandb settings: run URLs, ids, and the config as the W&B UI stores it", () => {
  assert.equal(appUrl("https://api.wandb.ai"), "https://wandb.ai");
  assert.equal(appUrl("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
  assert.equal(
    runUrl("https://api.wandb.ai", "me", "mrpc-tune", "ab12"),
    "https://wandb.ai/me/mrpc-tune/runs/ab12",
  );
  const ids = new Set(Array.from({ length: 50 }, newRunId));
  assert.equal(ids.size, 50);
  for (const id of ids) assert.match(id, /^[a-z0-9]{8}$/);
  assert.deepEqual(wrapConfig({ lr: 3e-5, resume: undefined, model: "m" }), {
    lr: { value: 3e-5, desc: null },
    model: { value: "m", desc: null },
  });
});
