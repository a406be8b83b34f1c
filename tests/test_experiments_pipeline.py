"""The orchestrator: registries, attacker data, defenses, early stopping, resumable sweeps."""

import ast
import inspect
import warnings

import numpy as np
import pytest
import torch

from sparsepriv_nb import attacks as A
from sparsepriv_nb import data as D
from sparsepriv_nb import experiments as E
from sparsepriv_nb import sparsity, train
from sparsepriv_nb.experiments import pipeline, sweep

warnings.filterwarnings("ignore", message="cache:")

BASE = E.ExperimentConfig(data={"max_samples": 400}, train={"epochs": 2, "finetune_epochs": 1},
                          attack={"names": ("loss",)})


def test_a_registered_toy_method_and_attack_run_without_touching_experiments(tmp_path):
    def toy_train(model, fit, *, density, seed, epochs, finetune_epochs, options):
        fit(model, epochs, seed, phase="train")
        return sparsity.magnitude_prune(model, 1 - density, scope="global")

    def toy_structure(model, *, density, options):
        return sparsity.magnitude_prune(model, 0.0, scope="global")

    class NegConfidence(A.ThresholdAttack):
        """Scores = minus the confidence: an inverted attack, so its AUC is 1 - confidence's."""

        def __init__(self, random_state=0):
            super().__init__("confidence")
            self.random_state = random_state

        def score_samples(self, logits, labels, **kw):
            return -super().score_samples(logits, labels, **kw)

    sparsity.register_sparsity_method("toy-oneshot", train=toy_train, structure=toy_structure)
    A.register_attack("toy-inverted", NegConfidence)
    try:
        cfg = BASE.replace(sparsity__method="toy-oneshot", sparsity__density=0.3,
                           attack__names=("confidence", "toy-inverted"))
        df = E.run_experiment(cfg, cache=tmp_path)
        assert df.sparsity_method.tolist() == ["toy-oneshot"] * 2
        assert df.density_achieved.iloc[0] == pytest.approx(0.3, abs=0.01)
        auc = df.set_index("attack").auc
        assert auc["toy-inverted"] == pytest.approx(1 - auc["confidence"])
        sweep = E.run_sweep(E.make_grid(cfg, sparsity__density=[0.3, 0.5]), cache=tmp_path,
                            progress=False)
        assert sweep.from_cache.tolist() == [True, True, False, False]
        assert sorted(set(sweep.sparsity_density)) == [0.3, 0.5]
        assert E.load_scores(cfg, cache=tmp_path)["toy-inverted"][0].tolist() == \
            (-E.load_scores(cfg, cache=tmp_path)["confidence"][0]).tolist()
    finally:
        sparsity.SPARSITY_METHODS.unregister("toy-oneshot")
        sparsity.ONE_SHOT_METHODS.names()  # untouched
        A.ATTACKS.unregister("toy-inverted")


def test_an_attack_needing_a_new_kind_of_input_touches_only_the_attack_and_its_field(tmp_path):
    """A new model output (the target's top-2 logit margin), computed by a provider registered
    with its field, reaches the attacks that declare it: built once for both, and each attack
    sees only the fields it declared. Nothing in experiments knows the field or the attack."""
    built, seen = [], []

    def margin(ctx):  # a new model output: the provider queries the trained target itself
        built.append(ctx.cfg.seed)
        X = torch.cat([ctx.members[0], ctx.nonmembers[0]])
        top2 = train.predict_logits(ctx.target_model, X).topk(2, 1).values
        return (top2[:, 0] - top2[:, 1]).numpy()

    class MarginAttack(A.Attack):
        def __init__(self, random_state=0, sign=1.0):
            self.random_state = random_state
            self.sign = sign

        def fit_inputs(self, inputs):
            self.threshold_ = float(np.median(self.sign * inputs.margin))
            return self

        def score_inputs(self, inputs):
            seen.append(set(inputs))
            return self.sign * inputs.margin

    A.register_input("margin", margin, requires=("target",), description="top-2 logit gap")
    A.register_attack("toy-margin", MarginAttack, kind=None, needs=("margin",))
    A.register_attack("toy-margin-neg", lambda random_state=0: MarginAttack(sign=-1.0),
                      kind=None, needs="margin")
    try:
        assert A.ATTACKS.get("toy-margin").needs == ("target", "margin")
        cfg = BASE.replace(attack__names=("loss", "toy-margin", "toy-margin-neg"))
        df, out = E.run_experiment(cfg, cache=tmp_path, return_outputs=True)
        assert built == [cfg.seed]  # one field, built once for two attacks
        assert seen == [{"target", "margin"}] * 2  # the loss attack's shadow is not theirs
        ds, pools = E.prepare_data(cfg)
        X = torch.cat([ds.subset(pools.target_train)[0], ds.subset(pools.target_test)[0]])
        top2 = train.predict_logits(out["model"], X).topk(2, 1).values
        scores = E.load_scores(cfg, cache=tmp_path)
        np.testing.assert_allclose(scores["toy-margin"][0], (top2[:, 0] - top2[:, 1]).numpy())
        np.testing.assert_array_equal(scores["toy-margin-neg"][0], -scores["toy-margin"][0])
        auc = df.set_index("attack").auc
        assert auc["toy-margin-neg"] == pytest.approx(1 - auc["toy-margin"])
    finally:
        A.ATTACKS.unregister("toy-margin")
        A.ATTACKS.unregister("toy-margin-neg")
        A.INPUTS.unregister("margin")
    # the orchestrator's code names no attack, attack kind or input field besides the target
    tree = ast.parse(inspect.getsource(pipeline))
    docs = {id(f.body[0].value) for f in ast.walk(tree) if isinstance(
        f, (ast.Module, ast.FunctionDef)) and isinstance(f.body[0], ast.Expr)}
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
               and isinstance(n.value, str) and id(n) not in docs}
    assert not strings & {*A.available_attacks(), *A.INPUTS.names()} - {"target"}
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "kind"]


