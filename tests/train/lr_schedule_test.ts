import assert from "node:assert/strict";
import {
  lrAt,
  lrMultiplier,
  type LrSchedule,
  resolveWarmupSteps,
  type ScheduleKind,
} from "../../train/mod.ts";

// The lr_lambda functions of transformers/optimization.py, transcribed line by line (Python
// semantics: float() divisions, max(1, ...) guards) so the implementation is checked against an
// independent copy of the source, not against itself.
const hf: Record<ScheduleKind, (step: number, w: number, n: number, lrInit: number) => number> = {
  // _get_constant_lambda
  constant: () => 1,
  // _get_constant_schedule_with_warmup_lr_lambda
  constant_with_warmup(current_step, num_warmup_steps) {
    if (current_step < num_warmup_steps) return current_step / Math.max(1.0, num_warmup_steps);
    return 1.0;
  },
  // _get_linear_schedule_with_warmup_lr_lambda
  linear(current_step, num_warmup_steps, num_training_steps) {
    if (current_step < num_warmup_steps) return current_step / Math.max(1, num_warmup_steps);
    return Math.max(
      0.0,
      (num_training_steps - current_step) / Math.max(1, num_training_steps - num_warmup_steps),
    );
  },
  // _get_cosine_schedule_with_warmup_lr_lambda, num_cycles = 0.5
  cosine(current_step, num_warmup_steps, num_training_steps) {
    const num_cycles = 0.5;
    if (current_step < num_warmup_steps) return current_step / Math.max(1, num_warmup_steps);
    const progress = (current_step - num_warmup_steps) /
      Math.max(1, num_training_steps - num_warmup_steps);
    return Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * num_cycles * 2.0 * progress)));
  },
  // _get_polynomial_decay_schedule_with_warmup_lr_lambda, lr_end = 1e-7, power = 1.0
  polynomial(current_step, num_warmup_steps, num_training_steps, lr_init) {
    const lr_end = 1e-7;
    const power = 1.0;
    if (current_step < num_warmup_steps) return current_step / Math.max(1, num_warmup_steps);
    if (current_step > num_training_steps) return lr_end / lr_init;
    const lr_range = lr_init - lr_end;
    const decay_steps = num_training_steps - num_warmup_steps;
    const pct_remaining = 1 - (current_step - num_warmup_steps) / decay_steps;
    const decay = lr_range * pct_remaining ** power + lr_end;
    return decay / lr_init;
  },
};

const BASE_LR = 2e-5;
const WARMUP = 10;
const TOTAL = 100;
// 0, inside warmup, warmup end, middle, last step, the step after the last, well past the end.
const SAMPLE_STEPS = [0, 1, 4, WARMUP - 1, WARMUP, 55, TOTAL - 1, TOTAL, TOTAL + 7];

for (const kind of Object.keys(hf) as ScheduleKind[]) {
  Deno.test(`LR schedule "${kind}" equals the Hugging Face lambda at sample steps`, () => {
    const schedule: LrSchedule = { kind, baseLr: BASE_LR, warmupSteps: WARMUP, totalSteps: TOTAL };
    for (const step of SAMPLE_STEPS) {
      const want = hf[kind](step, WARMUP, TOTAL, BASE_LR);
      assert.equal(lrMultiplier(step, schedule), want, `multiplier at step ${step}`);
      // LambdaLR: lr = base_lr * lr_lambda(step).
      assert.equal(lrAt(step, schedule), BASE_LR * want, `lr at step ${step}`);
    }
    // And without warmup, where the first step already uses the full learning rate.
    const noWarmup: LrSchedule = { ...schedule, warmupSteps: 0 };
    for (const step of [0, 1, 50, TOTAL - 1, TOTAL, TOTAL + 3]) {
      assert.equal(lrMultiplier(step, noWarmup), hf[kind](step, 0, TOTAL, BASE_LR), `step ${step}`);
    }
    assert.ok(Math.abs(lrAt(0, noWarmup) - BASE_LR) <= 1e-12 * BASE_LR, "first step, full lr");
  });
}

