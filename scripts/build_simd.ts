/**
 * Builds our wasm SIMD kernels from their source, `backend/simd/kernels.wat`, with the pinned
 * WebAssembly text compiler (npm `wabt@1.0.39`), into `backend/simd/kernels.wasm` (committed:
 * the program loads it, and `deno compile` embeds it). With `--check` it writes nothing and
 * exits 1 when the committed binary is not what the source builds to.
 *
 *     deno task build:simd             # rebuild kernels.wasm
 *     deno task build:simd --check     # is the committed binary the source's?
 *
 * @module
 */
import wabtInit from "wabt";

const SOURCE = new URL("../backend/simd/kernels.wat", import.meta.url);
const BINARY = new URL("../backend/simd/kernels.wasm", import.meta.url);

/** The binary the source builds to (the same bytes every time: no names, no debug data). */
export async function buildSimd(): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const module = wabt.parseWat("kernels.wat", await Deno.readTextFile(SOURCE), { simd: true });
  try {
    module.validate();
    return new Uint8Array(module.toBinary({ log: false, write_debug_names: false }).buffer);
  } finally {
    module.destroy();
  }
}

if (import.meta.main) {
  const built = await buildSimd();
  if (Deno.args.includes("--check")) {
    const committed = await Deno.readFile(BINARY).catch(() => new Uint8Array());
    const same = committed.length === built.length && committed.every((b, i) => b === built[i]);
    console.log(
      same
        ? `backend/simd/kernels.wasm is the build of kernels.wat (${built.length} bytes)`
        : "backend/simd/kernels.wasm differs from a build of kernels.wat: run deno task build:simd",
    );
    Deno.exit(same ? 0 : 1);
  }
  await Deno.writeFile(BINARY, built);
  console.log(`backend/simd/kernels.wasm: ${built.length} bytes`);
}
