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
# # 01 · Sparsity methods
#
# *Can sparsity make neural networks more private?* Before we attack anything we need sparse
# networks. This notebook builds every sparsity method the later lessons use, first **by hand,
# line by line**, then checks that the package function `sparsepriv_nb.sparsity` gives the same
# mask.
#
# **You will learn to**
# 1. describe a sparse network as a dense one times a 0/1 **mask**, and measure its **density**;
# 2. prune by magnitude (layer-wise and global, Han et al. 2015), at random with matched
#    densities, and by whole filters (Li et al. 2017);
# 3. run **iterative magnitude pruning** (IMP) and build **lottery tickets** by rewinding
#    (Frankle & Carbin 2019; Bagmar et al. 2021, seed 004);
# 4. build **butterfly** factorisations, the structured sparsity of Gonon et al. (seed 000);
# 5. read an **accuracy vs density** curve with its spread over seeds.
#
# Seeds: Gonon et al. (000), Huang et al. (001), Yuan & Zhang (002), Bagmar et al. (004).
# Defaults are the *quick* profile (8x8 digits, an MLP, one to two minutes on a laptop CPU);
# `notebooks/params/standard.yaml` reruns it on Fashion-MNIST with LeNet-5.

# %% tags=["parameters"]
DATASET = "digits"  # digits | fashion-mnist | mnist | cifar10
ARCH = "mlp"  # mlp | lenet5 | cnn | resnet18
MAX_SAMPLES = None  # keep a stratified subset of this many samples (None: all)
DENSITIES = [1.0, 0.5, 0.2, 0.1, 0.05, 0.02]
SEEDS = [0, 1, 2]
EPOCHS = 30  # dense training
FINETUNE_EPOCHS = 5  # after one-shot pruning
IMP_ROUNDS = 5  # IMP / lottery rounds
IMP_AMOUNT = 0.5  # fraction of survivors pruned per round (Huang et al.: 0.2)
IMP_EPOCHS = 5  # training epochs per IMP round
BUTTERFLY_FACTORS = [2, 8]  # factors per butterfly layer; fewer factors are denser
BATCH_SIZE = 64
LR = 0.001
DEVICE = "auto"
DATA_ROOT = None  # None: ./data (or $SPARSEPRIV_DATA)

# %%
import copy

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import sparsepriv_nb as spn
from sparsepriv_nb import paired
from sparsepriv_nb import sparsity as sp

lesson = spn.lesson.setup(seed=0)  # seeds once, starts the timer, sets figure defaults

# %% [markdown]
# ## 1. Data and a dense baseline
#
# We use the *target pool* of the privacy lessons: a deterministic split of the dataset into
# disjoint target / shadow sets (45 % train, 10 % validation, 45 % test in each half, as in
# Yuan & Zhang). Here we only need the target's train and test parts.

# %%
ds = spn.data.load_dataset(DATASET, root=DATA_ROOT, max_samples=MAX_SAMPLES)
pools = spn.data.make_pools(len(ds), seed=0)
train_data = ds.subset(pools.target_train)
test_data = ds.subset(pools.target_test)
print(f"{ds.name}: {len(ds)} samples of shape {ds.input_shape}, {ds.num_classes} classes;"
      f" target train {len(train_data[1])}, target test {len(test_data[1])}")


# %%
def new_model(seed):
    return spn.models.build_model(ARCH, input_shape=ds.input_shape,
                                  num_classes=ds.num_classes, seed=seed)


def train(model, epochs, seed):
    return spn.train.fit(model, train_data, epochs=epochs, lr=LR, batch_size=BATCH_SIZE,
                         seed=seed, device=DEVICE, progress=False)


def test_acc(model):
    return spn.train.evaluate(model, test_data, device=DEVICE)["accuracy"]


dense = new_model(seed=0)
train(dense, EPOCHS, seed=0)
dense_acc = test_acc(dense)
print(f"dense test accuracy: {dense_acc:.3f}")
assert dense_acc > 0.5, "the dense baseline should learn the task"

# %% [markdown]
# ## 2. Masks and density
#
# A pruned layer computes with $w \odot m$, where $m \in \{0,1\}$ has the same shape as $w$.
# The **density** is the fraction of ones, $d = \frac{1}{n}\sum m$, and the sparsity is
# $s = 1 - d$. We count only Linear and Conv weights (biases and norm layers are not pruned).
#
# ### 2.1 Layer-wise magnitude pruning, by hand
# In every layer, zero the fraction `amount` of weights with the smallest $|w|$.

# %%
amount = 0.8
by_hand = {}
for name, layer in sp.prunable_layers(dense):
    w = layer.weight.detach()
    k = round(amount * w.numel())  # how many to remove
    smallest = w.abs().flatten().argsort()[:k]  # positions of the k smallest |w|
    mask = torch.ones(w.numel())
    mask[smallest] = 0
    by_hand[name] = mask.view_as(w)
    print(f"{name}: {tuple(w.shape)}, density {mask.mean():.3f}")