def test_each_shadow_trains_on_its_own_split_never_on_the_target_pool(fit_calls):
    cfg = BASE.replace(attack__n_shadows=3)
    E.run_experiment(cfg, cache=False)
    ds, pools = E.prepare_data(cfg)
    sums = [c[1] for c in fit_calls]
    assert len(sums) == 4 and len(set(sums)) == 4  # target + 3 different shadow datasets
    splits = D.shadow_splits(pools, 3, seed=cfg.seed)
    for mem, non in splits:
        assert not np.intersect1d(np.r_[mem, non], np.r_[pools.target_train,
                                                         pools.target_test]).size
    assert sums[1:] == [ds.subset(mem)[0].sum().item() for mem, _ in splits]


def test_shadows_on_the_targets_members_are_refused(monkeypatch):
    def leaky(pools, n, *, seed):
        return [(pools.target_train, pools.shadow_test)] * n

    monkeypatch.setattr(D, "shadow_splits", leaky)
    with pytest.raises(AssertionError, match="shadow model 0's data contains"):
        E.run_experiment(BASE, cache=False)


def test_population_overlapping_the_attacked_samples_is_refused(monkeypatch):
    real = E.prepare_data

    def overlapping(cfg, *, root=None):
        ds, p = real(cfg, root=root)
        return ds, D.Pools(p.target_train, p.target_val, p.target_test, p.target_train,
                           p.shadow_val, p.shadow_test)

    monkeypatch.setattr(pipeline, "prepare_data", overlapping)  # where run_experiment looks
    with pytest.raises(AssertionError, match="population contains"):
        E.run_experiment(BASE.replace(attack__names=("lira",), attack__n_reference=4),
                         cache=False)


def test_train_size_is_a_seeded_random_subset():
    full = E.prepare_data(BASE)[1]
    a = E.prepare_data(BASE.replace(data__train_size=20))[1]
    b = E.prepare_data(BASE.replace(data__train_size=20))[1]
    c = E.prepare_data(BASE.replace(data__train_size=20, seed=1))[1]
    assert len(a.target_train) == len(a.target_test) == len(a.shadow_train) == 20
    assert np.isin(a.target_train, full.target_train).all()
    assert not np.array_equal(a.target_train, full.target_train[:20])  # not the lowest
    assert np.array_equal(a.target_train, b.target_train)
    assert not np.array_equal(a.target_train, c.target_train)
    with pytest.raises(ValueError, match="train_size"):
        E.prepare_data(BASE.replace(data__train_size=10_000))


def test_early_stopping_uses_each_models_validation_split(fit_calls):
    cfg = BASE.replace(train__patience=2, train__epochs=4)
    E.run_experiment(cfg, cache=False)
    ds, pools = E.prepare_data(cfg)
    (t_n, _, t_kw), (s_n, _, s_kw) = fit_calls
    assert t_kw["patience"] == s_kw["patience"] == 2
    assert torch.equal(t_kw["val_data"][0], ds.subset(pools.target_val)[0])
    assert torch.equal(s_kw["val_data"][0], ds.subset(pools.shadow_val)[0])
    fit_calls.clear()
    E.run_experiment(BASE, cache=False)  # default: off
    assert all(kw["patience"] is None and "val_data" not in kw for *_, kw in fit_calls)


