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
# # 04 · Model inversion of hidden layers
#
# Huang et al. (2020, seed 001) argue that pruning protects the *representations* a network
# computes: if an attacker sees a hidden layer's activations of your image (say, features sent
# to a server), how well can they reconstruct the image, and does pruning make it harder?
#
# **You will learn to**
# 1. write Mahendran & Vedaldi's inversion objective (feature matching + total variation) and
#    optimise it for a whole batch at once;
# 2. see why the TV prior uses $\beta = 2$ rather than $\beta = 1$;
# 3. invert every layer of IMP-pruned models with $k = 0.8^n$ weights left and measure
#    PSNR / SSIM, as in Huang et al.'s Fig. 2;
# 4. judge whether the trend supports the claim, keeping in mind that sparser models are also
#    less accurate.

# %% tags=["parameters"]
DATASET = "digits"
ARCH = "mlp"
MAX_SAMPLES = None
SEED = 0
EPOCHS = 30  # first (dense) training
IMP_EPOCHS = 10  # retraining per IMP round
K_ROUNDS = [0, 3, 6, 10]  # IMP rounds n; a model keeps k of 0.8**n of its weights
N_IMAGES = 8  # images inverted (one batch)
STEPS = 300
LR = 0.05
TV_WEIGHT = 0.01  # lambda_TV of the first layer
TV_GROWTH = 3.0  # lambda_TV multiplies by this per layer: deeper layers need a stronger prior
DEVICE = "auto"
DATA_ROOT = None

# %%
import copy
import math
import time

import matplotlib.pyplot as plt
import pandas as pd
import torch

import sparsepriv_nb as spn
from sparsepriv_nb import inversion as inv
from sparsepriv_nb import sparsity as sp

spn.train.seed_everything(SEED)
T0 = time.perf_counter()
plt.rcParams["figure.dpi"] = 80

# %% [markdown]
# ## 1. A trained model and the images to recover

# %%
ds = spn.data.load_dataset(DATASET, root=DATA_ROOT, max_samples=MAX_SAMPLES)
pools = spn.data.make_pools(len(ds), seed=SEED)
train_data, test_data = ds.subset(pools.target_train), ds.subset(pools.target_test)
images, labels = test_data[0][:N_IMAGES], test_data[1][:N_IMAGES]
dense = spn.models.build_model(ARCH, input_shape=ds.input_shape, num_classes=ds.num_classes, seed=SEED)
spn.train.fit(dense, train_data, epochs=EPOCHS, seed=SEED, device=DEVICE, progress=False)
LAYERS = inv.layer_names(dense)
print("layers:", LAYERS, "| test accuracy:", round(spn.train.evaluate(dense, test_data)["accuracy"], 3))

# %% [markdown]
# ## 2. The objective, written out
#
# $x^* = \arg\min_x \frac{\lVert\Phi_l(x) - \Phi_l(x_0)\rVert^2}{\lVert\Phi_l(x_0)\rVert^2}
# + \lambda_{TV}\,TV_\beta(x)$, with
# $TV_\beta(x) = \operatorname{mean}_{ij}\big((x_{i,j+1}-x_{ij})^2 + (x_{i+1,j}-x_{ij})^2\big)^{\beta/2}$.
# We read $\Phi_l$ with a forward hook, start from Gaussian noise, take Adam steps with a
# step-down learning rate, and keep pixels in the data range. One loss per image, summed: the
# whole batch is inverted at once, each image along its own gradient.

# %%
layer, steps, tv_weight = LAYERS[1], 100, TV_WEIGHT
captured = {}
handle = dense.get_submodule(layer).register_forward_hook(lambda m, i, out: captured.update(out=out))
with torch.no_grad():
    dense(images)
    target_feat = captured["out"].detach()
gen = torch.Generator().manual_seed(SEED)
x = (0.5 + 0.2 * torch.randn(images.shape, generator=gen)).clamp(0, 1).requires_grad_(True)
opt = torch.optim.Adam([x], lr=LR)
sched = torch.optim.lr_scheduler.MultiStepLR(opt, [int(0.6 * steps), int(0.85 * steps)], gamma=0.1)
for p in dense.parameters():
    p.requires_grad_(False)
for _ in range(steps):
    opt.zero_grad()
    dense(x)
    feat_loss = (captured["out"] - target_feat).flatten(1).pow(2).sum(1) / target_feat.flatten(1).pow(2).sum(1)
    dx = x[..., :-1, 1:] - x[..., :-1, :-1]
    dy = x[..., 1:, :-1] - x[..., :-1, :-1]
    tv = (dx ** 2 + dy ** 2).flatten(1).mean(1)
    (feat_loss + tv_weight * tv).sum().backward()
    opt.step()
    sched.step()
    with torch.no_grad():
        x.clamp_(0, 1)
handle.remove()
for p in dense.parameters():
    p.requires_grad_(True)
package = inv.invert(dense, layer, images, steps=steps, lr=LR, tv_weight=tv_weight, seed=SEED,
                     progress=False)
print("package == by hand:", torch.allclose(package.images, x.detach(), atol=1e-5))

# %% [markdown]
# ## 3. Why $\beta = 2$?
#
# With $\beta = 1$ the prior is the $\ell_1$ norm of the gradient: it tolerates isolated jumps, so
# reconstructions fill with speckle and spikes; $\beta = 2$ penalises large jumps more and
# gives smooth images (Mahendran & Vedaldi). A strong prior on a deep layer makes it visible.

