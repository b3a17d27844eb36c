"""wuxing tune: Optuna search over a spec's `search:` space, with pruning.

    python3 -m wuxing.tune SPEC [key=value ...] [-o results.h5] [--storage URL] [--trials N]
    build/wuxing tune SPEC ...                        (the same)

Each trial is one run of the spec with the sampled values (TPE sampler), trained in this
process; after every epoch its test accuracy is reported to Optuna, whose pruner (median or
successive halving, `search.pruner`) may stop it. Every trial's run is stored in the results
file like the runs of a sweep (the searched keys are its swept columns, the trial number its
plan index), a pruned one with status `pruned`; `wuxing ls/report` and wuxing.load read it.

The study lives in a journal file next to the results (`<output>.optuna-journal`) or in
`--storage sqlite:///file.db`. Run the same command again to resume a killed study: trials
already finished are kept, a trial left running by a dead worker is marked failed and its
parameters are tried again (its run is not retrained when it was stored). Live workers hold a
flock on <output>.tune-workers/<host>:<pid>. Several
workers (processes, Slurm tasks, MPI ranks) may share one study: give them the same output and
storage on a shared file system; each samples with its own seed (search.seed + worker index,
from --worker or the launcher's rank) and they stop when the study has `search.trials`
finished (complete or pruned) trials.
"""
import argparse
import math
import os
import socket
import sys


def _worker_index(given):
    if given is not None:
        return given
    for var in ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID", "SLURM_ARRAY_TASK_ID"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return 0


def _drop_torn_tail(path):
    """Cuts a last line that a killed writer left unfinished (it was never acknowledged)."""
    with open(path, "rb+") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        start = max(0, size - (1 << 20))
        f.seek(start)
        tail = f.read()
        cut = tail.rfind(b"\n")
        f.truncate(start + cut + 1 if cut >= 0 else 0)


