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
# # 03 · Is it sparsity, or accuracy? Confounding in sparse-network privacy
#
# Gonon et al. (seed paper 000) report that sparser networks are *less attackable* than dense
# ones, as a correlation (Yuan & Zhang, seed paper 002, report pruning settings where leakage
# grows instead: notebook 02). Sparser networks
# are also often *less accurate*. A model that has learnt less about its training set has less to leak, so a plain
# dense-vs-sparse comparison cannot tell whether sparsity itself protects the data or whether
# any way of losing the same accuracy would do as well. Gonon et al. put it this
# way in their abstract:
#
# > "The experiments show positive correlations between the sparsity of the model, its
# > privacy, and its classification error. Simply comparing the privacy of two models with
# > different sparsity levels can yield misleading conclusions on the role of sparsity,
# > because of the additional correlation with the classification error."
#
# This lesson runs a sweep over sparsity method × density × seed, reproduces their Fig. 1
# view, and then asks the question three ways: partial correlation, regression with accuracy
# as a covariate, and a direct experiment (dense models made as inaccurate as the sparse ones
# *without* sparsity: fewer epochs (`LOWERED_EPOCHS`) or, for the MLP, narrower layers
# (`NARROW_HIDDEN`); the sweep prints which this run used). The first two are
# statistical control; the third compares models directly.
#
# **You will learn to**
# 1. see on a toy example, where the truth is known, how a third variable creates a spurious
#    correlation and how partial correlation and regression remove it;
# 2. run a cached, resumable sweep with `run_sweep` and read its tidy records;
# 3. draw accuracy vs defense level with seed variance (Gonon et al.'s Fig. 1);
# 4. compute correlations, partial correlations and regression coefficients with intervals;
# 5. compare sparse and dense models *at matched accuracy* and state, from the numbers,
#    whether the sparsity effect survives, shrinks or vanishes.
#
# Hypotheses (to check, not to assume): H1, lower density goes with higher test error and
# lower attack success; H2, once accuracy is controlled for, the association between density
# and attack success shrinks.

# %% tags=["parameters"]
DATASET = "fashion-small"  # 4000 Fashion-MNIST images shipped with the package
ARCH = "mlp"
MAX_SAMPLES = None
TRAIN_SIZE = 500  # members per model (and as many non-members): small enough to overfit
HIDDEN = [128]  # MLP hidden widths (ignored for other architectures)
SEEDS = [0, 1, 2]
EPOCHS = 40
FINETUNE_EPOCHS = 5
LR = 0.003
BATCH_SIZE = 64
METHODS = ["magnitude", "magnitude-global", "random", "imp"]
DENSITIES = [0.1, 0.02]
IMP_DENSITIES = [0.125]  # IMP / lottery: reachable densities 0.5^n (None: DENSITIES, rounded)
BUTTERFLY_FACTORS = [2, 4]  # butterfly sets its density by the number of factors per layer
LOWERED_EPOCHS = [1, 2, 4, 8]  # dense models trained for fewer epochs...
NARROW_HIDDEN = []  # ...or made narrower (MLP only): accuracy lowered without sparsity
ATTACKS = ["lira-offline"]
ATTACK_PARAMS = {"shokri": {"classifier": "logistic", "tune": False}}  # when ATTACKS has it
N_SHADOWS = 1  # shadow models of shadow-kind attacks (loss, shokri, ...)
N_REFERENCE = 4  # reference models of LiRA / RMIA, per model
MAIN_ATTACK = "lira-offline"  # the attack the detailed analysis uses
N_JOBS = 1  # parallel workers for the sweep
BACKEND = None  # None, "loky" or "dask"
SCHEDULER = None  # address of a running Dask scheduler (with the dask backend)
RESULTS_CSV = "03_sweep_results.csv"
CACHE = True  # reuse trained models and finished experiments from data/cache
DEVICE = "auto"
DATA_ROOT = None
# %%
import functools
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

import sparsepriv_nb as spn
from sparsepriv_nb import analysis as AN
from sparsepriv_nb import experiments as E
from sparsepriv_nb import plots_sweep as PS

lesson = spn.lesson.setup(seed=SEEDS[0], cache=CACHE, display_width=120)
cache = lesson.cache  # the experiment cache under data/cache, or False

# %% [markdown]
# ## 1. Confounding on a toy example, where the answer is known
#
# `simulate_confounding` draws a hidden variable $z$ (read it as test accuracy) that drives
# both $x$ (read: density) and $y$ (read: attack success). With `direct_effect=0`, $x$ has
# **no** effect on $y$ once $z$ is fixed, yet $x$ and $y$ are correlated. The **partial
# correlation** of $x$ and $y$ given $z$ correlates what is left of each after regressing it on
# $z$; here it should be near 0. With a real direct effect it should stay away from 0.

# %% tags=["nbval-check-output"]
rows = []
for direct in (0.0, 0.4):
    toy = AN.simulate_confounding(300, direct_effect=direct, seed=SEEDS[0])
    for covs in ([], ["z"]):
        pc = AN.partial_correlation(toy, "x", "y", covs)
        rows.append({"true direct effect": direct, "controlled for": ", ".join(covs) or "nothing",
                     "r": pc["r"], "95% CI": f"[{pc['lo']:+.2f}, {pc['hi']:+.2f}]", "p": pc["p"]})
toy_table = pd.DataFrame(rows)
toy_table.round(3)

# %%
spurious = toy_table[(toy_table["true direct effect"] == 0.0)]
real = toy_table[(toy_table["true direct effect"] == 0.4)]
assert spurious.r.iloc[0] > 0.3 and abs(spurious.r.iloc[1]) < 0.15  # spurious, then removed
assert real.r.iloc[1] > 0.2  # a real effect survives control
toy = AN.simulate_confounding(300, direct_effect=0.0, seed=SEEDS[0])
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
fig.colorbar(axes[0].scatter(toy.x, toy.y, c=toy.z, cmap="viridis", s=10), ax=axes[0], label="z")
axes[0].set(xlabel="x", ylabel="y", title="raw: x and y look related (colour = z)")
rx = sm.OLS(toy.x, sm.add_constant(toy.z)).fit().resid
ry = sm.OLS(toy.y, sm.add_constant(toy.z)).fit().resid
r_by_hand = np.corrcoef(rx, ry)[0, 1]  # the partial correlation, by hand
assert np.isclose(r_by_hand, spurious.r.iloc[1]), "by hand != AN.partial_correlation"
axes[1].scatter(rx, ry, s=10, color="0.4")
axes[1].set(xlabel="x | z (residual)", ylabel="y | z (residual)",
            title=f"after removing z: r = {r_by_hand:+.2f} (= package)")
plt.tight_layout()

# %% [markdown]
# The regression view says the same: in `y ~ x + z` the coefficient of `x` is the effect of
# `x` at fixed `z`. A caution that matters below: statistics cannot tell a *confounder*
# (z causes x and y) from a *mediator* (x causes z, which causes y). For sparsity, accuracy is
# plausibly a mediator: pruning lowers accuracy, which lowers leakage. "Controlling for
# accuracy" then asks a precise question: *does sparsity protect more than any other way of
# losing the same accuracy?* The accuracy-matched experiment of section 6 asks it directly.

# %%
toy_seeded = toy.assign(seed=np.arange(len(toy)) % 10)
AN.regress(toy_seeded, "y ~ x + z", cluster="seed").round(3)