# %% [markdown]
# The package builds on `torch.nn.utils.prune`, which stores `weight_orig` and `weight_mask`
# and recomputes `weight = weight_orig * weight_mask` before every forward pass, so masks stay
# exact during training. Same masks?

# %% tags=["nbval-check-output"]
layerwise = sp.magnitude_prune(copy.deepcopy(dense), amount, scope="layer")
package = sp.get_masks(layerwise)
same = all(torch.equal(by_hand[n], package[n]) for n in by_hand)
assert same, "the package's layer-wise masks differ from the hand-made ones"
print("package == by hand:", same)
print(sp.density_report(layerwise)[["layer", "total", "kept", "density"]].round(3).to_string())

# %% [markdown]
# ### 2.2 Global magnitude pruning
# One threshold for the whole network: layers with many small weights lose more.

# %%
all_w = torch.cat([layer.weight.detach().abs().flatten() for _, layer in sp.prunable_layers(dense)])
threshold = all_w.sort().values[round(amount * all_w.numel()) - 1]  # the k-th smallest |w|
global_by_hand = {n: (layer.weight.detach().abs() > threshold).float()
                  for n, layer in sp.prunable_layers(dense)}
global_pruned = sp.magnitude_prune(copy.deepcopy(dense), amount, scope="global")
same = all(torch.equal(global_by_hand[n], m) for n, m in sp.get_masks(global_pruned).items())
assert same, "the package's global masks differ from the hand-made ones"
print("package == by hand:", same)
print("density per layer:", {n: round(d, 3) for n, d in sp.layer_densities(global_pruned).items()})

# %% [markdown]
# ### 2.3 Random pruning with matched densities
# The baseline of the lottery-ticket literature and of Adamczewski & Park: keep exactly as many
# weights per layer as global magnitude pruning does, at random positions (a seeded generator,
# never the global RNG).

# %%
random_pruned = sp.random_prune(copy.deepcopy(dense), densities=sp.layer_densities(global_pruned),
                                seed=0)
matched = sp.density_report(random_pruned).kept.equals(sp.density_report(global_pruned).kept)
assert matched, "random pruning must keep as many weights per layer as magnitude pruning"
print("same number of weights per layer:", matched)
print(f"one model, no fine-tuning, {len(test_data[1])} test samples: accuracy magnitude "
      f"{test_acc(global_pruned):.3f}, random {test_acc(random_pruned):.3f} (section 5 compares "
      "them over seeds)")


# %%
def show_masks(model, title):
    return spn.plots.mask_key(spn.plots.plot_masks(sp.get_masks(model), title=title))


fig = show_masks(global_pruned, f"global magnitude, density {sp.overall_density(global_pruned):.3f}"
                 " (rows: output units, columns: inputs)")
fig = show_masks(random_pruned, f"random, matched per-layer densities, density "
                 f"{sp.overall_density(random_pruned):.3f}")

# %% [markdown]
# ### 2.4 Structured pruning: L1 filters (Li et al. 2017)
# Remove whole convolution filters (output channels) with the smallest $\ell_1$ norm. The
# package masks each removed filter's **bias** (and, in networks with normalisation, that
# channel's scale and shift) too, so a removed channel outputs exactly zero. The next layer's
# weights that read a removed channel then only ever multiply zeros: a deployment could delete
# them and rebuild a smaller network, but the masked model here keeps its shape, and the density
# counts only the conv weights that were removed. An MLP has no filters, so we use a LeNet-5 for
# the same input.

# %% tags=["nbval-check-output"]
cnn = spn.models.build_model("lenet5", input_shape=ds.input_shape, num_classes=ds.num_classes,
                             seed=0)
norms = cnn.conv2.weight.detach().abs().sum(dim=(1, 2, 3))  # one L1 norm per filter
drop = norms.argsort()[: round(0.5 * len(norms))]
sp.l1_filter_prune(cnn, 0.5)  # half of every conv layer's filters
dead = cnn.conv2.weight_mask.flatten(1).sum(1) == 0
assert sorted(drop.tolist()) == dead.nonzero().flatten().tolist(), "not the smallest-norm filters"
with torch.no_grad():
    maps = cnn.conv2(torch.relu(cnn.conv1(test_data[0][:8])))  # conv2's output channels
assert bool((maps[:, dead] == 0).all()), "a removed filter must output zeros (bias pruned too)"
print(f"removed {int(dead.sum())} of {len(dead)} conv2 filters, the smallest-norm ones; "
      "their output maps are exactly zero")
print(sp.density_report(cnn)[["layer", "kind", "total", "kept", "density"]].round(3).to_string())

# %% [markdown]
# Half of every conv layer's filters, yet the overall density barely moves: in LeNet-5 most
# weights sit in the fully connected layers. Asking `apply_sparsity` for an overall density
# means *that* density, so filter pruning alone cannot reach low ones and says so rather than
# returning a denser model than asked:

# %%
fresh_cnn = spn.models.build_model("lenet5", input_shape=ds.input_shape,
                                   num_classes=ds.num_classes, seed=0)
try:
    sp.apply_sparsity(fresh_cnn, "l1-filter", 0.5)
    print(f"l1-filter reached density {sp.overall_density(fresh_cnn):.3f}")
