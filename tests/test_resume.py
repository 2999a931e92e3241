"""Exact resume: a run killed (SIGKILL) after epoch k and resumed in a new process by
``BackupAndRestore`` ends with the weights (``np.array_equal``) and the history of the run that
was never interrupted; a backup made for other data or settings is refused."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import glassnet
from glassnet import optim
from glassnet.callbacks import BackupAndRestore, BackupError, EarlyStopping, LambdaCallback

EPOCHS = 6

# One training run, as the test process and its subprocesses all run it. Arguments: the
# optimizer ("momentum", "adam" or "plain": plain SGD, which steps inside backprop), early
# stopping and dropout ("0"/"1"), the epoch after which to kill the process ("0": never), the
# backup path ("-": none) and where to write the weights and history.
SCRIPT = textwrap.dedent(f"""
    import json, os, signal, sys
    import numpy as np
    import glassnet
    from glassnet import _blas, optim
    from glassnet.callbacks import BackupAndRestore, EarlyStopping, LambdaCallback

    def run(opt, early, dropout, kill_after, backup, out):
        _blas.MIN_SIZE = 0  # plain SGD steps inside backprop even on this small network
        rng = np.random.default_rng(0)
        X = rng.standard_normal((150, 5)).astype(np.float32)
        y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0.5)
        model = glassnet.MLP([5, 16, 3], dropout=0.3 if dropout else 0.0, seed=1)
        optimizer = {{"momentum": lambda: optim.SGD(lr=0.05, momentum=0.9),
                     "adam": lambda: optim.Adam(lr=0.01),
                     "plain": lambda: optim.SGD(lr=0.05)}}[opt]()
        callbacks = [] if backup == "-" else [BackupAndRestore(backup)]
        if early:
            callbacks.append(EarlyStopping("val_loss", patience=2))
        if kill_after:
            callbacks.append(LambdaCallback(on_epoch_begin=lambda s: os.kill(
                os.getpid(), signal.SIGKILL) if s.epoch == kill_after + 1 else None))
        history = glassnet.fit(model, X, y, optimizer=optimizer, epochs={EPOCHS},
                               batch_size=16, seed=3, validation_fraction=0.2,
                               l2=1e-3, schedule=glassnet.schedules.Exponential(gamma=0.9),
                               callbacks=callbacks)
        resumed = callbacks[0].resumed_from if backup != "-" else None
        np.save(out + ".npy", model.flat_params)
        with open(out + ".json", "w") as f:
            json.dump({{"epochs": history.epochs, "history": history.history,
                       "resumed_from": resumed}}, f)

    if __name__ == "__main__":
        opt, early, dropout, kill_after, backup, out = sys.argv[1:]
        run(opt, early == "1", dropout == "1", int(kill_after), backup, out)
