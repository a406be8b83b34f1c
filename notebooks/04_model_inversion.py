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
# Huang et al. (2020; seed paper 001, the first of this project's seed papers) argue that pruning protects the *representations* a network
# computes: if an attacker sees a hidden layer's activations of your image (say, features sent
# to a server) and knows the weights, how well can they reconstruct the image, and does pruning
# make it harder?
#
# **You will learn to**
# 1. write Mahendran & Vedaldi's inversion objective (feature matching + total variation),
#    optimise it for a whole batch at once, and check the package against the hand-written loop;
# 2. measure reconstructions with PSNR (written by hand) and SSIM (explained and recomputed);
# 3. see what the TV exponent $\beta$ does ($\beta = 1$ as in Huang et al., $\beta = 2$ as in
#    Mahendran & Vedaldi);
# 4. invert every layer of IMP-pruned models with $k = 0.8^n$ of the weights left, as in
#    Huang et al.'s Fig. 2, and state the trend over $k$ *with its noise*;
# 5. judge whether the trend supports the claim, keeping in mind that sparser models are also
#    less accurate.
#
# Unlike notebooks 02, 03, 05 and 06, this one prints no "leaking regime" line: that check asks
# whether a model overfits its *members* enough for membership inference to work, while
# inversion reconstructs any input from its representation, member or not (here test images).

# %% tags=["parameters"]
DATASET = "digits"
ARCH = "mlp"
MAX_SAMPLES = None
SEED = 0
EPOCHS = 30  # first (dense) training
IMP_EPOCHS = 5  # retraining epochs per IMP round, as in Huang et al.
K_ROUNDS = [0, 3, 6, 10]  # IMP rounds n; a model keeps k of 0.8**n of its weights
N_IMAGES = 8  # images inverted (one batch)
STEPS = 300
LR = 0.05
TV_WEIGHT = 0.01  # lambda_TV of the first layer
TV_GROWTH = 3.0  # lambda_TV multiplies by this per layer: deeper layers need a stronger prior
ACTIVATION = None  # None matches each layer's output (pre-activation), "relu" the post-activation
DEVICE = "auto"
DATA_ROOT = None

# %%
import copy
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from numpy.lib.stride_tricks import sliding_window_view
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

import sparsepriv_nb as spn
from sparsepriv_nb import inversion as inv
from sparsepriv_nb import inversion_verdicts as iv
from sparsepriv_nb import paired
from sparsepriv_nb import sparsity as sp

lesson = spn.lesson.setup(seed=SEED)  # seeds once, starts the timer, sets figure defaults

# %% [markdown]
# ## 1. A trained model and the images to recover
#
# The images to recover are test images (non-members): inversion attacks the *representation*
# of any input the model processes, not the training set.

# %%
ds = spn.data.load_dataset(DATASET, root=DATA_ROOT, max_samples=MAX_SAMPLES)
pools = spn.data.make_pools(len(ds), seed=SEED)
train_data, test_data = ds.subset(pools.target_train), ds.subset(pools.target_test)
images, labels = test_data[0][:N_IMAGES], test_data[1][:N_IMAGES]
R = ds.value_range[1] - ds.value_range[0]  # pixel range, the "peak" of PSNR
dense = spn.models.build_model(ARCH, input_shape=ds.input_shape, num_classes=ds.num_classes, seed=SEED)
spn.train.fit(dense, train_data, epochs=EPOCHS, seed=SEED, device=DEVICE, progress=False)
LAYERS = inv.layer_names(dense)
print(f"layers: {LAYERS} | {len(train_data[1])} training images, {EPOCHS} epochs, "
      f"no early stopping | test accuracy {spn.train.evaluate(dense, test_data)['accuracy']:.3f} "
      f"on {len(test_data[1])} test images")

# %% [markdown]
# ## 2. The objective, written out
#
# $x^* = \arg\min_x \frac{\lVert\Phi_l(x) - \Phi_l(x_0)\rVert^2}{\lVert\Phi_l(x_0)\rVert^2}
# + \lambda_{TV}\,TV_\beta(x)$, with
# $TV_\beta(x) = \operatorname{mean}_{ij}\big((x_{i,j+1}-x_{ij})^2 + (x_{i+1,j}-x_{ij})^2\big)^{\beta/2}$.
#
# * **Which $\Phi_l$.** We read the output of the module named $l$ with a forward hook. For a
#   `Linear` or `Conv2d` layer that is the *pre-activation* $W x + b$ (the ReLU is applied after
#   the module). `ACTIVATION = "relu"` matches $\mathrm{ReLU}(Wx + b)$ instead, what the next
#   layer receives; it is a function of the pre-activation, so it carries no more information
#   about the input (every negative coordinate becomes 0).
# * **How Huang et al. differ** (Sec. 5.2): they minimise $\lVert\Phi(x) - \Phi(z)\rVert_2^2 +
#   \lambda R(z)$ with $R(a) = \sum_{ij}((a_{i+1,j}-a_{ij})^2 + (a_{i,j+1}-a_{ij})^2)^{1/2}$:
#   $\beta = 1$, no normalisation by $\lVert\Phi(x_0)\rVert^2$, and a sum where we take a mean
#   (a rescaling of $\lambda$). We normalise so that one $\lambda_{TV}$ means the same for layers
#   whose activations differ in scale (`normalize=False` and `tv_beta=1` give their objective).
#   They publish neither $\lambda$ nor the optimiser.
#
# We start from Gaussian noise, take Adam steps with a step-down learning rate, and keep pixels
# in the data range. One loss per image, summed: the whole batch is inverted at once, each image
# along its own gradient. The next three cells write the loop by hand (every line of it: this is
# the idea), then check the package against it.

