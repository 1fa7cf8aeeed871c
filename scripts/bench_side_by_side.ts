/**
 * `deno task bench:peer`: runs `mrpc-tune bench` and the PyTorch peer
 * (`../shared/bench/torch_peer.py`, Debian python3-torch) on the same shapes and the same MRPC
 * epoch slice, one measurement at a time and alternating which engine goes first, then prints
 * our figures, PyTorch's, and ours/PyTorch. Every figure comes from the two programs' own JSON.
 * Each pair alternates which engine goes first from round to round (and neighbouring pairs start
 * differently), and both engines get the same warm-up steps, on the epoch pairs too.
 *
 * Pairs: train 16×128 and 16×64 (examples/s), eval 64×128 (examples/s), and the epoch: ours with
 * `--group_by_length` batching against PyTorch padding to 128 (run_glue's default; the target is
 * a wall-time ratio ≤ 2) and against PyTorch with the same grouping.
 *
 * @example
 * ```sh
 * deno task bench:peer --steps 2 --epoch_batches 4      # about 10 minutes on 2 cores
 * deno task bench:peer --json > side_by_side.json
 * ```
 *
 * @module
 */
import { parseOptions } from "../cli/mod.ts";

const TABLE = [
  { name: "backend", type: "string", default: "wasm", description: "Our tfjs backend" },
  { name: "wasm_threads", type: "int", default: 0, min: 0, description: "Our XNNPACK threads" },
  { name: "blas", type: "string", default: "auto", description: "Our --blas: auto, off or a path" },
  { name: "warmup", type: "int", default: 1, min: 0, description: "Untimed steps per shape" },
  { name: "steps", type: "int", default: 2, min: 1, description: "Timed steps per shape" },
  { name: "epoch_batches", type: "int", default: 4, min: 1, description: "Epoch batches timed" },
  { name: "rounds", type: "int", default: 1, min: 1, description: "Repeat every pair" },
  { name: "peer", type: "string", default: "../shared/bench/torch_peer.py", description: "Peer" },
  { name: "python", type: "string", default: "/usr/bin/python3", description: "Python with torch" },
  { name: "only", type: "string", default: "", description: "Comma-separated pair names" },
  { name: "json", type: "boolean", default: false, description: "Print one JSON object" },
] as const;

type Json = Record<string, unknown>;

/** One comparison: our bench flags, the peer's flags, and how to read a figure from each. */
export interface Pair {
  readonly name: string;
  readonly ours: string[];
  readonly peer: string[];
  /** Reads the compared figure from our report and the peer's. */
  readonly ourFigure: (r: Json) => number;
  readonly peerFigure: (r: Json) => number;
  /** `"examples/s"` (higher is better) or `"s/epoch"` (lower is better). */
  readonly unit: "examples/s" | "s/epoch";
}

/** The compared measurements for the script's options `o` (warm-up, steps, epoch batches). */
export function pairs(o: Record<string, unknown>): Pair[] {
  const warmup = ["--warmup", String(o.warmup)];
  const timing = [...warmup, "--steps", String(o.steps)];
  const first = (r: Json, key: string) => (r[key] as Json[])[0];
  const train = (b: number, s: number, withMatmul: boolean): Pair => ({
    name: `train ${b}x${s}`,
    ours: [
      "--parts",
      withMatmul ? "matmul,train" : "train",
      "--train_shapes",
      `${b}x${s}`,
      ...timing,
    ],
    peer: ["--mode", "train", "--batch", `${b}`, "--seq", `${s}`, ...timing],
    ourFigure: (r) => first(r, "train").examples_per_second as number,
    peerFigure: (r) => r.examples_per_s as number,
    unit: "examples/s",
  });
  const epoch = (peerPadding: string): Pair => ({
    name: `epoch grouped vs torch ${peerPadding}`,
    ours: [
      ...["--parts", "epoch", "--padding", "grouped", "--epoch_batches", String(o.epoch_batches)],
      ...warmup,
    ],
    peer: [
      ...["--mode", "epoch", "--batch", "16", "--padding", peerPadding],
      ...["--batches", String(o.epoch_batches), ...warmup],
    ],
    ourFigure: (r) => (r.epoch as Json).epoch_seconds_estimate as number,
    peerFigure: (r) => r.epoch_seconds_estimate as number,
    unit: "s/epoch",
  });
  return [
    train(16, 128, true),
    train(16, 64, false),
    {
      name: "eval 64x128",
      ours: ["--parts", "eval", "--eval_shape", "64x128", ...timing],
      peer: ["--mode", "eval", "--batch", "64", "--seq", "128", ...timing],
      ourFigure: (r) => (r.eval as Json).examples_per_second as number,
      peerFigure: (r) => r.examples_per_s as number,
      unit: "examples/s",
    },
    epoch("max"),
    epoch("grouped"),
  ];
}