except ValueError as err:
    print("ValueError:", err)
conv_share = sum(m.weight.numel() for _, m in sp.prunable_layers(cnn, (torch.nn.Conv2d,))) / \
    sp.density_report(cnn).total.iloc[-1]
print(f"conv weights are {conv_share:.1%} of this LeNet-5's prunable weights")

# %% [markdown]
# ## 3. Iterative magnitude pruning and lottery tickets
#
# **IMP** repeats *train → prune a fraction p of the survivors*; after n rounds
# $d = (1-p)^n$ (Huang et al. use p = 0.2, so $d = 0.8^n$, which they call $k$). A **lottery ticket** rewinds the
# survivors to their initial values after each prune and retrains the sparse subnetwork
# (Frankle & Carbin). Here is one rewinding step by hand:

# %%
ticket = new_model(seed=0)
w0 = {n: p.detach().clone() for n, p in ticket.named_parameters()}  # the initialisation
train(ticket, IMP_EPOCHS, seed=0)
sp.magnitude_prune(ticket, IMP_AMOUNT, scope="global")
with torch.no_grad():
    for name, param in ticket.named_parameters():  # weight_orig holds the dense values
        param.copy_(w0[name.removesuffix("_orig")])
first_name, first = sp.prunable_layers(ticket)[0]
survivors = first.weight_mask.bool()
effective = first.weight_orig * first.weight_mask  # what the next forward pass will use
back_at_init = torch.equal(effective[survivors], w0[f"{first_name}.weight"][survivors])
assert back_at_init and bool((effective[~survivors] == 0).all())
print("survivors back at init:", back_at_init)
print("pruned weights are zero:", bool((effective[~survivors] == 0).all()))

# %% [markdown]
# The package's `rewind_weights` does exactly this, and `iterative_magnitude_pruning` runs
# the whole schedule. Masks stay exact through training: after more steps the pruned
# weights are still zero.

# %%
check = new_model(seed=0)
saved = sp.snapshot_weights(check)
train(check, IMP_EPOCHS, seed=0)
sp.magnitude_prune(check, IMP_AMOUNT, scope="global")
sp.rewind_weights(check, saved)
same = all(torch.equal(layer.weight_orig * layer.weight_mask, check.get_submodule(n).weight)
           for n, layer in sp.prunable_layers(ticket))
assert same, "rewind_weights differs from the rewinding by hand"
print("package == by hand:", same)
train(check, 2, seed=1)
still_zero = all(bool((layer.weight[~layer.weight_mask.bool()] == 0).all())
                 for _, layer in sp.prunable_layers(check))
assert still_zero, "pruned weights must stay zero through training"
print("still zero after training:", still_zero)

# %% [markdown]
# **One-shot lottery ticket** (Bagmar et al., Algorithm 1): train once, prune p % in one go,
# rewind to $w_0$ and retrain. The package: `one_shot_lottery_ticket`.

# %%
one_shot = sp.one_shot_lottery_ticket(new_model(seed=0), lambda m, phase: train(m, EPOCHS, phase),
                                      amount=0.9)
one_shot_acc = test_acc(one_shot)
print(f"one-shot ticket: density {sp.overall_density(one_shot):.3f}, "
      f"test accuracy {one_shot_acc:.3f} (dense {dense_acc:.3f}); one model of one seed on "
      f"{len(test_data[1])} test samples, so a difference of a few points may be noise")

# %% [markdown]
# ## 4. Butterfly sparsity
#
# A butterfly matrix of size $N = 2^L$ is a product $B_L \cdots B_1$ of sparse factors with
# fixed supports $S_i = I_{2^{L-i}} \otimes \mathbf{1}_{2\times 2} \otimes I_{2^{i-1}}$
# (Dao et al. 2019; Gonon et al.): 2 non-zeros per row, $2NL$ parameters instead of $N^2$, yet
# a dense product. By hand for N = 8:

# %% tags=["nbval-check-output"]
N, L = 8, 3
by_hand = [torch.kron(torch.kron(torch.eye(2 ** (L - i)), torch.ones(2, 2)), torch.eye(2 ** (i - 1)))
           for i in range(1, L + 1)]
package = sp.butterfly_supports(N)
same = all(torch.equal(a.bool(), b) for a, b in zip(by_hand, package))
assert same, "the package's supports differ from the Kronecker formula"
print("same supports:", same)
print("non-zeros per factor:", [int(s.sum()) for s in package], "total", sum(int(s.sum()) for s in package),
      "vs dense", N * N)
product = by_hand[2] @ by_hand[1] @ by_hand[0]
assert bool((product != 0).all())
print("product is dense:", bool((product != 0).all()))

# %%
fig = spn.plots.mask_key(spn.plots.plot_butterfly_supports(sp.butterfly_supports(16)),
                         on="non-zero (in the support)", off="always zero")

