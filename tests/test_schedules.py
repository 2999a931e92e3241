"""Learning-rate schedules against torch.optim.lr_scheduler and scikit-learn's formulas."""

import inspect
import math

import numpy as np
import pytest
from conftest import torch_or_skip

from glassnet.schedules import (SCHEDULES, Adaptive, Constant, CosineWarmup, Exponential,
                                InverseScaling, ReduceOnPlateau, StepDecay, get_schedule)

EPOCHS = 30
BASE_LR = 0.1


def run(schedule, metrics=None, base_lr=BASE_LR):
    """Rates for epochs 0..len(metrics): start, then one step per epoch."""
    metrics = [None] * EPOCHS if metrics is None else metrics
    return [schedule.start(base_lr)] + [schedule.step(m) for m in metrics]


def run_torch(make_scheduler, metrics=None, base_lr=BASE_LR):
    torch = torch_or_skip()
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    scheduler = make_scheduler(torch.optim.lr_scheduler, opt)
    lrs = [opt.param_groups[0]["lr"]]
    for m in [None] * EPOCHS if metrics is None else metrics:
        opt.step()  # torch warns when the scheduler steps before the optimizer
        scheduler.step() if m is None else scheduler.step(m)
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


@pytest.mark.parametrize("ours, make_theirs", [
    (StepDecay(7), lambda s, o: s.StepLR(o, step_size=7)),
    (StepDecay(3, gamma=0.5), lambda s, o: s.StepLR(o, step_size=3, gamma=0.5)),
    (Exponential(0.9), lambda s, o: s.ExponentialLR(o, gamma=0.9)),
    (CosineWarmup(EPOCHS), lambda s, o: s.CosineAnnealingLR(o, T_max=EPOCHS)),
    (CosineWarmup(20, min_lr=0.01), lambda s, o: s.CosineAnnealingLR(o, T_max=20, eta_min=0.01)),
], ids=["step7", "step3", "exponential", "cosine", "cosine_min_lr"])
def test_closed_form_schedules_match_torch(ours, make_theirs):
    expected = run_torch(make_theirs)
    got = run(ours)
    if isinstance(ours, CosineWarmup):  # torch's cosine rises again after T_max; ours stays
        n = ours.total_epochs + 1
        assert got[n:] == [ours.min_lr] * (len(got) - n)
        got, expected = got[:n], expected[:n]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert len(set(got)) > 2  # the schedule does change the rate


# 0.5 -> 0.49 beats threshold=0.015 relatively (0.5 * 0.985 = 0.4925) but not absolutely.
PLATEAU = ([1.0, 0.9, 0.8, 0.8, 0.8, 0.8, 0.79995, 0.7999, 0.8, 0.8, 0.5, 0.5, 0.5, 0.49]
           + [0.49 - 1e-5 * k for k in range(16)])
PLATEAU_CASES = [
    dict(patience=2),
    dict(patience=1, factor=0.5, threshold=0.015),
    dict(patience=1, factor=0.5, threshold=0.015, threshold_mode="abs"),
    dict(patience=1, factor=0.5, cooldown=2),
    dict(patience=0, factor=0.5, threshold=1e-3, threshold_mode="abs", min_lr=0.004),
    dict(patience=2, mode="max", threshold=0.0),
    dict(patience=1, mode="max", threshold_mode="abs", threshold=0.01, cooldown=1),
    dict(patience=0, factor=0.5, min_lr=0.1 - 5e-9),  # a change below eps=1e-8 is ignored
]


@pytest.mark.parametrize("kwargs", PLATEAU_CASES)
def test_reduce_on_plateau_matches_torch(kwargs):
    metrics = [-m for m in PLATEAU] if kwargs.get("mode") == "max" else PLATEAU
    expected = run_torch(lambda s, o: s.ReduceLROnPlateau(o, **kwargs), metrics)
    got = run(ReduceOnPlateau(**kwargs), metrics)
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    assert len(set(got)) > 1 or kwargs.get("min_lr") == 0.1 - 5e-9