# %%
layer, steps, tv_weight = LAYERS[1], 100, TV_WEIGHT
post = (lambda z: z) if ACTIVATION is None else torch.relu
captured = {}  # the forward hook stores the layer's output here
handle = dense.get_submodule(layer).register_forward_hook(lambda m, i, out: captured.update(out=out))
with torch.no_grad():
    dense(images)
    target_feat = post(captured["out"]).detach()  # Phi_l(x0), what the attacker sees
gen = torch.Generator().manual_seed(SEED)
x = (0.5 + 0.2 * torch.randn(images.shape, generator=gen)).clamp(0, 1).requires_grad_(True)
opt = torch.optim.Adam([x], lr=LR)
sched = torch.optim.lr_scheduler.MultiStepLR(opt, [int(0.6 * steps), int(0.85 * steps)], gamma=0.1)
for p in dense.parameters():  # only the image is optimised
    p.requires_grad_(False)

# %%
for _ in range(steps):
    opt.zero_grad()
    dense(x)
    feat_loss = (post(captured["out"]) - target_feat).flatten(1).pow(2).sum(1) / target_feat.flatten(1).pow(2).sum(1)
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

# %%
package = inv.invert(dense, layer, images, steps=steps, lr=LR, tv_weight=tv_weight, seed=SEED,
                     activation=ACTIVATION, value_range=ds.value_range, progress=False)
gap = (package.images - x.detach()).abs().max().item()
assert gap < 1e-4, gap  # package == by hand
print(f"package and hand-written loop agree to {gap:.1e} per pixel")

# %% [markdown]
# ## 3. Measuring a reconstruction: MSE, PSNR, SSIM
#
# * **MSE** $= \frac{1}{N}\sum (\hat x - x)^2$, in squared pixel units (pixels here lie in
#   $[0, 1]$, so an MSE of 0.01 is an RMS error of 0.1, a tenth of the range).
# * **PSNR** $= 10 \log_{10}(R^2 / \mathrm{MSE})$ dB with $R$ the pixel range: the same
#   information on a log scale, higher is better. 20 dB is an RMS error of 10 % of the range,
#   30 dB of 3 %, and each halving of the RMS error adds 6 dB.
# * **SSIM** (Wang et al. 2004) compares *structure* rather than pixel by pixel: in each
#   $7\times7$ window it multiplies a luminance term $\frac{2\mu_x\mu_y + C_1}{\mu_x^2+\mu_y^2+C_1}$
#   by a contrast-and-correlation term $\frac{2\sigma_{xy} + C_2}{\sigma_x^2+\sigma_y^2+C_2}$
#   ($C_1 = (0.01R)^2$, $C_2 = (0.03R)^2$ keep flat windows stable) and averages over windows.
#   1 = same structure, about 0 = unrelated, negative = inverted contrast. An image shifted in
#   brightness keeps a high SSIM but a poor PSNR; a noisy image the reverse.
#
# Below: both written by hand for the inversion of image 0 and checked against scikit-image and
# the package (`spn.metrics.inversion_quality`).

# %%
a = package.images[0, 0].double().numpy()
b = images[0, 0].double().numpy()
mse = np.mean((a - b) ** 2)
psnr_hand = 10 * np.log10(R ** 2 / mse)


def ssim_by_hand(x, y, data_range, w=7):
    X, Y = sliding_window_view(x, (w, w)), sliding_window_view(y, (w, w))
    mx, my = X.mean((-2, -1)), Y.mean((-2, -1))
    vx, vy = X.var((-2, -1), ddof=1), Y.var((-2, -1), ddof=1)  # sample (co)variances, as skimage
    cxy = ((X - mx[..., None, None]) * (Y - my[..., None, None])).sum((-2, -1)) / (w * w - 1)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return s.mean()  # one value per window position, averaged


ssim_hand = ssim_by_hand(b, a, R)
q = spn.metrics.inversion_quality(package.images[0].numpy(), images[0].numpy(), data_range=R)
assert abs(psnr_hand - peak_signal_noise_ratio(b, a, data_range=R)) < 1e-9
assert abs(psnr_hand - q["psnr"]) < 1e-9 and abs(mse - q["mse"]) < 1e-12
assert abs(ssim_hand - structural_similarity(b, a, data_range=R, win_size=7)) < 1e-9
assert abs(ssim_hand - q["ssim"]) < 1e-9
print(f"image 0, layer {layer}: MSE {mse:.5f} (RMS error {np.sqrt(mse):.3f} of the range), "
      f"PSNR {psnr_hand:.2f} dB, SSIM {ssim_hand:.3f} (by hand = scikit-image = package)")