# %% [markdown]
# ## 2. The sweep
#
# Every point is one experiment of notebook 02's pipeline: sparsity methods × densities ×
# seeds, a dense model per seed, and dense models whose accuracy is **lowered without
# sparsity** (trained for fewer epochs, or, for the MLP, with narrower hidden layers). The
# attack is offline LiRA (Carlini et al.): `N_REFERENCE` reference models per target, each
# trained *exactly like the target* (same architecture, epochs and sparsity schedule: the
# attacker knows the recipe, pruning included) on a random half of the attacked samples; a
# sample's score is how far the target's confidence on it lies above what the reference
# models that did not train on it give. `run_sweep` caches every finished experiment, so a
# killed run restarted loses nothing and a rerun only loads.
# `BACKEND = "dask"` with `SCHEDULER = "tcp://…"` sends the same grid to a Dask cluster.
#
# The defaults are chosen so that the dense targets overfit as the seed papers' do (the next
# section checks it): 500 members per model from the package's embedded 4000-image
# Fashion-MNIST subset, an MLP trained 40 epochs at a learning rate of 0.003. Every model
# trains for a fixed number of epochs (no early stopping). Cost, measured with
# `benchmarks/sweep03_costs.py` (one experiment of each kind, one core): a dense experiment
# with its reference models about 4 s, a one-shot pruned one 0.7 s, IMP to 1/8 density
# 1.7 s, an accuracy-lowered dense one 0.3 s; this grid's about 30 s. Butterfly sparsity
# (`"butterfly"` in `METHODS`) pads the MLP's 784 inputs to a 1024 × 1024 butterfly, about
# 25 s per model on a CPU, so only the paper profile (LeNet-5, GPU) runs it.
#
# IMP prunes half of the surviving weights per round, so it reaches only densities $0.5^n$
# (`IMP_DENSITIES`, each rounded to the nearest reachable one). The analysis uses the
# *achieved* density of every model (`density_achieved`), never the requested one.

# %%
is_mlp = ARCH == "mlp"
base = E.ExperimentConfig(
    data={"name": DATASET, "max_samples": MAX_SAMPLES, "train_size": TRAIN_SIZE},
    model={"arch": ARCH, "params": {"hidden": tuple(HIDDEN)} if is_mlp else {}},
    train={"epochs": EPOCHS, "finetune_epochs": FINETUNE_EPOCHS, "lr": LR,
           "batch_size": BATCH_SIZE},
    attack={"names": tuple(ATTACKS), "params": ATTACK_PARAMS, "n_shadows": N_SHADOWS,
            "n_reference": N_REFERENCE},
    seed=SEEDS[0])

# %% tags=["nbval-check-output"]
iterative = [m for m in METHODS if m in ("imp", "lottery")]
one_shot = [m for m in METHODS if m not in ("butterfly", *iterative)]
imp_amount = base.sparsity.options.get("imp_amount", 0.5)
imp_densities = sorted({(1 - imp_amount) ** spn.sparsity.imp_rounds(d, imp_amount)
                        for d in (IMP_DENSITIES or DENSITIES)}, reverse=True)
configs = E.make_grid(base, sparsity__method=one_shot, sparsity__density=DENSITIES, seed=SEEDS)
if iterative:
    configs += E.make_grid(base, sparsity__method=iterative, sparsity__density=imp_densities,
                           seed=SEEDS)
if "butterfly" in METHODS:
    configs += E.make_grid(base, sparsity__method=["butterfly"],
                           sparsity__butterfly_factors=BUTTERFLY_FACTORS, seed=SEEDS)
configs += E.make_grid(base, seed=SEEDS)  # the dense baseline
configs += E.make_grid(base, train__epochs=LOWERED_EPOCHS, seed=SEEDS)
if is_mlp and NARROW_HIDDEN:
    configs += E.make_grid(base, model__hidden=[tuple(h) for h in NARROW_HIDDEN], seed=SEEDS)
print(f"{len(configs)} experiments ({len(SEEDS)} seeds), attacks {ATTACKS}")
narrow = ("; hidden " + ", ".join(str(tuple(h)) for h in NARROW_HIDDEN) if is_mlp and NARROW_HIDDEN
          else " (no narrower models in this run)")
print(f"accuracy lowered by: epochs {', '.join(map(str, LOWERED_EPOCHS)) or 'none'}{narrow}")

# %%
t_sweep = time.perf_counter()
records = E.run_sweep(configs, n_jobs=N_JOBS, backend=BACKEND, scheduler=SCHEDULER, cache=cache,
                      device=DEVICE, root=DATA_ROOT, progress=False)
print(f"sweep: {len(records)} rows, {int(records.from_cache.sum())} from the cache, "
      f"{time.perf_counter() - t_sweep:.0f} s")

# %% [markdown]
# Each row is one (model, attack), with the model's train and test accuracy, its
# generalisation gap `gen_gap` (train minus test accuracy) and the attack's metrics. We add a
# few columns the analysis needs: the test error,
# $\log_{10}$ of the achieved density (densities span two orders of magnitude, and the
# effects are closer to linear on a log scale), and a `family` that tells the sparse models,
# the full dense models and the accuracy-lowered dense models apart.

# %%
full_hidden = str(tuple(HIDDEN)) if is_mlp else "default"
hidden = (records["model_hidden"].map(lambda h: str(tuple(h)) if isinstance(h, (list, tuple))
                                      else "default")
          if "model_hidden" in records else pd.Series("default", index=records.index))
lowered = (records.sparsity_method == "dense") & (
    (records.train_epochs != EPOCHS) | (hidden != full_hidden))
records["family"] = np.where(records.sparsity_method != "dense", "sparse",
                             np.where(lowered, "dense (lowered)", "dense (full)"))
records["method"] = np.where(lowered, "dense (lowered)", records.sparsity_method)
records["config"] = np.select(
    [records.family == "sparse", records.family == "dense (full)"],
    [records.model + " f=" + records.sparsity_butterfly_factors.astype(str)
     .where(records.sparsity_method == "butterfly", ""),
     "dense"],
    "dense " + records.train_epochs.astype(str) + " ep, hidden " + hidden)
records["config"] = records.config.str.replace(" f=$", "", regex=True)
records["test_error"] = 1 - records.test_acc
records["log_density"] = np.log10(records.density_achieved)
results_path = Path(RESULTS_CSV)
records.drop(columns=["from_cache"]).to_csv(results_path, index=False)
print(f"tidy results ({len(records)} rows x {records.shape[1]} columns) written to "
      f"{results_path} (in this notebook's working folder)")

# %%
models = records[records.attack == MAIN_ATTACK]
summary = (models.groupby(["family", "method"])
           .agg(models=("seed", "size"), density_min=("density_achieved", "min"),
                test_acc_min=("test_acc", "min"), test_acc_max=("test_acc", "max")))
summary.round(3)

# %% [markdown]
# Sanity checks (ranges, since numbers vary with the seed): the achieved density of the
# one-shot methods and IMP is the requested one, the dense models learn, every attack's AUC is
# a valid number, and the least accurate accuracy-lowered dense model is below the median
# sparse model (otherwise section 6 has nothing to match).
#
# Then the question every later number depends on: **do the dense targets leak as the seed
# papers' do?** Those papers attack models that fit their training set (train accuracy near
# 1) and generalise visibly worse (gaps of 0.1 to 0.4). An attack can only find what a model
# memorised, so a target that barely leaks leaves sparsity nothing to remove and every
# comparison below null. The criteria: train accuracy at least 0.99, a generalisation gap of
# at least 0.10, and the strongest attack's AUC interval above 0.65
# (`spn.analysis.REGIME`). Accuracies carry Wilson intervals over the `n` members
# (non-members), the gap a normal interval, the AUC its bootstrap interval.

# %%
pruned_rows = models[models.sparsity_method.isin(one_shot + iterative)]
assert np.allclose(pruned_rows.density_achieved, pruned_rows.sparsity_density, rtol=0.05,
                   atol=1e-3)
assert (models[models.family == "dense (full)"].test_acc > 0.5).all()  # 10 classes: chance 0.1
assert records.auc.between(0.2, 1.0).all()
assert models[models.family == "dense (lowered)"].test_acc.min() < \
    models[models.family == "sparse"].test_acc.median()

# %%
regime = AN.leakage_regime(records[records.family == "dense (full)"])
for r in regime.itertuples():
    print(f"seed {r.seed}: train accuracy {r.train_acc:.3f} [{r.train_acc_lo:.3f}, "
          f"{r.train_acc_hi:.3f}], test {r.test_acc:.3f} [{r.test_acc_lo:.3f}, {r.test_acc_hi:.3f}], gap {r.gen_gap:.3f} "
          f"[{r.gen_gap_lo:.3f}, {r.gen_gap_hi:.3f}], strongest attack {r.attack} AUC "
          f"{r.auc:.3f} [{r.auc_lo:.3f}, {r.auc_hi:.3f}] (n = {r.n_members} members)")
