/**
 * The one module of test helpers: the workplace's ../shared folder (real MRPC data, tokenizer,
 * reference fixtures; a user's fresh clone has none, so tests that need it are ignored with a
 * printed reason), temporary folders, the tiny DistilBERT every test builds on, and running
 * main.ts in a subprocess.
 *
 * @module
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initBackend, loadBlas } from "../backend/mod.ts";
import {
  DistilBertClassifier,
  type DistilBertConfig,
  parseDistilBertConfig,
  savePretrained,
} from "../model/mod.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Absolute path of the repository root (with a trailing separator). */
export const REPO_ROOT: string = ROOT;

/** Absolute path of ../shared, or null when it is absent. */
export const SHARED_DIR: string | null = (() => {
  const dir = join(ROOT, "..", "shared");
  return existsSync(join(dir, "README.md")) ? dir : null;
})();

/**
 * Returns the `ignore` flag for a test needing `relPath` under ../shared, printing the reason
 * when it is missing so that a skip is never silent.
 */
export function needsShared(relPath: string, testName: string): boolean {
  if (SHARED_DIR && existsSync(join(SHARED_DIR, relPath))) return false;
  console.log(`SKIP "${testName}": ../shared/${relPath} is absent (fresh clone without ../shared)`);
  return true;
}

/** Path under ../shared (only valid when `needsShared` returned false). */
export function sharedPath(...parts: string[]): string {
  return join(SHARED_DIR ?? "/nonexistent-shared", ...parts);
}

/** Word pieces of the tiny model's vocabulary (after the five special tokens). */
export const WORDS = [
  "the",
  "bank",
  "said",
  "profits",
  "rose",
  "fell",
  "shares",
  "company",
  "today",
  "a",
  "new",
  "report",
  "price",
  "market",
  "court",
  "police",
  "year",
  "stock",
  "sales",
  "growth",
  ".",
];

/** The tiny model's vocabulary: special tokens first ([PAD] = 0), then {@linkcode WORDS}. */
export const VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ...WORDS];

/**
 * The tiny model: 2 layers, dim 16, 2 heads, the vocabulary {@linkcode VOCAB}, default dropout
 * (0.1/0.1/0.2, so dropout is exercised); `overrides` are config.json fields.
 */
export function tinyConfig(overrides: Record<string, unknown> = {}): DistilBertConfig {
  return parseDistilBertConfig({
    vocab_size: VOCAB.length,
    max_position_embeddings: 64,
    n_layers: 2,
    n_heads: 2,
    dim: 16,
    hidden_dim: 32,
    id2label: { "0": "not_equivalent", "1": "equivalent" },
    ...overrides,
  }, "tiny");
}

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "mrpc-tune-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Writes a tiny random `DistilBertForSequenceClassification` folder (config, weights,
 * vocab.txt of {@linkcode VOCAB}) into `dir` (created) on the wasm backend; deterministic for a
 * given seed. `config` overrides {@linkcode tinyConfig}'s fields.
 */
export async function writeTinyModel(
  dir: string,
  options: { seed?: number; config?: Record<string, unknown> } = {},
): Promise<DistilBertConfig> {
  const config = tinyConfig(options.config);
  await initBackend("wasm");
  const model = DistilBertClassifier.random(config, { seed: options.seed ?? 3 });
  const weights = await model.exportWeights();
  model.dispose();
  await Deno.mkdir(dir, { recursive: true });
  await withTempDir(async (tok) => {
    await Deno.writeTextFile(join(tok, "vocab.txt"), VOCAB.join("\n") + "\n");
    await savePretrained(dir, { config, weights, tokenizerDir: tok });
  });
  return config;
}

/**
 * The environment every test subprocess starts from (on top of the runner's): plain output, and
 * W&B off with no netrc, so that no test ever reaches a real W&B account of the machine's user.
 * The tracking tests set WANDB_MODE="" (unset) and point WANDB_BASE_URL at a loopback server.
 */
export const TEST_ENV: Readonly<Record<string, string>> = {
  NO_COLOR: "1",
  WANDB_MODE: "disabled",
  NETRC: "/nonexistent/mrpc-tune-test-netrc",
};

/** Runs main.ts in a subprocess and returns its exit code and output. */
export async function runMain(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO_ROOT, "main.ts"), ...args],
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...TEST_ENV, ...opts.env },
    stdout: "piped",
    stderr: "piped",
  });
  const out = await cmd.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Asserts one error line, exit code 2, no stack trace, and a message matching `pattern`. */