# %% [markdown]
# ## 4. What the TV exponent $\beta$ does
#
# $\beta = 1$ is the classical total variation (the $\ell_1$ norm of the image gradient), the
# prior Huang et al. use: it charges a jump by its height, so it tolerates a few sharp jumps
# and is expected to produce flat patches with hard edges ("staircasing"). $\beta = 2$ charges
# a jump by its *square*: big jumps cost much more, small ones almost nothing, so it is
# expected to prefer smooth ramps. That is the expectation this section tests, not a result:
# the numbers below say whether this run shows it. Mahendran & Vedaldi (2015) use $\beta = 2$.
# A strong prior on a deep layer makes the difference visible. Both exponents get the same
# $\lambda_{TV}$, which does not make the two priors equally strong (section 4's last cell
# measures by how much they differ). Top row: the originals.

# %%
deep = LAYERS[-2]
beta_res, beta_rows = {}, []
for beta in (1.0, 2.0):
    beta_res[beta] = inv.invert(dense, deep, images, steps=STEPS, lr=LR, tv_weight=TV_WEIGHT * 10,
                                tv_beta=beta, seed=SEED, activation=ACTIVATION,
                                value_range=ds.value_range, progress=False)
    beta_rows.append(inv.inversion_records(dense, beta_res[beta], images, labels, data_range=R,
                                           beta=beta))
n_show = min(N_IMAGES, 8)
fig, axes = plt.subplots(3, n_show, figsize=(1.2 * n_show, 3.9), squeeze=False)
for col in range(n_show):
    spn.plots.show_image(axes[0, col], images[col], ds.value_range)
    for row, beta in enumerate((1.0, 2.0), start=1):
        spn.plots.show_image(axes[row, col], beta_res[beta].images[col], ds.value_range)
for row, name in enumerate(["original", "beta = 1", "beta = 2"]):
    axes[row, 0].set_ylabel(name, fontsize=9)
fig.suptitle(f"layer {deep}, lambda_TV = {TV_WEIGHT * 10:g}: originals, beta = 1, beta = 2")
fig.tight_layout()
spn.plots.pixel_key(fig, axes, ds.value_range);

# %% [markdown]
# The pictures are read by eye; the numbers below say what differs. Two expectations of the paragraph
# above become numbers, from each inversion's neighbouring-pixel steps
# $|\nabla x| = ((x_{i,j+1}-x_{ij})^2 + (x_{i+1,j}-x_{ij})^2)^{1/2}$ (in units of the pixel
# range): **flat patches** are the share of steps below 2 % of the range, **hard edges** the
# share above 20 %. Staircasing ($\beta = 1$) predicts more of both. Every quantity is paired
# over the same images (difference $\beta=2$ minus $\beta=1$, mean with a 95 % t-interval over
# the images, `spn.metrics.aggregate_seeds`); the four comparisons are one family,
# Holm-corrected (`spn.families.holm_verdicts`). The table first gives each $\beta$'s mean with
# its t-interval over the images; for a share close to 0 that interval can reach a little below 0.

# %% tags=["verdict"]
beta_df = pd.concat(beta_rows, ignore_index=True)
for beta in (1.0, 2.0):
    beta_df.loc[beta_df.beta == beta, ["flat", "edges"]] = np.c_[inv.step_shares(beta_res[beta].images, value_span=R)]
cols = ["psnr", "ssim", "flat", "edges"]
diff = (beta_df[beta_df.beta == 2.0].set_index("image")[cols]
        - beta_df[beta_df.beta == 1.0].set_index("image")[cols]).reset_index()
beta_cmp = spn.metrics.aggregate_seeds(diff.assign(what="beta 2 - beta 1"), "what", cols)
print("Mean over the images [95 % t-interval over the images], per beta:")
print(iv.interval_table(beta_df, "beta", ["mse", "psnr", "ssim", "flat", "edges"],
                        digits={"mse": 4, "psnr": 2}).T.to_string())
beta_fam = spn.families.holm_verdicts(
    [{"name": r.metric, "diff": r["mean"], "lo": r.lo, "hi": r.hi} for _, r in beta_cmp.iterrows()],
    higher="higher with beta = 2", lower="lower with beta = 2",
    df=[r.n - 1 for _, r in beta_cmp.iterrows()])  # t-intervals over the images: t p-values
for _, r in beta_fam.frame.iterrows():
    word = r.sentence if r.verdict == spn.metrics.NO_DIFFERENCE else f"{r.verdict} (Holm p = {r.p_holm:.2g})"
    print(f"Verdict: beta = 2 minus beta = 1, {r['name']}: {r['diff']:+.4f} [{r.lo:+.4f}, {r.hi:+.4f}] "
          f"over {N_IMAGES} images: {word}")
print(beta_fam.summary())
tv = [inv.total_variation(torch.as_tensor(images, dtype=torch.float32), b).numpy() for b in (1.0, 2.0)]
weaker = 1 / (tv[1] / tv[0]).mean()  # how much weaker the beta = 2 prior is (next cell)
print(iv.staircase_sentence(beta_fam.frame.set_index("name"), higher="higher with beta = 2", lower="lower with beta = 2",
                            caveat=f"lambda_TV not matched: the beta = 2 prior is about {weaker:.2g}x "
                            f"{'weaker' if weaker > 1 else 'stronger'} here, see the next cell"))