n_leak = int(regime.leaks.sum())
print(f"Verdict: {n_leak} of {len(regime)} dense targets are in the seed papers' regime "
      f"(train accuracy >= {AN.REGIME['train_acc']}, gap >= {AN.REGIME['gen_gap']}, AUC lower "
      f"bound > {AN.REGIME['auc_lo']}): " + ("the regime leaks." if n_leak == len(regime) else
      "the regime leaks on most seeds." if 2 * n_leak > len(regime) else
      "the regime does not leak enough; read every null below in that light."))

# %% [markdown]
# ## 3. Gonon et al.'s Fig. 1: accuracy vs defense level
#
# One point per configuration: the mean over seeds, with ± 1 sd bars in both directions
# (seed variance: how much a retrained model moves). Colour = achieved density (log scale),
# marker = method; the accuracy-lowered dense models are there too. **Defense level** is this
# project's $1 - \text{advantage} = 2(1 - \text{balanced accuracy})$ at the attack's decision
# threshold (for offline LiRA a fixed one, the tail probability 1/2): 1 means the attack does
# no better than chance. Gonon et al.'s exact formula is not published (docs/methods.md,
# "Unknowns"). The other two panels show the AUC and the TPR at 1 % FPR of the same attack.

# %% tags=["headline"]
fig, axes = plt.subplots(1, 3, figsize=(18, 5))
for ax, metric in zip(axes, ("defense_level", "auc", "tpr_at_1pct_fpr")):
    PS.plot_accuracy_vs_defense(models, y=metric, by=["config"], ax=ax,
                                colorbar=metric == "tpr_at_1pct_fpr",
                                legend=metric == "defense_level")
    ax.axhline({"defense_level": 1.0, "auc": 0.5, "tpr_at_1pct_fpr": 0.01}[metric], color="grey",
               ls=":", zorder=0)  # what an attack that guesses at random scores
    name = {"defense_level": "defense level (1 - advantage)", "auc": "AUC",
            "tpr_at_1pct_fpr": "TPR at 1 % FPR"}[metric]
    ax.set(ylabel=f"{MAIN_ATTACK} {name}", title=f"{MAIN_ATTACK}: {name} (dotted: chance)",
           xlabel="test accuracy (mean ± sd over seeds)")
plt.tight_layout()

# %% [markdown]
# ## 4. H1: does attack success fall with density?
#
# Over the sparsity sweep (sparse models and the full dense models; the accuracy-lowered ones
# are kept for section 6 and one refit in section 5), one row per model. Models of one seed share their data pools and
# their dense starting point, so they are not independent: **the statistic that answers H1 is
# the seed-clustered regression** of the outcome on $\log_{10}$ density (errors clustered by
# seed, a t reference on $G - 1$ degrees of freedom for $G$ seeds). Its slope is the change
# per tenfold increase in density. A slope is *detectable* when its 95 % interval excludes 0;
# a null states its **minimum detectable slope** (MDE): the true slope this run would detect
# with probability 0.8, $(t_{0.975, G-1} + t_{0.8, G-1}) \times SE$ (`spn.power.seed_mde`).
#
# The paper's direction: test error rises as density falls (a *negative* slope of error on
# log density), and attack success falls as density falls (a *positive* slope of AUC).

# %%
G = models.seed.nunique()
sweep = models[models.family != "dense (lowered)"]
fits = {"error": "test_error ~ log_density", "raw": "auc ~ log_density",
        "+ test accuracy": "auc ~ log_density + test_acc",
        "+ generalisation gap": "auc ~ log_density + gen_gap"}
coefs = pd.concat([AN.regress(sweep, f, cluster="seed").assign(model=name)
                   for name, f in fits.items()], ignore_index=True)
coefs[["model", "term", "coef", "se", "lo", "hi", "p", "n", "n_groups"]].round(4)


# %%
slope = functools.partial(AN.coef_with_mde, coefs, n_groups=G)  # (estimate, lo, hi, MDE)


def slope_sentence(name, what, paper_sign, unit="per tenfold density"):
    est, lo, hi, mde = slope(name)
    v = spn.power.verdict_with_power(est, lo, hi, mde, higher="positive slope",
                                     lower="negative slope", digits=4)
    side = "the paper's direction" if np.sign(est) == paper_sign else "against the paper"
    return v, f"{what}: slope {est:+.4f} [{lo:+.4f}, {hi:+.4f}] {unit}: " + (
        f"{v['verdict']} ({side})" if v["detected"] else v["sentence"])


h1_error, text = slope_sentence("error", "test error on log density", -1)
print(f"Verdict: H1 (accuracy), {text}")
h1_attack, text = slope_sentence("raw", f"{MAIN_ATTACK} AUC on log density", +1)
print(f"Verdict: H1 (attack), {text}")

# %% [markdown]
# **Does the slope rest on the sparsest density?** A straight line in $\log_{10}$ density is
# one summary; the means per density show whether the outcome changes steadily or in one step.
# The slopes are refitted without the sparsest density: if a slope is detectable only with it,
# H1 rests on those few models.

# %%
used = sorted(sweep.density_achieved.round(3).unique(), reverse=True)
sparsest_d, is_sparsest = used[-1], sweep.density_achieved.round(3) == used[-1]
by_density = (sweep.groupby(sweep.density_achieved.round(3).rename("density"))
              .agg(models=("seed", "size"), test_acc=("test_acc", "mean"),
                   test_error=("test_error", "mean"), auc=("auc", "mean"))
              .sort_index(ascending=False))
h1_without = {name: AN.slope_variants(sweep, fits[name], {
    "all densities": None, f"without density {sparsest_d:g}": ~is_sparsest.to_numpy()})
    for name in ("error", "raw")}
for name, what in (("error", "accuracy"), ("raw", "attack")):
    full, rest = h1_without[name].itertuples(index=False)
    nums = (f"{rest.coef:+.4f} [{rest.lo:+.4f}, {rest.hi:+.4f}] per tenfold density over the "
            f"{rest.n_models} models at densities {used[-2]:g} to 1")
    print(f"Verdict: H1 ({what}) " + (
        f"rests on density {sparsest_d:g} alone: without its {int(is_sparsest.sum())} models the "
        f"slope is {nums}, not detectable (this run could detect |slope| >= {rest.mde:.4f})."
        if full.detected and not rest.detected else
        f"does not rest on density {sparsest_d:g} alone: without it the slope is {nums}, still "
        "detectable." if full.detected else
        f"is not detectable even with density {sparsest_d:g}; without it the slope is {nums}."))
error_at_1 = coefs.query("model == 'error' and term == 'Intercept'").coef.iloc[0]
print(f"The straight line of test error predicts {error_at_1:.3f} at density 1; the dense models' "
      f"mean is {by_density.test_error.iloc[0]:.3f} (means per density below).")
by_density.round(3)

# %% [markdown]
# **The naive correlation, as a contrast.** A Pearson correlation with a Fisher z interval,
# like a plain OLS slope, treats every model as an independent draw. The models of a seed share
# data; the clustered slope's interval uses the seeds as the units instead. Which interval is
# wider depends on the run: clustering widens it when the seeds disagree and can narrow it when
# they agree closely, and with few seeds the clustered standard error is itself imprecise. The
# cell prints the plain and the clustered slope side by side.

