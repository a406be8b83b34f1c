"""The package's membership inference attacks against IBM ART's black-box attack (issue 22).

Run: ``python benchmarks/peers.py [--profile quick,standard] [-p NAME=VALUE ...]
[--n-resamples 1000] [--seed 0] [--device auto] [--out table.md]``.

ART is an optional extra, never a dependency of the package or its tests:
``pip install 'sparsepriv_nb[peers]'`` (``adversarial-robustness-toolbox>=1.17``).

For each profile it builds notebook 02's experiment as the notebook does (its parameters from
``notebooks/params/<profile>.yaml``, ``-p`` overrides on top, as ``sparsepriv-nb run -p``
takes them): the dense target and the one magnitude-pruned at ``DENSITY``, each with its
shadow models and, for LiRA / RMIA, its reference models (``experiments.run_experiment``, so
trained models come from the experiment cache when a notebook or an earlier run left them).
Then, on exactly those outputs:

* the package's shadow-kind attacks (the profile's ``ATTACKS`` plus ``shokri-gb``,
  ``shokri-rf``, ``salem`` and :data:`VARIANTS`) are fitted on the shadow models' outputs for
  their members and non-members and score the target's members and non-members;
  reference-kind attacks (LiRA,
  RMIA) are fitted on the reference models' outputs on those samples;
* ART's ``MembershipInferenceBlackBox`` with each default attack model (``nn``, ``rf``,
  ``gb``) is fitted as ART's shadow-model flow does (``ShadowModels.generate_shadow_dataset``
  then ``fit(x, y, test_x, test_y, pred, test_pred)``): the shadow models' predictions on their
  members (``pred``) and non-members (``test_pred``) with the true labels, once on the
  probability vectors and once on the logits (what ``PyTorchClassifier.predict`` returns for
  a network without a softmax), then ``infer(..., pred=target's predictions,
  probabilities=True)`` scores the same target samples.

Both sides get arrays cut from the same :class:`~sparsepriv_nb.experiments.ModelOutputs`
(asserted), and the target's outputs are checked against a fresh query of the target model
(a stale cache would fail here). Every score vector gets AUC and TPR at 1 % FPR with a 95 %
bootstrap interval (``metrics.attack_metrics``, members and non-members resampled
separately). One markdown table comes out: one row per attack, per profile and target the
AUC and TPR columns. ART's nn and the forests use global RNGs, seeded here before each fit.

Never a test (minutes); the standard profile trains LeNet-5 models (about 25 on a cold cache).
``-p ARCH=mlp -p EPOCHS=60`` gives the MLP on the 4000-sample Fashion-MNIST subset of the
issue's first table.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import sparsepriv_nb as spn  # sets OMP_WAIT_POLICY=PASSIVE before torch loads
import torch
from sparsepriv_nb import attacks as A
from sparsepriv_nb import cli
from sparsepriv_nb import experiments as E
from sparsepriv_nb import metrics as M

EXTRA_SHADOW = ("shokri-gb", "shokri-rf", "salem")
#: Rows added with their parameters: the default before issue 22's fix, for comparison.
VARIANTS = {"shokri, true_class=False (before issue 22)": ("shokri", {"true_class": False})}
ART_TYPES = ("nn", "rf", "gb")


def notebook_params(profile: str, overrides: dict) -> dict:
    """Notebook 02's parameters under ``profile`` with ``overrides`` (as the CLI resolves them)."""
    info = next(n for n in cli.find_notebooks() if n.key == "02")
    return {**info.parameters,
            **cli.resolve_parameters(info, cli.load_profile(profile), overrides)}


def target_configs(p: dict) -> dict[str, E.ExperimentConfig]:
    """The dense target and the magnitude-pruned one, configured as notebook 02 does."""
    base = E.ExperimentConfig(
        data={"name": p["DATASET"], "max_samples": p["MAX_SAMPLES"],
              "train_size": p.get("TRAIN_SIZE")},
        model={"arch": p["ARCH"]},
        train={"epochs": p["EPOCHS"], "finetune_epochs": p["FINETUNE_EPOCHS"], "lr": p["LR"]},
        attack={"names": tuple(p["ATTACKS"]), "n_shadows": p["N_SHADOWS"],
                "n_reference": p["N_REFERENCE"],
                "params": {"samia": {"epochs": p["SAMIA_EPOCHS"]}} if "samia" in p["ATTACKS"]
                else {}},
        seed=p["SEED"])
    return {"dense": base,
            f"magnitude {p['DENSITY']}": base.replace(sparsity__method="magnitude-global",
                                                      sparsity__density=p["DENSITY"])}