# %% [markdown]
# Is one $\lambda_{TV}$ the same prior strength for both exponents? The prior adds
# $\lambda_{TV}\,\mathrm{TV}_\beta(x)$ to the loss, computed on the pixel values as they are. For
# steps smaller than 1 a square is smaller than the step itself, so $\mathrm{TV}_2$ is smaller
# than $\mathrm{TV}_1$ where the steps are small, and larger where they are large. The cell measures the ratio on the originals.

# %%
tv_orig = {b: inv.total_variation(torch.as_tensor(images, dtype=torch.float32), b).numpy()
           for b in (1.0, 2.0)}
tv_ratio = tv_orig[2.0] / tv_orig[1.0]
print(f"On the {N_IMAGES} original images, TV_2 / TV_1 = {tv_ratio.mean():.3g} (mean; images "
      f"{tv_ratio.min():.3g} to {tv_ratio.max():.3g}). With the same lambda_TV = {TV_WEIGHT * 10:g}, "
      f"the beta = 2 prior is therefore about {1 / tv_ratio.mean():.2g}x "
      f"{'weaker' if tv_ratio.mean() < 1 else 'stronger'} than the beta = 1 prior on such images "
      f"(lambda_TV is not matched across beta). The differences above mix the exponent with prior "
      f"strength, including the PSNR difference; matching would need lambda_TV about "
      f"{TV_WEIGHT * 10 / tv_ratio.mean():.3g} for beta = 2 (exercise 6).")

# %% [markdown]
# ## 5. IMP-pruned models with $k = 0.8^n$
#
# Iterative magnitude pruning with $p = 20\%$ per round (Huang et al.): after $n$ rounds
# $k = 0.8^n$ of the weights are left. One IMP run gives every $k$: we keep a copy of the model
# after the retraining of each requested round. Test accuracy is shown with a 95 % Wilson
# interval over the test images.

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
n_test = len(test_data[1])
acc_lo, acc_hi = spn.lesson.accuracy_interval([accuracy[k] for k in KS], n_test)  # Wilson
acc_table = pd.DataFrame({"k": KS, "test_acc": [accuracy[k] for k in KS], "lo": acc_lo,
                          "hi": acc_hi}).set_index("k")
acc_table.round(3)

# %% tags=["nbval-check-output"]
print([round(sp.overall_density(checkpoints[k]), 3) for k in KS])

# %%
k_dense, k_sparse = KS[0], KS[-1]
# the same test images for both models: a paired difference, not overlapping Wilson intervals
correct = {k: (spn.train.predict_logits(checkpoints[k], test_data[0], device=DEVICE).argmax(1)
               == test_data[1]).numpy() for k in (k_dense, k_sparse)}
acc_d, acc_dlo, acc_dhi = spn.lesson.paired_accuracy_difference(correct[k_sparse], correct[k_dense],
                                                                seed=SEED)
acc_mde = spn.power.mde_from_se(spn.families.se_from_interval(acc_dlo, acc_dhi))
acc_v = spn.power.verdict_with_power(acc_d, acc_dlo, acc_dhi, acc_mde)
print(f"Verdict: test accuracy, k = {k_sparse:g} minus k = {k_dense:g}, paired over the same {n_test} "
      f"test images: {paired.by_how_much(acc_d, acc_dlo, acc_dhi, acc_mde)}.")

# %% [markdown]
# ## 6. Invert every layer of every model
#
# $\lambda_{TV}$ grows with depth (`TV_GROWTH` per layer): deep representations constrain the
# image less, so the prior must do more of the work. Each (k, layer) cell inverts the same
# `N_IMAGES` images.
#
# Besides MSE / PSNR / SSIM, each record has **`label_kept`**: whether the model classifies the
# *inverted* image as the original's true label. It measures semantic leakage (the class
# survives even where pixels differ), but it cannot exceed the model's accuracy on the
# originals; **`prediction_kept`** (the inversion gets the same prediction as the original,
# right or wrong) removes that ceiling. On the last layer (the logits) the objective all but
# forces both, so read them on hidden layers.

# %%
results, records = {}, []
for k in KS:
    for depth, layer in enumerate(LAYERS):
        res = inv.invert(checkpoints[k], layer, images, steps=STEPS, lr=LR,
                         tv_weight=TV_WEIGHT * TV_GROWTH ** depth, seed=SEED, device=DEVICE,
                         activation=ACTIVATION, value_range=ds.value_range, progress=False)
        results[(k, layer)] = res.images
        records.append(inv.inversion_records(checkpoints[k], res, images, labels, data_range=R, k=k))
records = pd.concat(records, ignore_index=True)
summary = records.groupby(["layer", "k"], sort=False)[
    ["mse", "psnr", "ssim", "label_kept", "prediction_kept"]].mean().reindex(
    pd.MultiIndex.from_product([LAYERS, KS], names=["layer", "k"]))
with pd.option_context("display.float_format", "{:.4g}".format):
    display(summary)  # noqa: F821 (IPython)

# %%
best = records.groupby(["layer", "k"], sort=False).psnr.mean()
easiest, hardest = best.idxmax(), best.idxmin()
print(f"Mean over {N_IMAGES} images. Best reconstructed: layer {easiest[0]} at k = {easiest[1]:g} "
      f"({best.max():.1f} dB); worst: layer {hardest[0]} at k = {hardest[1]:g} ({best.min():.1f} dB).")
