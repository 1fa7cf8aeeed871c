/**
 * Multi-threaded XNNPACK for the wasm backend under Deno (folder-private; `bench --wasm_threads`).
 *
 * tfjs turns wasm threads off under Node-like runtimes (`WASM_HAS_MULTITHREAD_SUPPORT` is false
 * when `IS_NODE`), and forcing the flag fails: Emscripten's Node path starts its pthread workers
 * with `worker_threads.Worker("blob:…")`, which Deno (like Node) rejects. Deno's
 * `worker_threads` does run a CommonJS worker file with `require`, and passes the shared
 * `WebAssembly.Memory` to it, so three shims make it work:
 *
 * 1. The worker script tfjs would put in a `blob:` URL is written to a temporary `.cjs` file,
 *    and `URL.createObjectURL` returns that file's path for it while the backend initialises.
 *    The file starts with a prelude that makes the worker globals Emscripten assigns (`self`,
 *    `location`, …; getters in Deno) writable, and that points the worker at the package's own
 *    `wasm-out/tfjs-backend-wasm-threaded-simd.js` instead of the main script's `Blob`, which the
 *    Node path cannot `importScripts`.
 * 2. tfjs caps the thread pool at `os.cpus().length / 2` (it assumes two hyper-threads per core),
 *    so a 2-core machine gets one thread: `os.cpus()` reports twice the wanted count while the
 *    module initialises.
 * 3. The flag is forced on and `setThreadsCount(threads)` called.
 *
 * Must run before the wasm backend is first initialised (before `initBackend("wasm"|"auto")`).
 *
 * @module
 */
import os from "node:os";
import { fileURLToPath } from "node:url";
import { tf, tfWasm, wasmWorkerContents } from "./tf.ts";

const WORKER_GLOBALS = [
  "self",
  "location",
  "postMessage",
  "performance",
  "Worker",
  "importScripts",
  "Module",
  "require",
];

function prelude(factoryPath: string): string {
  return `"use strict";
for (const k of ${JSON.stringify(WORKER_GLOBALS)}) {
  Object.defineProperty(globalThis, k, { value: globalThis[k], writable: true, configurable: true });
}
{
  const port = require("worker_threads").parentPort;
  const on = port.on.bind(port);
  port.on = (event, handler) => on(event, event !== "message" ? handler : (data) => {
    if (data && data.cmd === "load" && typeof data.urlOrBlob !== "string") {
      data.urlOrBlob = ${JSON.stringify(factoryPath)};
    }
    handler(data);
  });
}
`;
}

/**
 * Makes the wasm backend, when it initialises, use `threads` XNNPACK threads. Returns a function
 * that restores the patched globals; call it once the backend is initialised.
 */
export function prepareWasmThreads(threads: number): () => void {
  const workerPath = Deno.makeTempFileSync({ prefix: "tfjs-wasm-worker-", suffix: ".cjs" });
  // As tfjs does before making its Blob: keep the source's "\n" escapes as escapes.
  const factoryPath = fileURLToPath(
    new URL("./tfjs/tfjs-backend-wasm-threaded-simd.cjs", import.meta.url),
  );
  Deno.writeTextFileSync(
    workerPath,
    prelude(factoryPath) + wasmWorkerContents.replace(/\n/g, "\\n"),
  );
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(workerPath);
    } catch {
      // Already gone.
    }
  });
  const createObjectURL = URL.createObjectURL;
  const cpus = os.cpus;
  URL.createObjectURL = (blob: Blob) =>
    blob.type === "application/javascript" ? workerPath : createObjectURL(blob);
  const patchedOs = os as { cpus: () => ReturnType<typeof os.cpus> };
  patchedOs.cpus = () => {
    const real = cpus();
    return Array.from({ length: 2 * threads }, (_, i) => real[i % real.length]);
  };
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  tfWasm.setThreadsCount(threads);
  return () => {
    URL.createObjectURL = createObjectURL;
    patchedOs.cpus = cpus;
  };
}