def _journal_storage(journal):
    """Optuna's journal file with two fixes for workers that die or run side by side:
    - its default locks are files that a killed worker leaves behind, blocking every later
      start; a flock is released by the kernel when its holder dies;
    - its reads take no lock, and a reader that meets a line still being written can fail
      (JSONDecodeError) once the line is finished; here reads share the lock with each other
      and exclude writers."""
    import fcntl
    from contextlib import contextmanager

    from optuna.storages import JournalFileOpenLock, JournalFileStorage, JournalStorage

    @contextmanager
    def flocked(mode):
        fd = os.open(journal + ".flock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)  # releases the flock

    class FlockLock(JournalFileOpenLock):
        def __init__(self):
            self._held = None

        def acquire(self):
            self._held = flocked(fcntl.LOCK_EX)
            self._held.__enter__()
            _drop_torn_tail(journal)
            return True

        def release(self):
            held, self._held = self._held, None
            held.__exit__(None, None, None)

    class Journal(JournalFileStorage):
        def read_logs(self, log_number_from):
            with flocked(fcntl.LOCK_SH):
                return super().read_logs(log_number_from)

    return JournalStorage(Journal(journal, lock_obj=FlockLock()))


def _storage(optuna, url, output):
    if url is None:
        url = "journal:" + output + ".optuna-journal"
    if url.startswith("journal:"):
        return _journal_storage(url[len("journal:"):]), url
    # SQLite and other databases: a heartbeat lets a restarted study fail stale trials itself.
    return optuna.storages.RDBStorage(url, heartbeat_interval=60, grace_period=300), url


def _pruner(optuna, name):
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    if name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


def _register_worker(output, host):
    """Holds a flock on <output>.tune-workers/<host>:<pid> while this worker lives: the kernel
    drops it when the process dies, however it dies, so others can tell live workers from dead
    ones (on a shared file system too, where it supports flock)."""
    import fcntl
    folder = output + ".tune-workers"
    os.makedirs(folder, exist_ok=True)
    me = f"{host}:{os.getpid()}"
    fd = os.open(os.path.join(folder, me), os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return me, fd


def _live_workers(output, me):
    import fcntl
    folder = output + ".tune-workers"
    live = {me}
    for name in os.listdir(folder):
        if name == me:
            continue
        path = os.path.join(folder, name)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.unlink(path)  # its worker is dead
        except BlockingIOError:
            live.add(name)
        finally:
            os.close(fd)
    return live


def _recover_stale(optuna, study, live, me):
    """Trials left RUNNING by dead workers: failed, their parameters re-queued. A trial that
    died before it named its worker is stale when no other worker is alive."""
    failed = requeued = 0
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        worker = t.user_attrs.get("worker")
        if (worker in live) if worker else live != {me}:
            continue
        study._storage.set_trial_state_values(t._trial_id, state=optuna.trial.TrialState.FAIL)
        failed += 1
        if t.params:  # killed before sampling: nothing to retry
            study.enqueue_trial(t.params, user_attrs={"retry_of": t.number})
            requeued += 1
    return failed, requeued


def _value_text(value):
    return repr(value) if isinstance(value, float) else str(value)


def tune(spec, overrides=(), output=None, storage=None, trials=None, pruner=None, worker=None,
         threads=0, study_name=None, quiet=False):
    """Runs (or resumes) the study; returns it (optuna.Study)."""
    import warnings

    import optuna
    from . import _run
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    core = _run._core()
    overrides = _run._overrides(overrides)
    space = core.search_space(os.fspath(spec), overrides)
    if not space["params"]:
        raise _run.SpecError(f"{spec}: no search: section (see framework/pipeline/search.hpp)")
    output = os.fspath(output) if output else os.path.join("results", space["name"] + ".h5")
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    trials = trials or space["trials"]
    worker = _worker_index(worker)
    host = socket.gethostname()
    store, url = _storage(optuna, storage, output)
    if quiet:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=study_name or space["name"], storage=store, direction="maximize",
        load_if_exists=True, sampler=optuna.samplers.TPESampler(seed=space["seed"] + worker),
        pruner=_pruner(optuna, pruner or space["pruner"]))
    me, _lock = _register_worker(output, host)
    failed, requeued = _recover_stale(optuna, study, _live_workers(output, me), me)
    if failed and not quiet:
        print(f"tune: {failed} trial(s) left running by a dead worker marked failed, "
              f"{requeued} re-queued with the same parameters", file=sys.stderr)

    def objective(trial):
        trial.set_user_attr("worker", me)
        chosen = []
        for p in space["params"]:
            if p["kind"] == "choice":
                v = trial.suggest_categorical(p["key"], p["choices"])
            elif p["kind"] == "int":
                v = trial.suggest_int(p["key"], int(p["lo"]), int(p["hi"]))
            else:
                v = trial.suggest_float(p["key"], p["lo"], p["hi"], log=p["kind"] == "log_uniform")
            chosen.append(f"sweep.grid.{p['key']}=[{_value_text(v)}]")

        def on_epoch(m):
            trial.report(m["test_accuracy"], m["epoch"])
            return not trial.should_prune()

        r = core.run_trial(os.fspath(spec), overrides + ["search=null"] + chosen, output,
                           trial.number, on_epoch, int(threads))
        trial.set_user_attr("run_id", r["run_id"])
        if r["reused"]:
            for epoch, acc in enumerate(r["test_accuracy"], 1):
                trial.report(acc, epoch)
        if r["status"] == "pruned":
            raise optuna.TrialPruned()
        if r["status"] != "ok" or not math.isfinite(r["final_test_accuracy"]):
            trial.set_user_attr("reason", r["reason"])
            return float("nan")  # a failed trial: TPE leaves it out
        return r["final_test_accuracy"]

    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    if len(study.get_trials(deepcopy=False, states=finished)) < trials:
        study.optimize(objective, callbacks=[
            optuna.study.MaxTrialsCallback(trials, states=finished)])
    if not quiet:
        _summary(optuna, study, output, url)
    return study


def _summary(optuna, study, output, url):
    states = [t.state for t in study.trials]
    count = {s.name.lower(): states.count(s) for s in optuna.trial.TrialState if states.count(s)}
    print(f"study '{study.study_name}' ({url}): {len(states)} trials {count}; runs in {output}")
    try:
        best = study.best_trial
    except ValueError:
        print("no complete trial yet")
        return
    params = ", ".join(f"{k}={v}" for k, v in best.params.items())
    print(f"best: trial {best.number}, test accuracy {best.value:.4f} ({params}), "
          f"run {best.user_attrs.get('run_id')}")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="wuxing tune", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec", help="experiment spec with a search: section")
    ap.add_argument("overrides", nargs="*", help="key.path=value overrides")
    ap.add_argument("-o", "--output", help="results file (default results/<spec name>.h5)")
    ap.add_argument("--storage", help="Optuna storage: journal:FILE (default "
                    "journal:<output>.optuna-journal) or sqlite:///FILE.db")
    ap.add_argument("--study", help="study name (default: the spec's name)")
    ap.add_argument("--trials", type=int, help="finished trials to reach (default search.trials)")
    ap.add_argument("--pruner", choices=["median", "successive_halving", "none"],
                    help="default search.pruner")
    ap.add_argument("--worker", type=int, help="this worker's index (sampler seed offset; "
                    "default: the MPI/Slurm rank, else 0)")
    ap.add_argument("--threads", type=int, default=0, help="OpenMP threads per trial (0: all)")
    a = ap.parse_args(argv)
    from . import _run
    try:
        tune(a.spec, a.overrides, a.output, a.storage, a.trials, a.pruner, a.worker, a.threads,
             a.study)
    except _run.SpecError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tune: interrupted; run the same command again to resume the study",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
