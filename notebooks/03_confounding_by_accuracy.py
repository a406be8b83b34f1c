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
# Gonon et al. (seed 000) find sparser networks *less attackable* than dense ones (Yuan & Zhang,
# seed 002, report pruning settings where leakage grows instead: notebook 02). Sparser networks
# are also often *less accurate*. A model that has learnt less about its training set has less to leak, so a plain
# dense-vs-sparse comparison cannot tell whether sparsity itself protects the data or whether
# any way of losing the same accuracy would do as well. Gonon et al. (seed 000) put it this
# way in their abstract:
#
# > "The experiments show positive correlations between the sparsity of the model, its
# > privacy, and its classification error. Simply comparing the privacy of two models with
# > different sparsity levels can yield misleading conclusions on the role of sparsity,
# > because of the additional correlation with the classification error."
#
# This lesson runs a sweep over sparsity method × density × seed, reproduces their Fig. 1
# view, and then asks the question three ways: statistical control (partial correlation,
# regression with accuracy as a covariate), and a direct experiment (dense models made as
# inaccurate as the sparse ones *without* sparsity: fewer epochs, or, for the MLP, narrower
# layers).
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
BUTTERFLY_FACTORS = [2, 4]  # butterfly sets its density by the number of factors per layer
LOWERED_EPOCHS = [1, 3]  # dense models trained for fewer epochs...
NARROW_HIDDEN = []  # ...or made narrower (MLP only): accuracy lowered without sparsity
ATTACKS = ["lira-offline"]
ATTACK_PARAMS = {"shokri": {"classifier": "logistic", "tune": False}}
N_SHADOWS = 1
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
axes[0].scatter(toy.x, toy.y, c=toy.z, cmap="viridis", s=10)
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
# Every point is one experiment of notebook 02's pipeline (target and shadow models trained
# the same way on disjoint pools, attacks fitted on the shadows): sparsity methods × densities
# × seeds, a dense model per seed, and dense models whose accuracy is **lowered without
# sparsity** (trained for fewer epochs, or, for the MLP, with narrower hidden layers). `run_sweep` caches
# every finished experiment, so a killed run restarted loses nothing and a rerun only loads.
# `BACKEND = "dask"` with `SCHEDULER = "tcp://…"` sends the same grid to a Dask cluster.
# `ATTACK_PARAMS` passes options to an attack: the quick and standard profiles fit Shokri's
# attack model (one classifier, with the label as an input) as an untuned logistic regression
# (CPU time), the paper profile with the package's default (family and hyperparameters chosen
# by cross-validation on the shadow data); the standard and paper
# profiles add offline LiRA. Every model trains for a fixed number of epochs (no early
# stopping; the validation split is unused).
#
# Butterfly sparsity does not take a density: its density follows from the number of
# factors per layer (fewer, wider factors are denser). IMP prunes half of the surviving
# weights per round, so it reaches only densities $0.5^n$: each requested density is replaced
# by the nearest reachable one, once (two requests rounding to the same $n$ would train the
# same model twice). The analysis uses the *achieved* density of every model
# (`density_achieved`), never the requested one.

# %%
is_mlp = ARCH == "mlp"
base = E.ExperimentConfig(
    data={"name": DATASET, "max_samples": MAX_SAMPLES},
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
                        for d in DENSITIES}, reverse=True)
configs = E.make_grid(base, sparsity__method=one_shot, sparsity__density=DENSITIES, seed=SEEDS)
if iterative:
    configs += E.make_grid(base, sparsity__method=iterative, sparsity__density=imp_densities,
                           seed=SEEDS)
if "butterfly" in METHODS:
    configs += E.make_grid(base, sparsity__method=["butterfly"],
                           sparsity__butterfly_factors=BUTTERFLY_FACTORS, seed=SEEDS)
configs += E.make_grid(base, seed=SEEDS)  # the dense baseline
configs += E.make_grid(base, train__epochs=LOWERED_EPOCHS, seed=SEEDS)
if is_mlp:
    configs += E.make_grid(base, model__hidden=[tuple(h) for h in NARROW_HIDDEN], seed=SEEDS)
