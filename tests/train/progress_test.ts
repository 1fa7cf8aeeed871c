import assert from "node:assert/strict";
import { formatDuration, formatNumber, formatSample, ProgressReporter } from "../../train/mod.ts";

const SAMPLE = {
  step: 50,
  totalSteps: 100,
  epoch: 1.5,
  loss: 0.43219,
  lr: 2.5e-5,
  examplesPerSecond: 12.34,
  etaSeconds: 125,
};

Deno.test("progress: a redrawn bar on a terminal, plain interval lines otherwise", () => {
  const written: string[] = [], logged: string[] = [];
  const tty = new ProgressReporter({
    tty: true,
    log: (l) => logged.push(l),
    write: (t) => written.push(t),
  });
  tty.update(SAMPLE);
  tty.interval(SAMPLE);
  tty.line("eval step 50: accuracy 0.8");
  assert.equal(written.length, 2);
  assert.ok(written[0].startsWith("\r\x1b[2K[############------------] "), written[0]);
  assert.match(written[0], /\] epoch 1\.50 step 50\/100 loss 0\.4322/);
  assert.match(written[0], /lr 2\.50e-5 12\.3 ex\/s ETA 2m05s$/);
  assert.equal(written[1], "\r\x1b[2K"); // the bar is cleared before a lasting line
  assert.deepEqual(logged, ["eval step 50: accuracy 0.8"]);

  const plainLogged: string[] = [], plainWritten: string[] = [];
  const plain = new ProgressReporter({
    tty: false,
    log: (l) => plainLogged.push(l),
    write: (t) => plainWritten.push(t),
  });
  plain.update(SAMPLE);
  plain.interval(SAMPLE);
  assert.deepEqual(plainWritten, []);
  assert.deepEqual(plainLogged, [formatSample(SAMPLE)]);
});

Deno.test("progress: durations", () => {
  assert.equal(formatDuration(42), "42s");
  assert.equal(formatDuration(185), "3m05s");
  assert.equal(formatDuration(3720), "1h02m");
  assert.equal(formatDuration(NaN), "?");
});

Deno.test("progress: losses and metrics read as numbers, not as 1870000000.0001", () => {
  assert.equal(formatNumber(1870000000.0001), "1.87e9");
  assert.equal(formatNumber(0.6931471805599453), "0.6931");
  assert.equal(formatNumber(3.2e-5), "3.20e-5");
  assert.equal(formatNumber(0), "0.0000");
  assert.equal(formatNumber(-123456), "-1.23e5");
  assert.equal(formatNumber(NaN), "NaN");
  assert.equal(formatNumber(Infinity), "Infinity");
  const line = formatSample({
    step: 3,
    totalSteps: 10,
    epoch: 0.3,
    loss: 1.87e9,
    lr: 1e-3,
    examplesPerSecond: 12,
    etaSeconds: 5,
  });
  assert.match(line, / loss 1\.87e9 /);
});