export function assertUsageError(
  r: { code: number; stdout: string; stderr: string },
  pattern: RegExp,
): void {
  assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one error line, got: ${r.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

/**
 * Waits until `condition` holds, checking every `everyMs`. The bound (60 s by default) only
 * catches a hang: a test never depends on how fast the machine is, so it waits for the event
 * itself rather than for a time. Throws naming `what` when the bound passes.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  options: { timeoutMs?: number; everyMs?: number } = {},
): Promise<void> {
  const deadline = performance.now() + (options.timeoutMs ?? 60_000);
  while (!(await condition())) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out waiting for ${what} (${(options.timeoutMs ?? 60_000) / 1000} s)`);
    }
    await new Promise((r) => setTimeout(r, options.everyMs ?? 20));
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for a server a test starts). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * How many progress lines (` step N/M `) a tune worker's log shows since its last
 * "Trial N started" line; null before any trial started.
 */
export function stepsIntoTrial(log: string): number | null {
  const started = [...log.matchAll(/^Trial \d+ started/gm)].at(-1);
  if (!started) return null;
  return (log.slice(started.index).match(/ step \d+\/\d+ /g) ?? []).length;
}

/** Whether tests may mount a small tmpfs (root with `mount`); says why not when they cannot. */
export function canMountTmpfs(testName: string): boolean {
  if (Deno.uid() === 0) {
    try {
      const probe = Deno.makeTempDirSync({ prefix: "mrpc-tune-mount-probe-" });
      const ok = new Deno.Command("mount", {
        args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe],
        stderr: "null",
      }).outputSync().success;
      if (ok) new Deno.Command("umount", { args: [probe] }).outputSync();
      Deno.removeSync(probe);
      if (ok) return true;
    } catch { /* no mount command */ }
  }
  console.log(`SKIP "${testName}": mounting a small tmpfs needs root (and mount)`);
  return false;
}

/**
 * Runs `fn` with a tmpfs mounted at `<dir>/fs` (`options`: tmpfs mount options such as
 * `size=400k` or `ro`), unmounted afterwards.
 */
export async function withTmpfs<T>(
  dir: string,
  options: string,
  fn: (fs: string) => Promise<T>,
): Promise<T> {
  const fs = join(dir, "fs");
  await Deno.mkdir(fs);
  const mounted = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", options, "tmpfs", fs],
  }).output();
  assert.ok(mounted.success, "mount tmpfs");
  try {
    return await fn(fs);
  } finally {
    await new Deno.Command("umount", { args: [fs] }).output();
  }
}

/**
 * How to run the CLI as an unprivileged user would be: as root, without the capability that
 * bypasses permission checks (setpriv drops CAP_DAC_OVERRIDE); not root, as it is. Null when
 * running as root and setpriv cannot drop it (the caller skips, saying why).
 */
export function unprivilegedPrefix(): string[] | null {
  if (Deno.uid() !== 0) return [];
  const drop = ["--inh-caps=-dac_override", "--bounding-set=-dac_override"];
  try {
    const probe = new Deno.Command("setpriv", { args: [...drop, "true"] }).outputSync();
    if (probe.success) return ["setpriv", ...drop];
  } catch { /* no setpriv */ }
  return null;
}

/** Runs main.ts as {@linkcode unprivilegedPrefix} says (which must not be null). */
export async function runMainUnprivileged(
  prefix: readonly string[],
  args: string[],
  opts: { env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const cmd = [...prefix, Deno.execPath()];
  const out = await new Deno.Command(cmd[0], {
    args: [...cmd.slice(1), "run", "-A", join(REPO_ROOT, "main.ts"), ...args],
    cwd: REPO_ROOT,
    env: { ...TEST_ENV, ...opts.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Debian's Python, which has python3-torch / python3-optuna / python3-redis when installed. */
export const SYSTEM_PYTHON = "/usr/bin/python3";

/**
 * Returns the `ignore` flag for a test needing Python modules (`import a, b` in
 * {@linkcode SYSTEM_PYTHON}), printing why when they are missing, so that a skip is never silent.
 */
export function needsPython(modules: readonly string[], testName: string): boolean {
  try {
    const out = new Deno.Command(SYSTEM_PYTHON, {
      args: ["-c", `import ${modules.join(", ")}`],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    if (out.success) return false;
  } catch { /* no python at all */ }
  console.log(
    `SKIP "${testName}": ${SYSTEM_PYTHON} cannot import ${modules.join(", ")} ` +
      `(install Debian's ${modules.map((m) => `python3-${m}`).join(" ")})`,
  );
  return true;
}

/**
 * Runs `script args…` with {@linkcode SYSTEM_PYTHON}, `input` as JSON on its stdin, and returns
 * its stdout parsed as JSON; a failure fails the test with Python's stderr.
 */
export async function pythonJson<T>(script: string, args: string[], input: unknown): Promise<T> {
  const child = new Deno.Command(SYSTEM_PYTHON, {
    args: [script, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(input)));
  await w.close();
  const out = await child.output();
  if (!out.success) throw new Error(`python ${script}: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Returns the `ignore` flag for a test needing a program on PATH, printing why when absent. */
export function needsProgram(program: string, testName: string, pkg = program): boolean {
  try {
    new Deno.Command(program, { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync();
    return false;
  } catch {
    console.log(`SKIP "${testName}": ${program} is not installed (Debian package ${pkg})`);
    return true;
  }
}

/**
 * Returns the `ignore` flag for a test needing a native BLAS that passes its known-answer test
 * (`--blas auto`), printing why when there is none.
 */
export function needsBlas(testName: string): boolean {
  const load = loadBlas("auto", { timing: false });
  if (load.ok) return false;
  console.log(
    `SKIP "${testName}": no native BLAS (${load.reason}; install Debian's libopenblas0-pthread)`,
  );
  return true;
}