# %% [markdown]
# A Linear layer of any shape becomes a `ButterflyLinear`: pad the input to the next power of
# two, multiply by the factors, crop the output (our choice; Gonon et al. do not publish theirs).
# Padding has a price: entries that only ever multiply padded zeros, or feed only cropped
# outputs, are parameters that cannot change the output. The density report counts only the
# **effective** entries (those on a path from a real input to a kept output), against the dense
# layer they replace, so it never exceeds 1. Density is controlled by the number of factors
# (fewer factors = wider blocks = denser) and by which layers are factorised.

# %% tags=["nbval-check-output"]
for n_factors in BUTTERFLY_FACTORS:
    bf = sp.butterfly_sparsify(new_model(seed=0), n_factors=n_factors)
    layer = bf.fc1
    print(f"n_factors={n_factors}: fc1 ({layer.in_features}->{layer.out_features}, padded to "
          f"N={layer.N}) has {layer.n_trainable} support entries, {layer.n_effective} effective; "
          f"overall density {sp.overall_density(bf):.3f}")
    assert sp.density_report(bf).density.max() <= 1
print(sp.density_report(bf)[["layer", "kind", "total", "kept", "density"]].round(3).to_string())

# %% [markdown]
# ## 5. Accuracy vs density
#
# Now every method at every density, over several seeds (the spread matters: Gonon et al.
# report mean ± std). One-shot methods prune the trained dense model of each seed and fine-tune
# for `FINETUNE_EPOCHS` (we also record the accuracy right after pruning, before fine-tuning);
# IMP and lottery tickets record each round; butterfly networks are trained from scratch. No
# early stopping: every model trains its fixed number of epochs. Each row records the density
# the model actually has (`density`) beside the one asked for (`requested`).

# %%
records = []


def record(method, model, seed, requested, before_finetune=None):
    acc = test_acc(model)
    records.append(dict(method=method, seed=seed, requested=requested,
                        density=sp.overall_density(model), test_acc=acc,
                        acc_before_finetune=acc if before_finetune is None else before_finetune))


def one_shot_runs(base, seed):
    """Prune the seed's trained dense model to every density, then fine-tune."""
    for density in DENSITIES:
        for method in ("magnitude-global", "random"):
            if density == 1.0:
                record(method, base, seed, 1.0)
                continue
            m = sp.apply_sparsity(copy.deepcopy(base), method, density, seed=seed)
            before = test_acc(m)
            train(m, FINETUNE_EPOCHS, seed)
            record(method, m, seed, density, before)


# %%
def iterative_runs(seed):
    """IMP and lottery tickets: one record per round."""
    for method, rewind in (("IMP", None), ("lottery ticket", "init")):
        _, hist = sp.iterative_magnitude_pruning(
            new_model(seed), lambda m, r: train(m, IMP_EPOCHS, seed + 100 * r), rounds=IMP_ROUNDS,
            amount=IMP_AMOUNT, scope="global", rewind=rewind, progress=False,
            eval_fn=lambda m: {"test_acc": test_acc(m)})
        records.extend(dict(method=method, seed=seed, requested=(1 - IMP_AMOUNT) ** r.round,
                            density=r.density, test_acc=r.test_acc, acc_before_finetune=r.test_acc)
                       for r in hist.itertuples())


# %%
def butterfly_runs(seed):
    for n_factors in BUTTERFLY_FACTORS:
        bf = sp.butterfly_sparsify(new_model(seed), n_factors=n_factors, seed=seed)
        train(bf, EPOCHS, seed)
        record(f"butterfly ({n_factors} factors)", bf, seed, float("nan"))


for seed in SEEDS:
    base = new_model(seed)
    train(base, EPOCHS, seed)
    one_shot_runs(base, seed)
    iterative_runs(seed)
    butterfly_runs(seed)
results = pd.DataFrame(records)
print(f"{len(results)} trained configurations over {len(SEEDS)} seeds")

# %% [markdown]
# The table: per method and requested density, the achieved density and the test accuracy as
# mean, standard deviation and a 95 % t-interval over the seeds (`spn.metrics.aggregate_seeds`).
# This interval shows how much retraining with another seed moves the accuracy (seed
# variance); it does not include the noise of a finite test set. With 3 seeds the t-interval
# is the mean ± 4.3 standard errors: where the seeds disagree it is very wide, and it can even
# reach below 0 or above 1. It bounds the *mean* accuracy, not a single model's.

# %%
key = results.assign(requested=results.requested.fillna(-1))  # butterfly: no requested density
acc = spn.metrics.aggregate_seeds(key, ["method", "requested"], "test_acc")
achieved = key.groupby(["method", "requested"], sort=False).density.mean().rename("density")
summary = acc.join(achieved, on=["method", "requested"]).drop(columns="metric")
summary["requested"] = summary.requested.where(summary.requested >= 0)
summary = summary[["method", "requested", "density", "mean", "sd", "n", "lo", "hi"]]
summary.rename(columns={"mean": "test_acc"}).round(3)