@pytest.mark.parametrize("adaptive", [False, True])
def test_defense_trains_the_target_and_the_shadows_only_when_adaptive(fit_calls, adaptive):
    cfg = BASE.replace(defense__name="weight-decay", defense__weight_decay=0.01,
                       defense__adaptive=adaptive)
    E.run_experiment(cfg, cache=False)
    target_kw, shadow_kw = fit_calls[0][2], fit_calls[1][2]
    assert target_kw["weight_decay"] == 0.01
    assert shadow_kw["weight_decay"] == (0.01 if adaptive else 0.0)


def test_finetune_defense_goes_to_finetuning_or_to_the_only_training(fit_calls):
    from sparsepriv_nb.defenses import PPBLoss

    E.run_experiment(BASE.replace(sparsity__method="magnitude", sparsity__density=0.5,
                                  defense__name="ppb"), cache=False)
    target_train, target_finetune = fit_calls[0][2], fit_calls[1][2]
    assert "loss_fn" not in target_train and isinstance(target_finetune["loss_fn"], PPBLoss)
    assert all("loss_fn" not in kw for *_, kw in fit_calls[2:])  # shadows: not adaptive
    fit_calls.clear()
    E.run_experiment(BASE.replace(defense__name="ppb"), cache=False)  # dense: no fine-tuning
    assert isinstance(fit_calls[0][2]["loss_fn"], PPBLoss)


def test_a_killed_sweep_restarted_loses_nothing_finished(tmp_path, monkeypatch):
    grid = E.make_grid(BASE, seed=[0, 1, 2])
    real = sweep._run_one

    def dies_on_seed_1(cfg, *args):
        if cfg.seed == 1:
            raise KeyboardInterrupt("killed")
        return real(cfg, *args)

    monkeypatch.setattr(sweep, "_run_one", dies_on_seed_1)
    with pytest.raises(KeyboardInterrupt):
        E.run_sweep(grid, cache=tmp_path, progress=False)
    monkeypatch.setattr(sweep, "_run_one", real)
    df = E.run_sweep(grid, cache=tmp_path, progress=False)
    assert df.from_cache.tolist() == [True, False, False]
    assert df.seed.tolist() == [0, 1, 2]


def test_sweep_argument_checks():
    with pytest.raises(ValueError, match="'backend'"):
        E.run_sweep([BASE], backend="ray")
    with pytest.raises(ValueError, match="'scheduler'"):
        E.run_sweep([BASE], scheduler="tcp://x:8786")
    with pytest.raises(ValueError, match="'n_jobs'"):
        E.run_sweep([BASE], n_jobs=0)
    from sparsepriv_nb._checks import ParameterError

    for kwargs, name in [(dict(n_jobs=True), "n_jobs"), (dict(n_jobs=-2), "n_jobs"),
                         (dict(backend="ray"), "backend"),
                         (dict(scheduler="tcp://x"), "scheduler")]:
        with pytest.raises(ParameterError, match=f"'{name}' parameter of run_sweep"):
            E.run_sweep([BASE], **kwargs)
    with pytest.raises(ParameterError, match="'configs' parameter of run_sweep .* Got \\[\\]"):
        E.run_sweep([])
    with pytest.raises(TypeError, match="'cfg'"):
        E.run_experiment({"seed": 0}, cache=False)


def test_dp_mode_trains_every_model_privately_and_records_its_accounting(tmp_path):
    pytest.importorskip("opacus")
    cfg = BASE.replace(train__epochs=1, dp__mode="dpsgd", dp__noise_multiplier=1.0,
                       dp__max_grad_norm=1.0, dp__delta=1e-5)
    df = E.run_experiment(cfg, cache=tmp_path)
    assert df.dp_mode.iloc[0] == "dpsgd" and df.dp_noise_multiplier.iloc[0] == 1.0
    assert df.fit_noise_multiplier.iloc[0] == 1.0
    assert 0 < df.epsilon.iloc[0] < float("inf") and df.dp_calls.iloc[0] == 1
    assert df.delta.iloc[0] == 1e-5
    # the accounting travels with the cached model: a new record of the same target has it
    again = E.run_experiment(cfg.replace(attack__names=("confidence",)), cache=tmp_path)
    assert again.epsilon.iloc[0] == df.epsilon.iloc[0]
    with pytest.raises(ValueError, match="'mode'"):
        BASE.replace(dp__mode="magic")


