"""Validity and tightness of the audit bounds by simulation (sparsepriv_nb.auditing).

Two mechanisms whose privacy is known exactly, each run ``--runs`` times with a fresh seeded
inclusion draw of ``m`` canaries:

* randomised response at epsilon (pure eps-DP, and mu_RR-GDP with mu_RR = 2 Phi^{-1}(e^eps /
  (1 + e^eps)), touching the Gaussian curve at its kink): each canary's score is its inclusion
  bit, flipped with probability 1 / (1 + e^eps); scores are +-1, so nearly all of them tie, and
  the inputs are listed members first (a ranking that broke ties by position would cheat);
* the Gaussian mechanism at mu: member scores N(mu, 1), non-member scores N(0, 1).

For every bound the table gives the exceedance rate (fraction of runs whose lower bound is above
the truth: it must be at most beta, up to binomial noise) and the mean bound. Usage::

    python benchmarks/audit_bounds.py [--runs 200] [--m 1000 5000] [--beta 0.05]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pandas as pd
from scipy import special

from sparsepriv_nb.auditing import (GAUSSIAN, count_correct, default_k_grid, eps_delta,
                                    fdp_bound, gdp_audit, gdp_epsilon, steinke_bound)

DELTA = 1e-5


def randomised_response(m: int, eps: float, seed: int):
    """Scores (+-1) and inclusion of one run, members listed first."""
    rng = np.random.default_rng(seed)
    inc = np.sort(rng.random(m) < 0.5)[::-1]
    flip = rng.random(m) < 1 / (1 + math.exp(eps))
    return np.where(inc ^ flip, 1.0, -1.0), inc


def gaussian_mechanism(m: int, mu: float, seed: int):
    rng = np.random.default_rng(seed)
    inc = rng.random(m) < 0.5
    return rng.normal(size=m) + mu * inc, inc


def simulate(mechanism, m: int, param: float, runs: int, beta: float) -> dict:
    """Per bound: the lower bound of every run (epsilon, or mu for the GDP ones)."""
    grid = default_k_grid(m)
    draws = [mechanism(m, param, seed) for seed in range(runs)]
    counts = [count_correct(s, inc, grid, random_state=seed) for seed, (s, inc) in
              enumerate(draws)]
    r, v = (np.array(c) for c in zip(*counts))
    level = beta / len(grid)
    out = {"steinke": steinke_bound(m, r, v, delta=DELTA, beta=level).max(1),
           "fdp_eps_delta": fdp_bound(m, r, v, eps_delta(DELTA), beta=level).max(1),
           "fdp_gdp_mu": fdp_bound(m, r, v, GAUSSIAN, beta=level).max(1)}
    out["fdp_gdp"] = np.array([gdp_epsilon(mu, DELTA) for mu in out["fdp_gdp_mu"]])
    gdp = [gdp_audit(s, inc, delta=DELTA, beta=beta) for s, inc in draws]
    out["scores_gdp_mu"] = np.array([g["mu_lb"] for g in gdp])
    out["scores_gdp"] = np.array([g["epsilon_lb"] for g in gdp])
    return out


def truths(mechanism: str, param: float) -> dict:
    """The true value each bound is compared with (None: not a bound for this mechanism)."""
    if mechanism == "rr":
        mu = 2 * special.ndtri(math.exp(param) / (1 + math.exp(param)))
        # the GDP epsilons assume a Gaussian curve, which randomised response does not have
        return {"steinke": param, "fdp_eps_delta": param, "fdp_gdp_mu": mu, "fdp_gdp": None,
                "scores_gdp_mu": mu, "scores_gdp": None}
    eps = gdp_epsilon(param, DELTA)
    return {"steinke": eps, "fdp_eps_delta": eps, "fdp_gdp_mu": param, "fdp_gdp": eps,
            "scores_gdp_mu": param, "scores_gdp": eps}


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--m", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--beta", type=float, default=0.05)
    args = ap.parse_args(argv)
    rows = []
    settings = [("rr", randomised_response, e) for e in (1.0, 2.0, 4.0)] + \
        [("gauss", gaussian_mechanism, mu) for mu in (0.5, 1.0, 2.0)]
    for m in args.m:
        for name, mech, param in settings:
            t0 = time.perf_counter()
            sims = simulate(mech, m, param, args.runs, args.beta)
            secs = time.perf_counter() - t0
            for bound, truth in truths(name, param).items():
                vals = sims[bound]
                rows.append({"mechanism": name, "param": param, "m": m, "bound": bound,
                             "truth": truth, "mean_bound": vals.mean(),
                             "exceed_rate": np.nan if truth is None
                             else float((vals > truth + 1e-9).mean()), "seconds": secs})
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        print(table.round(3).to_string(index=False))
    return table


if __name__ == "__main__":
    main()