# %%
corr = AN.correlations(sweep, ["log_density", "test_error", "gen_gap", "auc"])
naive = corr[(corr.x == "log_density") & (corr.y == "auc")].iloc[0]
per_seed = AN.seed_slopes(sweep, "auc ~ log_density", "log_density")
t_crit = stats.t.ppf(0.975, G - 1)
print(f"naive: corr(log density, AUC) = {naive.r:+.2f} [{naive.lo:+.2f}, {naive.hi:+.2f}] over "
      f"n = {naive.n} models taken as independent (normal critical value 1.96); the clustered "
      f"slope uses {G} seeds as units (t critical value {t_crit:.2f} with {G - 1} df), and the "
      f"per-seed slopes range from {per_seed.min():+.4f} to {per_seed.max():+.4f}, so the "
      + ("two agree in sign and detectability here."
         if (naive.lo > 0 or naive.hi < 0) == h1_attack["detected"] else
         "correlation can look detectable where the seed-level evidence is not."))
ols = AN.regress(sweep, fits["raw"], cluster=None).set_index("term").loc["log_density"]
clu = coefs.query("model == 'raw' and term == 'log_density'").iloc[0]
wider = "clustered" if clu.hi - clu.lo > ols.hi - ols.lo else "plain OLS"
print(f"slope of AUC on log density: plain OLS {ols.coef:+.4f} [{ols.lo:+.4f}, {ols.hi:+.4f}] "
      f"(SE {ols.se:.4f}, models as independent), seed-clustered {clu.coef:+.4f} [{clu.lo:+.4f}, "
      f"{clu.hi:+.4f}] (SE {clu.se:.4f}): the {wider} interval is wider ("
      + ("the per-seed slopes agree closely, so clustering narrows it; with "
         f"{G} clusters the clustered SE is itself imprecise)." if wider == "plain OLS" else
         "the seeds disagree more than the models within a seed)."))
corr.round(3)

# %% [markdown]
# ## 5. H2: does the association shrink once accuracy is controlled?
#
# Add test accuracy as a covariate: the coefficient of `log_density` in
# `auc ~ log_density + test_acc` is the association at fixed accuracy. H2 is about the
# *change*, so its statistic is the **shrink**: the raw slope minus the controlled one,
# computed within each seed (one regression per seed) and averaged, with a t-interval over
# seeds and its MDE from their spread. With the paper's positive raw slope, a positive shrink
# means control moved the slope towards 0. (The shrink is a mean of per-seed differences, so
# it need not equal the pooled clustered slopes' difference; the cell prints both.) Verdict
# words, used here:
#
# * **shrinks**: the shrink's interval lies above 0 (control removed part of the association);
# * **grows**: it lies below 0 (the association is stronger at fixed accuracy);
# * otherwise **no detectable difference**, with the smallest shrink this run could detect.

# %%
fig = PS.plot_coefficients(coefs[coefs.model != "error"], terms=["log_density"],
                           title=f"{MAIN_ATTACK} AUC: slope on log10 density, raw and controlled")
_ = fig.axes[0].set_xlabel("AUC per tenfold density (95 % interval, clustered by seed)")
# the covariates' own coefficients (AUC per unit accuracy, per unit gap) are in the table above

# %%
controlled = AN.seed_slopes(sweep, "auc ~ log_density + test_acc", "log_density")
shrink = per_seed - controlled
h2 = {"estimate": shrink.mean(), "sd": shrink.std(ddof=1)}
h2["lo"], h2["hi"] = stats.t.interval(0.95, G - 1, loc=h2["estimate"], scale=h2["sd"] / np.sqrt(G))
h2["mde"] = spn.power.seed_mde(h2["sd"], G)
h2_v = spn.power.verdict_with_power(h2["estimate"], h2["lo"], h2["hi"], h2["mde"],
                                    higher="shrinks", lower="grows", digits=4)
raw_s, ctl_s = slope("raw"), slope("+ test accuracy")
print(f"clustered slopes of AUC on log density (per tenfold density, the {len(sweep)} sparse and "
      f"full dense models): raw {raw_s[0]:+.4f} [{raw_s[1]:+.4f}, {raw_s[2]:+.4f}], at fixed test "
      f"accuracy {ctl_s[0]:+.4f} [{ctl_s[1]:+.4f}, {ctl_s[2]:+.4f}]; pooled difference "
      f"{raw_s[0] - ctl_s[0]:+.4f}")
print(f"Verdict: H2, shrink (raw minus controlled slope, mean of {G} seeds) "
      f"{h2['estimate']:+.4f} [{h2['lo']:+.4f}, {h2['hi']:+.4f}]: "
      + (h2_v["verdict"] if h2_v["detected"] else h2_v["sentence"]))
if raw_s[0] < 0:
    print("note: the raw slope is negative here, so a positive shrink means the association "
          "grew more negative, not that it moved towards 0")

# %% [markdown]
# **Does the slope at fixed accuracy rest on a few models?** The regression above uses the
# sparse and the full dense models only. Two refits test it: without the sparsest density
# (the least accurate models; where they are less accurate than every dense model, only the
# straight line in accuracy stands in for dense models of their accuracy), and with the
# accuracy-lowered dense models
# added (the only models whose accuracy varies without density). A slope is robust if it stays
# detectable, with the same sign, in both. The generalisation gap, which a membership attack
# exploits more directly than test accuracy, is a second covariate (`auc ~ log_density +
# gen_gap`, fitted in section 4).

# %%
low = (models.family == "dense (lowered)").to_numpy()
above_sparsest = (models.density_achieved.round(3) > sparsest_d).to_numpy()
ctl_var = AN.slope_variants(models, fits["+ test accuracy"], {
    f"the {int((~low).sum())} sparse and full dense models": ~low,
    f"the {int((~low & above_sparsest).sum())} of them without density {sparsest_d:g}":
        ~low & above_sparsest,
    f"all {len(models)} models: the {int((~low).sum())} plus the {int(low.sum())} "
    "accuracy-lowered dense ones": None})
ctl_robust = bool(ctl_var.detected.all() and (np.sign(ctl_var.coef) == np.sign(ctl_s[0])).all())
print("Verdict: H2, slope at fixed test accuracy per tenfold density: "
      + AN.robustness_sentence(ctl_var, what="the slope"))
gap_s, gap_c = slope("+ generalisation gap"), slope("+ generalisation gap", "gen_gap")
print(f"At fixed generalisation gap the density slope is {gap_s[0]:+.4f} [{gap_s[1]:+.4f}, "
      f"{gap_s[2]:+.4f}] (raw {raw_s[0]:+.4f}), and AUC rises by {gap_c[0]:+.3f} [{gap_c[1]:+.3f}, "
      f"{gap_c[2]:+.3f}] per unit of gap: controlling for the gap lowers the pooled slope by "
      f"{1 - gap_s[0] / raw_s[0]:.0%}, controlling for test accuracy by {1 - ctl_s[0] / raw_s[0]:.0%}.")
ctl_var.round(4)

# %% [markdown]
# **Partial correlation, as a contrast**: the same question as a correlation (unitless, so
# its interval is not on the scale of the slopes above), with a Fisher z interval over models
# taken as independent:

# %%
pcs = pd.DataFrame([AN.partial_correlation(sweep, "log_density", "auc", covs)
                    for covs in ([], ["test_acc"], ["gen_gap"])])
print(f"partial correlation of log density and AUC: raw {pcs.r[0]:+.3f}, at fixed test "
      f"accuracy {pcs.r[1]:+.3f} (a change of {pcs.r[0] - pcs.r[1]:+.3f}, the direction of "
      f"the shrink above: {'same' if np.sign(pcs.r[0] - pcs.r[1]) == np.sign(h2['estimate']) else 'opposite'})")
pcs.assign(covariates=pcs.covariates.map(lambda c: ", ".join(c) or "none")).round(3)

# %% [markdown]
# **How the MDE shrinks with the number of seeds.** Each seed contributes one slope (and one
# shrink); their spread sets the MDE, which falls as $1/\sqrt{G}$ and faster at small $G$,
# where the t quantiles are large. The plot projects this run's spreads to other seed counts
# (`spn.power.seed_mde`); `seeds_needed` inverts it.