print(f"{len(configs)} experiments ({len(SEEDS)} seeds), attacks {ATTACKS}")

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
# sparse model (otherwise section 6 has nothing to match; it counts the sparse models that
# fall outside their own seed's dense range). Then: how much is there to leak? An attack can
# only find what the models memorised, so the full dense models' generalisation gap and
# attack AUC bound what sparsity could remove.

# %%
pruned_rows = models[models.sparsity_method.isin(one_shot + iterative)]
assert np.allclose(pruned_rows.density_achieved, pruned_rows.sparsity_density, rtol=0.05,
                   atol=1e-3)
assert (models[models.family == "dense (full)"].test_acc > 0.5).all()  # 10 classes: chance 0.1
assert records.auc.between(0.2, 1.0).all()
assert models[models.family == "dense (lowered)"].test_acc.min() < \
    models[models.family == "sparse"].test_acc.median()
full = models[models.family == "dense (full)"]
print(f"full dense models ({len(full)} seeds): train accuracy {full.train_acc.mean():.3f}, "
      f"test accuracy {full.test_acc.mean():.3f}, generalisation gap {full.gen_gap.mean():.3f}; "
      f"{MAIN_ATTACK} AUC " + ", ".join(f"{r.auc:.3f} [{r.auc_lo:.3f}, {r.auc_hi:.3f}]"
                                        for r in full.itertuples()))
leaks = (full.auc_lo > 0.5).sum()
print(f"the {MAIN_ATTACK} attack beats chance (AUC interval above 0.5) on {leaks} of "
      f"{len(full)} full dense models" + ("" if leaks else ": there is little leakage here "
                                          "for sparsity to remove, so expect 'within noise' "
                                          "verdicts below"))

# %% [markdown]
# ## 3. Gonon et al.'s Fig. 1: accuracy vs defense level
#
# One point per configuration: the mean over seeds, with ± 1 sd bars in both directions
# (seed variance: how much a retrained model moves). Colour = achieved density (log scale),
# marker = method; the accuracy-lowered dense models are there too. **Defense level** is this
# project's $1 - \text{advantage} = 2(1 - \text{balanced accuracy})$ at the threshold fitted on
# the shadow model: 1 means the attack does no better than chance, and values above 1 mean
# that threshold, fitted on the shadow model, does worse than chance on the target. Gonon et al.'s exact
# formula is not published (docs/methods.md, "Unknowns"). The other two panels show the AUC and the
# TPR at 1 % FPR of the same attack.

# %% tags=["headline"]
fig, axes = plt.subplots(1, 3, figsize=(18, 5))
for ax, metric in zip(axes, ("defense_level", "auc", "tpr_at_1pct_fpr")):
    PS.plot_accuracy_vs_defense(models, y=metric, by=["config"], ax=ax,
                                colorbar=metric == "tpr_at_1pct_fpr",
                                legend=metric == "defense_level")
    ax.axhline({"defense_level": 1.0, "auc": 0.5, "tpr_at_1pct_fpr": 0.01}[metric], color="grey",
               ls=":", zorder=0)  # what an attack that guesses at random scores
    ax.set_title(f"{MAIN_ATTACK}: {metric.replace('_', ' ')} (dotted: chance)")
plt.tight_layout()

# %% [markdown]
# ## 4. Correlations, with intervals
#
# Over the sparsity sweep (sparse models and the full dense models; the accuracy-lowered ones
# are kept for section 6), one row per model. Intervals are Fisher z intervals that treat the
# models as independent; models of one seed share their data pools, so read them as
# optimistic (section 5 clusters by seed).

# %%
sweep = models[models.family != "dense (lowered)"]
corr = AN.correlations(sweep, ["log_density", "test_error", "gen_gap", "auc"])
corr.round(3)

# %%
def corr_row(a, b):
    return corr[((corr.x == a) & (corr.y == b)) | ((corr.x == b) & (corr.y == a))].iloc[0]


