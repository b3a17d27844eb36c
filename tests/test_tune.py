#!/usr/bin/env python3
"""`wuxing tune` (analysis/python/wuxing/tune.py): Optuna over a spec's search: space, trials
stored as runs (pruned ones with status `pruned`), a study killed with SIGKILL resumes, two
workers share one study, and bad search sections are refused. Uses the test-only fake trainer
(WUXING_FAKE_TRAINER), whose accuracy is a deterministic function of the config.

usage: test_tune.py path/to/build/wuxing_fake   (the tests' build of the command line and, on
       PYTHONPATH, of the module: the fake trainer when WUXING_FAKE_TRAINER is set, tests/fake/)
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

import warnings

import h5py

warnings.filterwarnings("ignore", message=".*experimental.*")

SPEC = """\
name: tune-test
data: {dataset: synthetic, train_size: 60, test_size: 20}
training: {epochs: 4}
search:
  trials: TRIALS
  pruner: median
  seed: 1
  params:
    training.learning_rate: {log_uniform: [1.0e-3, 1.0e-1]}
    model.K3: {uniform: [0.2, 0.8]}
    training.batch_size: {int: [10, 50]}
    training.optimizer: {choice: [sgd, adam]}
"""


def stored_runs(path):
    """run_id -> (status, plan_index, epochs_done); {} while the file does not exist yet."""
    if not os.path.exists(path):
        return {}
    with h5py.File(path, "r") as f:
        return {rid: (g.attrs["status"], int(g.attrs["plan_index"]), int(g.attrs["epochs_done"]))
                for rid, g in f["runs"].items()}


def study_trials(journal):
    import optuna
    from optuna.storages import JournalFileStorage, JournalStorage
    storage = JournalStorage(JournalFileStorage(journal))
    return optuna.load_study(study_name="tune-test", storage=storage).get_trials()


def check_consistent(out, journal, trials):
    """Every finished trial's run is stored, with its number as plan index and a status that
    matches the trial's state; nothing is left running."""
    import optuna
    runs = stored_runs(out)
    state = optuna.trial.TrialState
    finished = [t for t in study_trials(journal) if t.state in (state.COMPLETE, state.PRUNED)]
    assert len(finished) >= trials, (len(finished), trials)
    assert not [t for t in study_trials(journal) if t.state == state.RUNNING]
    for t in finished:
        rid = t.user_attrs["run_id"]
        status, index, epochs = runs[rid]
        if t.state == state.PRUNED:
            # Pruned after some epoch (at the last one the run is whole but still pruned).
            assert status == "pruned" and 1 <= epochs <= 4, (t.number, status, epochs)
        else:
            assert status == "ok" and epochs == 4, (t.number, status, epochs)
        # The run's plan index is the number of a trial that ran it: TPE may sample a config
        # again (a stored ok run is then not trained again; a pruned one is, and replaced), and
        # a retry of a killed trial may find its run stored.
        ran_it = {u.number for u in finished if u.user_attrs["run_id"] == rid}
        ran_it |= {u.user_attrs["retry_of"] for u in finished
                   if u.user_attrs["run_id"] == rid and "retry_of" in u.user_attrs}
        assert index in ran_it, (t.number, index, ran_it)
    return finished, runs


def run_tune(binary, args, env, **kw):
    return subprocess.run([binary, "tune", *args], env=env, capture_output=True, text=True, **kw)