# %% tags=["headline"]
per_round = {m: f"{m} ({IMP_EPOCHS} epochs per round)" for m in ("IMP", "lottery ticket")}
fig = spn.plots.plot_intervals(summary.replace({"method": per_round}), x="density", hue="method",
                               logx=True,
                               xlabel="achieved density (fraction of weights kept, log scale)",
                               ylabel="test accuracy (mean, 95% t-interval over seeds)",
                               chance=1 / ds.num_classes,
                               title=f"{ds.name}, {ARCH}: accuracy vs density, {len(SEEDS)} seeds\n"
                                     f"(one-shot methods: pruned from a {EPOCHS}-epoch dense model)")
ax = fig.axes[0]
ticks = spn.lesson.log_ticks(summary.density)  # thinned where labels would overlap
ax.set_xticks(ticks, [f"{t:g}" for t in ticks], rotation=90, fontsize=7)
ax.xaxis.set_minor_locator(plt.NullLocator())
ax.invert_xaxis()  # sparser to the right

# %% [markdown]
# **What this run shows.** Computed from the table above, so it holds for whatever profile
# produced it. Each comparison is **paired by seed**: magnitude and random prune the same
# trained model, so we take the difference seed by seed and put a 95 % t-interval on its mean.
# The family holds magnitude-global minus random at every density below 1, right after pruning
# and after fine-tuning, and one more comparison: the lottery ticket minus plain IMP at the
# lowest density both reach, $(1 - p)^n$ (section 3: the same pruning schedule with and
# without rewinding to the initialisation). These comparisons form one family, so
# `spn.families.holm_verdicts` controls the chance of any false detection (Holm), and each
# "no detectable difference" states the smallest difference the seeds could have detected
# (MDE, power 0.8, t-based over the seeds). A difference that is
# exactly the same on every seed has no spread to test and is reported as such, with the
# value both had. A difference of 0 means equal accuracies on every seed, not necessarily the
# same predictions; at the chance level it is what one expects when global pruning leaves a
# layer almost empty and a network predicts one class for every input (exercise 2).

# %% tags=["verdict", "headline"]
comparisons = [paired.seed_comparison(results, "magnitude-global", "random", column, d)
               for d in DENSITIES if d < 1 for column in ("acc_before_finetune", "test_acc")]
comparisons.append(paired.seed_comparison(results, "lottery ticket", "IMP", "test_acc",
                                          (1 - IMP_AMOUNT) ** IMP_ROUNDS))
family = spn.families.holm_verdicts(comparisons)
m = int(family.frame.p.notna().sum())
acc_tests = family.frame[family.frame.name.str.startswith("test_acc")
                         & family.frame.name.str.endswith("random")]
found = acc_tests[~acc_tests.verdict.isin([spn.metrics.NO_DIFFERENCE, "not measurable here"])]
precision = paired.precision_clause(acc_tests, m)  # the best MDE, and densities with none
print(f"Verdict: accuracy vs density after fine-tuning, magnitude-global minus random, paired "
      f"over {len(SEEDS)} seeds: "
      + ("; ".join(f"{r.verdict} at density {r.name.split('density ')[1].split(',')[0]} "
                   f"({r.diff:+.3f} [{r.lo:+.3f}, {r.hi:+.3f}])" for r in found.itertuples())
         if len(found) else "no detectable difference at any density")
      + f": {len(found)} of {len(acc_tests)} densities after Holm."
      + (f" {precision[0].upper()}{precision[1:]}." if precision else ""))
for r in family.frame.itertuples():
    print(f"{r.name}: {paired.seed_sentence(r, m, chance=1 / ds.num_classes)}")
print(family.summary())

# %% [markdown]
# **How the MDE shrinks with the number of seeds.** These comparisons are paired over seeds,
# so their MDE (power 0.8, one comparison at the 5 % level, t-based) is set by the spread of
# the per-seed differences and by the number of seeds; the test set's size enters only through
# that spread. Below, the median spread of the test-accuracy differences (magnitude-global
# minus random) projected to more seeds (`spn.power.seed_mde_table`, `needed_sentence`).

# %%
sds = acc_tests.sd[acc_tests.sd > 0]
if len(sds) and len(SEEDS) >= 2:
    sd_mid = float(sds.median())
    seed_counts = sorted({len(SEEDS), 5, 10, 20, 50})
    print(spn.power.seed_mde_table(sd_mid, seed_counts).round(3).to_string(index=False))
    print(f"Median spread of the per-seed differences: {sd_mid:.3f} (over {len(sds)} densities). "
          + spn.power.needed_sentence(0.02, sd=sd_mid, n_seeds=len(SEEDS)))
else:
    print("Fewer than 2 seeds or no spread: the seed-level MDE cannot be projected from this run.")
alone = acc_tests[(acc_tests.verdict == spn.metrics.NO_DIFFERENCE)
                  & (acc_tests.verdict_uncorrected != spn.metrics.NO_DIFFERENCE)]
if len(alone):  # the largest difference whose own interval excludes 0 but Holm does not detect
    print(paired.holm_seed_sentence(alone.loc[alone["diff"].abs().idxmax()], m, family_p=family.frame.p))

# %% [markdown]
# **Overlapping intervals are not "no difference".** The table's intervals are *marginal*:
# each includes the seed-to-seed variation of its own method. Magnitude and random pruning of
# the same seed share that variation (the same trained model, the same data order), and the
# paired difference cancels it. So two marginal intervals can overlap while the paired
# interval excludes 0, and the paired one is the right test:

# %%
marg = summary.set_index(["method", "requested"])
hidden = []
for r, holm in zip(comparisons, family.frame.verdict):
    if not (r["name"].startswith("test_acc") and "random" in r["name"]):
        continue
    d = float(r["name"].split("density ")[1].split(",")[0])
    mg, rn = marg.loc[("magnitude-global", d)], marg.loc[("random", d)]
    if mg.lo <= rn.hi and rn.lo <= mg.hi and (r["lo"] > 0 or r["hi"] < 0):
        hidden.append(f"density {d:g}: marginal intervals [{mg.lo:.3f}, {mg.hi:.3f}] "
                      f"(magnitude-global) and [{rn.lo:.3f}, {rn.hi:.3f}] (random) overlap, yet "
                      f"the paired difference {r['diff']:+.3f} [{r['lo']:+.3f}, {r['hi']:+.3f}] "
                      "excludes 0 (95 %, one comparison; "
                      + ("it stays detectable after the Holm correction)"
                         if holm != spn.metrics.NO_DIFFERENCE else f"after the Holm correction over "
                         f"the {m} testable comparisons it is not detectable with "
                         f"{len(SEEDS)} seeds)"))
print("\n".join(hidden) if hidden else "In this run no test-accuracy comparison has overlapping "
      "marginal intervals and a paired interval that excludes 0.")

# %% [markdown]
# **How sparse can each method go and still match dense?** "Matching" needs a margin: we ask
# that the method lose at most `MATCH` = 0.02 accuracy against the dense model of the same
# seed (trained `EPOCHS` epochs), shown by the paired 95 % t-interval of method minus dense
# lying above -0.02. A mean whose interval is merely wide (a model that collapses on one seed)
# does not pass, however much it overlaps the dense interval.

# %% tags=["verdict"]
MATCH = 0.02
dense_seed = key[(key.method == "magnitude-global") & (key.requested == 1.0)]
for method, g in key[key.density < 1].groupby("method", sort=False):
    tests = paired.against_baseline(g, dense_seed, method, "test_acc")  # (density, comparison)
    print(paired.match_line(method, tests, MATCH, len(SEEDS)))

# %% [markdown]
# **Why IMP can start lower and then improve.** IMP's density-1 row is not the dense model of
# the one-shot methods: plain IMP trains `IMP_EPOCHS` epochs per round and keeps training the
# survivors (no rewinding), so its model at round $r$ has had $(r+1) \times$ `IMP_EPOCHS`
# epochs. The lottery ticket rewinds to the initialisation and retrains `IMP_EPOCHS` epochs
# every round: the same pruning schedule (with its own masks) without the extra training.

# %%
acc_of = summary.set_index(["method", "requested"])["mean"]
imp = summary[summary.method == "IMP"].sort_values("requested", ascending=False)
best = imp.iloc[1:].loc[imp.iloc[1:]["mean"].idxmax()]
r_best = int(round(np.log(best.requested) / np.log(1 - IMP_AMOUNT)))
print(f"IMP at density 1 is trained {IMP_EPOCHS} epochs: accuracy {imp.iloc[0]['mean']:.3f}; the "
      f"one-shot methods' dense model is trained {EPOCHS} epochs: "
      f"{acc_of[('magnitude-global', 1.0)]:.3f}.")
print(f"IMP's best sparse round is density {best.requested:.3g} (round {r_best}, "
      f"{(r_best + 1) * IMP_EPOCHS} epochs in all): {best['mean']:.3f}; the lottery ticket, "
      f"retrained {IMP_EPOCHS} epochs from the initialisation, has "
      f"{acc_of[('lottery ticket', best.requested)]:.3f} at that density.")

# %% tags=["verdict"]
# the same seed's model at the best round minus at density 1: paired over seeds
gain = {meth: paired.within_method(key, meth, best.requested, 1.0, "test_acc")
        for meth in ("IMP", "lottery ticket")}
said = {meth: paired.by_how_much(g["diff"], g["lo"], g["hi"], spn.power.seed_mde(g["sd"], g["n"]),
                                 higher="higher", lower="lower") for meth, g in gain.items()}
rises, lt_rises = gain["IMP"]["lo"] > 0, gain["lottery ticket"]["lo"] > 0
lt_ruled_out = gain["lottery ticket"]["hi"] < gain["IMP"]["diff"]  # a rise as large as IMP's
print(f"Verdict: density {best.requested:g} minus density 1, paired over {len(SEEDS)} seeds: IMP "
      f"{said['IMP']}; lottery ticket {said['lottery ticket']}. "
      + ("No cause can be singled out from these seeds" if not rises or lt_rises else
         "IMP's accuracy rises with pruning and the lottery ticket's does not: the extra "
         "training, not the pruning, is the likelier cause of IMP's rise" if lt_ruled_out else
         "IMP's accuracy rises with pruning; the lottery ticket's shows no detectable change, but "
         f"its interval does not exclude a rise as large as IMP's ({gain['IMP']['diff']:.3f}): "
         "these seeds cannot tell the extra training from the pruning as the cause")
      + " (the density is IMP's best, chosen after seeing the means, so IMP's interval is "
      "optimistic).")