def check_target_outputs(cfg, out: dict, device: str) -> None:
    """The target outputs attacked here are the target model's on its members / non-members."""
    ds, pools = E.prepare_data(cfg)
    fresh = E.query(out["model"], ds.subset(pools.target_train), ds.subset(pools.target_test),
                    device=device)
    t = out["target"]
    assert torch.equal(fresh.logits.double(), t.logits.double()), "stale target outputs"
    assert torch.equal(fresh.labels, t.labels) and np.array_equal(fresh.membership,
                                                                  t.membership)


def _kw(name: str, outputs) -> dict:
    needs = A.ATTACKS.get(name).needs
    return {"sensitivity": outputs.sensitivity} if "sensitivity" in needs else {}


def package_scores(cfg, out: dict) -> dict[str, np.ndarray]:
    """Scores of the profile's attacks (and :data:`EXTRA_SHADOW`) on the target, fitted here."""
    names = list(dict.fromkeys([*cfg.attack.names, *EXTRA_SHADOW]))
    sh, tg, refs = out["shadow"], out["target"], out["references"]
    scores = {}
    for name in names:
        atk = A.make_attack(name, random_state=cfg.seed, **cfg.attack.params_of(name))
        if A.ATTACKS.get(name).kind == "shadow":
            atk.fit(sh.logits, sh.labels, sh.membership, **_kw(name, sh))
            scores[name] = atk.score_samples(tg.logits, tg.labels, **_kw(name, tg))
        elif "population" in A.ATTACKS.get(name).needs:
            atk.fit(refs.logits, refs.labels, refs.ref_in,
                    population_logits=refs.population_logits,
                    population_labels=refs.population_labels)
            scores[name] = atk.score_samples(
                tg.logits, refs.labels, target_population_logits=refs.target_population_logits)
        else:
            scores[name] = atk.fit(refs.logits, refs.labels, refs.ref_in).score_samples(
                tg.logits, refs.labels)
    for label, (name, params) in VARIANTS.items():
        atk = A.make_attack(name, random_state=cfg.seed, **params)
        scores[label] = atk.fit(sh.logits, sh.labels, sh.membership).score_samples(tg.logits,
                                                                                   tg.labels)
    return scores


def _predictions(logits: torch.Tensor, kind: str) -> np.ndarray:
    z = logits.double()
    return (torch.softmax(z, 1) if kind == "probabilities" else z).numpy()


def art_scores(out: dict, model, input_shape, seed: int) -> dict[str, np.ndarray]:
    """ART's black-box attack, each default attack model, on probabilities and on logits."""
    from art.attacks.inference.membership_inference import MembershipInferenceBlackBox
    from art.estimators.classification import PyTorchClassifier

    sh, tg = out["shadow"], out["target"]
    n_classes = sh.logits.shape[1]
    est = PyTorchClassifier(model, torch.nn.CrossEntropyLoss(), input_shape=input_shape,
                            nb_classes=n_classes)
    inside = sh.membership == 1
    y_sh, y_tg = sh.labels.numpy(), tg.labels.numpy()
    scores = {}
    for kind in ("probabilities", "logits"):
        pred_sh, pred_tg = _predictions(sh.logits, kind), _predictions(tg.logits, kind)
        mem, non = (pred_sh[inside], y_sh[inside]), (pred_sh[~inside], y_sh[~inside])
        # ART's member / non-member arrays, put back in order, are what the package is given
        joined, labels = np.empty_like(pred_sh), np.empty_like(y_sh)
        joined[inside], joined[~inside], labels[inside], labels[~inside] = mem[0], non[0], \
            mem[1], non[1]
        assert np.array_equal(joined, _predictions(sh.logits, kind)) and \
            np.array_equal(labels, sh.labels.numpy()) and len(pred_tg) == len(tg.membership)
        for model_type in ART_TYPES:
            torch.manual_seed(seed)
            np.random.seed(seed)
            atk = MembershipInferenceBlackBox(est, input_type="prediction",
                                              attack_model_type=model_type)
            atk.fit(x=None, y=mem[1], test_x=None, test_y=non[1], pred=mem[0],
                    test_pred=non[0])
            s = atk.infer(None, y_tg, pred=pred_tg, probabilities=True)
            scores[f"ART {model_type}, {kind}"] = np.asarray(s, dtype=np.float64).ravel()
    return scores


