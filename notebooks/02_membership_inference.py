# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Membership inference against dense and sparse networks
#
# A **membership inference attack** (MIA) answers: *was this sample in the training set?*
# Models behave differently on the data they were trained on (lower loss, higher confidence,
# flatter response to small input changes), and an attacker who sees the model's outputs can
# exploit that gap. This lesson builds every attack of the seed papers, measures them the way
# Carlini et al. (2022) recommend (ROC on log axes, TPR at low FPR), and compares a dense
# network with a magnitude-pruned one and a lottery ticket.
#
# **You will learn to**
# 1. state the threat model and split data into disjoint target / shadow pools;
# 2. write a loss-threshold attack by hand, then use the package's attacks: thresholds on five
#    signals (global and per class), Shokri's shadow models, Salem's top-3, SAMIA, LiRA, RMIA;
# 3. read attack metrics: balanced accuracy, AUC, TPR at 0.1 % / 1 % FPR, defense level;
# 4. see how sparsity changes the confidence and sensitivity gaps, how attacks transfer
#    between dense and sparse models, and how the number of classes matters.
#
# Seeds: Gonon et al. (000), Yuan & Zhang (002), Bagmar et al. (004).

# %% tags=["parameters"]
DATASET = "digits"
ARCH = "mlp"
MAX_SAMPLES = None
SEED = 0
EPOCHS = 30
FINETUNE_EPOCHS = 10
LR = 0.001
DENSITY = 0.25  # density of the pruned and lottery-ticket models
N_SHADOWS = 2
N_REFERENCE = 16  # LiRA / RMIA reference models (even)
SAMIA_EPOCHS = 10  # Yuan & Zhang train 100
CLASS_COUNTS = [2, 5, 10]
WIDGET_DENSITIES = [1.0, 0.5, 0.25, 0.1, 0.05]
CACHE = True  # reuse trained models from data/cache
DEVICE = "auto"
DATA_ROOT = None

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

import sparsepriv_nb as spn
from sparsepriv_nb import experiments as E

warnings.filterwarnings("ignore", category=UserWarning)
spn.train.seed_everything(SEED)
T0 = time.perf_counter()
plt.rcParams["figure.dpi"] = 80
cache = spn.experiments.default_cache() if CACHE else False

# %% [markdown]
# ## 1. Threat model and the pipeline
#
# The **target** model is trained on private data (its *members*). The **attacker** can query
# it and see its output probabilities (black box), knows the architecture and the training
# recipe, and has data from the same distribution, disjoint from the target's. Gonon et al.'s
# pipeline (their Fig. 2), which every experiment here follows:
#
# 1. split the data once into a **target pool** and a **shadow pool**, each divided 45 % train
#    (members) / 10 % validation / 45 % test (non-members), as Yuan & Zhang do;
# 2. train the target on its train split, and **shadow models** the same way on the shadow
#    pool, so the attacker knows which samples are members of *its own* models;
# 3. fit an attack on the shadow models' outputs for their members and non-members;
# 4. apply it to the target's outputs on its members and an equal number of non-members;
# 5. report metrics; compare dense and sparse targets built with the same recipe.

# %% tags=["nbval-check-output"]
base = E.ExperimentConfig(dataset=DATASET, arch=ARCH, max_samples=MAX_SAMPLES, seed=SEED,
                          epochs=EPOCHS, finetune_epochs=FINETUNE_EPOCHS, lr=LR, n_shadows=N_SHADOWS,
                          n_reference=N_REFERENCE, samia_epochs=SAMIA_EPOCHS)
ds, pools = E.prepare_data(base, root=DATA_ROOT)
pools.check_disjoint()  # raises if any sample is in two pools
print({name: len(idx) for name, idx in pools.as_dict().items()})

# %% [markdown]
# ## 2. A dense target and a shadow, and the loss-threshold attack by hand
#
# Yeom et al.'s attack: members have lower loss, so predict *member* when
# $\ell(x, y) = -\log p_y(x) \le \tau$. The attacker picks $\tau$ on its shadow model, where it
# knows who is a member: the $\tau$ that maximises balanced accuracy $\frac{1}{2}(TPR + TNR)$.

# %%
target_members = ds.subset(pools.target_train)
target_nonmembers = ds.subset(pools.target_test)
shadow_members = ds.subset(pools.shadow_train)
shadow_nonmembers = ds.subset(pools.shadow_test)
fit_args = dict(input_shape=ds.input_shape, num_classes=ds.num_classes, cache=cache,
                device=DEVICE)
target = E.train_model(base, target_members, role="target", seed=SEED, **fit_args)
shadow = E.train_model(base, shadow_members, role="shadow0", seed=SEED + 1000, **fit_args)
for name, model, (mem, non) in (("target", target, (target_members, target_nonmembers)),
                                ("shadow", shadow, (shadow_members, shadow_nonmembers))):
    acc_in = spn.train.evaluate(model, mem)["accuracy"]
    acc_out = spn.train.evaluate(model, non)["accuracy"]
    print(f"{name}: train accuracy {acc_in:.3f}, test accuracy {acc_out:.3f}, gap {acc_in - acc_out:.3f}")