print(f"The one-shot ticket of section 3 ({one_shot_acc:.3f} at density "
      f"{sp.overall_density(one_shot):.3g}, one seed) is another recipe: "
      f"{EPOCHS} epochs dense, one prune, rewind, {EPOCHS} epochs of retraining; this lottery "
      f"ticket retrains {IMP_EPOCHS} epochs per round, so the two differ in training length, "
      "not only in how the mask was found.")

# %% [markdown]
# Sanity checks that hold on any reasonable run (stochastic, so ranges rather than numbers):
# dense training learns, densities are what was asked, and moderate magnitude pruning (the
# density of `DENSITIES` closest to 0.5) with fine-tuning stays close to dense.

# %%
means = results.groupby(["method", results.requested.round(6)]).test_acc.mean()
moderate = round(min((d for d in DENSITIES if d < 1), key=lambda d: abs(d - 0.5)), 6)
assert 1.0 in DENSITIES, "DENSITIES must include 1.0 (the dense model every comparison uses)"
assert means[("magnitude-global", 1.0)] > 0.5
assert means[("magnitude-global", moderate)] > means[("magnitude-global", 1.0)] - 0.1
one_shot_rows = results[results.method.isin(["magnitude-global", "random"])]
assert ((one_shot_rows.density - one_shot_rows.requested).abs() < 1e-3).all(), "achieved != requested"
assert (results.density <= 1).all()
assert {"magnitude-global", "random", "IMP", "lottery ticket"} <= set(results.method)

# %% [markdown]
# ## 6. Explore: choose a sparsity level
#
# `spn.widgets.sparsity_view` prunes a copy of the dense model (no fine-tuning) and shows the
# masks and the accuracy; the explorer below calls the same function and starts on the same
# method and density as this static view, so the headless report has it too.

# %%
VIEW_METHOD, VIEW_DENSITY = "magnitude-global", 0.1
view = spn.widgets.sparsity_view(dense, test_data, density=VIEW_DENSITY, method=VIEW_METHOD)
fig = view["figure"]  # masks with their colour key (spn.plots.mask_key)
print(f"{VIEW_METHOD}, density {view['density']:.3f}: accuracy {view['accuracy']:.3f} "
      "without fine-tuning")

# %%
spn.widgets.sparsity_explorer(dense, test_data, densities=[1.0, 0.5, 0.2, VIEW_DENSITY, 0.05, 0.02],
                              methods=[VIEW_METHOD, "magnitude", "random"])

# %% [markdown]
# ## Summary
#
# * A sparse network is a dense one times a mask; `torch.nn.utils.prune` keeps the mask exact,
#   and every density shown is the one the model actually has.
# * Magnitude, random (matched per-layer densities), IMP and lottery tickets differ in *which*
#   weights survive (and IMP and the lottery ticket here also in training length: section 5
#   could not tell that from the pruning); whether that changes accuracy, with and without
#   fine-tuning, was printed above from this run's seeds, with its interval.
# * Filter pruning removes whole channels, but only conv weights: on LeNet-5 it cannot reach low
#   overall densities by itself. Butterfly layers give structured sparsity whose product is
#   dense; padding costs parameters that the density report leaves out.
# * Every curve has a spread over seeds. Compare methods *paired* by seed: overlapping
#   marginal intervals can hide a difference that the paired interval detects (section 5).
#
# **Exercises**
#
# Open-ended (no automatic check; each says what a good answer shows):
# 1. Rerun with `IMP_AMOUNT = 0.2` and `IMP_ROUNDS = 10` (Huang et al.'s $k = 0.8^n$). IMP
#    then records densities $0.8^n$ (0.8, 0.64, 0.512, …, 0.107), none of which is in the
#    default `DENSITIES`; to prune one-shot at some of them as well, set
#    `DENSITIES = [1.0] + [round(0.8 ** n, 6) for n in (2, 4, 7, 10)]` (the sanity checks of
#    section 5 use the density closest to 0.5, and need 1.0).
#    *A good answer* states the density reached ($0.8^{10} \approx 0.11$), compares IMP's
#    accuracy with one-shot magnitude pruning at those shared densities as paired differences
#    (`paired.seed_comparison(results, "IMP", "magnitude-global", "test_acc", d)`) with their
#    intervals over seeds, and calls a difference inside the seed spread "not detectable at
#    this power" rather than a win for either method.
# 2. Compare layer-wise and global magnitude pruning at density 0.02: which layers die?
#    *A good answer* prints the per-layer densities (`spn.sparsity.layer_densities`) of both:
#    layer-wise keeps 2 % of every layer; global keeps the layers whose weights are large (at
#    initialisation their scale is $1/\sqrt{\text{fan-in}}$, so layers with few inputs) and
#    can empty the others entirely. It names the layers this run emptied and links them to the
#    accuracy collapse of section 5. Graded exercise 01.3 writes the global rule.
# 3. Late rewinding: use `spn.train.fit(..., snapshot_steps=[k])` and
#    `iterative_magnitude_pruning(rewind="state", rewind_state=...)`.
#    *A good answer* compares rewinding to initialisation and to step $k$ (a few hundred steps)
#    at the lowest density, with intervals over seeds; on this small MLP expect at most a small
#    difference (Frankle et al. found late rewinding matters for deep networks).
# 4. Run the standard profile: `sparsepriv-nb run --profile standard --only 01`. Do the
#    verdicts of section 5 change with more data and LeNet-5? The standard profile trains
#    only 2 seeds (`notebooks/params/standard.yaml`), so its seed intervals use $t_{0.975,1}
#    = 12.7$ instead of $t_{0.975,2} = 4.3$: expect them *wider*, not narrower, and few
#    detections at Holm's level on 1 degree of freedom. Add `-p "SEEDS=[0, 1, 2]"` for a fair
#    comparison (more data changes the spread over seeds, not the test-set noise, which these
#    intervals leave out).
#    *A good answer* tabulates each verdict of section 5 for both profiles (with the number of
#    seeds each rests on) and says which ones change, whether the per-seed spread (the sd, not
#    the interval) shrank with more data, and whether the ranking changed (another
#    architecture).

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex01-intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### Graded exercises
# Each exercise asks you to write one piece of this lesson's method as a function, between the
# lines `# YOUR CODE HERE` and `raise NotImplementedError()` (replace both). The cell below it
# compares your function with the package's own implementation on small inputs it makes up,
# and says what it expected and what your function gave. Each exercise runs on its own: it
# does not need the models trained above. Score them all with
# `sparsepriv-nb check 01_sparsity_methods.ipynb`.