async function runJson(cmd: string, args: string[], label: string): Promise<Json> {
  console.error(`$ ${cmd} ${args.join(" ")}`);
  const t0 = performance.now();
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "inherit" }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) throw new Error(`${label} exited with code ${out.code}`);
  const last = text.split("\n").at(-1) ?? "";
  console.error(`  (${label}: ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  return JSON.parse(last) as Json;
}

interface Row {
  readonly name: string;
  readonly unit: string;
  readonly ours: number[];
  readonly pytorch: number[];
}

/** One measurement of the run: which round, which pair, and whether ours runs first. */
export interface Turn {
  readonly round: number;
  readonly pair: number;
  readonly oursFirst: boolean;
}

/**
 * The order of a run: every pair once per round; a pair's first engine alternates from round to
 * round, and neighbouring pairs of a round start with different engines.
 */
export function schedule(rounds: number, pairCount: number): Turn[] {
  const turns: Turn[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let pair = 0; pair < pairCount; pair++) {
      turns.push({ round, pair, oursFirst: (round + pair) % 2 === 0 });
    }
  }
  return turns;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

async function main(argv: string[]): Promise<void> {
  const o = parseOptions(TABLE, argv);
  const only = String(o.only).split(",").map((s) => s.trim()).filter((s) => s !== "");
  const selected = pairs(o).filter((p) =>
    only.length === 0 || only.some((n) => p.name.startsWith(n))
  );
  const rows = selected.map((p) => ({
    name: p.name,
    unit: p.unit,
    ours: [] as number[],
    pytorch: [] as number[],
  }));
  const reports: Json[] = [];
  let peerInfo: Json = {};
  for (const { pair: i, oursFirst } of schedule(o.rounds, selected.length)) {
    const p = selected[i];
    const runOurs = async () => {
      const r = await runJson(Deno.execPath(), [
        "run",
        "-A",
        "main.ts",
        "bench",
        "--json",
        "--backend",
        String(o.backend),
        "--wasm_threads",
        String(o.wasm_threads),
        "--blas",
        String(o.blas),
        ...p.ours,
      ], "ours");
      reports.push({ pair: p.name, engine: "tfjs", report: r });
      rows[i].ours.push(p.ourFigure(r));
    };
    const runPeer = async () => {
      const r = await runJson(String(o.python), [String(o.peer), ...p.peer], "pytorch");
      reports.push({ pair: p.name, engine: "pytorch", report: r });
      peerInfo = {
        torch: r.torch,
        torch_threads: r.torch_threads,
        openblas_core: r.openblas_core,
      };
      rows[i].pytorch.push(p.peerFigure(r));
    };
    if (oursFirst) {
      await runOurs();
      await runPeer();
    } else {
      await runPeer();
      await runOurs();
    }
  }
  const summary = rows.map((r: Row) => ({
    name: r.name,
    unit: r.unit,
    ours: mean(r.ours),
    pytorch: mean(r.pytorch),
    ours_over_pytorch: mean(r.ours) / mean(r.pytorch),
  }));
  if (o.json) {
    console.log(
      JSON.stringify({ date: new Date().toISOString(), peer: peerInfo, summary, reports }),
    );
    return;
  }
  console.log(`PyTorch: ${JSON.stringify(peerInfo)}; ${new Date().toISOString()}`);
  console.log("| measurement | unit | ours | PyTorch | ours / PyTorch |\n|---|---|---|---|---|");
  for (const s of summary) {
    console.log(
      `| ${s.name} | ${s.unit} | ${s.ours.toFixed(2)} | ${s.pytorch.toFixed(2)} | ` +
        `${s.ours_over_pytorch.toFixed(3)} |`,
    );
  }
}

if (import.meta.main) await main(Deno.args);
