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
# Defaults are the *quick* profile (8x8 digits, an MLP, about a minute on a laptop CPU);
# `notebooks/params/standard.yaml` reruns it on Fashion-MNIST with LeNet-5.

# %% tags=["parameters"]
DATASET = "digits"  # digits | fashion-mnist | mnist | cifar10
ARCH = "mlp"  # mlp | lenet5 | cnn | resnet18
MAX_SAMPLES = None  # keep a stratified subset of this many samples (None: all)
DENSITIES = [1.0, 0.5, 0.2, 0.1, 0.05, 0.02]
SEEDS = [0, 1, 2]
EPOCHS = 30  # dense training
FINETUNE_EPOCHS = 10  # after one-shot pruning
IMP_ROUNDS = 5  # IMP / lottery rounds
IMP_AMOUNT = 0.5  # fraction of survivors pruned per round (Huang et al.: 0.2)
IMP_EPOCHS = 10  # training epochs per IMP round
BUTTERFLY_FACTORS = [2, 8]  # factors per butterfly layer; fewer factors are denser
BATCH_SIZE = 64
LR = 0.001
DEVICE = "auto"
DATA_ROOT = None  # None: ./data (or $SPARSEPRIV_DATA)

# %%
import copy
import time

import matplotlib.pyplot as plt
import pandas as pd
import torch

import sparsepriv_nb as spn
from sparsepriv_nb import sparsity as sp

spn.train.seed_everything(0)
T0 = time.perf_counter()
plt.rcParams["figure.dpi"] = 80

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
print(all(torch.equal(by_hand[n], package[n]) for n in by_hand))
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
print(all(torch.equal(global_by_hand[n], m) for n, m in sp.get_masks(global_pruned).items()))
print({n: round(d, 3) for n, d in sp.layer_densities(global_pruned).items()})

# %% [markdown]
# ### 2.3 Random pruning with matched densities
# The baseline of the lottery-ticket literature and of Adamczewski & Park: keep exactly as many
# weights per layer as global magnitude pruning does, at random positions (a seeded generator,
# never the global RNG).

# %%
random_pruned = sp.random_prune(copy.deepcopy(dense), densities=sp.layer_densities(global_pruned),
                                seed=0)
matched = sp.density_report(random_pruned).kept.equals(sp.density_report(global_pruned).kept)
print("same number of weights per layer:", matched)
print(f"test accuracy without fine-tuning: magnitude {test_acc(global_pruned):.3f}, "
      f"random {test_acc(random_pruned):.3f}")
fig = spn.plots.plot_masks(sp.get_masks(global_pruned), title="global magnitude, density 0.2")
fig = spn.plots.plot_masks(sp.get_masks(random_pruned), title="random, matched densities")

# %% [markdown]
# ### 2.4 Structured pruning: L1 filters (Li et al. 2017)
# Remove whole convolution filters with the smallest $\ell_1$ norm: the pruned model is truly
# smaller, not just sparse. An MLP has no filters, so we show it on a LeNet-5 for the same input.

# %%
cnn = spn.models.build_model("lenet5", input_shape=ds.input_shape, num_classes=ds.num_classes,
                             seed=0)
norms = cnn.conv2.weight.detach().abs().sum(dim=(1, 2, 3))  # one L1 norm per filter
drop = norms.argsort()[: round(0.5 * len(norms))]
sp.l1_filter_prune(cnn, 0.5)
zero_filters = (cnn.conv2.weight.detach().abs().sum(dim=(1, 2, 3)) == 0).nonzero().flatten()
print("dropped the smallest-norm filters:", sorted(drop.tolist()) == zero_filters.tolist())
print(sp.density_report(cnn)[["layer", "kind", "density"]].round(3).to_string())

# %% [markdown]
# ## 3. Iterative magnitude pruning and lottery tickets
#
# **IMP** repeats *train → prune a fraction p of the survivors*; after n rounds
# $d = (1-p)^n$ (Huang et al. use p = 0.2, so $k = 0.8^n$). A **lottery ticket** rewinds the
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
print("survivors back at init:",
      torch.equal(effective[survivors], w0[f"{first_name}.weight"][survivors]))
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
print("package == by hand:",
      all(torch.equal(layer.weight_orig * layer.weight_mask, check.get_submodule(n).weight)
          for n, layer in sp.prunable_layers(ticket)))
train(check, 2, seed=1)
print("still zero after training:",
      all(bool((layer.weight[~layer.weight_mask.bool()] == 0).all())
          for _, layer in sp.prunable_layers(check)))

# %% [markdown]
# **One-shot lottery ticket** (Bagmar et al., Algorithm 1): train once, prune p % in one go,
# rewind to $w_0$ and retrain. The package: `one_shot_lottery_ticket`.

# %%
one_shot = sp.one_shot_lottery_ticket(new_model(seed=0), lambda m, phase: train(m, EPOCHS, phase),
                                      amount=0.9)
print(f"one-shot ticket: density {sp.overall_density(one_shot):.3f}, "
      f"test accuracy {test_acc(one_shot):.3f} (dense {dense_acc:.3f})")

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
print("same supports:", all(torch.equal(a.bool(), b) for a, b in zip(by_hand, package)))
print("non-zeros per factor:", [int(s.sum()) for s in package], "total", sum(int(s.sum()) for s in package),
      "vs dense", N * N)