# %% nbgrader={"grade": false, "grade_id": "ex01-setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import torch

from sparsepriv_nb import exercises as ex

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex01-1-task", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Exercise 01.1 (1 point).** Write `density(masks)`: `masks` maps each layer's name to its
# 0/1 mask (a tensor, float or bool); return the fraction of weights kept over *all* layers
# together, one float in [0, 1]. (A big layer counts more than a small one.)

# %% nbgrader={"grade": false, "grade_id": "ex01-1-solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def density(masks):
    ### BEGIN SOLUTION
    kept = sum(float(m.float().sum()) for m in masks.values())
    total = sum(m.numel() for m in masks.values())
    return kept / total
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex01-1-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
ex.check_density(density)
### BEGIN HIDDEN TESTS
ex.check_density(density, hidden=True)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex01-2-task", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Exercise 01.2 (2 points).** Write `magnitude_mask(weight, density)`, layer-wise magnitude
# pruning of one weight tensor (any shape): return a 0/1 tensor of the weight's shape that
# prunes the `round((1 - density) * n)` entries of smallest $|w|$ ($n$ = number of entries) and
# keeps the others, as `torch.nn.utils.prune.l1_unstructured(module, "weight",
# amount=1 - density)` does. Hint: `torch.topk(..., largest=False)`.

# %% nbgrader={"grade": false, "grade_id": "ex01-2-solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def magnitude_mask(weight, density):
    ### BEGIN SOLUTION
    n_prune = round((1 - density) * weight.numel())
    mask = torch.ones(weight.numel())
    if n_prune > 0:
        smallest = torch.topk(weight.abs().reshape(-1), n_prune, largest=False).indices
        mask[smallest] = 0
    return mask.reshape(weight.shape)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex01-2-check", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
ex.check_magnitude_mask(magnitude_mask)
### BEGIN HIDDEN TESTS
ex.check_magnitude_mask(magnitude_mask, hidden=True)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex01-3-task", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Exercise 01.3 (2 points).** Write `global_masks(weights, density)`, *global* magnitude
# pruning: `weights` maps layer names to weight tensors; rank the $|w|$ of all layers together,
# prune the `round((1 - density) * N)` smallest ($N$ = all entries of all layers) and return a
# dict of 0/1 masks with the same keys and shapes. The check gives layers of different scales:
# a layer of small weights should lose more than the others (compare with
# `magnitude_prune(model, amount, scope="global")` in section 2).

# %% nbgrader={"grade": false, "grade_id": "ex01-3-solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def global_masks(weights, density):
    ### BEGIN SOLUTION
    flat = torch.cat([w.abs().reshape(-1) for w in weights.values()])
    n_prune = round((1 - density) * flat.numel())
    keep = torch.ones_like(flat)
    if n_prune > 0:
        keep[torch.topk(flat, n_prune, largest=False).indices] = 0
    masks, start = {}, 0
    for name, w in weights.items():
        masks[name] = keep[start:start + w.numel()].reshape(w.shape)
        start += w.numel()
    return masks
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex01-3-check", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
ex.check_global_masks(global_masks)
### BEGIN HIDDEN TESTS
ex.check_global_masks(global_masks, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **Where next:** notebook 02 (`02_membership_inference`) attacks these models: does a pruned
# model leak less about its training set than the dense one?

# %%
print(f"notebook time: {lesson.elapsed():.0f} s")
