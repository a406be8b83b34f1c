"""Prototype of a white-box DP-SGD audit with gradient canaries (issue 19, phase 2 sizing).

DP-SGD written out with :func:`sparsepriv_nb.dp.per_sample_gradients` and
:func:`~sparsepriv_nb.dp.clip_gradients` (as in notebook 06, section 2): each step Poisson-
samples the natural training data *and* the included canaries at rate ``q``; a sampled canary
adds ``C d_i`` (a unit direction from :func:`sparsepriv_nb.auditing.canary_directions`, i.e. a
gradient already of the clipping norm) to the clipped sum before the Gaussian noise. After
training, each canary is scored by ``<theta_0 - theta_T, d_i>``
(:func:`~sparsepriv_nb.auditing.gradient_scores`) and the one-run bounds are computed.

Usage::

    python benchmarks/audit_gradient_canaries.py --m 1000 --epochs 15 --epsilon 1 4 8 inf
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

import sparsepriv_nb as spn
from sparsepriv_nb import auditing as au


def train_with_canaries(ds, directions, included, *, epsilon, delta, epochs, batch_size, lr,
                        clip, seed):
    torch.manual_seed(seed)
    model = spn.models.build_model("mlp", input_shape=ds.input_shape,
                                   num_classes=ds.num_classes, seed=seed, hidden=(64,))
    n, q = len(ds.X), batch_size / len(ds.X)
    steps = epochs * math.ceil(1 / q)
    sigma = 0.0 if math.isinf(epsilon) else spn.dp.noise_for_epsilon(epsilon, delta, q, steps)
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    before = torch.nn.utils.parameters_to_vector(params).detach().clone()
    inc = torch.as_tensor(included)
    for _ in range(steps):
        batch = torch.as_tensor(np.flatnonzero(rng.random(n) < q))
        total = torch.zeros_like(before)
        if len(batch):
            clipped, _ = spn.dp.clip_gradients(
                spn.dp.per_sample_gradients(model, ds.X[batch], ds.y[batch]), clip)
            total += torch.cat([g.sum(0).flatten() for g in clipped.values()])
        hit = inc & torch.as_tensor(rng.random(len(inc)) < q)
        total += clip * directions[hit].sum(0)
        total += sigma * clip * torch.randn(total.shape, generator=gen)
        with torch.no_grad():
            vec = torch.nn.utils.parameters_to_vector(params) - lr * total / batch_size
            torch.nn.utils.vector_to_parameters(vec, params)
    after = torch.nn.utils.parameters_to_vector(params).detach()
    return au.gradient_scores(before, after, directions), sigma, steps


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--m", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--epsilon", type=float, nargs="+", default=[1.0, 4.0, 8.0, math.inf])
    ap.add_argument("--delta", type=float, default=1e-5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    ds = spn.data.load_dataset("digits", seed=args.seed)
    model = spn.models.build_model("mlp", input_shape=ds.input_shape,
                                   num_classes=ds.num_classes, seed=0, hidden=(64,))
    dim = sum(p.numel() for p in model.parameters())
    directions = au.canary_directions(args.m, dim, seed=args.seed)
    included = spn.dp.audit_inclusion(args.m, seed=args.seed + 1)
    for eps in args.epsilon:
        t0 = time.perf_counter()
        scores, sigma, steps = train_with_canaries(
            ds, directions, included, epsilon=eps, delta=args.delta, epochs=args.epochs,
            batch_size=128, lr=1.0, clip=1.0, seed=args.seed)
        t1 = time.perf_counter()
        table = au.audit_all(scores, included, delta=args.delta)
        gdp = au.gdp_audit(scores, included, delta=args.delta)
        print(f"\naccountant epsilon {eps} (sigma {sigma:.2f}, {steps} steps): train "
              f"{t1 - t0:.1f} s, audit {time.perf_counter() - t1:.1f} s; score-sample GDP "
              f"mu >= {gdp['mu_lb']:.2f} (eps {gdp['epsilon_lb']:.2f}, assumes independence)")
        print(table[["epsilon_lb", "mu_lb", "beta", "guesses", "correct"]].round(3).to_string())


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