def test_dp_pruned_model_composes_its_private_phases_with_one_accountant(tmp_path):
    """Train, prune, fine-tune privately: one delta (the default, far below 1/n) and the
    epsilon of one accountant fed both phases, not the sum of two epsilons and deltas."""
    pytest.importorskip("opacus")
    from sparsepriv_nb import dp

    cfg = BASE.replace(train__epochs=1, sparsity__method="magnitude", sparsity__density=0.5,
                       dp__mode="dpsgd", dp__noise_multiplier=1.0)
    row = E.run_experiment(cfg, cache=tmp_path).iloc[0]
    assert row.dp_calls == 2
    assert row.delta <= 1 / (10 * row.fit_n_train)  # one delta, not one per phase
    q, steps = row.fit_sample_rate, row.fit_steps  # both phases: one epoch, same q and sigma
    assert row.epsilon == pytest.approx(dp.compute_epsilon(q, 1.0, 2 * steps, row.delta))
    assert row.epsilon < 0.8 * 2 * dp.compute_epsilon(q, 1.0, steps, row.delta)
    assert row.delta == dp.default_delta(row.fit_n_train)


def test_attack_transfer_interval_metrics_need_resamples():
    import numpy as np
    import pytest
    import torch

    from sparsepriv_nb import experiments as E

    rng = np.random.default_rng(0)
    m = np.r_[np.ones(100, int), np.zeros(100, int)]
    y = torch.tensor(rng.integers(0, 3, 200))
    z = torch.tensor(rng.normal(size=(200, 3))) + 3 * torch.nn.functional.one_hot(y, 3) * \
        torch.tensor(m)[:, None]
    out = E.ModelOutputs(z, y, m)
    pairs = {"a": (out, out)}
    with pytest.raises(ValueError, match="n_resamples"):
        E.attack_transfer(pairs, "loss", metric="balanced_accuracy_lo")
    lo = E.attack_transfer(pairs, "loss", metric="balanced_accuracy_lo", n_resamples=200)
    hi = E.attack_transfer(pairs, "loss", metric="balanced_accuracy_hi", n_resamples=200)
    mid = E.attack_transfer(pairs, "loss", metric="balanced_accuracy")
    assert lo.loc["a", "a"] < mid.loc["a", "a"] < hi.loc["a", "a"]
    both = E.attack_transfer(pairs, "loss", metric=("balanced_accuracy", "balanced_accuracy_lo"),
                             n_resamples=200)
    assert both["balanced_accuracy"].equals(mid) and both["balanced_accuracy_lo"].equals(lo)


def test_transfer_vs_matched_is_the_paired_balanced_accuracy_gap_to_the_diagonal():
    import numpy as np
    import torch

    from sparsepriv_nb import experiments as E

    rng = np.random.default_rng(0)
    m = np.r_[np.ones(300, int), np.zeros(300, int)]
    y = torch.tensor(rng.integers(0, 3, 600))

    def outs(signal, offset=0.0):  # members' true-class logit raised by `signal`, all by `offset`
        z = torch.tensor(rng.normal(size=(600, 3)))
        z += torch.nn.functional.one_hot(y, 3) * (signal * torch.tensor(m)[:, None] + offset)
        return E.ModelOutputs(z, y, m)

    # "b"'s shadows are far more confident overall: the loss threshold fitted there sits far
    # from where "a"'s members and non-members separate, so b -> a is worse than a -> a.
    pairs = {"a": (outs(2.0), outs(2.0)), "b": (outs(2.0, offset=6.0), outs(2.0, offset=6.0))}
    vs = E.transfer_vs_matched(pairs, "loss", n_resamples=300)
    assert vs.name.tolist() == ["b -> a vs a -> a", "a -> b vs b -> b"]
    table = E.attack_transfer(pairs, "loss")
    for r in vs.itertuples():
        assert np.isclose(r.transferred, table.loc[r.source, r.attacked])
        assert np.isclose(r.matched, table.loc[r.attacked, r.attacked])
        assert np.isclose(r.diff, r.transferred - r.matched) and r.lo <= r.diff <= r.hi
    worse = vs.set_index("source").loc["b"]
    assert worse["diff"] < -0.2 and worse.hi < 0  # the misplaced threshold, detected
    assert np.isfinite(vs.mde).all() and (vs.mde > 0).all()
