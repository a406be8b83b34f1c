"""Record made-up findings for every seed claim into a cache, to develop and test notebook 07
and the report without running notebooks 02-06.

``SPARSEPRIV_DATA=/tmp/fake python tools/synthetic_findings.py [--profile quick] [--seed 0]``
writes ``/tmp/fake/cache/findings/<profile>/<claim>.json``. Never point it at a cache whose
findings you want to keep: it overwrites them. The numbers are random (seeded) but each
verdict is computed from its interval by the package's own rules, and the ``detail`` field
says the record is synthetic.

Tests import :func:`write_synthetic` (``runpy.run_path``).
"""

from __future__ import annotations

import argparse

import numpy as np

# (claim, statistic, kind) with kind "directional+1", "directional-1" or "equivalence"
SPECS = [
    ("gonon_density_error", "slope of test error on log10(density)", "directional-1"),
    ("gonon_density_attack", "slope of attack AUC on log10(density)", "directional+1"),
    ("gonon_accuracy_control", "share of the slope removed by controlling accuracy",
     "directional+1"),
    ("yuan_zhang_gap", "confidence gap, sparse - dense", "directional+1"),
    ("yuan_zhang_attack", "LiRA AUC, sparse - dense", "directional+1"),
    ("yuan_zhang_ppb", "LiRA AUC, PPB - no defense", "directional-1"),
    ("huang_inversion", "PSNR (dB) per halving of k", "directional+1"),
    ("adamczewski_random_vs_magnitude", "DP test accuracy, random - magnitude mask",
     "equivalence"),
    ("bagmar_ticket", "LiRA AUC, ticket - dense", "equivalence"),
]


def write_synthetic(root, profile: str = "quick", seed: int = 0, verdicts: dict | None = None):
    """Record one synthetic finding per claim under ``root`` (a cache folder); return the
    paths. ``verdicts`` ({claim: wanted verdict}) forces the interval of some claims so that
    their verdict is the wanted one."""
    from sparsepriv_nb import findings

    rng = np.random.default_rng(seed)
    verdicts = verdicts or {}
    paths = []
    for claim, statistic, kind in SPECS:
        se = float(rng.uniform(0.005, 0.02))
        est = float(rng.normal(0, 2.5 * se))
        want = verdicts.get(claim)
        sign = -1 if kind.endswith("-1") else 1
        if want == "supported":
            est = sign * 4 * se if kind != "equivalence" else 0.1 * se
        elif want == "contradicted":
            est = -sign * 4 * se
        elif want == "not detectable at this power":
            est = 0.5 * se
            se = se if kind != "equivalence" else 0.03
        lo, hi = est - 1.96 * se, est + 1.96 * se
        if kind == "equivalence":
            verdict = findings.equivalence_verdict(lo, hi, margin=0.05)
        else:
            verdict = findings.directional_verdict(est, lo, hi, sign=sign)
        paths.append(findings.record(
            claim, estimate=est, lo=lo, hi=hi, mde=2.8 * se, verdict=verdict,
            statistic=statistic, detail="synthetic record (tools/synthetic_findings.py)",
            params={"synthetic": True, "seed": seed}, root=root, profile=profile))
    return paths


if __name__ == "__main__":
    from sparsepriv_nb.data import default_root

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for path in write_synthetic(default_root() / "cache", args.profile, args.seed):
        print("wrote", path)
