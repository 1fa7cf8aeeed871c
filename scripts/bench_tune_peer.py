"""The Python Optuna side of `deno task bench:tune` (run with Debian's /usr/bin/python3).

    bench_tune_peer.py run OBJECTIVE SEEDS BUDGET [fixed]
                                                     JSON: best-so-far curve per seed (TPE)
    bench_tune_peer.py parallel OBJECTIVE SEEDS BUDGET WORKERS [fixed]
                                                     the same for TPE(constant_liar=True) run by
                                                     WORKERS simulated workers (as bench_tune.ts)
    bench_tune_peer.py eval OBJECTIVE                JSON points on stdin -> JSON values

The objectives mirror scripts/bench_tune.ts term for term (the eval command proves it).

`fixed`: TPE's Parzen estimator with optuna/optuna#5110 applied where the installed Optuna lacks
it. Before 3.5, `_truncnorm.logpdf` left out `- log(scale)`, so each continuous kernel's density
was multiplied by its bandwidth (optuna/optuna#5109); mrpc-tune's TPE, like Optuna >= 3.5,
computes the normalised density.
"""
import json
import math
import sys
import warnings

import numpy as np
import optuna
from optuna.samplers._tpe import _truncnorm

optuna.logging.set_verbosity(optuna.logging.WARNING)


def logpdf_is_scaled():
    """Whether this Optuna's truncated-normal log density includes - log(scale)."""
    got = _truncnorm.logpdf(np.asarray([0.0]), -1.0, 1.0, loc=0.0, scale=2.0)[0]
    want = -0.5 * math.log(2 * math.pi) - math.log(2.0) - math.log(math.erf(1 / math.sqrt(2)))
    return abs(got - want) < 1e-9


def apply_5110():
    """optuna/optuna#5110: subtract log(scale) from the truncated normal's log density."""
    if logpdf_is_scaled():
        return
    unscaled = _truncnorm.logpdf

    def logpdf(x, a, b, loc=0, scale=1):
        return unscaled(x, a, b, loc=loc, scale=scale) - np.log(scale)

    _truncnorm.logpdf = logpdf
    assert logpdf_is_scaled()


def noise(seed, i, scale):
    x = math.sin(seed * 12.9898 + i * 78.233) * 43758.5453
    return scale * (x - math.floor(x) - 0.5)


def finetune(p, seed, i):
    acc = 0.85 - 0.06 * (math.log10(p["lr"]) - math.log10(3e-5)) ** 2 + noise(seed, i, 0.02)
    return max(acc, 0.68)


def branin(p, seed, i):
    x1, x2 = p["x1"], p["x2"]
    b, c, r, s, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 6, 10, 1 / (8 * math.pi)
    return (x2 - b * x1 ** 2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


def mixed(p, seed, i):
    best_lr = 3e-5 * math.sqrt(p["batch_size"] / 16)
    acc = (
        0.85
        - 0.06 * (math.log10(p["lr"]) - math.log10(best_lr)) ** 2
        - 2 * (p["warmup_ratio"] - 0.06) ** 2
        - 0.005 * (p["epochs"] - 3) ** 2
        + noise(seed, i, 0.01)
    )
    return max(acc, 0.68)


OBJECTIVES = {
    "finetune": ("maximize", finetune),
    "branin": ("minimize", branin),
    "mixed": ("maximize", mixed),
}


def suggest(name, trial):
    if name == "finetune":
        return {"lr": trial.suggest_float("lr", 1e-6, 1e-2, log=True)}
    if name == "branin":
        return {"x1": trial.suggest_float("x1", -5, 10), "x2": trial.suggest_float("x2", 0, 15)}
    return {
        "lr": trial.suggest_float("lr", 1e-6, 1e-3, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [8, 16, 32]),
        "warmup_ratio": trial.suggest_float("warmup_ratio", 0, 0.2),
        "epochs": trial.suggest_int("epochs", 1, 5),
    }


def run(name, seeds, budget, variant=""):
    if variant == "fixed":
        apply_5110()
    direction, f = OBJECTIVES[name]
    curves = []
    for seed in range(int(seeds)):
        study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed))
        study.optimize(lambda trial: f(suggest(name, trial), seed, trial.number), n_trials=int(budget))
        values, best = [t.value for t in study.trials], []
        for v in values:
            best.append(v if not best else (max if direction == "maximize" else min)(best[-1], v))
        curves.append(best)
    print(json.dumps(curves))


def duration(seed, i):
    return 1 + 3 * (noise(seed + 7, i, 1) + 0.5)


def parallel(name, seeds, budget, workers, variant=""):
    """bench_tune.ts's parallelCurveOf: the first worker to finish asks next."""
    if variant == "fixed":
        apply_5110()
    direction, f = OBJECTIVES[name]
    better = max if direction == "maximize" else min
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    curves = []
    for seed in range(int(seeds)):
        sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
        study = optuna.create_study(direction=direction, sampler=sampler)
        running, clock, started, best = [], 0.0, 0, []

        def start():
            trial = study.ask()
            value = f(suggest(name, trial), seed, trial.number)
            running.append((clock + duration(seed, trial.number), trial.number, trial, value))

        while started < int(budget) and len(running) < int(workers):
            start()
            started += 1
        while running:
            running.sort(key=lambda r: (r[0], r[1]))
            end, _, trial, value = running.pop(0)
            clock = end
            study.tell(trial, value)
            best.append(value if not best else better(best[-1], value))
            if started < int(budget):
                start()
                started += 1
        curves.append(best)
    print(json.dumps(curves))


def evaluate(name):
    _, f = OBJECTIVES[name]
    points = json.load(sys.stdin)
    print(json.dumps([f(p["params"], p["seed"], p["i"]) for p in points]))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"run": run, "parallel": parallel, "eval": evaluate}[command](*args)