orig_acc = records.assign(ok=records.original_predicted == records.label).groupby("k").ok.mean()
kept = summary.prediction_kept
acc_words = (f"{orig_acc.min():.0%}" if orig_acc.min() == orig_acc.max()
             else f"{orig_acc.min():.0%} to {orig_acc.max():.0%}")
print(f"The models classify {acc_words} of these {N_IMAGES} originals "
      "correctly, the ceiling of label_kept. " + (
          f"prediction_kept is {kept.min():.2f} in every (layer, k) cell." if kept.min() == kept.max() else
          f"prediction_kept ranges from {kept.min():.2f} (layer {kept.idxmin()[0]}, "
          f"k = {kept.idxmin()[1]:g}) to {kept.max():.2f}."))
at_ceiling = int(np.isclose(summary.label_kept, orig_acc.reindex(summary.index.get_level_values("k")).to_numpy()).sum())
at_one = int((summary.prediction_kept == 1).sum())
print(iv.saturation_sentence(at_ceiling, at_one, len(summary), N_IMAGES))

# %% [markdown]
# Huang et al.'s Fig. 2 layout for image 0 (rows: layers; columns: $k$; first column: the
# original).

# %%
fig = spn.plots.plot_inversion_grid({key: imgs[0] for key, imgs in results.items()}, images[0],
                                    layers=LAYERS, ks=KS, value_range=ds.value_range)
fig.suptitle("image 0 inverted from each layer (rows) of the model that keeps k of its weights "
             "(columns)", fontsize=9)
fig.tight_layout()
spn.plots.pixel_key(fig, fig.axes, ds.value_range)
print("PSNR (dB) of the image shown in each cell:")
print(records[records.image == 0].pivot_table(index="layer", columns="k", values="psnr", sort=False)
      [KS].round(1).to_string())

# %% [markdown]
# Checks that should hold on any run: the first layer of the dense model is nearly invertible
# (it is linear and, for these widths, injective), and deeper layers are harder to invert.

# %%
first = records[(records.layer == LAYERS[0]) & (records.k == k_dense)]
last = records[(records.layer == LAYERS[-1]) & (records.k == k_dense)]
assert first.psnr.mean() > 20, first.psnr.mean()
assert first.psnr.mean() > last.psnr.mean()

# %% [markdown]
# ## 7. The trend over $k$, with its noise
#
# Huang et al. (2020, Sec. 5.3) write: "for deep layers (e.g. 'FC2' for LeNet-5 [...]), though
# the inverted image from the dense model [...] may look quite identical to the original image
# without pruning, it is no longer true when k ≤ 90%", and conclude that "magnitude-based
# pruning preserves better privacy (suffer less leakage) than its dense counterpart". Their
# evidence is visual, one image per cell. The hypothesis to test: PSNR and SSIM fall as $k$
# shrinks.
#
# Below, the mean over images with a 95 % t-interval over the images (image-to-image variation
# for one training run; a new training seed would add its own variation, see exercise 4).

# %% tags=["headline"]
agg = spn.metrics.aggregate_seeds(records, ["layer", "k"], ["psnr", "ssim"])
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for ax, metric, unit in zip(axes, ["psnr", "ssim"], ["PSNR (dB, higher = closer)", "SSIM (1 = same structure)"]):
    spn.plots.plot_intervals(agg[agg.metric == metric], x="k", hue="layer", ax=ax, logx=True,
                             xlabel="k (fraction of weights left, log scale)", ylabel=unit)
    ticks = spn.lesson.log_ticks(KS)
    ax.set_xticks(ticks, [f"{t:.3g}" for t in ticks])
    ax.set_xticks([], minor=True)  # no unlabeled minor ticks on the log axis
    ax.invert_xaxis()
    ax.get_legend().set_title("layer inverted")
fig.tight_layout()

# %% [markdown]
# The endpoints compared per layer: sparsest minus dense, paired over the same images (each
# image's PSNR at $k_{min}$ minus its PSNR at $k = 1$), with a 95 % t-interval. There is one
# comparison per layer and metric: one family, Holm-corrected (`spn.families.holm_verdicts`),
# so that chance alone does not make a layer "differ".

# %% tags=["verdict"]
WORSE, BETTER = "worse reconstructed when sparse", "better reconstructed when sparse"
wide = records.pivot_table(index=["layer", "image"], columns="k", values=["psnr", "ssim"])
endpoint = pd.DataFrame({
    "layer": [lay for lay, _ in wide.index],
    "psnr": (wide[("psnr", k_sparse)] - wide[("psnr", k_dense)]).to_numpy(),
    "ssim": (wide[("ssim", k_sparse)] - wide[("ssim", k_dense)]).to_numpy()})
trend = spn.metrics.aggregate_seeds(endpoint, "layer", ["psnr", "ssim"])
ends = spn.families.holm_verdicts(
    [{"name": f"{r.layer} {r.metric.upper()}", "diff": r["mean"], "lo": r.lo, "hi": r.hi}
     for _, r in trend.iterrows()], higher=BETTER, lower=WORSE,
    df=[r.n - 1 for _, r in trend.iterrows()])  # t-intervals over the images: t p-values