# %%
seed_grid = np.arange(2, 21)
sd_h1 = slope("raw")[3] / spn.power.seed_mde(1.0, G)  # the per-seed sd the clustered SE implies
fig, ax = plt.subplots(figsize=(6, 3.6))
for sd, label in ((sd_h1, "H1: slope of AUC on log density"), (h2["sd"], "H2: shrink")):
    ax.plot(seed_grid, [spn.power.seed_mde(sd, int(n)) for n in seed_grid], marker="o", ms=3,
            label=label)
ax.axvline(G, color="grey", ls=":", label=f"this run ({G} seeds)")
ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))  # seeds are whole numbers
ax.set(xlabel="number of seeds G", ylabel="minimum detectable difference (AUC per decade)",
       yscale="log", title="MDE at power 0.8 vs seeds")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
for name, sd, est in (("H1 slope", sd_h1, slope("raw")[0]), ("H2 shrink", h2["sd"],
                                                              h2["estimate"])):
    if abs(est) > 0:
        try:
            n = spn.power.seeds_needed(abs(est), sd=sd)
            print(f"{name}: detecting |{est:.4f}| (this run's estimate) at power 0.8 needs "
                  f"about {n} seeds")
        except ValueError:
            print(f"{name}: |{est:.4f}| is too small to detect with any practical number of "
                  "seeds at this spread")

# %% [markdown]
# ## 6. The accuracy-matched comparison
#
# Statistical control assumes a linear relation. The direct experiment: for each seed, the
# dense models (full and accuracy-lowered) trace an accuracy → attack-success curve; each
# sparse model is compared with that curve *at its own test accuracy* (linear interpolation,
# no extrapolation: sparse models outside the accuracy range of their seed's dense models are
# left out and counted as `n_outside`: the sparsest ones, less accurate than any dense model
# of their seed, and those *more* accurate than the full dense model, which pruning followed
# by fine-tuning, that is more epochs, can produce). Per method, the in-range differences are
# averaged within each seed, and the seed means give a mean and a t-interval over seeds. The
# **raw** difference compares the same in-range sparse models with the full dense model of
# their seed, ignoring accuracy, so raw and matched differ only by the matching; `raw_all` is
# the naive comparison over all of a method's sparse models, including those outside the range.

# %%
reference = "family != 'sparse'"
matched = AN.match_to_reference(models, metric="auc", reference=reference,
                                baseline="family == 'dense (full)'")
diffs = AN.matched_difference(matched, by="method")
diffs.round(4)

# %%
fig, ax = plt.subplots(figsize=(7, 5))
fig = PS.plot_matched(matched, models.query(reference), metric="auc", ax=ax,
                      reference_label="dense curve (full and accuracy-lowered dense models, one "
                                      "line per seed)",
                      title=f"{MAIN_ATTACK}: sparse models against the dense curve of their "
                            "seed (hollow: outside it)")
ax.set(xlabel="test accuracy", ylabel=f"{MAIN_ATTACK} AUC")
ax.scatter([], [], facecolors="none", edgecolors="0.3", label="outside the dense range (hollow)")
ax.legend(fontsize=8)
segments = []
for s, part in models.query(reference).sort_values("test_acc").groupby("seed"):
    a, b = part.iloc[-2], part.iloc[-1]
    n_on = int((matched.in_range & (matched.seed == s)
                & matched.test_acc.between(a.test_acc, b.test_acc)).sum())
    segments.append(f"seed {s}, {a.config} vs {b.config}: accuracy {a.test_acc:.3f} vs "
                    f"{b.test_acc:.3f}, AUC {a.auc:.3f} vs {b.auc:.3f}, gap {a.gen_gap:.3f} vs "
                    f"{b.gen_gap:.3f} ({n_on} sparse models matched on this segment)")
print("The top segment of each seed's dense curve (its two most accurate dense models): "
      + "; ".join(segments) + ". A sparse model matched there gets a value interpolated on it.")

# %% [markdown]
# **How stable is a match on that segment?** The interpolation trusts each model's test
# accuracy to the third decimal, but one model's test accuracy on the $n$ non-members has its
# own sampling noise (the Wilson intervals of section 2). Where a segment is narrower than that
# noise, where on it a sparse model lands, and so its matched AUC, is largely chance. The cell
# compares the two and prints the matched differences again with `curve="linear"` (one line
# through all dense models of a seed, exercise 5), which leans less on any one segment.

# %%
ends = models.query(reference).sort_values("test_acc").groupby("seed")  # each seed's dense curve
top = pd.DataFrame({s: part.iloc[-2:][["test_acc", "auc", "gen_gap", "train_epochs"]].agg(np.ptp)
                    for s, part in ends}).T  # the spread between the two ends of the top segment
acc_noise = ((regime.test_acc_hi - regime.test_acc_lo) / 2).median()
on_top = int((matched.in_range & (matched.test_acc >= matched.seed.map(
    ends.test_acc.apply(lambda a: a.iloc[-2])))).sum())
linear = AN.matched_difference(AN.match_to_reference(
    models, metric="auc", reference=reference, baseline="family == 'dense (full)'", curve="linear"),
    by="method").set_index("method")
interp = diffs.set_index("method").matched_diff
print(f"The top segments are {top.test_acc.min():.3f} to {top.test_acc.max():.3f} wide in test "
      f"accuracy, " + ("narrower than" if top.test_acc.max() < acc_noise else "compared with")
      + f" the ±{acc_noise:.3f} 95 % half-width of one dense model's test accuracy (section 2), "
      f"while their ends' AUCs are {top.auc.min():.3f} to {top.auc.max():.3f} apart and their "
      f"generalisation gaps {top.gen_gap.min():.3f} to {top.gen_gap.max():.3f} apart (the ends "
      + ("differ in training epochs on every seed" if (top.train_epochs > 0).all() else "differ in "
         "how their accuracy was lowered") + f", not only in accuracy). {on_top} of the "
      f"{int(matched.in_range.sum())} matched sparse models lie on a top segment; "
      + ("their" if top.test_acc.max() < acc_noise else "where a segment is narrower than that "
         "noise, the") + " matched AUC can move between its ends with accuracy noise alone"
      + ". With curve='linear', the matched differences (95 % t-intervals over seeds, before Holm) "
      "are "
      + "; ".join(f"{m} {r.matched_diff:+.3f} [{r.matched_lo:+.3f}, {r.matched_hi:+.3f}] "
                  f"(interpolated: {interp[m]:+.3f})" for m, r in linear.iterrows())
      + f": the two curves' estimates differ by up to {(linear.matched_diff - interp).abs().max():.3f}.")

# %%
both = diffs.set_index("method").join(linear, rsuffix="_linear")
flips = both[((both.matched_lo_linear > 0) | (both.matched_hi_linear < 0)) != ((both.matched_lo > 0) | (both.matched_hi < 0))]
print("Before Holm, " + ("; ".join(
    f"the {'linear' if (r.matched_lo_linear > 0) | (r.matched_hi_linear < 0) else 'interpolated'} curve's interval "
    f"excludes 0 for {m} ({r.matched_diff_linear:+.3f} [{r.matched_lo_linear:+.3f}, {r.matched_hi_linear:+.3f}] "
    f"linear, {r.matched_diff:+.3f} [{r.matched_lo:+.3f}, {r.matched_hi:+.3f}] interpolated), the other's does not"
    for m, r in flips.iterrows()) + ": which dense curve is used can decide an unadjusted verdict." if len(flips)
    else "the two curves agree on which matched intervals exclude 0."))

