/** Prints the backend line of `--backend auto` (run by the BLAS tests without --allow-ffi). */
import { describeBackend, initBackend } from "../../backend/mod.ts";

console.log(describeBackend(await initBackend("auto")));