""")


def _run(tmp_path, *args) -> subprocess.CompletedProcess:
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    return subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def _result(out):
    with open(f"{out}.json") as f:
        return np.load(f"{out}.npy"), json.load(f)


CASES = [(opt, early, dropout) for opt in ("momentum", "adam")
         for early, dropout in ((0, 0), (1, 1))] + [("plain", 0, 1)]


@pytest.mark.parametrize("kill_after", [1, EPOCHS - 1])
@pytest.mark.parametrize("opt, early, dropout", CASES)
def test_a_run_killed_after_epoch_k_resumes_to_the_uninterrupted_result(
        tmp_path, opt, early, dropout, kill_after):
    reference = _run(tmp_path, opt, early, dropout, 0, "-", tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr
    want_params, want = _result(tmp_path / "reference")
    backup = tmp_path / "backup.safetensors"
    killed = _run(tmp_path, opt, early, dropout, kill_after, backup, tmp_path / "killed")
    stopped_early = len(want["epochs"]) <= kill_after  # early stopping ended it before k
    if stopped_early:
        assert killed.returncode == 0 and not backup.exists()
        return
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert backup.exists()
    resumed = _run(tmp_path, opt, early, dropout, 0, backup, tmp_path / "resumed")
    assert resumed.returncode == 0, resumed.stderr
    got_params, got = _result(tmp_path / "resumed")
    assert got["resumed_from"] == kill_after
    np.testing.assert_array_equal(got_params, want_params)
    assert got["epochs"] == want["epochs"]
    assert got["history"] == want["history"]
    assert not backup.exists()  # a run that ends removes its backup (delete_on_end)


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    return X, (X[:, 0] > 0).astype(int)


class Interrupt(Exception):
    pass


def _interrupted_run(path, X, y, epochs=4, stop_at=2, **kwargs):
    """Train until ``stop_at`` epochs have ended and then fail: the backup stays."""
    def fail(state):
        if state.epoch == stop_at + 1:
            raise Interrupt
    model = glassnet.MLP([3, 4, 2], dtype="float64", seed=0)
    with pytest.raises(Interrupt):
        glassnet.fit(model, X, y, epochs=epochs, seed=0,
                     callbacks=[BackupAndRestore(path), LambdaCallback(on_epoch_begin=fail)],
                     **kwargs)


@pytest.mark.parametrize("change, message", [
    (dict(data=1), "another data set"),
    (dict(epochs=5), "another configuration"),
    (dict(optimizer="sgd"), "another configuration"),
    (dict(width=5), "another model"),
])
def test_a_backup_for_other_data_or_settings_is_refused(tmp_path, change, message):
    path = tmp_path / "backup.safetensors"
    X, y = _data()
    _interrupted_run(path, X, y)
    assert path.exists()
    X2, y2 = _data(seed=change.get("data", 0))
    model = glassnet.MLP([3, change.get("width", 4), 2], dtype="float64", seed=0)
    with pytest.raises(BackupError, match=message):
        glassnet.fit(model, X2, y2, epochs=change.get("epochs", 4), seed=0,
                     optimizer=change.get("optimizer", "adam"),
                     callbacks=[BackupAndRestore(path)])
    assert path.exists()  # refused, not overwritten


def test_a_finished_run_removes_its_backup_and_a_kept_one_is_not_read_again(tmp_path):
    path = tmp_path / "backup.safetensors"
    X, y = _data()
    glassnet.fit(glassnet.MLP([3, 4, 2], seed=0), X, y, epochs=2,
                 callbacks=[BackupAndRestore(path)])
    assert not path.exists()
    keep = BackupAndRestore(path, delete_on_end=False)
    glassnet.fit(glassnet.MLP([3, 4, 2], seed=0), X, y, epochs=2, seed=0, callbacks=[keep])
    assert path.exists() and keep.resumed_from is None
    again = glassnet.MLP([3, 4, 2], seed=0)  # all epochs done: nothing left to train
    before = again.flat_params.copy()
    history = glassnet.fit(again, X, y, epochs=2, seed=0, callbacks=[keep])
    assert keep.resumed_from == 2 and history.epochs == [1, 2]
    assert not np.array_equal(again.flat_params, before)  # the backup's weights


def test_a_file_that_is_not_a_backup_is_refused_by_name(tmp_path):
    path = tmp_path / "backup.safetensors"
    path.write_bytes(b"not a backup at all")
    X, y = _data()
    with pytest.raises(BackupError, match="is not a glassnet backup"):
        glassnet.fit(glassnet.MLP([3, 4, 2], seed=0), X, y, epochs=1,
                     callbacks=[BackupAndRestore(path)])


def test_backup_runs_after_the_other_callbacks():
    """Its hooks come after early stopping's and the schedule's, whatever the list order."""
    from glassnet.train import _with_builtin_callbacks
    backup, early = BackupAndRestore("unused.safetensors"), EarlyStopping("loss")
    ordered = _with_builtin_callbacks([backup, early], schedule="constant", progress=False,
                                      epochs=3)
    assert ordered[-1] is backup and early in ordered
    assert not os.path.exists("unused.safetensors")


@pytest.mark.parametrize("schedule", [
    lambda: glassnet.schedules.Adaptive(min_lr=float("inf")),  # scikit-learn's stopping rule
    lambda: glassnet.schedules.CosineWarmup(total_epochs=2),   # the rate reaches 0
], ids=["infinite-setting", "rate-zero"])
def test_a_schedule_at_its_limits_resumes_exactly(tmp_path, schedule):
    """A schedule whose state holds inf, or whose rate has reached 0, is saved and restored:
    the resumed run (in the same process here) equals the uninterrupted one."""
    X, y = _data(80)

    def run(callbacks, fail_after=None):
        model = glassnet.MLP([3, 5, 2], dtype="float64", seed=0)
        extra = []
        if fail_after is not None:
            def fail(state):
                if state.epoch == fail_after + 1:
                    raise Interrupt
            extra = [LambdaCallback(on_epoch_begin=fail)]
        history = glassnet.fit(model, X, y, epochs=4, seed=0, batch_size=16,
                               optimizer=optim.SGD(lr=0.1, momentum=0.9),
                               schedule=schedule(), callbacks=callbacks + extra)
        return model, history

    want_model, want = run([])
    path = tmp_path / "backup.safetensors"
    with pytest.raises(Interrupt):
        run([BackupAndRestore(path)], fail_after=2)
    got_model, got = run([BackupAndRestore(path)])
    np.testing.assert_array_equal(got_model.flat_params, want_model.flat_params)
    assert got.history == want.history and got.epochs == want.epochs