# %% [markdown]
# ## 7. The verdict per method
#
# For each method (and attack), the raw AUC difference (sparse minus the full dense model)
# and the accuracy-matched one. These are several comparisons of one kind at once, so their
# detections are decided by Holm's family-wise correction (`spn.families.holm_verdicts`, on
# the seed-level t-tests), and the cell says how many "detectable" verdicts chance alone would
# give without it. With several attacks in `ATTACKS`, every (attack, method) pair is one
# comparison of the same family, and the lines say so. What happens between raw and matched
# gets one word:
#
# * **survives**: detectable raw and matched, same sign, the raw estimate inside the matched
#   interval (or outside it with the matched one *larger*: control did not remove the
#   effect); **shrinks**: the same, but the matched one smaller and the raw estimate outside
#   its interval;
# * **vanishes**: detectable raw, not once matched, *and* the matched interval excludes the
#   raw estimate; **inconclusive**: detectable raw, not matched, but the matched interval
#   still contains the raw estimate (a wider interval, not a vanished effect);
# * **appears**: detectable only once matched; **reverses**: detectable with opposite signs;
# * **none**: detectable in neither; the line then gives the smallest difference the run
#   could have detected.
#
# Each line starts with its word. The minimum detectable differences here are at Holm's
# strictest step (two-sided $\alpha/m$ for $m$ comparisons, power 0.8, t quantiles on
# seeds $- 1$ degrees of freedom), so they are larger than section 4's per-comparison MDE; the
# cell prints the level.

# %%
per_method, families = AN.method_verdicts(
    {a: records[records.attack == a] for a in ATTACKS}, reference=reference,
    baseline="family == 'dense (full)'")
for r in per_method.itertuples():
    nulls = [f"{k}: {getattr(r, f'{k}_sentence')}" for k in ("raw", "matched")
             if not getattr(r, f"{k}_detected")]
    words = r.text.split(": ", 1)[1]  # the verdict word first, once
    print(f"Verdict: {r.attack}, {r.method} vs dense: "
          + ("" if words.startswith(r.verdict) else f"{r.verdict}: ") + words
          + "".join(f"; {n}" for n in nulls)
          + f" ({r.n_models} models matched, {r.n_outside} outside the dense range)")
fam_label = (MAIN_ATTACK if len(ATTACKS) == 1 else
             f"all {len(ATTACKS)} attacks ({', '.join(ATTACKS)}) as one family")
fam_scope = "" if len(ATTACKS) == 1 else f" (one Holm family over {', '.join(ATTACKS)})"
for k, fam in families.items():
    print(f"Verdict: {fam_label}, {k} differences: {fam.summary()}")
m_fam = len(families["matched"].frame)
print(f"MDEs above: power 0.8 at two-sided alpha {0.05 / m_fam:g} (Holm's strictest step, "
      f"{m_fam} comparisons), t quantiles on seeds - 1 degrees of freedom.")
per_method[["attack", "method", "n_models", "n_outside", "raw_diff", "raw_lo", "raw_hi",
            "matched_diff", "matched_lo", "matched_hi", "verdict"]].round(4)

# %%
dense_range = models.query(reference).groupby("seed").test_acc.agg(["min", "max"])
edge = matched.join(dense_range, on="seed")
below, above = (edge.test_acc < edge["min"]).sum(), (edge.test_acc > edge["max"]).sum()
below_d = sorted(edge[edge.test_acc < edge["min"]].density_achieved.round(3).unique())
print(f"Matching ({MAIN_ATTACK}) uses {int(matched.in_range.sum())} of {len(matched)} sparse models, those "
      f"inside their seed's dense accuracy range; {below} are less accurate than every dense model of "
      f"their seed (densities {', '.join(f'{d:g}' for d in below_d) or 'none'}) and {above} more accurate. "
      f"The regression of section 5 uses the {len(sweep)} sparse and full dense models (not the "
      f"{int(low.sum())} accuracy-lowered ones), those {below} included, where only its straight line "
      f"in accuracy stands in for dense models of their accuracy. Its slope at fixed accuracy, "
      f"{ctl_s[0]:+.4f} [{ctl_s[1]:+.4f}, {ctl_s[2]:+.4f}], is "
      + ("robust to the refits of section 5" if ctl_robust else "not robust to the refits of section 5")
      + f"; matched{fam_scope}: {AN.family_brief(families['matched'])}.")

# %% [markdown]
# ## 8. What this run found about Gonon et al.'s claims
#
# One record per claim for notebook 07 (`spn.findings.record`), from the statistics above:
#
# * `gonon_density_error`: the clustered slope of test error on $\log_{10}$ density. The paper
#   says error *rises as density falls*, a **negative** slope, so `sign=-1`.
# * `gonon_density_attack`: the clustered slope of AUC on $\log_{10}$ density. The paper says
#   attack success *falls as density falls*, a **positive** slope, so `sign=+1`.
# * `gonon_accuracy_control`: the shrink of section 5 (raw minus controlled slope). The paper
#   reports correlations and warns that comparing models of different sparsity mixes in their
#   error; that the association *shrinks* once accuracy is controlled is our reading of that
#   warning (H2), not a result the paper states. With a positive raw slope it means a
#   **positive** shrink, so `sign=+1`.
#
# The words (`spn.findings.directional_verdict`): **supported** = the interval lies on the
# paper's side of 0; **contradicted** = it lies on the other side; **not detectable at this
# power** = it covers 0 (the MDE says what the run could have seen). "Not detectable at this
# power" is the same outcome that sections 4 and 5 call "no detectable difference".

# %%
def triple(r):
    return [float(r.coef), float(r.lo), float(r.hi)]


claim_extra = {claim: ({"sparsest_density": float(sparsest_d), "slope_without_sparsest": triple(w)},
                       f"; without density {sparsest_d:g}: {w.coef:+.4f} [{w.lo:+.4f}, {w.hi:+.4f}], "
                       + ("detectable" if w.detected else f"not detectable (MDE {w.mde:.4f})"))
               for claim, w in (("gonon_density_error", h1_without["error"].iloc[1]),
                                ("gonon_density_attack", h1_without["raw"].iloc[1]))}
claim_extra["gonon_accuracy_control"] = (
    {"sparsest_density": float(sparsest_d),
     "controlled_slope_without_sparsest": triple(ctl_var.iloc[1]),
     "controlled_slope_with_lowered_dense": triple(ctl_var.iloc[2])},
    f"; the pooled slope at fixed test accuracy is {ctl_s[0]:+.4f} [{ctl_s[1]:+.4f}, {ctl_s[2]:+.4f}] "
    f"(raw {raw_s[0]:+.4f}; the shrink is the mean of per-seed differences, the pooled difference "
    f"is {raw_s[0] - ctl_s[0]:+.4f}); " + AN.robustness_sentence(ctl_var, what="that slope")
    + f" Matched to dense models of equal accuracy{fam_scope}: "
    f"{AN.family_brief(families['matched'])}")

# %%
claims = {
    "gonon_density_error": (slope("error"), -1, "slope of test error on log10 density "
                            "(seed-clustered OLS)"),
    "gonon_density_attack": (slope("raw"), +1, f"slope of {MAIN_ATTACK} AUC on log10 density "
                             "(seed-clustered OLS)"),
    "gonon_accuracy_control": ((h2["estimate"], h2["lo"], h2["hi"], h2["mde"]), +1,
                               "shrink of that slope once test accuracy is controlled (raw "
                               "minus controlled, per seed, t-interval)"),
}
dense_acc = sweep[sweep.family == "dense (full)"].test_acc
# what the verdicts rest on, for notebook 07's answer: densities, seeds, accuracy at the ends
rests_on = {"density_range": [float(used[-1]), float(used[0])], "n_seeds": int(G),
            "n_models": int(len(sweep)), "main_attack": MAIN_ATTACK,
            "acc_sparsest": [float(sweep[is_sparsest].test_acc.min()),
                             float(sweep[is_sparsest].test_acc.max())],
            "acc_dense": [float(dense_acc.min()), float(dense_acc.max())],
            "slope_at_fixed_accuracy": [float(x) for x in ctl_s[:3]]}

# %% tags=["verdict"]
for claim, ((est, lo, hi, mde), sign, what) in claims.items():
    verdict = spn.findings.directional_verdict(est, lo, hi, sign=sign)
    extra, more = claim_extra[claim]
    detail = f"{what}: {est:+.4f} [{lo:+.4f}, {hi:+.4f}], MDE {mde:.4f} ({G} seeds){more}"
    spn.findings.record(claim, estimate=est, lo=lo, hi=hi, mde=mde, verdict=verdict,
                        statistic=what, detail=detail,
                        params={"DATASET": DATASET, "ARCH": ARCH, "SEEDS": SEEDS,
                                "DENSITIES": DENSITIES, "METHODS": METHODS,
                                "MAIN_ATTACK": MAIN_ATTACK, "N_REFERENCE": N_REFERENCE, **extra,
                                **rests_on})
    print(f"Verdict: {claim}: {verdict} ({detail})")