def test_reduce_on_plateau_by_hand():
    s = ReduceOnPlateau(factor=0.5, patience=1)
    s.start(1.0)
    # best 3 -> 2 (better), then two epochs that are not better than 2 * (1 - 1e-4):
    # bad_epochs = 1 (<= patience), then 2 > patience: lr = 0.5 and the count restarts
    assert [s.step(m) for m in [3.0, 2.0, 2.0, 1.9999]] == [1.0, 1.0, 1.0, 0.5]
    assert s.best == 2.0 and s.bad_epochs == 0
    with pytest.raises(ValueError, match="metric"):
        s.step()


def test_cosine_with_warmup_by_hand():
    s = CosineWarmup(total_epochs=11, warmup_epochs=3, min_lr=0.2)
    lrs = run(s, [None] * 13, base_lr=1.0)
    # warmup: 1/4, 2/4, 3/4, then the cosine over epochs 3..11 (8 epochs) from 1.0 to 0.2
    np.testing.assert_allclose(lrs[:4], [0.25, 0.5, 0.75, 1.0], rtol=1e-15)
    # halfway (epoch 7): 0.2 + 0.8 * (1 + cos(pi/2)) / 2 = 0.6
    np.testing.assert_allclose(lrs[7], 0.6, rtol=1e-15)
    # epoch 5: progress 2/8, 0.2 + 0.4 * (1 + cos(pi/4))
    np.testing.assert_allclose(lrs[5], 0.2 + 0.4 * (1 + math.cos(math.pi / 4)), rtol=1e-15)
    assert lrs[11:] == [0.2, 0.2, 0.2]


def test_inverse_scaling_follows_scikit_learn():
    s = InverseScaling(power_t=0.5)
    assert s.start(0.1) == 0.1
    # counting epochs: lr = 0.1 / (t + 1) ** 0.5 with t = 1, 2, 3
    np.testing.assert_allclose([s.step() for _ in range(3)], 0.1 / np.sqrt([2, 3, 4]), rtol=1e-15)
    # scikit-learn passes samples seen: after one epoch of 99 samples, 0.1 / sqrt(100) = 0.01
    s.start(0.1)
    assert s.step(t=99) == pytest.approx(0.01, rel=1e-15)


def test_inverse_scaling_matches_scikit_learns_sgd_optimizer():
    pytest.importorskip("sklearn")
    from sklearn.neural_network._stochastic_optimizers import SGDOptimizer

    theirs = SGDOptimizer([np.zeros(1)], learning_rate_init=0.05, lr_schedule="invscaling",
                          power_t=0.25)
    ours = InverseScaling(power_t=0.25)
    ours.start(0.05)
    for epoch in range(1, 8):
        samples_seen = 37 * epoch
        theirs.iteration_ends(samples_seen)
        assert ours.step(t=samples_seen) == theirs.learning_rate


ADAPTIVE_LOSSES = [1.0, 0.5, 0.49995, 0.49991, 0.49987, 0.49986, 0.6, 0.4, 0.4, 0.4, 0.4, 0.4]


def test_adaptive_by_hand():
    s = Adaptive(tol=1e-4, n_iter_no_change=2)
    s.start(0.1)
    lrs = [s.step(m) for m in ADAPTIVE_LOSSES]
    # loss   1.0  0.5  .49995  .49991  .49987  .49986  0.6  0.4  0.4  0.4  0.4  0.4
    # count  0    0    1       2       3->0    1       2    0    1    2    3->0 1
    #   .49995 > .5 - 1e-4: bad (1), best .49995; .49991 > .49985: bad (2), best .49991;
    #   .49987 > .49981: bad (3 > 2): lr 0.1 / 5 = 0.02, count 0; .49986: bad (1); 0.6 (2);
    #   0.4 < .49986 - tol: count 0; then 0.4 again: 1, 2, 3 > 2: lr 0.02 / 5 = 0.004
    expected = [0.1] * 4 + [0.02] * 6 + [0.004] * 2
    np.testing.assert_allclose(lrs, expected, rtol=1e-15)
    assert not s.stop