Deno.test("LR schedules: the landmarks users rely on", () => {
  const base = { baseLr: 1e-3, warmupSteps: 4, totalSteps: 20 };
  // Warmup starts at 0 and rises linearly; the peak is reached at the end of warmup.
  assert.equal(lrAt(0, { kind: "linear", ...base }), 0);
  assert.equal(lrAt(2, { kind: "linear", ...base }), 0.5e-3);
  assert.equal(lrAt(4, { kind: "linear", ...base }), 1e-3);
  assert.equal(lrAt(12, { kind: "linear", ...base }), 0.5e-3);
  assert.equal(lrAt(20, { kind: "linear", ...base }), 0);
  assert.equal(lrAt(25, { kind: "linear", ...base }), 0, "linear never goes negative");
  // Cosine: half way through the decay the multiplier is 0.5; it is 0 at the end.
  assert.ok(Math.abs(lrMultiplier(12, { kind: "cosine", ...base }) - 0.5) < 1e-15);
  assert.ok(Math.abs(lrMultiplier(20, { kind: "cosine", ...base })) < 1e-15);
  // get_constant_schedule has no warmup at all.
  assert.equal(lrAt(0, { kind: "constant", ...base }), 1e-3);
  assert.equal(lrAt(0, { kind: "constant_with_warmup", ...base }), 0);
  assert.equal(lrAt(1000, { kind: "constant_with_warmup", ...base }), 1e-3);
  // Polynomial decays to the absolute lr_end (not to lr_end × lr) and stays there.
  const poly = { kind: "polynomial", ...base } as const;
  assert.ok(Math.abs(lrAt(20, poly) - 1e-7) < 1e-20);
  assert.ok(Math.abs(lrAt(21, poly) - 1e-7) < 1e-20);
  assert.ok(Math.abs(lrAt(12, poly) - (0.5 * (1e-3 - 1e-7) + 1e-7)) < 1e-18);
  const poly2 = { ...poly, lrEnd: 1e-4, power: 2 };
  assert.ok(Math.abs(lrAt(12, poly2) - ((1e-3 - 1e-4) * 0.25 + 1e-4)) < 1e-18);
  // Cosine with a full cycle comes back up to the peak.
  assert.ok(Math.abs(lrMultiplier(20, { kind: "cosine", ...base, numCycles: 1 }) - 1) < 1e-15);
  // warmup == total: HF divides by zero at step == total; the limit lr_end is used.
  assert.equal(lrAt(4, { kind: "polynomial", baseLr: 1e-3, warmupSteps: 4, totalSteps: 4 }), 1e-7);
});

Deno.test("LR schedules: invalid input is rejected", () => {
  const linear: LrSchedule = { kind: "linear", baseLr: 1e-3, warmupSteps: 0, totalSteps: 10 };
  assert.throws(() => lrAt(-1, linear), {
    message: 'Learning-rate step must be a non-negative integer, got "-1"',
  });
  assert.throws(() => lrAt(1.5, linear), RangeError);
  assert.throws(() => lrAt(0, { ...linear, warmupSteps: -2 }), RangeError);
  assert.throws(() => lrAt(0, { ...linear, kind: "cosine_with_restarts" as ScheduleKind }), {
    message:
      'Unknown learning-rate schedule "cosine_with_restarts": expected one of linear, cosine, constant, constant_with_warmup, polynomial',
  });
  assert.throws(() => lrAt(0, { ...linear, kind: "polynomial", baseLr: 1e-7 }), {
    message: 'Polynomial lr_end "1e-7" must be smaller than the learning rate "1e-7"',
  });
});

Deno.test("resolveWarmupSteps follows TrainingArguments.get_warmup_steps", () => {
  assert.equal(resolveWarmupSteps(100, { warmupSteps: 10, warmupRatio: 0.5 }), 10, "steps win");
  assert.equal(resolveWarmupSteps(100, { warmupRatio: 0.1 }), 10);
  assert.equal(resolveWarmupSteps(115, { warmupRatio: 0.1 }), 12, "ceil(11.5)");
  // Python: math.ceil(100 * 0.07) == 8, because 100 * 0.07 == 7.000000000000001.
  assert.equal(resolveWarmupSteps(100, { warmupRatio: 0.07 }), 8);
  assert.equal(resolveWarmupSteps(100, {}), 0);
  assert.equal(resolveWarmupSteps(100), 0);
  assert.throws(() => resolveWarmupSteps(100, { warmupRatio: 1.5 }), {
    message: 'Warmup ratio must be between 0 and 1, got "1.5"',
  });
  assert.throws(() => resolveWarmupSteps(100, { warmupSteps: -1 }), RangeError);
  assert.throws(() => resolveWarmupSteps(-5), RangeError);
});
