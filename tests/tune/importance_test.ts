/**
 * Parameter importances see what matters: in a study whose objective depends on x1 alone, x1
 * takes nearly all of the importance, and Python Optuna's `get_param_importances` (fANOVA) ranks
 * the parameters the same way on the same journal.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { floatDist, JournalFile, paramImportances, RandomSampler } from "../../tune/mod.ts";
import { needsPython, SYSTEM_PYTHON, withTempDir } from "../_helpers.ts";
import { makeStudy } from "./_study.ts";

/** A study of 40 random trials over x1, x2, x3 whose value is (x1 − 0.3)² alone. */
async function x1OnlyStudy(path: string) {
  const study = await makeStudy(new RandomSampler({ seed: 11 }), {
    backend: await new JournalFile(path).open(),
    nTrials: 40,
  });
  await study.optimize(async (t) => {
    const x1 = await t.suggestFloat("x1", { low: 0, high: 1 }) as number;
    await t.suggest("x2", floatDist(0, 1));
    await t.suggest("x3", floatDist(1e-4, 1, { log: true }));
    return (x1 - 0.3) ** 2;
  });
  return await study.trials();
}

Deno.test("importance: an objective of x1 alone gives x1 more than 0.9 of the importance", async () => {
  await withTempDir(async (dir) => {
    const trials = await x1OnlyStudy(join(dir, "j.log"));
    const importances = paramImportances(trials, { seed: 42 });
    assert.deepEqual(importances.map((i) => i.name).sort(), ["x1", "x2", "x3"]);
    assert.equal(importances[0].name, "x1", JSON.stringify(importances));
    assert.ok(importances[0].importance > 0.9, JSON.stringify(importances));
    const sum = importances.reduce((s, i) => s + i.importance, 0);
    assert.ok(Math.abs(sum - 1) < 1e-9, `importances sum to 1, not ${sum}`);
  });
});

Deno.test({
  name: "importance: the ranking agrees with Python Optuna's get_param_importances",
  ignore: needsPython(["optuna", "sklearn"], "importance: Python Optuna's ranking"),
  fn: async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "j.log");
      const ours = paramImportances(await x1OnlyStudy(path), { seed: 42 });
      const script = `import json, optuna
from optuna.storages import JournalStorage, JournalFileStorage
optuna.logging.set_verbosity(optuna.logging.WARNING)
s = optuna.load_study(study_name="s", storage=JournalStorage(JournalFileStorage(${
        JSON.stringify(path)
      })))
imp = optuna.importance.get_param_importances(
    s, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
print(json.dumps(list(imp.items())))`;
      const out = await new Deno.Command(SYSTEM_PYTHON, {
        args: ["-c", script],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const theirs = JSON.parse(new TextDecoder().decode(out.stdout)) as [string, number][];
      assert.equal(theirs[0][0], "x1", JSON.stringify(theirs));
      assert.ok(theirs[0][1] > 0.9, JSON.stringify(theirs));
      assert.equal(ours[0].name, theirs[0][0], "the most important parameter");
    });
  },
});