print(f"k = {k_sparse:g} minus k = {k_dense:g}, mean over {N_IMAGES} images: {ends.summary()}")
for _, r in ends.frame.iterrows():
    word = r.sentence if r.verdict == spn.metrics.NO_DIFFERENCE else f"{r.verdict} (Holm p = {r.p_holm:.2g})"
    print(f"Verdict: {r['name']}: {r['diff']:+.3f} [{r.lo:+.3f}, {r.hi:+.3f}]: {word}")

# %% [markdown]
# The endpoints use two of the $k$ values; a slope uses them all. For each image and layer, the
# least-squares slope of PSNR on $\ln k$ (dB per unit of $\ln k$; times $\ln 0.8 = -0.22$ it is
# the change per IMP round), then the mean over images with a bootstrap interval over the
# images (`spn.inversion.trend_over_k`). A positive slope means quality falls as $k$ falls:
# Huang et al.'s claim. Per layer, one Holm family; over all layers (each image's slopes
# averaged over the layers), the number notebook 07 shows. The verdict weighs both (below).

# %% tags=["verdict"]
slopes = inv.trend_over_k(records, "psnr", seed=SEED)
pooled = slopes.set_index("layer").loc["all layers"]
pooled_v = spn.findings.directional_verdict(pooled.slope, pooled.lo, pooled.hi, sign=+1)
print(f"PSNR slope on ln k, all layers: {pooled.slope:+.2f} dB per unit ln k [{pooled.lo:+.2f}, {pooled.hi:+.2f}] "
      f"(bootstrap over {int(pooled.n_images)} images), MDE {pooled.mde:.2f} dB per unit ln k: on its own, {pooled_v}.")
layer_slopes = spn.families.holm_verdicts(
    [{"name": r.layer, "diff": r.slope, "se": r.se} for _, r in slopes.iterrows()
     if r.layer != "all layers"], higher=WORSE, lower=BETTER)
print(f"PSNR slope on ln k, per layer: {layer_slopes.summary()}")
for _, r in layer_slopes.frame.iterrows():
    word = r.sentence if r.verdict == spn.metrics.NO_DIFFERENCE else f"{r.verdict} (Holm p = {r.p_holm:.2g})"
    print(f"Verdict: {r['name']}: slope {r['diff']:+.2f} dB per unit ln k [{r.lo:+.2f}, {r.hi:+.2f}]: {word}")
# Huang et al.'s verdict: a layer that detectably gets *easier* to invert when sparse contradicts
# "pruning protects the representations", whatever the average over layers says
opposed = layer_slopes.frame.loc[layer_slopes.frame.verdict == BETTER, "name"].tolist()
huang = (spn.findings.VERDICTS[1] if opposed or pooled_v == spn.findings.VERDICTS[1] else pooled_v)
print(f"Verdict: Huang et al. (inversion quality falls as k falls): {huang}"
      + (f": {', '.join(opposed)} detectably easier to invert when sparse (Holm)" if opposed else "")
      + f"; pooled slope {pooled.slope:+.2f} dB per unit ln k [{pooled.lo:+.2f}, {pooled.hi:+.2f}].")

# %% [markdown]
# Recorded for notebook 07 (`spn.findings.record`): `supported` only when the pooled interval is
# above 0 *and* no layer is detectably easier to invert when sparse (Holm); `contradicted` when
# some layer is (or the pooled interval is below 0); else `not detectable at this power`. A
# pooled slope alone could average a layer that gets harder to invert with one that gets easier.

# %%
per_layer = "; ".join(f"{r['name']}: {r['diff']:+.2f} [{r.lo:+.2f}, {r.hi:+.2f}] "
                      f"({r.verdict.replace(' (within noise)', '')})"
                      for _, r in layer_slopes.frame.iterrows())
spn.findings.record(
    "huang_inversion", estimate=pooled.slope, lo=pooled.lo, hi=pooled.hi, mde=pooled.mde,
    verdict=huang, statistic="PSNR slope on ln k (dB per unit ln k), mean over layers and images "
    "(the verdict also weighs each layer's slope, see detail)",
    detail=(f"Layers detectably easier to invert when sparse: {', '.join(opposed)}. " if opposed else "")
           + f"Per layer (Holm; dB per unit ln k): {per_layer}. Test accuracy k = {k_sparse:g} minus "
           f"k = {k_dense:g}: {acc_d:+.3f} [{acc_dlo:+.3f}, {acc_dhi:+.3f}] (paired, MDE {acc_mde:.3f}).",
    params={"dataset": DATASET, "arch": ARCH, "k_rounds": K_ROUNDS, "n_images": N_IMAGES,
            "steps": STEPS, "seed": SEED,
            # layers detectably moving both ways: 07 reads "differed", not "less private"
            "direction": "differs" if opposed and (layer_slopes.frame.verdict == WORSE).any() else "",
            "claimed_sign": +1, "unit": "dB per unit ln k",  # per layer: slope, lo, hi, verdict
            "layers": {r["name"]: [float(r["diff"]), float(r.lo), float(r.hi), r.verdict]
                       for _, r in layer_slopes.frame.iterrows()},
            "opposed": opposed});

# %% [markdown]
# **How the MDE shrinks with the number of images.** The pooled slope's interval is a bootstrap
# over the inverted images, so its standard error, and with it the MDE, falls as
# $1 / \sqrt{\text{images}}$ (`spn.power.mde_table`). A second source of noise, the training
# seed, is not in it: this notebook trains one model, so the seed-to-seed spread is unmeasured
# and the number of seeds needed cannot be projected from this run (exercise 4).