product = by_hand[2] @ by_hand[1] @ by_hand[0]
print("product is dense:", bool((product != 0).all()))

# %%
fig = spn.plots.plot_butterfly_supports(sp.butterfly_supports(16))

# %% [markdown]
# A Linear layer of any shape becomes a `ButterflyLinear`: pad the input to the next power of
# two, multiply by the factors, crop the output (our choice; Gonon et al. do not publish theirs).
# Density is controlled by the number of factors (fewer factors = wider blocks = denser) and by
# which layers are factorised; the report gives the density actually obtained.

# %%
for n_factors in BUTTERFLY_FACTORS:
    bf = sp.butterfly_sparsify(new_model(seed=0), n_factors=n_factors)
    print(f"n_factors={n_factors}: overall density {sp.overall_density(bf):.3f}")
print(sp.density_report(bf)[["layer", "kind", "total", "kept", "density"]].round(3).to_string())

# %% [markdown]
# ## 5. Accuracy vs density
#
# Now every method at every density, over several seeds (the spread matters: Gonon et al.
# report mean ± std). One-shot methods prune the trained dense model and fine-tune for
# `FINETUNE_EPOCHS`; IMP and lottery tickets record each round; butterfly networks are trained
# from scratch.

# %%
records = []


def record(method, model, seed):
    records.append(dict(method=method, seed=seed, density=sp.overall_density(model),
                        test_acc=test_acc(model)))


for seed in SEEDS:
    base = new_model(seed)
    train(base, EPOCHS, seed)
    for density in DENSITIES:
        for method in ("magnitude-global", "random"):
            m = base if density == 1.0 else sp.apply_sparsity(copy.deepcopy(base), method,
                                                               density, seed=seed)
            if density < 1.0:
                train(m, FINETUNE_EPOCHS, seed)
            record(method, m, seed)
    for method, rewind in (("IMP", None), ("lottery ticket", "init")):
        _, hist = sp.iterative_magnitude_pruning(
            new_model(seed), lambda m, r: train(m, IMP_EPOCHS, seed + 100 * r), rounds=IMP_ROUNDS,
            amount=IMP_AMOUNT, scope="global", rewind=rewind, eval_fn=lambda m: {"test_acc": test_acc(m)})
        records += [dict(method=method, seed=seed, density=r.density, test_acc=r.test_acc)
                    for r in hist.itertuples()]
    for n_factors in BUTTERFLY_FACTORS:
        bf = sp.butterfly_sparsify(new_model(seed), n_factors=n_factors, seed=seed)
        train(bf, EPOCHS, seed)
        record("butterfly", bf, seed)
results = pd.DataFrame(records)
print(f"{len(results)} trained configurations")

# %%
fig = spn.plots.plot_accuracy_vs_density(results)
summary = results.assign(density=results.density.round(3)).groupby(["method", "density"]).test_acc.agg(
    ["mean", "std"])
summary.round(3)

# %% [markdown]
# Sanity checks that hold on any reasonable run (stochastic, so ranges rather than numbers):
# dense training learns, and moderate magnitude pruning with fine-tuning stays close to dense.

# %%
means = results.groupby(["method", results.density.round(3)]).test_acc.mean()
assert means[("magnitude-global", 1.0)] > 0.5
assert means[("magnitude-global", 0.5)] > means[("magnitude-global", 1.0)] - 0.1
assert set(results.method) == {"magnitude-global", "random", "IMP", "lottery ticket", "butterfly"}

# %% [markdown]
# ## 6. Explore: choose a sparsity level
#
# `spn.widgets.sparsity_view` prunes a copy of the dense model (no fine-tuning) and shows the
# masks and the accuracy; the slider below calls the same function. Here it is once, without
# the widget, so the headless report has it too.

# %%
view = spn.widgets.sparsity_view(dense, test_data, density=0.1, method="magnitude-global")
print(f"density {view['density']:.3f}: accuracy {view['accuracy']:.3f} without fine-tuning")

# %%
spn.widgets.sparsity_explorer(dense, test_data)

# %% [markdown]
# ## Summary
#
# * A sparse network is a dense one times a mask; `torch.nn.utils.prune` keeps the mask exact.
# * Magnitude pruning keeps accuracy far better than random pruning at the same per-layer
#   densities *without* fine-tuning; with fine-tuning the gap shrinks at moderate densities.
# * IMP and lottery tickets reach low densities gradually; butterfly layers give structured,
#   dense-product sparsity trained from scratch.
# * Every curve has a spread over seeds: compare methods only where the bars do not overlap.
#
# **Exercises**
# 1. Rerun with `IMP_AMOUNT = 0.2` and `IMP_ROUNDS = 10` (Huang et al.'s $k = 0.8^n$).
# 2. Compare layer-wise and global magnitude pruning at density 0.02: which layers die?
# 3. Late rewinding: use `spn.train.fit(..., snapshot_steps=[k])` and
#    `iterative_magnitude_pruning(rewind="state", rewind_state=...)`.
# 4. Run the standard profile: `sparsepriv-nb run --profile standard --only 01`.

# %%
print(f"notebook time: {time.perf_counter() - T0:.0f} s")