# %% [markdown]
# ## 9. Seed variance
#
# How much does a number move when only the seed changes (new pools, initialisation and
# batches)? Below, per configuration, the sd over seeds of test accuracy and AUC, next to the
# typical width of one model's bootstrap interval for AUC (sampling noise of the attacked
# samples). A sparse model and the dense model of its seed share their pools (the sparse one
# is pruned from it), so a one-seed *difference* is paired: its spread is the sd over seeds
# of (model − its seed's dense model), which the table also gives (`paired_sd`, and
# `paired_band` = 1.96 × it), not √2 times the sd of either model. The band describes **one
# seed**: a single seed's difference falls within about ± band of the mean difference. When
# the mean is inside its band, a one-seed comparison could show either sign. A mean outside
# its band is **not** thereby detectable: the band is not a test of the mean. The test of the
# mean is a t-interval over the seeds, band / 1.96 × $t_{0.975, G-1} / \sqrt{G}$ wide on each
# side (printed beside it, unadjusted; section 7 tests each method's mean under Holm).

# %%
agg = spn.metrics.aggregate_seeds(models, "config", ["test_acc", "auc"])
spread = agg.pivot(index="config", columns="metric", values="sd").add_suffix("_sd")
paired_sd = AN.paired_seed_spread(models, by="config", baseline="family == 'dense (full)'")
spread = spread.join(paired_sd.rename(columns={"mean_diff": "paired_diff", "sd_diff": "paired_sd",
                                               "band": "paired_band"}))
half_width = ((models.auc_hi - models.auc_lo) / 2).median()
print(f"median sd over seeds: test accuracy {spread.test_acc_sd.median():.3f}, AUC "
      f"{spread.auc_sd.median():.3f}; median half-width of one model's 95 % AUC interval "
      f"{half_width:.3f}")
spread.round(3)

# %%
sparse_cfg = spread.loc[spread.index.isin(models[models.family == "sparse"].config)].dropna()
inside = sparse_cfg.paired_diff.abs() <= sparse_cfg.paired_band
t_half = (sparse_cfg.paired_sd * stats.t.ppf(0.975, sparse_cfg.n_seeds - 1)
          / np.sqrt(sparse_cfg.n_seeds))  # half-width of the mean's 95 % t-interval
covers = t_half >= sparse_cfg.paired_diff.abs()


def band_list(rows):
    return ", ".join(f"{c} ({r.paired_diff:+.3f}, band ±{r.paired_band:.3f}, t-interval "
                     f"[{r.paired_diff - t_half[c]:+.3f}, {r.paired_diff + t_half[c]:+.3f}])"
                     for c, r in rows.iterrows()) or "none"


print(f"A one-seed AUC difference between a sparse model and its seed's dense model moves with the "
      f"seed by ±{sparse_cfg.paired_band.median():.3f} (median over the {len(sparse_cfg)} sparse "
      f"configurations of 1.96 × the sd over seeds of the paired difference; "
      f"{sparse_cfg.paired_band.min():.3f} to {sparse_cfg.paired_band.max():.3f}). Per "
      "configuration: mean difference, its band (where one seed's difference falls) and the "
      "mean's 95 % t-interval over seeds (unadjusted). Mean inside its band (one seed could show "
      f"either sign): {band_list(sparse_cfg[inside])}; outside it (one seed would usually show "
      f"the mean's sign): {band_list(sparse_cfg[~inside])}. The band is not a test of the mean: "
      f"{int(covers.sum())} of these {len(sparse_cfg)} t-intervals cover 0"
      + (f" ({', '.join(covers[covers].index)})." if covers.any() else "."))

# %%
fig, ax = plt.subplots(figsize=(12, 4))
mean_acc = models.groupby("config").test_acc.mean().sort_values()
colours = {"sparse": "C0", "dense (full)": "C3", "dense (lowered)": "C1"}
for i, cfg in enumerate(mean_acc.index):
    part = models[models.config == cfg]
    fam = part.family.iloc[0]
    ax.errorbar(np.full(len(part), i), part.auc, yerr=[part.auc - part.auc_lo, part.auc_hi - part.auc],
                fmt="o", ms=3, alpha=0.6, color=colours[fam], label=fam)
by_label = dict(zip(*ax.get_legend_handles_labels()[::-1]))  # one legend entry per family
ax.legend([by_label[k] for k in colours if k in by_label], [k for k in colours if k in by_label],
          fontsize=8)
ax.set_xticks(range(len(mean_acc)), [f"{c} (acc {a:.2f})" for c, a in mean_acc.items()],
              rotation=90, fontsize=7)
ax.set_ylabel(f"{MAIN_ATTACK} AUC (each seed, with its bootstrap interval)")
ax.set_title("configurations sorted by mean test accuracy (shown in the labels)")
ax.grid(alpha=0.3)

# %% [markdown]
# ## Summary
#
# * Pruning costs accuracy, and Gonon et al. found attack success falling with it: where both
#   move together, comparing a sparse and a dense model mixes the two effects. Section 2
#   checked that the dense targets leak at all (nothing to remove otherwise); section 4 answered
#   H1 with the seed-clustered slope and asked whether it rests on the sparsest density,
#   section 5 answered H2 with the shrink of that slope once accuracy is controlled and refitted
#   the controlled slope on other sets of models, and section 7 compared each method with dense
#   models of the same accuracy, under a family-wise correction.
# * Every verdict is printed from this run's numbers and intervals, and every null states the
#   smallest effect the run could have detected: "not detectable" at 3 seeds is a statement
#   about the run's size, not evidence of no effect. The MDE plot of section 5 says how many
#   seeds would settle it.
# * Section 9 puts the seed variance next to the differences between configurations: report
#   means over seeds with their spread, never one run.
#
# What this run found (computed; the first line is the notebook's headline in the report):

# %% tags=["headline", "verdict"]
n_ctl = int((ctl_var.detected & (np.sign(ctl_var.coef) == np.sign(ctl_s[0]))).sum())
beyond = ctl_robust and families["matched"].n_detected > 0
print(("Verdict: sparser models were " + ("less" if raw_s[0] > 0 else "more") + " attackable"
       if h1_attack["detected"] else "Verdict: attack success did not detectably change with density")
      + f" ({MAIN_ATTACK} AUC {raw_s[0]:+.3f} [{raw_s[1]:+.3f}, {raw_s[2]:+.3f}] per tenfold density, "
      f"densities {sparsest_d:g} to 1, {G} seeds). Whether that is more than their lost accuracy is "
      + ("shown by both controls" if beyond else "not resolved")
      + f": shrink {h2['estimate']:+.3f} [{h2['lo']:+.3f}, {h2['hi']:+.3f}] ("
      + ("shrinks" if h2_v["detected"] and h2["estimate"] > 0 else "grows" if h2_v["detected"]
         else f"not detectable, MDE {h2['mde']:.3f}")
      + f"); the slope at fixed accuracy is detectable with the same sign in {n_ctl} of "
      f"{len(ctl_var)} fits; matched to dense models of equal accuracy, "
      f"{AN.family_brief(families['matched'])}{fam_scope}.")

# %% tags=["verdict"]
for name, what, v in (("error", "test error", h1_error), ("raw", f"{MAIN_ATTACK} AUC", h1_attack)):
    est, lo, hi, _ = slope(name)
    w = h1_without[name].iloc[1]
    side = " (the paper's direction)" if np.sign(est) == (-1 if name == "error" else 1) else ""
    print(f"H1: {what}, slope {est:+.4f} [{lo:+.4f}, {hi:+.4f}] per tenfold density (densities "
          f"{sparsest_d:g} to 1): " + (v["verdict"] + side if v["detected"] else v["sentence"])
          + f"; without density {sparsest_d:g}: {w.coef:+.4f} [{w.lo:+.4f}, {w.hi:+.4f}], "
          + ("detectable." if w.detected else "not detectable."))