for a, b in (("log_density", "test_error"), ("log_density", "auc"), ("test_error", "auc"),
             ("gen_gap", "auc")):
    r = corr_row(a, b)
    word = spn.metrics.verdict(r.r, r.lo, r.hi, higher="positive", lower="negative")
    word = word if word in ("positive", "negative") else "not distinguishable from 0"
    print(f"corr({a}, {b}) = {r.r:+.2f} [{r.lo:+.2f}, {r.hi:+.2f}] (n = {r.n}): {word}")
# pruning to the lowest densities must cost accuracy, or the sweep did not prune
assert corr_row("log_density", "test_error").hi < 0

# %% [markdown]
# H1 in these terms: `log_density` negatively correlated with `test_error` (sparser, less
# accurate) and positively with `auc` (sparser, less attackable). The lines above say what
# this run found.
#
# ## 5. Partial correlation and regression: holding accuracy fixed
#
# The same question as on the toy: what is left of the density–attack association once test
# accuracy (or, separately, the generalisation gap) is accounted for? The regressions cluster
# their errors by seed (models of a seed share data pools) with a t reference on
# $G - 1$ degrees of freedom for $G$ seeds, so few seeds give wide, honest intervals.

# %%
pcs = pd.DataFrame([AN.partial_correlation(sweep, "log_density", "auc", covs)
                    for covs in ([], ["test_acc"], ["gen_gap"])])
pcs.assign(covariates=pcs.covariates.map(lambda c: ", ".join(c) or "none")).round(3)

# %%
fits = {"raw": "auc ~ log_density",
        "+ test accuracy": "auc ~ log_density + test_acc",
        "+ generalisation gap": "auc ~ log_density + gen_gap"}
coefs = pd.concat([AN.regress(sweep, f, cluster="seed").assign(model=name)
                   for name, f in fits.items()], ignore_index=True)
coefs[["model", "term", "coef", "lo", "hi", "p", "n", "n_groups"]].round(4)

# %%
fig = PS.plot_coefficients(coefs, terms=["log_density", "test_acc", "gen_gap"],
                           title=f"{MAIN_ATTACK} AUC: coefficients (95 % interval, clustered by seed)")


# %% tags=["verdict"]
def coef_of(name, term="log_density"):
    r = coefs[(coefs.model == name) & (coefs.term == term)].iloc[0]
    return r.coef, r.lo, r.hi


regression_verdicts = {}
for name, covariate in (("+ test accuracy", "test accuracy"),
                        ("+ generalisation gap", "the generalisation gap")):
    v = AN.confounding_verdict(coef_of("raw"), coef_of(name), control=covariate,
                               label="the log-density coefficient of AUC", fmt="{:+.4f}")
    regression_verdicts[name] = v
    print(f"{name}: {v['text']}")

# %%
n_groups = int(coefs.n_groups.iloc[0])
print(f"{n_groups} seeds: clustered intervals use a t distribution with df = {n_groups - 1}, "
      f"critical value {stats.t.ppf(0.975, n_groups - 1):.2f} (1.96 for a normal)")

# %% [markdown]
# A coefficient of `log_density` is the change in AUC per tenfold increase in density. With
# few seeds the critical value above is large, so a "within noise" verdict may mean "too few
# seeds to tell" rather than "no effect"; the paper profile uses 5 seeds and more data.
#
# ## 6. The accuracy-matched comparison
#
# Statistical control assumes a linear relation. The direct experiment: for each seed, the
# dense models (full and accuracy-lowered) trace an accuracy → attack-success curve; each
# sparse model is compared with that curve *at its own test accuracy* (linear interpolation,
# no extrapolation: sparse models outside the accuracy range of their seed's dense models are
# left out and counted as `n_outside`: the sparsest ones, less accurate than any dense model
# of their seed, and those *more* accurate than the full dense model, which pruning followed
# by fine-tuning, that is more epochs, can produce). Per method, the in-range differences are averaged
# within each seed, and the seed means give a mean and a t-interval over seeds. The **raw** difference compares the
# same in-range sparse models with the full dense model of their seed, ignoring accuracy, so
# raw and matched differ only by the matching; `raw_all` is the naive comparison over all of a
# method's sparse models, including those outside the range.