def test_adaptive_differs_from_reduce_on_plateau_where_scikit_learn_does():
    # Each loss improves on the last by 0.6 tol: scikit-learn counts every epoch as bad (it
    # compares with the last best), torch's rule compares with the best that beat the threshold.
    losses = [1.0 - 0.6e-4 * k for k in range(6)]
    ours = Adaptive(tol=1e-4, n_iter_no_change=2)
    plateau = ReduceOnPlateau(factor=0.2, patience=2, threshold=1e-4, threshold_mode="abs")
    assert run(ours, losses)[-1] == pytest.approx(0.02)
    assert run(plateau, losses)[-1] == 0.1


def test_adaptive_matches_scikit_learns_loop():
    """The counting and the trigger run in scikit-learn's own methods."""
    pytest.importorskip("sklearn")
    from sklearn.neural_network import MLPRegressor
    from sklearn.neural_network._stochastic_optimizers import SGDOptimizer

    rng = np.random.default_rng(0)
    losses = list(ADAPTIVE_LOSSES) + list(0.3 + 1e-5 * rng.standard_normal(60))
    est = MLPRegressor(tol=1e-4, n_iter_no_change=2)
    # (early_stopping, X_val, y_val), and sample_weight_val from scikit-learn 1.7
    no_validation = [None] * (len(inspect.signature(est._update_no_improvement_count).parameters)
                              - 1)
    est.loss_curve_, est.best_loss_, est._no_improvement_count = [], np.inf, 0
    sk = SGDOptimizer([np.zeros(1)], learning_rate_init=0.1, lr_schedule="adaptive")
    ours = Adaptive(tol=1e-4, n_iter_no_change=2)
    ours.start(0.1)
    for loss in losses:  # the epoch-end lines of MLP._fit_stochastic
        est.loss_curve_.append(loss)
        est._update_no_improvement_count(False, *no_validation)
        stopped = False
        if est._no_improvement_count > est.n_iter_no_change:
            stopped = sk.trigger_stopping("", False)
            if not stopped:
                est._no_improvement_count = 0
        assert ours.step(loss) == sk.learning_rate
        assert ours.stop == stopped
        if stopped:
            break
    assert ours.stop  # the rate fell below 1e-6 and training would end


@pytest.mark.parametrize("lr_schedule", ["constant", "invscaling"])
def test_adaptive_with_no_floor_is_scikit_learns_stopping_rule(lr_schedule):
    """min_lr=inf: the first plateau stops training and the rate never changes, as
    scikit-learn's trigger_stopping for every rate but 'adaptive'; the count resumes from
    the state set after start (a warm start)."""
    pytest.importorskip("sklearn")
    from sklearn.neural_network._stochastic_optimizers import SGDOptimizer
    sk = SGDOptimizer([np.zeros(1)], learning_rate_init=0.1, lr_schedule=lr_schedule)
    ours = Adaptive(tol=1e-4, n_iter_no_change=2, min_lr=math.inf)
    ours.start(0.1)
    lrs = [ours.step(loss) for loss in ADAPTIVE_LOSSES[:4]]  # counts 0, 0, 1, 2
    assert lrs == [0.1] * 4 and not ours.stop
    assert ours.step(ADAPTIVE_LOSSES[4]) == 0.1 and ours.stop  # 3 > 2: stop, rate kept
    assert sk.trigger_stopping("", False) and sk.learning_rate == 0.1
    ours.start(0.1)
    ours.best, ours.no_improvement = 0.5, 2  # where a previous fit left the count
    ours.step(0.5)
    assert ours.stop


def test_adaptive_never_stops_with_n_iter_no_change_inf():
    s = Adaptive(tol=10.0, n_iter_no_change=math.inf)
    assert run(s, [1.0] * 50) == [BASE_LR] * 51 and not s.stop
    assert repr(s) == ("Adaptive(tol=10.0, n_iter_no_change=inf, divisor=5.0, min_lr=1e-06, "
                       "mode='min')")