# %%
TARGET_SLOPE = 0.5  # dB per unit ln k: about 0.1 dB per IMP round
n_img = int(pooled.n_images)
print(spn.power.mde_table(pooled.mde, n_img, [4 * n_img, 16 * n_img, 64 * n_img],
                          unit="images").round(3).to_string(index=False))
print("Δ here: the pooled PSNR slope, dB per unit ln k. "
      + spn.power.needed_sentence(TARGET_SLOPE, mde=float(pooled.mde), n=n_img, unit="images",
                                  digits=2))

# %% [markdown]
# ## 8. Explore the inversions
#
# `spn.widgets.inversion_view` draws one (k, layer, image) from the precomputed results; the
# sliders only pick what to draw.

# %%
view = spn.widgets.inversion_view(results, records, k=KS[-1], layer=LAYERS[0], index=0,
                                  originals=images)
m0 = view["metrics"]
print(f"MSE {m0['mse']:.3g}, PSNR {m0['psnr']:.2f} dB, SSIM {m0['ssim']:.3f}, true label "
      f"{int(m0['label'])}, predicted on the original {int(m0['original_predicted'])}, on the "
      f"inversion {int(m0['predicted'])}")

# %%
spn.widgets.inversion_explorer(results, records, images)

# %% [markdown]
# ## 9. Does pruning protect the representations?
#
# Section 7 printed, layer by layer, whether the sparsest model's representations are harder to
# invert than the dense model's, and whether that difference exceeds the image-to-image noise.
# Two caveats before concluding anything from it:
# * **accuracy** can fall with $k$ too (section 5): a model that has lost information about the
#   input is both less useful and less invertible, so a drop in inversion quality is not free
#   privacy, as with membership inference in notebook 03 (compare at matched accuracy);
# * an early layer stays invertible in principle while it remains injective: what pruning
#   removes there is redundancy, not information, though the optimisation can get harder and
#   reach a worse reconstruction (section 7 printed whether it did). Huang et al.'s theorem
#   concerns one wide layer.
#
# The answer this run gives, computed from section 7's per-layer slopes (Holm) and section 5's
# paired accuracy difference (the report's index shows this line as the notebook's headline):

# %% tags=["verdict", "headline"]
answer = inv.layer_trend_sentence(layer_slopes.frame.set_index("name").verdict,
                                  (pooled.slope, pooled.lo, pooled.hi), layer_slopes.frame.mde,
                                  worse=WORSE, better=BETTER)
sparse_best = agg[(agg.k == k_sparse)].pivot_table(index="layer", columns="metric", values="mean")
best = sparse_best["psnr"].idxmax()
acc_detected = acc_v["verdict"] != spn.metrics.NO_DIFFERENCE
endpoints = iv.endpoint_sentence(ends.frame, LAYERS, worse=WORSE, better=BETTER)
print(f"Verdict: does pruning protect the representations, as Huang et al. (seed paper 001) claim? "
      f"{answer[0].upper() + answer[1:]} "
      f"At k = {k_sparse:g} {best} still reconstructs at {sparse_best.loc[best, 'psnr']:.1f} dB, SSIM "
      f"{sparse_best.loc[best, 'ssim']:.3f} (mean over images). Endpoints, k = {k_sparse:g} minus "
      f"k = {k_dense:g} (paired over {N_IMAGES} images, Holm): {endpoints}. Accuracy meanwhile changed by "
      f"{acc_d:+.3f} [{acc_dlo:+.3f}, {acc_dhi:+.3f}] (k = {k_sparse:g} minus k = {k_dense:g}, paired): "
      + ("a detectable change: compare at matched accuracy before calling a change in "
         "invertibility privacy." if acc_detected else
         f"not detectable (this run could detect |Δ| >= {acc_mde:.3f}), but a change of this size, "
         "possibly in the same direction as the inversion trend, is not excluded."))