# %%
reference = "family != 'sparse'"
matched = AN.match_to_reference(models, metric="auc", reference=reference,
                                baseline="family == 'dense (full)'")
diffs = AN.matched_difference(matched, by="method")
diffs.round(4)

# %%
fig, ax = plt.subplots(figsize=(7, 5))
fig = PS.plot_matched(matched, models.query(reference), metric="auc", ax=ax,
                title=f"{MAIN_ATTACK}: sparse models against the dense curve of their seed "
                      "(hollow: outside it)")

# %% [markdown]
# ## 7. The verdict of this run
#
# For each method, the raw AUC difference (sparse minus the full dense model) and the
# accuracy-matched one, each with its 95 % interval over seeds, and what happens between the
# two: the effect *survives*, *shrinks*, *vanishes* (detectable raw, not once matched),
# *reverses*, *appears* (detectable only once matched), or is detectable in neither (`none` in
# the table).
# These are several comparisons at once (methods × attacks), each at 95 %: even with no effect
# anywhere, about one in twenty would come out "detectable" by chance (the count is printed
# below the table).

# %% tags=["verdict"]
def method_verdicts(frame, attack):
    m = AN.match_to_reference(frame, metric="auc", reference=reference,
                              baseline="family == 'dense (full)'")
    out = []
    for _, r in AN.matched_difference(m, by="method").iterrows():
        v = AN.confounding_verdict((r.raw_diff, r.raw_lo, r.raw_hi),
                                   (r.matched_diff, r.matched_lo, r.matched_hi),
                                   label=f"{r.method} vs dense (AUC, {attack})",
                                   control="accuracy (matched)")
        out.append({"attack": attack, "method": r.method, "verdict": v["verdict"],
                    "raw": f"{r.raw_diff:+.3f} [{r.raw_lo:+.3f}, {r.raw_hi:+.3f}]",
                    "matched": f"{r.matched_diff:+.3f} [{r.matched_lo:+.3f}, {r.matched_hi:+.3f}]",
                    "matched models": r.n_models, "outside range": r.n_outside,
                    "text": v["text"]})
    return out


verdicts = pd.DataFrame([row for attack in ATTACKS
                         for row in method_verdicts(records[records.attack == attack], attack)])
for line in verdicts[verdicts.attack == MAIN_ATTACK].text:
    print(line)
verdicts.drop(columns="text")

# %% tags=["verdict"]
counts = verdicts.verdict.value_counts()
print("over all attacks and methods:", ", ".join(f"{k}: {v}" for k, v in counts.items()),
      f"({len(verdicts)} comparisons, two intervals each: by chance alone, about "
      f"{0.05 * len(verdicts):.0f} false 'detectable' expected per interval type)")
h1_err, h1_auc = corr_row("log_density", "test_error"), corr_row("log_density", "auc")
print(f"H1 (sparser -> less accurate): corr(log density, test error) = {h1_err.r:+.2f} "
      f"[{h1_err.lo:+.2f}, {h1_err.hi:+.2f}]; "
      f"(sparser -> less attackable): corr(log density, AUC) = {h1_auc.r:+.2f} "
      f"[{h1_auc.lo:+.2f}, {h1_auc.hi:+.2f}] (Fisher z, models as if independent); "
      "seed-clustered slope of AUC on log density {:+.4f} [{:+.4f}, {:+.4f}]".format(*coef_of("raw")))
def h2_word(verdict):
    return "not testable (no detectable raw effect to shrink)" if verdict in ("none", "appears") \
        else verdict


main = verdicts[verdicts.attack == MAIN_ATTACK].assign(word=lambda d: d.verdict.map(h2_word))
print(f"H2 (control shrinks the effect): regression with test accuracy: "
      f"{h2_word(regression_verdicts['+ test accuracy']['verdict'])}; accuracy-matched, "
      f"{MAIN_ATTACK}: " + "; ".join(f"{word}: {', '.join(part.method)}"
                                     for word, part in main.groupby("word")))