def test_constant_and_step_protocol():
    s = Constant()
    assert run(s, [None] * 3) == [BASE_LR] * 4
    with pytest.raises(RuntimeError, match="start"):
        StepDecay(2).step()
    s = StepDecay(2, gamma=0.5)
    s.start(1.0)
    for _ in range(3):
        s.step()
    state = s.state_dict()
    assert state["epoch"] == 3 and state["lr"] == 0.5
    clone = StepDecay(2, gamma=0.5)
    clone.load_state_dict(state)
    assert clone.step() == s.step() == 0.25


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_registry_builds_every_schedule_with_a_repr(name):
    kwargs = {"step": dict(step_size=2), "exponential": dict(gamma=0.5),
              "cosine": dict(total_epochs=5)}.get(name, {})
    s = get_schedule(name, **kwargs)
    assert isinstance(s, SCHEDULES[name]) and repr(s).startswith(type(s).__name__ + "(")
    assert s.start(0.1) == 0.1
    assert 0 < s.step(1.0) <= 0.1
    assert get_schedule(s) is s


BAD = [
    (StepDecay, dict(step_size=0), "step_size must be >= 1"),
    (StepDecay, dict(step_size=2.0), "step_size must be an int"),
    (StepDecay, dict(step_size=2, gamma=-1), "gamma must be > 0"),
    (Exponential, dict(gamma=0), "gamma must be > 0"),
    (CosineWarmup, dict(total_epochs=0), "total_epochs must be >= 1"),
    (CosineWarmup, dict(total_epochs=5, warmup_epochs=5), "warmup_epochs must be < 5"),
    (CosineWarmup, dict(total_epochs=5, min_lr=-1), "min_lr must be >= 0"),
    (InverseScaling, dict(power_t=-0.5), "power_t must be >= 0"),
    (ReduceOnPlateau, dict(factor=1.0), "factor must be < 1"),
    (ReduceOnPlateau, dict(patience=-1), "patience must be >= 0"),
    (ReduceOnPlateau, dict(threshold_mode="relative"), "unknown threshold_mode 'relative'"),
    (ReduceOnPlateau, dict(mode="up"), "unknown mode 'up'"),
    (ReduceOnPlateau, dict(cooldown=-2), "cooldown must be >= 0"),
    (Adaptive, dict(divisor=1.0), "divisor must be > 1"),
    (Adaptive, dict(n_iter_no_change=0), "n_iter_no_change must be >= 1"),
]


@pytest.mark.parametrize("cls, kwargs, message", BAD)
def test_bad_settings_raise_naming_the_argument(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


def test_bad_base_lr_and_unknown_name():
    with pytest.raises(ValueError, match="base_lr must be > 0, got -0.1"):
        Constant().start(-0.1)
    with pytest.raises(ValueError, match="unknown schedule 'linear'.*'cosine'"):
        get_schedule("linear")


def test_load_state_dict_checks_the_settings_as_the_constructor_does():
    s = StepDecay(2, gamma=0.5)
    s.start(1.0)
    bad = {**s.state_dict(), "gamma": -1.0}
    with pytest.raises(ValueError, match="gamma"):
        StepDecay(2, gamma=-1.0)
    with pytest.raises(ValueError, match="gamma"):
        s.load_state_dict(bad)
    assert s.gamma == 0.5 and s.step() == 1.0


def test_load_state_dict_checks_the_rates_and_the_keys():
    s = StepDecay(2, gamma=0.5)
    s.start(1.0)
    state = s.state_dict()
    with pytest.raises(ValueError, match=r"state\['base_lr'\] must be > 0"):
        StepDecay(2, gamma=0.5).load_state_dict({**state, "base_lr": -0.5})
    with pytest.raises(ValueError, match=r"unexpected keys \['gama'\]"):
        StepDecay(2, gamma=0.5).load_state_dict({**state, "gama": 0.1})
    for name in sorted(SCHEDULES):  # every schedule's own state still loads
        kwargs = {"step": dict(step_size=2), "exponential": dict(gamma=0.5),
                  "cosine": dict(total_epochs=5)}.get(name, {})
        a, b = get_schedule(name, **kwargs), get_schedule(name, **kwargs)
        a.start(0.1)
        a.step(1.0)
        b.load_state_dict(a.state_dict())
        assert b.step(0.5) == a.step(0.5)