def _cell(r: dict, metric: str) -> str:
    if np.isnan(r[metric]):
        return "NaN"
    return f"{r[metric]:.3f} [{r[metric + '_lo']:.3f}, {r[metric + '_hi']:.3f}]"


def run_profile(profile: str, overrides: dict, *, n_resamples: int, device: str,
                seed: int) -> tuple[list[str], dict]:
    """``(column names, {attack: {column: cell}})`` for one profile; prints progress."""
    p = notebook_params(profile, overrides)
    columns, cells, best = [], {}, {}
    for label, cfg in target_configs(p).items():
        t0 = time.perf_counter()
        df, out = E.run_experiment(cfg, device=device, return_outputs=True, progress=False)
        t_train = time.perf_counter() - t0
        check_target_outputs(cfg, out, device)
        ds, _ = E.prepare_data(cfg)
        t1 = time.perf_counter()
        scores = {**{f"package {k}": v for k, v in package_scores(cfg, out).items()},
                  **art_scores(out, out["model"], ds.input_shape, seed)}
        m = out["target"].membership
        head = f"{profile} {p['DATASET']} {p['ARCH']}, {label}"
        col_auc, col_tpr = f"{head}: AUC", f"{head}: TPR at 1% FPR"
        columns += [col_auc, col_tpr]
        for name, s in scores.items():
            r = M.attack_metrics(s, m, n_resamples=n_resamples, random_state=seed)
            cells.setdefault(name, {}).update({col_auc: _cell(r, "auc"),
                                              col_tpr: _cell(r, "tpr_at_1pct_fpr")})
            best[(label, name)] = r["auc"]
        art = max((v, k) for (lab, k), v in best.items() if lab == label and k.startswith("ART"))
        print(f"[{head}] train/load {t_train:.0f} s, attacks {time.perf_counter() - t1:.0f} s;"
              f" accuracy train {df.train_acc.iloc[0]:.3f} / test {df.test_acc.iloc[0]:.3f};"
              f" {len(m)} target samples, {len(out['shadow'].labels)} shadow samples; "
              f"package shokri AUC {best[(label, 'package shokri')]:.3f}, best ART "
              f"{art[0]:.3f} ({art[1]})", file=sys.stderr, flush=True)
    return columns, cells


def markdown(columns: list[str], cells: dict) -> str:
    lines = ["| attack | " + " | ".join(columns) + " |",
             "|---|" + "---|" * len(columns)]
    for name, row in cells.items():
        lines.append(f"| {name} | " + " | ".join(row.get(c, "") for c in columns) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick",
                        help="comma-separated profiles (quick, standard, paper)")
    parser.add_argument("-p", dest="params", action="append", default=[],
                        metavar="NAME=VALUE", help="override a notebook 02 parameter")
    parser.add_argument("--n-resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0, help="seed of ART's fits and the CIs")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", help="also write the table to this file")
    args = parser.parse_args(argv)
    try:
        import art  # noqa: F401
    except ImportError:
        print("ART is not installed: pip install 'sparsepriv_nb[peers]' "
              "(adversarial-robustness-toolbox>=1.17).", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore", category=UserWarning)
    overrides = cli.parse_assignments(args.params)
    columns, cells = [], {}
    for profile in args.profile.split(","):
        cols, part = run_profile(profile.strip(), overrides, n_resamples=args.n_resamples,
                                 device=args.device, seed=args.seed)
        columns += cols
        for name, row in part.items():
            cells.setdefault(name, {}).update(row)
    table = markdown(columns, cells)
    print(f"spn {spn.__version__}, ART {art.__version__}\n\n{table}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