# %% [markdown]
# ## 8. Seed variance
#
# How much does a number move when only the seed changes (new pools, initialisation and
# batches)? Below, per configuration, the sd over seeds of test accuracy and AUC, next to the
# typical width of one model's bootstrap interval for AUC (sampling noise of the attacked
# samples). When the seed sd is as large as the gaps between methods, a single-seed comparison
# is noise.

# %%
agg = spn.metrics.aggregate_seeds(models, "config", ["test_acc", "auc"])
spread = agg.pivot(index="config", columns="metric", values="sd")
half_width = ((models.auc_hi - models.auc_lo) / 2).median()
print(f"median sd over seeds: test accuracy {spread.test_acc.median():.3f}, AUC "
      f"{spread.auc.median():.3f}; median half-width of one model's 95 % AUC interval "
      f"{half_width:.3f}")
fig, ax = plt.subplots(figsize=(12, 4))
order = models.groupby("config").test_acc.mean().sort_values().index
for i, cfg in enumerate(order):
    part = models[models.config == cfg]
    ax.errorbar(np.full(len(part), i), part.auc, yerr=[part.auc - part.auc_lo, part.auc_hi - part.auc],
                fmt="o", ms=3, alpha=0.6, color="C0" if part.family.iloc[0] == "sparse" else "C3")
ax.set_xticks(range(len(order)), order, rotation=90, fontsize=7)
ax.set_ylabel(f"{MAIN_ATTACK} AUC (each seed, with its bootstrap interval)")
ax.set_title("configurations sorted by mean test accuracy (blue: sparse, red: dense)")
ax.grid(alpha=0.3)

# %% [markdown]
# ## Summary
#
# * Pruning costs accuracy, and Gonon et al. found attack success falling with it: where both
#   move together, comparing a sparse and a dense model mixes the two effects. Partial
#   correlation and regression remove what accuracy explains linearly; the accuracy-matched
#   comparison does it by experiment, against dense models made as inaccurate without
#   sparsity. Sections 4 to 7 printed which of these associations this run could detect.
# * The verdicts above are computed from this run's numbers and intervals. A "within noise"
#   verdict says that this run, at its size (seeds, samples), cannot tell; it is not evidence
#   that there is no effect.
# * Section 8 puts the seed variance next to the differences between configurations: report
#   means over seeds with their spread, never one run.
#
# **Exercises**
# 1. Change `MAIN_ATTACK` to `"shokri"`: do the correlations and regressions of sections 4
#    and 5 change with the attack? (Section 7's table already compares the verdicts of every
#    attack.)
# 2. Add `"lottery"` to `METHODS`: is a lottery ticket more private than a dense model of the
#    *same* accuracy? (Like IMP, it reaches only densities $0.5^n$.)
# 3. Reload this run's `03_sweep_results.csv` (in the notebook's working folder; in a report,
#    the `03_confounding_by_accuracy/` folder beside the executed notebook) with
#    `pd.read_csv` and repeat section 5 with `tpr_at_1pct_fpr` as the response. Then compare
#    with the other profile (`sparsepriv-nb run --profile standard --only 03` runs
#    Fashion-MNIST, LeNet-5 and offline LiRA).
# 4. Replace `"auc ~ log_density + test_acc"` by a model with an interaction,
#    `"auc ~ log_density * test_acc"`: does the density effect depend on accuracy?
# 5. The dense curves of section 6 are noisy: match with `curve="linear"` (an OLS line through
#    each seed's dense models; pass it to both `match_to_reference` calls, in sections 6 and 7)
#    and compare the intervals.
#
# **Where next.** Notebook 04 leaves membership and asks a different privacy question of the
# same sparse models: can their hidden representations be *inverted* back into the input?

# %%
print(f"notebook time: {lesson.elapsed():.0f} s")
