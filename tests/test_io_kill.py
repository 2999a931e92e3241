"""Crash safety: a process that overwrites a model file in a loop is killed with SIGKILL at
random moments, again and again; after every kill the path loads, as the old or the new model."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import glassnet

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL here")

SIZES = [64, 256, 128, 10]  # about 0.5 MB in float64: a save takes a few milliseconds
SAVER = f"""
import sys
import glassnet
path = sys.argv[1]
models = [glassnet.MLP({SIZES}, dtype="float64", seed=seed) for seed in (1, 2)]
print("ready", flush=True)
i = 0
while True:
    glassnet.save(models[i % 2], path)
    i += 1
"""
KILLS = 24


def test_the_path_always_holds_a_whole_model_whatever_kills_the_writer(tmp_path):
    path = tmp_path / "model.safetensors"
    models = [glassnet.MLP(SIZES, dtype="float64", seed=seed) for seed in (1, 2)]
    references = [m.state_dict() for m in models]
    glassnet.save(models[0], path)
    rng = np.random.default_rng(0)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    seen = set()
    started = time.perf_counter()
    for kill in range(KILLS):
        child = subprocess.Popen([sys.executable, "-c", SAVER, str(path)],
                                 stdout=subprocess.PIPE, env=env)
        try:
            assert child.stdout.readline() == b"ready\n"
            time.sleep(rng.uniform(0.0, 0.03))  # a random moment in the save loop
        finally:
            child.kill()  # SIGKILL: no cleanup, no flush, no finally
            child.wait(timeout=30)
            child.stdout.close()
        assert child.returncode == -signal.SIGKILL
        loaded = glassnet.load(path).state_dict()  # the old or the new model, never a mix
        matches = [i for i, ref in enumerate(references)
                   if all(np.array_equal(loaded[k], ref[k]) for k in ref)]
        assert len(matches) == 1, f"after kill {kill} the file holds neither model"
        seen.add(matches[0])
        # A kill mid-save may leave its hidden temporary file; nothing else appears.
        for name in os.listdir(tmp_path):
            assert name == path.name or (name.startswith(f".{path.name}.")
                                         and name.endswith(".tmp")), name
    assert seen == {0, 1}  # the saves did overwrite the file, back and forth
    assert time.perf_counter() - started < 60