# %%
def losses(model, X, y):
    with torch.no_grad():
        return F.cross_entropy(model.eval()(X), y, reduction="none").numpy()


shadow_loss = np.r_[losses(shadow, *shadow_members), losses(shadow, *shadow_nonmembers)]
shadow_is_member = np.r_[np.ones(len(shadow_members[1])), np.zeros(len(shadow_nonmembers[1]))]
best_tau, best_bacc = None, 0.0
for tau in np.unique(shadow_loss):  # every observed loss is a candidate threshold
    pred = shadow_loss <= tau
    bacc = 0.5 * (pred[shadow_is_member == 1].mean() + (~pred[shadow_is_member == 0]).mean())
    if bacc > best_bacc:
        best_tau, best_bacc = tau, bacc
target_loss = np.r_[losses(target, *target_members), losses(target, *target_nonmembers)]
membership = np.r_[np.ones(len(target_members[1])), np.zeros(len(target_nonmembers[1]))]
pred = target_loss <= best_tau
by_hand_bacc = 0.5 * (pred[membership == 1].mean() + (~pred[membership == 0]).mean())
print(f"threshold {best_tau:.4f} (shadow balanced accuracy {best_bacc:.3f}); "
      f"on the target: balanced accuracy {by_hand_bacc:.3f}")

# %% [markdown]
# The package's `ThresholdAttack("loss")` orients every signal as a *membership score*
# (higher = member: here $-\ell$) and fits the threshold from scikit-learn's ROC. Same attack?

# %%
s_out = E.query(shadow, shadow_members, shadow_nonmembers)
t_out = E.query(target, target_members, target_nonmembers)
attack = spn.attacks.ThresholdAttack("loss").fit(s_out.logits, s_out.labels, s_out.membership)
print("same threshold:", np.isclose(-attack.threshold_, best_tau, rtol=1e-5))
print("same predictions:", np.array_equal(attack.predict(t_out.logits, t_out.labels), pred.astype(int)))
metrics = spn.metrics.attack_metrics(attack.score_samples(t_out.logits, t_out.labels),
                                     t_out.membership, threshold=attack.threshold_)
print("same balanced accuracy:", np.isclose(metrics["balanced_accuracy"], by_hand_bacc))

# %% [markdown]
# ## 3. Every attack, on dense, pruned and lottery-ticket targets
#
# * **Threshold attacks** (Song & Mittal) on loss, confidence $p_y$, entropy, modified entropy
#   and LiRA's logit-scaled confidence $\phi = \log p_y - \log\sum_{i\ne y}p_i$, with a global
#   threshold or one per class.
# * **Shokri et al.**: an MLP (scikit-learn, as in Bagmar et al.) per class on the shadows'
#   sorted (log-)probabilities; `shokri-label`: one MLP with the label as input; `shokri-rf`:
#   a random forest. **Salem et al.**: top-3 probabilities, one shadow suffices.
# * **SAMIA** (Yuan & Zhang): a transformer over per-class tokens (probability, *prediction
#   sensitivity* $s_c(x) = \frac1m\sum_j |p_c(x+\epsilon u_j)-p_c(x)|/\epsilon$, one-hot label).
# * **LiRA** (Carlini et al.): `N_REFERENCE` reference models, each sample IN for half of them;
#   Gaussian likelihood ratio of $\phi$ (online), or OUT-only tail (offline).
# * **RMIA** (Zarifzadeh et al.): pairwise likelihood ratios against population samples.
#
# Attack thresholds are fitted on the shadow models (or fixed for LiRA/RMIA), never on the
# target, so balanced accuracy is honest; AUC and TPR@FPR do not need a threshold.

# %%
ALL_ATTACKS = tuple(E.ATTACKS) + tuple(E.REFERENCE_ATTACKS)
configs = {
    "dense": base.replace(attacks=ALL_ATTACKS),
    "magnitude": base.replace(method="magnitude-global", density=DENSITY, attacks=ALL_ATTACKS),
    "lottery ticket": base.replace(method="lottery", density=DENSITY, attacks=ALL_ATTACKS),
}
results, outputs = {}, {}
for name, cfg in configs.items():
    results[name], outputs[name] = E.run_experiment(cfg, cache=cache, device=DEVICE, root=DATA_ROOT,
                                                    return_outputs=True)
table = pd.concat(results, names=["target"]).reset_index(level=0)
table.pivot_table(index="attack", columns="target", values=["auc", "tpr@1%fpr"]).round(3)

# %%
table.groupby("target")[["density_achieved", "train_acc", "test_acc", "gen_gap"]].first().round(3)

# %% [markdown]
# The full tidy table has one row per (model, attack) with every metric; `defense_level` is
# this project's $1 - \text{advantage} = 2(1 - \text{balanced accuracy})$ (1 = chance).
#
# **Sanity checks** (ranges, since numbers vary with the seed): the dense model leaks, and
# LiRA is at least as strong as the loss threshold where it matters, at low FPR.