# %% [markdown]
# ## Summary and exercises
# * Inversion is an optimisation over the input; a batch costs little more than one image.
# * PSNR is MSE on a log scale; SSIM compares local structure. Report both, with intervals.
# * The TV prior (and its exponent $\beta$) shapes what deep-layer inversions look like.
# * A trend over $k$ is a claim about noisy numbers: state it with its interval.
#
# **Exercises**
#
# Open-ended (no automatic check; each says what a good answer shows):
# 1. Set `ACTIVATION = "relu"`: how much harder are post-activation representations to invert?
#    *A good answer* compares PSNR and SSIM per layer for both settings with their intervals;
#    expect lower quality after the ReLU (it discards every negative value), most at the
#    deeper layers.
# 2. Switch to `optimizer="sgd"` (momentum 0.9, Mahendran & Vedaldi's setting), or add the
#    $\alpha$-norm prior (`alpha_weight`, $\alpha = 6$): does either help deep layers?
#    *A good answer* reports the change in PSNR at the deepest layer with its interval, and
#    shows the images: a PSNR gain of a fraction of a dB is within the noise.
# 3. Huang et al.'s own objective: `tv_beta=1.0, normalize=False` (retune `TV_WEIGHT`).
#    *A good answer* shows the retuning (a few weights, the PSNR of each) and explains why an
#    unnormalised objective needs a different weight at each layer.
# 4. Repeat with `SEED = 1, 2` and combine the runs with `spn.metrics.aggregate_seeds`: does
#    the trend survive training noise?
#    *A good answer* gives the slope of PSNR over $k$ with an interval over the three seeds
#    and says "not detectable" if it includes 0.
# 5. Run the standard profile (LeNet-5 on Fashion-MNIST):
#    `sparsepriv-nb run --profile standard --only 04`.
#    *A good answer* compares the conclusion of section 9 across profiles, layer by layer.
# 6. Match the priors of section 4: rerun it with $\beta = 2$'s `tv_weight` set to the matched
#    value its last cell printed. *A good answer* reports the four $\beta = 2$ minus $\beta = 1$
#    differences again with their Holm verdicts and says which ones changed sign or detection.

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex04-intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### Graded exercises
# Each exercise asks you to write one piece of this lesson's method as a function, between the
# lines `# YOUR CODE HERE` and `raise NotImplementedError()` (replace both). The cell below it
# compares your function with the package's own implementation on small inputs it makes up,
# and says what it expected and what your function gave. Each exercise runs on its own: it
# does not need the models trained above. Score them all with
# `sparsepriv-nb check 04_model_inversion.ipynb`.

# %% nbgrader={"grade": false, "grade_id": "ex04-setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import torch

import sparsepriv_nb as spn
from sparsepriv_nb import exercises as ex

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex04-1-task", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Exercise 04.1 (1 point).** Write `psnr(inverted, original, data_range=1.0)`: the peak
# signal-to-noise ratio $10 \log_{10}(R^2 / \mathrm{MSE})$ in dB between two arrays of the same
# shape, $R$ = `data_range`; identical images give `float("inf")`. (20 dB is an RMS error of
# 10 % of the range.)

# %% nbgrader={"grade": false, "grade_id": "ex04-1-solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def psnr(inverted, original, data_range=1.0):
    ### BEGIN SOLUTION
    mse = np.mean((np.asarray(inverted, float) - np.asarray(original, float)) ** 2)
    return float(10 * np.log10(data_range ** 2 / mse)) if mse > 0 else float("inf")
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex04-1-check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
ex.check_psnr(psnr)
### BEGIN HIDDEN TESTS
ex.check_psnr(psnr, hidden=True)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex04-2-task", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Exercise 04.2 (2 points).** The total-variation prior of a batch `x` of shape
# `(B, C, H, W)`: with horizontal differences `dx = x[..., :-1, 1:] - x[..., :-1, :-1]` and
# vertical ones `dy = x[..., 1:, :-1] - x[..., :-1, :-1]`, each pixel contributes
# $(dx^2 + dy^2)^{\beta/2}$; return the mean over pixels and channels, one value per image (a
# tensor `(B,)`). For $\beta \ne 2$ add `1e-8` inside the power (it keeps the gradient finite
# where the image is flat), as `spn.inversion.total_variation` does.

# %% nbgrader={"grade": false, "grade_id": "ex04-2-solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def total_variation(x, beta=2.0):
    ### BEGIN SOLUTION
    dx = x[..., :-1, 1:] - x[..., :-1, :-1]
    dy = x[..., 1:, :-1] - x[..., :-1, :-1]
    squared = dx ** 2 + dy ** 2
    per_pixel = squared if beta == 2 else (squared + 1e-8) ** (beta / 2)
    return per_pixel.flatten(1).mean(1)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex04-2-check", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
ex.check_total_variation(total_variation)
### BEGIN HIDDEN TESTS
ex.check_total_variation(total_variation, hidden=True)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex04-3-task", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Exercise 04.3 (2 points).** The objective the inversion minimises over the image `x`, per
# image: the squared distance between the representation of `x` (`feat`, shape `(B, D)`) and
# the target representation (`ref`), divided by the squared norm of `ref` (so layers of
# different scales compare), plus `tv_weight` times the TV prior of `x`. Write
# `inversion_objective(feat, ref, x, tv_weight, tv_beta)` returning a tensor `(B,)` that
# gradients can flow through. You may use `spn.inversion.total_variation`.

# %% nbgrader={"grade": false, "grade_id": "ex04-3-solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def inversion_objective(feat, ref, x, tv_weight, tv_beta):
    ### BEGIN SOLUTION
    distance = (feat - ref).flatten(1).pow(2).sum(1) / ref.flatten(1).pow(2).sum(1)
    return distance + tv_weight * spn.inversion.total_variation(x, tv_beta)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex04-3-check", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
ex.check_inversion_objective(inversion_objective)
### BEGIN HIDDEN TESTS
ex.check_inversion_objective(inversion_objective, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## Where next
# Notebook **05 (PPB defense)** turns from measuring leakage to reducing it: fine-tuning a
# pruned model with a privacy-preserving loss, against membership inference. Notebook 06 then
# gives a guarantee instead of an attack: DP-SGD with pruning. The sequence: 01 sparsity →
# 02 membership inference → 03 confounding by accuracy → 04 inversion → 05 defenses → 06 DP.

# %%
print(f"notebook time: {lesson.elapsed():.0f} s")