def wait_until_held(gates, processes, what):
    """Waits for the event, each fake-trainer gate's `blocked` file (tests/fake/fake_trainer.hpp),
    polling; fails if a process ends first. The deadline bounds a failure; it is not a timing
    assumption."""
    deadline = time.monotonic() + 300
    while not all(os.path.exists(os.path.join(g, "blocked")) for g in gates):
        assert all(p.poll() is None for p in processes), f"ended before {what}"
        assert time.monotonic() < deadline, f"{what} never started"
        time.sleep(0.02)


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        env = dict(os.environ, WUXING_FAKE_TRAINER="0")
        with open("tune.yaml", "w") as f:
            f.write(SPEC.replace("TRIALS", "12"))

        # A whole study: TPE + median pruner; every trial is a stored run.
        r = run_tune(binary, ["tune.yaml", "-o", "a.h5"], env)
        assert r.returncode == 0, r.stderr
        assert "best: trial" in r.stdout, r.stdout
        finished, runs = check_consistent("a.h5", "a.h5.optuna-journal", 12)
        assert len(runs) == len({t.user_attrs["run_id"] for t in finished})
        statuses = {s for s, _, _ in runs.values()}
        assert "ok" in statuses, statuses
        assert "pruned" in statuses, statuses  # 12 trials of 4 epochs: the pruner stops some
        ls = subprocess.run([binary, "ls", "a.h5"], capture_output=True, text=True, check=True)
        assert "training.learning_rate" in ls.stdout and "pruned" in ls.stdout, ls.stdout
        # Done is done: the same command again runs no trial.
        r = run_tune(binary, ["tune.yaml", "-o", "a.h5"], env)
        assert r.returncode == 0 and len(study_trials("a.h5.optuna-journal")) == 12, r.stderr

        # Killed with SIGKILL in the middle of a trial, then resumed: 12 finished trials, the
        # interrupted one failed and retried, every finished trial stored. The fake trainer's
        # gate (tests/fake/fake_trainer.hpp) lets 3 trials through and holds the 4th before its
        # first epoch, so the kill lands there however loaded the machine is.
        os.mkdir("gate")
        gated = dict(env, WUXING_FAKE_GATE="3:gate")
        p = subprocess.Popen([binary, "tune", "tune.yaml", "-o", "b.h5"], env=gated,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until_held(["gate"], [p], "the 4th trial")
        assert len(stored_runs("b.h5")) == 3, stored_runs("b.h5")  # 3 trials, 3 runs stored
        p.send_signal(signal.SIGKILL)
        p.wait()
        r = run_tune(binary, ["tune.yaml", "-o", "b.h5"], env)
        assert r.returncode == 0, r.stderr
        finished, _ = check_consistent("b.h5", "b.h5.optuna-journal", 12)
        import optuna
        failed = [t for t in study_trials("b.h5.optuna-journal")
                  if t.state == optuna.trial.TrialState.FAIL]
        assert len(failed) <= 1, failed  # the trial the kill interrupted, if any was running
        if failed:
            assert "left running by a dead worker" in r.stderr, r.stderr
        if failed and failed[0].params:  # killed after sampling (some of) its parameters:
            # retried with those, the others sampled anew
            retried = [t for t in finished if t.user_attrs.get("retry_of") == failed[0].number]
            assert retried, (failed[0].number, failed[0].params)
            for key, value in failed[0].params.items():
                assert retried[0].params[key] == value, (key, value, retried[0].params)

        # Two workers share one study and one results file. Each worker's gate lets its first
        # trial through and holds its second until both are held, so that both take trials
        # however the machine schedules them (one could otherwise finish all ten alone).
        with open("two.yaml", "w") as f:
            f.write(SPEC.replace("TRIALS", "10"))
        gates = [f"gate{i}" for i in range(2)]
        for g in gates:
            os.mkdir(g)
        workers = [subprocess.Popen([binary, "tune", "two.yaml", "-o", "c.h5", "--worker", str(i)],
                                    env=dict(env, WUXING_FAKE_GATE=f"1:{gates[i]}"),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    text=True) for i in range(2)]
        wait_until_held(gates, workers, "the workers' second trials")
        for g in gates:
            open(f"{g}/open", "w").close()
        for w in workers:
            _, err = w.communicate()
            assert w.returncode == 0, err
        finished, runs = check_consistent("c.h5", "c.h5.optuna-journal", 10)
        assert len(finished) <= 11  # each worker checks the count before its next trial
        workers_seen = {t.user_attrs["worker"] for t in finished}
        assert len(workers_seen) == 2, workers_seen

        # Bad search sections are spec errors with file and line.
        with open("bad.yaml", "w") as f:
            f.write("name: bad\nsearch:\n  pruner: hyperband\n  params:\n"
                    "    model.K9: {uniform: [0, 1]}\n    model.K3: {normal: [0, 1]}\n")
        v = subprocess.run([binary, "validate", "bad.yaml"], capture_output=True, text=True)
        assert v.returncode == 2, v
        for text in ["bad.yaml:3:", "search.pruner", "search.params.model.K9",
                     "search.params.model.K3.normal"]:
            assert text in v.stderr, (text, v.stderr)
        with open("both.yaml", "w") as f:
            f.write(SPEC.replace("TRIALS", "3") + "sweep: {seeds: [0, 1]}\n")
        r = run_tune(binary, ["both.yaml"], env)
        assert r.returncode == 2 and "has no sweep:" in r.stderr, r.stderr
    print("test_tune: ok")


if __name__ == "__main__":
    main()