# %%
deep = LAYERS[-2]
fig, axes = plt.subplots(2, 5, figsize=(8, 3.6))
for row, beta in enumerate((1.0, 2.0)):
    res = inv.invert(dense, deep, images[:5], steps=STEPS, lr=LR, tv_weight=TV_WEIGHT * 10,
                     tv_beta=beta, seed=SEED, progress=False)
    for col in range(5):
        spn.plots._show_image(axes[row, col], res.images[col])
    axes[row, 0].set_ylabel(f"beta = {beta:g}")
fig.suptitle(f"layer {deep}: TV with beta = 1 (top) and beta = 2 (bottom)")
fig.tight_layout()

# %% [markdown]
# ## 4. IMP-pruned models with $k = 0.8^n$
#
# Iterative magnitude pruning with $p = 20\%$ per round (Huang et al.): after $n$ rounds
# $k = 0.8^n$ of the weights are left. One IMP run gives every $k$: we keep a copy of the model
# after the retraining of each requested round.

# %%
checkpoints, accuracy = {}, {}


def keep_checkpoint(model):
    n = round(math.log(sp.overall_density(model)) / math.log(0.8))
    if n in K_ROUNDS:
        k = round(0.8 ** n, 4)
        checkpoints[k] = copy.deepcopy(model)
        accuracy[k] = spn.train.evaluate(model, test_data)["accuracy"]
    return {}


imp_model = spn.models.build_model(ARCH, input_shape=ds.input_shape, num_classes=ds.num_classes, seed=SEED)
sp.iterative_magnitude_pruning(
    imp_model, lambda m, r: spn.train.fit(m, train_data, epochs=EPOCHS if r == 0 else IMP_EPOCHS,
                                          seed=SEED + r, device=DEVICE, progress=False),
    rounds=max(K_ROUNDS), amount=0.2, scope="layer", eval_fn=keep_checkpoint, progress=False)
KS = sorted(checkpoints, reverse=True)
pd.Series(accuracy, name="test accuracy").rename_axis("k").round(3)

# %% tags=["nbval-check-output"]
print([round(sp.overall_density(checkpoints[k]), 3) for k in KS])

# %% [markdown]
# ## 5. Invert every layer of every model
#
# $\lambda_{TV}$ grows with depth (`TV_GROWTH` per layer): deep representations constrain the
# image less, so the prior must do more of the work.

# %%
results, records = {}, []
for k in KS:
    for depth, layer in enumerate(LAYERS):
        res = inv.invert(checkpoints[k], layer, images, steps=STEPS, lr=LR,
                         tv_weight=TV_WEIGHT * TV_GROWTH ** depth, seed=SEED, device=DEVICE,
                         progress=False)
        results[(k, layer)] = res.images
        records.append(inv.inversion_records(checkpoints[k], res, images, labels, k=k))
records = pd.concat(records, ignore_index=True)
table = records.pivot_table(index="layer", columns="k", values="psnr", sort=False)
table[sorted(table.columns, reverse=True)].round(1)

# %%
fig = spn.plots.plot_inversion_grid({key: imgs[0] for key, imgs in results.items()}, images[0],
                                    layers=LAYERS, ks=KS)

# %%
fig = spn.plots.plot_inversion_metrics(records)
records.groupby(["layer", "k"], sort=False)[["psnr", "ssim", "label_kept"]].mean().round(3)

# %% [markdown]
# Checks that hold on any run: the first layer of the dense model is nearly invertible (it is
# linear and, for these widths, injective), and deeper layers are harder to invert.

# %%
first = records[(records.layer == LAYERS[0]) & (records.k == 1.0)]
last = records[(records.layer == LAYERS[-1]) & (records.k == 1.0)]
assert first.psnr.mean() > 20, first.psnr.mean()
assert first.psnr.mean() > last.psnr.mean()

# %% [markdown]
# ## 6. Explore the inversions
#
# `spn.widgets.inversion_view` draws one (k, layer, image) from the precomputed results; the
# sliders only pick what to draw.

# %%
view = spn.widgets.inversion_view(results, records, k=KS[-1], layer=LAYERS[0], index=0,
                                  originals=images)
print({key: round(float(v), 2) for key, v in view["metrics"].items()})

# %%
spn.widgets.inversion_explorer(results, records, images)

# %% [markdown]
# ## 7. Does pruning protect the representations?
#
# Read the PSNR/SSIM curves per layer from left (dense) to right (sparse). Huang et al. report
# reconstructions degrading as $k$ shrinks. On this data, check whether the curves fall with
# $k$ for each layer, and by how much compared with the spread across images (the error bars).
#
# Two caveats before concluding anything:
# * **accuracy** falls with $k$ too (the table in section 4): a model that has lost
#   information about the input is both less useful and less invertible, so a drop in
#   inversion quality is not free privacy, as with membership inference in notebook 03;
# * early layers stay nearly invertible at moderate sparsity whenever they remain injective:
#   what pruning removes there is redundancy, not information.
#
# ## Summary and exercises
# * Inversion is an optimisation over the input; a batch costs little more than one image.
# * The TV prior ($\beta = 2$) is what makes deep-layer inversions look like images.
# * Compare inversion quality at *matched accuracy*, not only at matched density.
#
# 1. Switch to `optimizer="sgd"` (momentum 0.9, Mahendran & Vedaldi's setting) and compare.
# 2. Add the $\alpha$-norm prior (`alpha_weight`, $\alpha = 6$): does it help deep layers?
# 3. Run the standard profile (LeNet-5 on Fashion-MNIST):
#    `sparsepriv-nb run --profile standard --only 04`.

# %%
print(f"notebook time: {time.perf_counter() - T0:.0f} s")
