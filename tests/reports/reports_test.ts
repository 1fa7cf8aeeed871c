import assert from "node:assert/strict";
import { join } from "node:path";
import {
  loadRunReport,
  loadStudyReport,
  renderRunReport,
  renderStudyReport,
  takeChartWarnings,
  writeRunReport,
  writeStudyReport,
} from "../../reports/mod.ts";
import {
  categoricalDist,
  Direction,
  JournalFile,
  OBJECTIVE_ATTR,
  RandomSampler,
  TrialState,
} from "../../tune/mod.ts";
import { assertUsageError, runMain, withTempDir } from "../_helpers.ts";
import { makeStudy } from "../tune/_study.ts";
import {
  ariaLabels,
  makeRunRecord,
  makeStudyFixture,
  needsChromium,
  openInChromium,
} from "./_fixtures.ts";

/** The HTML of section `id`. */
function section(html: string, id: string): string {
  const start = html.indexOf(`<section id="${id}">`);
  assert.ok(start !== -1, `section ${id}`);
  return html.slice(start, html.indexOf("</section>", start));
}

Deno.test("study report: every chart and table, with the study's own numbers", async () => {
  await withTempDir(async (dir) => {
    const { storage, studyDir } = await makeStudyFixture(dir);
    const data = await loadStudyReport({ storage, studyName: "s", studyDir });
    assert.equal(data.objective, "accuracy");
    const html = await renderStudyReport(data);
    assert.equal((html.match(/<svg/g) ?? []).length, 4);
    const history = ariaLabels(section(html, "history"));
    for (
      const label of [
        "trial 0: COMPLETE, accuracy 0.8125",
        "trial 1: COMPLETE, accuracy 0.7500",
        "trial 2: PRUNED, accuracy 0.5000",
        "best so far after trial 1: 0.8125",
      ]
    ) assert.ok(history.includes(label), `${label} in ${history.join(" | ")}`);
    assert.ok(history.some((l) => /Title text 'Optimisation history — s'/.test(l)));
    const param = ariaLabels(section(html, "parameter"));
    assert.ok(param.includes("trial 0: lr 3.00e-5, accuracy 0.8125 (COMPLETE)"), param.join(" | "));
    assert.ok(param.includes("trial 3: lr 2.00e-6, FAIL, no value"));
    assert.ok(param.some((l) => /X-axis titled 'lr' for a log scale/.test(l)));
    // Log axis labels in exponent form.
    assert.match(section(html, "parameter"), />1e-5</);
    const curves = ariaLabels(section(html, "curves"));
    // Trial 0's curve is its run record's (0.75 at 20), not its intermediate values (0.6 at 20).
    assert.ok(curves.includes("trial 0 at step 20: accuracy 0.7500"), curves.join(" | "));
    assert.ok(!curves.includes("trial 0 at step 20: accuracy 0.6000"));
    assert.ok(curves.includes("trial 1 at step 10: accuracy 0.7000"));
    assert.ok(curves.includes("trial 2 at step 10: accuracy 0.5000"));
    assert.ok(
      ariaLabels(section(html, "importances")).some((l) =>
        /^(lr|batch_size): importance 0?\.\d{3}$/.test(l)
      ),
    );
    const top = section(html, "top");
    assert.match(top, /<td>1<\/td><td>0<\/td><td>0\.8125<\/td><td>3\.00e-5<\/td><td>16<\/td>/);
    assert.match(top, /<td>2<\/td><td>1<\/td><td>0\.7500<\/td><td>1\.00e-4<\/td><td>32<\/td>/);
    const states = section(html, "states");
    for (const [s, n] of [["COMPLETE", 2], ["PRUNED", 1], ["FAIL", 1], ["RUNNING", 0]]) {
      assert.match(states, new RegExp(`<td>${s}</td><td>${n}</td>`));
    }
    assert.match(
      section(html, "failures"),
      /<td>3<\/td><td>lr=2\.00e-6 batch_size=32<\/td><td>exit code 1: out of memory<\/td>/,
    );
    // Self-contained: no script, no external reference.
    assert.doesNotMatch(html, /<script|<link|src="http|href="http|@import|url\(/i);
    assert.deepEqual(takeChartWarnings(), []);
  });
});

Deno.test("study report: what a trial says is shown as text, never as markup", async () => {
  await withTempDir(async (dir) => {
    const studyDir = join(dir, "s");
    const storage = join(studyDir, "journal.log");
    const study = await makeStudy(new RandomSampler({ seed: 0 }), {
      backend: await new JournalFile(storage).open(),
      direction: Direction.MAXIMIZE,
    });
    const evil = `<script>alert(1)</script>&"`;
    for (const fail of [false, true]) {
      const t = (await study.ask())!;
      await t.suggestCategorical("tag", [evil, "plain"]);
      await t.suggestFloat("lr", { low: 1e-6, high: 1e-4, log: true });
      await study.tell(
        t.trial,
        fail
          ? { state: "fail", reason: `exit code 1: ${evil}` }
          : { state: "complete", value: 0.5 },
      );
    }
    const html = await renderStudyReport(
      await loadStudyReport({ storage, studyName: "s", studyDir }),
    );
    assert.doesNotMatch(html, /<script/i, "no markup from the study's data");
    const escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;";
    const failures = section(html, "failures");
    assert.ok(failures.includes(`<td>exit code 1: ${escaped}</td>`), failures);
    const params = [section(html, "top"), failures].join("\n");
    assert.ok(params.includes(escaped), "parameter values are escaped in the tables");
  });
});

/** The legend and axis texts of an SVG section. */
function texts(html: string): string[] {
  return [...html.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

Deno.test("study report: what happened shows: failed and retried trials, log grid axis, only states that occur", async () => {
  await withTempDir(async (dir) => {
    const studyDir = join(dir, "s");
    const storage = join(studyDir, "journal.log");
    const study = await makeStudy(new RandomSampler({ seed: 0 }), {
      backend: await new JournalFile(storage).open(),
      direction: Direction.MAXIMIZE,
    });
    await study.options.storage.setStudyUserAttr(study.options.studyId, OBJECTIVE_ATTR, "accuracy");
    // A grid of learning rates as a categorical (as earlier versions recorded --lr_grid).
    const grid = categoricalDist([1e-5, 2e-5, 4e-5, 8e-5]);
    await study.enqueue([{ lr: 1e-5 }, { lr: 2e-5 }, { lr: 4e-5 }]);
    // Trial 0 (lr 1e-5) FAIL: its worker died; trial 3 retries it and completes at 0.7 — the
    // same value as trial 1 at another lr; trial 2 at 2e-5... all at 0.7 but trial 2's 0.75.
    const values = [null, 0.7, 0.75];
    for (const v of values) {
      const t = (await study.ask())!;
      await t.suggest("lr", grid);
      if (v === null) {
        await study.tell(t.trial, { state: "fail", reason: "its worker process ended" });
      } else await study.tell(t.trial, { state: "complete", value: v });
    }
    const [first] = await study.trials();
    await study.options.storage.createTrials(study.options.studyId, [{
      state: TrialState.WAITING,
      systemAttrs: { failed_trial: 0, retry_history: [0], fixed_params: { lr: 1e-5 } },
    }]);
    const retry = (await study.ask())!;
    await retry.suggest("lr", grid);
    await study.tell(retry.trial, { state: "complete", value: 0.7 });
    assert.equal(first.number, 0);
    const html = await renderStudyReport(
      await loadStudyReport({ storage, studyName: "s", studyDir }),
    );
    // The history has the FAIL trial too, below the lowest value.
    assert.ok(ariaLabels(section(html, "history")).includes("trial 0: FAIL, no value"));
    // lr on a log axis although it was recorded as categorical choices; the FAIL cross is drawn
    // after (on top of) every valued point.
    const param = section(html, "parameter");
    assert.ok(ariaLabels(param).some((l) => /X-axis titled 'lr' for a log scale/.test(l)));
    const labels = ariaLabels(param).filter((l) => /^trial \d+: lr /.test(l));
    assert.equal(labels.at(-1), "trial 0: lr 1.00e-5, FAIL, no value", labels.join(" | "));
    // Legends list the states that occur, not all five.
    for (const id of ["history", "parameter"]) {
      const shown = texts(section(html, id));
      assert.ok(shown.includes("FAIL") && shown.includes("COMPLETE"), id);
      assert.ok(!shown.includes("WAITING") && !shown.includes("RUNNING"), `${id}: ${shown}`);
    }
    // The retry chain: the failure says what retried it, the top trials what it retried.
    assert.match(
      section(html, "failures"),
      /<td>its worker process ended<\/td><td>trial 3 \(COMPLETE\)<\/td>/,
    );
    assert.match(section(html, "top"), /<td>retry of trial 0 \(0 → 3\)<\/td>/);
    assert.deepEqual(takeChartWarnings(), []);
  });
});

Deno.test("study report: a study whose trials all failed still plots lr, saying why no value", async () => {
  await withTempDir(async (dir) => {
    const studyDir = join(dir, "s");
    const storage = join(studyDir, "journal.log");
    const study = await makeStudy(new RandomSampler({ seed: 0 }), {
      backend: await new JournalFile(storage).open(),
      direction: Direction.MAXIMIZE,
    });
    for (let i = 0; i < 2; i++) {
      const t = (await study.ask())!;
      await t.suggestFloat("lr", { low: 1e-6, high: 1e-4, log: true });
      await study.tell(t.trial, { state: "fail", reason: "out of memory" });
    }
    const html = await renderStudyReport(
      await loadStudyReport({ storage, studyName: "s", studyDir }),
    );
    const param = section(html, "parameter");
    assert.doesNotMatch(param, /No searched number parameter/);
    assert.equal(
      ariaLabels(param).filter((l) => /^trial \d+: lr .*, FAIL, no value$/.test(l)).length,
      2,
    );
  });
});

Deno.test("run report: loss, lr, grad norm and eval curves, config and summary", async () => {
  await withTempDir(async (dir) => {
    const record = await makeRunRecord(join(dir, "runs"));
    const html = await renderRunReport(await loadRunReport(record));
    assert.equal((html.match(/<svg/g) ?? []).length, 5);
    assert.ok(ariaLabels(section(html, "loss")).includes("train/loss at step 30: 0.5000"));
    assert.ok(ariaLabels(section(html, "lr")).includes("train/lr at step 20: 3.00e-5"));
    assert.match(section(html, "lr"), />3e-5</, "lr axis in exponent form");
    assert.doesNotMatch(section(html, "lr"), /0e\+0/, "zero reads 0");
    assert.ok(
      ariaLabels(section(html, "grad_norm")).includes("train/grad_norm at step 10: 2.5000"),
    );
    const evals = ariaLabels(section(html, "eval"));
    assert.ok(evals.includes("eval/accuracy at step 40: 0.8125"));
    assert.ok(evals.includes("eval/f1 at step 20: 0.8125"));
    assert.ok(ariaLabels(section(html, "eval_loss")).includes("eval/loss at step 40: 0.4500"));
    assert.match(section(html, "summary"), /<td>best\/accuracy<\/td><td>0\.8125<\/td>/);
    assert.match(section(html, "config"), /<td>lr<\/td><td>3\.000e-5<\/td>/);
    // A path of the run that is gone now (here: the demo's temporary model) says so.
    assert.match(
      section(html, "config"),
      /<td>model<\/td><td>\/tmp\/mrpc-tune-demo-gone\/x \(the demo&#39;s temporary model, removed when the demo ended\)<\/td>/,
    );
    assert.match(html, /<title>Run lr3e-5<\/title>/);
    assert.deepEqual(takeChartWarnings(), []);
  });
});

Deno.test({
  name: "reports in headless Chromium: every chart drawn, no console error, no network request",
  ignore: needsChromium("reports in headless Chromium"),
  fn: () =>
    withTempDir(async (dir) => {
      const { storage, studyDir } = await makeStudyFixture(dir);
      const pages = [
        await writeStudyReport({
          storage,
          studyName: "s",
          studyDir,
          output: join(dir, "study.html"),
        }),
        await writeRunReport(await makeRunRecord(join(dir, "runs"))),
      ];
      for (const [i, file] of pages.entries()) {
        const shot = join(dir, `page-${i}.png`);
        const seen = await openInChromium(file, shot);
        assert.deepEqual(seen.consoleErrors, [], file);
        assert.deepEqual(seen.requests, [`file://${file}`], "only the page itself is loaded");
        assert.equal(seen.svgMarks.length, i === 0 ? 4 : 5);
        for (const marks of seen.svgMarks) assert.ok(marks > 10, `a drawn chart: ${seen.svgMarks}`);
        assert.ok((await Deno.stat(shot)).size > 10_000, "a screenshot was saved");
      }
    }),
});

Deno.test("report command: a study or a run; bad input is one line, exit 2", async () => {
  await withTempDir(async (dir) => {
    const { studyDir } = await makeStudyFixture(dir);
    const r = await runMain(["report", "--study_name", "s", "--checkpoint_dir", dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), join(studyDir, "report.html"));
    assert.match(await Deno.readTextFile(join(studyDir, "report.html")), /<h1>Study s<\/h1>/);
    const run = await runMain([
      "report",
      "--run",
      join(studyDir, "trials", "trial-0"),
      "--output",
      join(dir, "run.html"),
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(await Deno.readTextFile(join(dir, "run.html")), /<h1>Run lr3e-5<\/h1>/);
    assertUsageError(
      await runMain(["report"]),
      /Give either --study_name NAME \(a study\) or --run DIR/,
    );
    assertUsageError(await runMain(["report", "--study_name", "s", "--run", dir]), /Give either/);
    assertUsageError(
      await runMain(["report", "--study_name", "nope", "--checkpoint_dir", dir]),
      /Invalid --storage ".*nope[/\\]journal\.log": no such study journal/,
    );
    assertUsageError(
      await runMain(["report", "--study_name", "t", "--storage", join(studyDir, "journal.log")]),
      /No study "t" in ".*journal\.log" \(it has "s"\)/,
    );
    assertUsageError(
      await runMain(["report", "--run", join(dir, "nothing")]),
      /Invalid --run ".*nothing": no run record there/,
    );
  });
});
