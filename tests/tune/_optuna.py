"""Python Optuna's side of the journal compatibility tests (run with Debian's /usr/bin/python3).

    _optuna.py dump FILE|redis://... STUDY          print the study as JSON
    _optuna.py run FILE STUDY N DIRECTION          create or load the study, run N TPE trials
    _optuna.py loop FILE STUDY TAG                 run trials until killed, print "done N VALUE"
    _optuna.py pairs FILE STUDY PARAM LIAR         TPE's observations of PARAM (LIAR: 0 or 1)
    _optuna.py parzen FIXED                        JSON cases on stdin -> TPE's Parzen estimator
                                                   log densities (FIXED 1: with optuna#5110)
"""
import json
import math
import sys
import time

import optuna
from optuna.storages import JournalFileStorage, JournalRedisStorage, JournalStorage

optuna.logging.set_verbosity(optuna.logging.WARNING)


def storage(spec):
    if spec.startswith("redis://"):
        return JournalStorage(JournalRedisStorage(spec))
    return JournalStorage(JournalFileStorage(spec))


def finite(x):
    if x is None:
        return None
    if isinstance(x, float) and math.isnan(x):
        return "NaN"
    if isinstance(x, float) and math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def dump(spec, name):
    study = optuna.load_study(study_name=name, storage=storage(spec))
    out = {
        "directions": [d.name for d in study.directions],
        "trials": [
            {
                "number": t.number,
                "state": t.state.name,
                "params": t.params,
                "distributions": {
                    k: json.loads(optuna.distributions.distribution_to_json(d))
                    for k, d in t.distributions.items()
                },
                "values": [finite(v) for v in t.values] if t.values else None,
                "intermediate_values": {str(k): finite(v) for k, v in t.intermediate_values.items()},
                "user_attrs": t.user_attrs,
                "system_attrs": t.system_attrs,
                "duration": None if t.duration is None else t.duration.total_seconds(),
            }
            for t in study.get_trials(deepcopy=False)
        ],
    }
    if any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials):
        out["best_number"] = study.best_trial.number
    print(json.dumps(out))


def objective(trial):
    lr = trial.suggest_float("lr", 1e-6, 1e-4, log=True)
    bs = trial.suggest_categorical("batch_size", [8, 16, 32])
    trial.suggest_int("epochs", 1, 4)
    trial.set_user_attr("by", "python")
    for step in (10, 20):
        trial.report(-((math.log10(lr) + 4.5) ** 2) + step / 100, step)
    return -((math.log10(lr) + 4.5) ** 2) + bs / 1000


def run(spec, name, n, direction):
    study = optuna.create_study(
        study_name=name,
        storage=storage(spec),
        direction=direction,
        load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=1),
    )
    study.optimize(objective, n_trials=int(n))


def loop(spec, name, tag):
    study = optuna.create_study(
        study_name=name, storage=storage(spec), direction="minimize", load_if_exists=True
    )
    while True:
        trial = study.ask()
        x = trial.suggest_float("x", 0, 1)
        trial.set_user_attr("by", tag)
        study.tell(trial, x)
        print(f"done {trial.number} {x!r}", flush=True)
        time.sleep(0.002)


def pairs(spec, name, param, liar):
    from optuna.samplers._tpe.sampler import _get_observation_pairs

    study = optuna.load_study(study_name=name, storage=storage(spec))
    values, scores, _ = _get_observation_pairs(study, [param], liar == "1")
    print(json.dumps({
        "values": [finite(v) for v in values[param]],
        "scores": [[finite(float(a)), finite(float(b[0]))] for a, b in scores],
        "n": sum(s < float("inf") for s, _ in scores),
    }))


def parzen(fixed):
    """Each case {distribution, observations, x}: the univariate estimator's log_pdf at x."""
    import os

    import numpy as np
    from optuna.distributions import json_to_distribution
    from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
    from optuna.samplers._tpe.sampler import default_weights

    if fixed == "1":
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
        from bench_tune_peer import apply_5110

        apply_5110()
    # TPESampler's defaults: consider_prior, prior_weight 1, magic clip, no endpoints, univariate.
    parameters = _ParzenEstimatorParameters(True, 1.0, True, False, default_weights, False)
    out = []
    for case in json.load(sys.stdin):
        d = json_to_distribution(json.dumps(case["distribution"]))
        categorical = isinstance(d, optuna.distributions.CategoricalDistribution)
        dtype = int if categorical else float
        estimator = _ParzenEstimator(
            {"p": np.asarray(case["observations"], dtype=dtype)}, {"p": d}, parameters
        )
        out.append(estimator.log_pdf({"p": np.asarray(case["x"], dtype=dtype)}).tolist())
    print(json.dumps(out))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"dump": dump, "run": run, "loop": loop, "pairs": pairs, "parzen": parzen}[command](*args)