# %%
dense_auc = results["dense"].set_index("attack").auc
assert dense_auc["loss"] > 0.5 and dense_auc["lira"] > 0.55
assert (table.auc > 0.3).all() and (table.auc < 1.0).all()

# %% [markdown]
# ## 4. ROC curves on log-log axes
#
# An attack that is right about a *few* members with near-certainty is dangerous even when its
# AUC is modest; the log scale shows the low-FPR corner (Carlini et al.).

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 5))
for ax, name in zip(axes, configs):
    membership = outputs[name]["target"].membership
    shown = ("loss", "modified_entropy-per-class", "shokri", "salem", "samia", "lira", "rmia")
    spn.plots.plot_roc({a: (outputs[name]["scores"][a], membership) for a in shown}, ax=ax,
                       title=name)

# %% [markdown]
# ## 5. Confidence and sensitivity gaps (Yuan & Zhang, Fig. 1)
#
# Members get higher confidence and *lower* prediction sensitivity. Yuan & Zhang found that
# pruning can widen these gaps; look at the mean gap in each title.

# %%
for name in configs:
    out = outputs[name]["target"]
    sens = spn.signals.sensitivity(outputs[name]["model"], torch.cat([target_members[0], target_nonmembers[0]]),
                                   generator=torch.Generator().manual_seed(SEED))
    fig = spn.plots.plot_member_histograms(
        {"true-class confidence": spn.signals.confidence(out.logits, out.labels),
         "mean prediction sensitivity": sens.mean(1)}, out.membership, title=name)

# %% [markdown]
# ## 6. Do attacks transfer between dense and sparse models? (Bagmar et al.)
#
# Fit the attack on the shadows of one kind of model, apply it to targets of every kind.
# Rows: the model family the attacker trained on; columns: the attacked model. The cells hold
# balanced accuracy at the threshold fitted on the row's shadows: it is the threshold (or the
# classifier) that has to transfer.

# %%
pairs = {name: (outputs[name]["shadow"], outputs[name]["target"]) for name in configs}
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for ax, attack_name in zip(axes, ("shokri", "loss")):
    transfer = E.attack_transfer(pairs, attack_name, cfg=base)
    spn.plots.plot_heatmap(transfer, ax=ax, title=f"{attack_name}: balanced accuracy")
transfer.round(3)

# %% [markdown]
# ## 7. Attack success vs number of classes (Bagmar et al.)
#
# With more classes each one has fewer training samples, the model overfits more and the
# output vector carries more information: attacks get easier.

# %%
class_configs = [base.replace(n_classes=c, attacks=("loss", "shokri", "salem")) for c in CLASS_COUNTS]
by_classes = E.run_sweep(class_configs, cache=cache, device=DEVICE, root=DATA_ROOT, progress=False)
fig, ax = plt.subplots(figsize=(5, 3.5))
for attack_name, grp in by_classes.groupby("attack"):
    ax.plot(grp.n_classes, grp.auc, marker="o", label=attack_name)
ax.set_xlabel("number of classes")
ax.set_ylabel("attack AUC")
ax.legend()
by_classes.pivot_table(index="n_classes", columns="attack", values="auc").round(3)

# %% [markdown]
# ## 8. Explore: choose a sparsity level
#
# For each density we train (or load) a magnitude-pruned target and shadows, then precompute
# the attack scores: moving the slider only draws. `spn.widgets.mia_view` is the same pure
# function, called once here without the widget.

# %%
views = {}
for d in WIDGET_DENSITIES:
    cfg = base.replace(method="dense" if d == 1.0 else "magnitude-global", density=d,
                       attacks=("loss", "salem"))
    _, o = E.run_experiment(cfg, cache=cache, device=DEVICE, root=DATA_ROOT, return_outputs=True)
    # same members / non-members, in the same order, as the experiment's scores; add sensitivity
    t = E.query(o["model"], target_members, target_nonmembers, with_sensitivity=True, seed=SEED)
    views[d] = {"outputs": t, "scores": o["scores"]}
view = spn.widgets.mia_view(views, DENSITY)
print({k: round(v, 3) for k, v in view["auc"].items()})

# %%
spn.widgets.mia_explorer(views)

# %% [markdown]
# ## Summary
#
# * Every attack fits on shadow (or reference) models and is scored on balanced members and
#   non-members of the target; report AUC **and** TPR at low FPR.
# * Reference-model attacks (LiRA, RMIA) are the strongest at low FPR; simple thresholds get
#   most of the AUC on small, overfit models.
# * Whether sparsity helps depends on the method and the density, and sparse models are often
#   less accurate too: notebook 03 separates the two effects.
#
# **Exercises**
# 1. Raise `N_SHADOWS` to 8: which shadow-model attacks improve?
# 2. Compare `lira` and `lira-per-sample` with `N_REFERENCE = 4` and `= 32`.
# 3. Run the standard profile: `sparsepriv-nb run --profile standard --only 02`.

# %%
print(f"notebook time: {time.perf_counter() - T0:.0f} s")