try:
    h2_seeds = (f"about {spn.power.seeds_needed(abs(h2['estimate']), sd=h2['sd'])} seeds would detect "
                f"it with power 0.8 if the true shrink were {h2['estimate']:+.4f}")
except ValueError:
    h2_seeds = "no practical number of seeds would detect a shrink of this size"
print(f"H2: shrink {h2['estimate']:+.4f} [{h2['lo']:+.4f}, {h2['hi']:+.4f}]: "
      + (h2_v["verdict"] if h2_v["detected"] else f"{h2_v['sentence']} ({h2_seeds})") + ".")
print("H2, at fixed test accuracy (regression): " + AN.robustness_sentence(ctl_var, what="the slope"))
print(f"H2, at fixed generalisation gap (regression): slope {gap_s[0]:+.4f} [{gap_s[1]:+.4f}, "
      f"{gap_s[2]:+.4f}] per tenfold density (raw {raw_s[0]:+.4f}); AUC {gap_c[0]:+.3f} "
      f"[{gap_c[1]:+.3f}, {gap_c[2]:+.3f}] per unit of gap.")
print(f"Per method against the full dense model{fam_scope}: raw: "
      f"{AN.family_brief(families['raw'])}; matched "
      f"to dense models of equal accuracy: {AN.family_brief(families['matched'])}.")

# %% [markdown]
# **Exercises**
#
# Open-ended (no automatic check; each says what a good answer shows):
# 1. Add `"loss"` to `ATTACKS` and set `MAIN_ATTACK = "loss"`: do the correlations and
#    regressions of sections 4 and 5 change with the attack? (Section 7's table then compares
#    the verdicts of both attacks.)
#    *A good answer* puts the density coefficient (with its interval) of both attacks side by
#    side and says whether the sign or the verdict changes, not only the point estimate.
# 2. Add `"lottery"` to `METHODS`: is a lottery ticket more private than a dense model of the
#    *same* accuracy? (Like IMP, it reaches only densities $0.5^n$.)
#    *A good answer* uses the accuracy-matched comparison of section 6 and reports its
#    difference, interval and MDE; "no detectable difference" with the MDE is a valid result.
# 3. Reload this run's `03_sweep_results.csv` (in the notebook's working folder; in a report,
#    the `03_confounding_by_accuracy/` folder beside the executed notebook) with
#    `pd.read_csv` and repeat section 5 with `tpr_at_1pct_fpr` as the response. Then compare
#    with the other profile (`sparsepriv-nb run --profile standard --only 03` runs eight seeds
#    of a wider MLP on a Fashion-MNIST subset, with the loss attack and offline LiRA).
#    *A good answer* notes that TPR at 1 % FPR is far noisier than AUC (wider intervals, a
#    larger MDE), so a null here says less than a null on AUC.
# 4. Replace `"auc ~ log_density + test_acc"` by a model with an interaction,
#    `"auc ~ log_density * test_acc"`: does the density effect depend on accuracy?
#    *A good answer* reads the interaction coefficient's interval (not its p-value alone) and
#    remembers that with an interaction the main effect of density is its effect at
#    `test_acc = 0`, far outside the data: centre `test_acc` first.
# 5. The dense curves of section 6 are noisy: match with `curve="linear"` (an OLS line through
#    each seed's dense models; pass it to `match_to_reference` in section 6 and to `method_verdicts` in section 7)
#    and compare the intervals.
#    *A good answer* reports both intervals: a line through the dense models averages out their
#    noise (narrower intervals when the dense AUC is close to linear in accuracy), at the price
#    of assuming that linearity over the matched range.

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex03-intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### Graded exercises
# Each exercise asks you to write one piece of this lesson's method as a function, between the
# lines `# YOUR CODE HERE` and `raise NotImplementedError()` (replace both). The cell below it
# compares your function with the package's own implementation on small inputs it makes up,
# and says what it expected and what your function gave. Each exercise runs on its own: it
# does not need the sweep above. Score them all with
# `sparsepriv-nb check 03_confounding_by_accuracy.ipynb`.

# %% nbgrader={"grade": false, "grade_id": "ex03-setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
from scipy import stats

from sparsepriv_nb import exercises as ex

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex03-1-task", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Exercise 03.1 (3 points).** A partial correlation by residuals: regress `x` on
# $[1, Z]$ by least squares and keep the residuals, do the same for `y`, and return the Pearson
# correlation of the two residual vectors (this is what `spn.analysis.partial_correlation`
# computes). Write `partial_corr(x, y, Z)`: `x`, `y` are arrays `(n,)`, `Z` is `(n,)` (one
# covariate) or `(n, k)`. Hint: `np.linalg.lstsq`, `np.column_stack`, `np.corrcoef`.

# %% nbgrader={"grade": false, "grade_id": "ex03-1-solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def partial_corr(x, y, Z):
    ### BEGIN SOLUTION
    design = np.column_stack([np.ones(len(x)), Z])
    resid_x = x - design @ np.linalg.lstsq(design, x, rcond=None)[0]
    resid_y = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    return float(np.corrcoef(resid_x, resid_y)[0, 1])
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex03-1-check", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
ex.check_partial_correlation(partial_corr)
### BEGIN HIDDEN TESTS
ex.check_partial_correlation(partial_corr, hidden=True)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex03-2-task", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Exercise 03.2 (2 points).** The interval of a partial correlation: Fisher's
# $z = \operatorname{artanh}(r)$ is close to normal with standard error $1/\sqrt{n - 3 - k}$
# ($k$ covariates). Write `fisher_interval(r, n, k, ci=0.95)` returning `(lo, hi)`: the interval
# $z \pm q \cdot \mathrm{se}$ with $q$ the normal quantile of $(1 + \mathrm{ci})/2$, mapped back
# with $\tanh$.

# %% nbgrader={"grade": false, "grade_id": "ex03-2-solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fisher_interval(r, n, k, ci=0.95):
    ### BEGIN SOLUTION
    q = stats.norm.ppf(0.5 + ci / 2)
    z, se = np.arctanh(r), 1 / np.sqrt(n - 3 - k)
    return float(np.tanh(z - q * se)), float(np.tanh(z + q * se))
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex03-2-check", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
ex.check_fisher_interval(fisher_interval)
### BEGIN HIDDEN TESTS
ex.check_fisher_interval(fisher_interval, hidden=True)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex03-3-task", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Exercise 03.3 (2 points).** The minimum detectable difference (MDE) of a comparison. A
# paired bootstrap gives resampled differences of an attack's AUC on two models; their standard
# deviation (`ddof=1`) is the standard error of the difference, and a two-sided test at level
# $\alpha$ detects a true difference of $(z_{1-\alpha/2} + z_\text{power}) \cdot \mathrm{se}$
# with probability `power`. Write `mde(diffs, alpha=0.05, power=0.8)`. (At the defaults the
# factor is about 2.8; notebook 02's bootstrap nulls, "this run could detect $|\Delta| \ge$
# MDE", use this number. The seed-level nulls of this notebook replace $z$ by t quantiles on
# $G - 1$ degrees of freedom, a factor of about 5.4 at $G = 3$ seeds, and section 7 also
# replaces $\alpha$ by Holm's level $\alpha/m$.)

# %% nbgrader={"grade": false, "grade_id": "ex03-3-solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mde(diffs, alpha=0.05, power=0.8):
    ### BEGIN SOLUTION
    se = np.std(diffs, ddof=1)
    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex03-3-check", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
ex.check_mde(mde)
### BEGIN HIDDEN TESTS
ex.check_mde(mde, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **Where next.** Notebook 04 leaves membership and asks a different privacy question of the
# same sparse models: can their hidden representations be *inverted* back into the input?

# %%
print(f"notebook time: {lesson.elapsed():.0f} s")
