/**
 * A TypeScript journal writer for the crash tests: runs trials on a study until killed, printing
 * "done NUMBER VALUE" after each trial is told.
 *
 *     deno run -A tests/tune/_journal_writer.ts FILE STUDY TAG
 *
 * @module
 */
import {
  Direction,
  floatDist,
  JournalFile,
  JournalStorage,
  NopPruner,
  RandomSampler,
  Study,
} from "../../tune/mod.ts";

const [path, name, tag] = Deno.args;
const storage = new JournalStorage(await new JournalFile(path, { lockGraceSeconds: 1 }).open());
const studyId = await storage.getOrCreateStudy(name, Direction.MINIMIZE);
const study = new Study({
  storage,
  studyId,
  name,
  direction: Direction.MINIMIZE,
  sampler: new RandomSampler({ seed: Deno.pid }),
  pruner: new NopPruner(),
  nTrials: 1_000_000,
  gracePeriodSeconds: 3600,
  retryFailed: 0,
  log: () => {},
});
for (;;) {
  const trial = (await study.ask())!;
  const x = await trial.suggest("x", floatDist(0, 1)) as number;
  await storage.setUserAttr(trial.trial, "by", tag);
  await study.tell(trial.trial, { state: "complete", value: x });
  console.log(`done ${trial.number} ${x}`);
  // Room for other writers (a tight loop would win the lock over Python's backoff every time).
  await new Promise((r) => setTimeout(r, 10));
}
