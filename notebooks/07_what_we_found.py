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
#   sparsepriv_nb:
#     runs_last: true
# ---

# %% [markdown]
# # 07 · What we found: the seed papers' claims, held against this run
#
# Notebooks 02-06 each tested some of what the five seed papers claim, and each recorded its
# verdict with `spn.findings.record`: the statistic that answers the claim, its 95 % interval,
# the smallest difference the comparison could have detected (the MDE) and the verdict. This
# notebook trains nothing: it reads those records from the cache and adds them up.
#
# **You will learn to**
# 1. read a claim's verdict from an estimate, its interval and its MDE;
# 2. tell "not detectable at this power" from "no effect";
# 3. answer the sequence's question, *can sparsity make a network more private?*, from the
#    verdicts of one run, and say what the answer depends on.
#
# The records belong to a **profile** (quick, standard, paper): a quick run's verdicts are
# never mixed with a standard run's. If a notebook has not run yet with this profile, its rows
# say "no record" and the cell below names the notebooks to run first.

# %% tags=["parameters"]
PROFILE = None  # None: the profile this run uses ($SPARSEPRIV_PROFILE, else "quick")
CLAIMS_CSV = "claims.csv"  # the table, written into the working folder (the report links it)

# %%
import json
import math
import re

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

import sparsepriv_nb as spn

profile = PROFILE or spn.findings.current_profile()
print(f"profile: {profile}; records in {spn.findings.findings_dir(profile=profile)}")

# %% [markdown]
# ## 1. The claims and who tests them
#
# Each seed paper makes one or more claims; each claim is tested by one notebook. The claims
# are quoted from the papers where our copies of them have the words (a claim we could only
# paraphrase says "Paraphrase"). Two of Gonon et al.'s claims come from one sentence of their
# abstract: sparsity goes with privacy *and* with error.

# %% tags=["nbval-check-output"]
for c in spn.findings.CLAIMS.values():
    print(f"{c.id:33s} {c.paper:24s} {c.notebook}")

# %% [markdown]
# ## 2. How a verdict is read
#
# Every record holds an estimate $\hat\Delta$ with a 95 % interval $[l, u]$ and the verdict
# its notebook computed with one of two rules:
#
# * a claim that an effect has a **direction** (sign $s = \pm 1$): **supported** when the whole
#   interval lies on the claimed side of zero ($s\,l > 0$ and $s\,u > 0$), **contradicted**
#   when it lies on the other side, else **not detectable at this power**;
# * a claim of **no difference** (equivalence, margin $m$): **supported** when
#   $-m \le l$ and $u \le m$, **contradicted** when the whole interval lies outside the margin
#   ($l > m$ or $u < -m$: every difference it allows is larger than the margin), else **not
#   detectable at this power**. An interval that excludes zero but still reaches inside the
#   margin is *not* a contradiction: "on par within $m$" is then neither shown nor excluded;
#   the table's **decided by / caveats** column then says "differs (interval excludes 0)".
#
# "Not detectable at this power" is not "no effect": the **MDE** (minimum detectable
# difference: $(z_{0.975} + z_{0.8})\cdot SE \approx 2.8\,SE$ for a comparison over attacked or
# test samples, $(t_{0.975,G-1} + t_{0.8,G-1})\cdot SE$ over $G$ seeds for notebook 03's rows,
# about $5.4\,SE$ at 3 seeds) says how large a true effect
# the comparison would have found four times out of five. An effect smaller than the MDE may
# well exist. For a claim of no difference the MDE answers the wrong question: showing
# equivalence needs an interval inside $[-m, m]$, i.e. a half-width below $m - |\hat\Delta|$.
# The cell after the table computes that for each equivalence claim.
#
# Two claims have several parts, and their notebooks combine the parts' verdicts: a part that
# is contradicted makes the claim contradicted; the claim is supported only when every part is.
# Huang et al. (04): the pooled slope *and* each layer's slope (a layer detectably easier to
# invert when sparse contradicts the claim); Yuan & Zhang's PPB claim (05): the confidence gap,
# the best attack's AUC and an accuracy cost of at most 0.02. So their row can say
# "contradicted" next to a pooled estimate on the claimed side. The table's **decided by /
# caveats** column, computed from each record (`spn.findings.note`), names the part or layer
# that decided such a verdict, and says what limits the others: one seed, a verdict that its
# notebook's Holm family did not confirm, a slope that rests on the sparsest density. The line
# under each verdict below gives the record's whole detail.

# %%
findings = spn.findings.table(profile=profile)
if findings.attrs["missing"]:
    print("Missing:", findings.attrs["missing"])
written = sorted(w for w in findings["written"] if w)  # a warm cache may hold older records
if written:
    print(f"{len(written)} records, written {written[0]} to {written[-1]} (UTC).")
# params as JSON text: `sparsepriv-nb findings` computes the answer again from this file
findings.assign(params=findings["params"].map(json.dumps)).to_csv(CLAIMS_CSV, index=False)
display(Markdown(spn.findings.to_markdown(findings)))

# %%
# What the MDE column means for a claim of no difference (equivalence): the half-width needed
for r in findings.itertuples():
    hit = re.search(r"(?i)equivalence margin[ =]*([0-9.]+)", f"{r.statistic} {r.detail}")
    if not hit or not math.isfinite(r.lo):
        continue
    margin, half = float(hit.group(1).rstrip(".")), (r.hi - r.lo) / 2
    need = margin - abs(r.estimate)
    if need <= 0:
        what = (f"the estimate {r.estimate:+.3f} (|Δ| = {abs(r.estimate):.3f}) is already beyond "
                f"the margin {margin:g}: no interval around it can lie inside ±{margin:g} (this "
                f"run's half-width {half:.3f})")
    else:
        what = (f"equivalence within ±{margin:g} needs a 95 % half-width below {margin:g} - "
                f"|Δ| = {margin:g} - {abs(r.estimate):.3f} = {need:.3f}; this run's is "
                f"{half:.3f}" + (
                    "" if half < need else f"; at this estimate about {(half / need) ** 2:.0f}x "
                    "the samples would reach it (half-width ~ 1/sqrt(n))"))
    print(f"{r.claim}: {what}. Its MDE {r.mde:.3g} is that of a difference test, not of this "
          "equivalence test.")

# %% [markdown]
# ## 3. The estimates side by side
#
# One panel per claim, because the statistics have different units (AUC differences, slopes,
# PSNR). The dot is this run's estimate, the bar its 95 % interval, the grey band spans
# $\pm$MDE around zero: a true effect inside the band would usually go undetected by this run.
# Colours give the verdict. The two claims of no difference (Bagmar et al., Adamczewski &
# Park) also show their equivalence margin $\pm m$ as dashed lines: their verdict is read
# against those lines, not against zero. A claim with several parts (PPB, Huang et al.) can be
# red although its dot lies on the claimed side: the words in the panel's corner name the part
# or layer that decided it.

# %% tags=["headline"]
fig = spn.findings.forest_plot(findings)
plt.show()

# %% [markdown]
# ## 4. Claim by claim
#
# One verdict line per claim, computed from its record (the report's index collects them),
# and under it the record's detail: seeds or samples, and what else the verdict rests on.

# %%
for r in findings.itertuples():
    mde = f"; MDE {r.mde:.3g}" if math.isfinite(r.mde) else ""
    what = (f"{r.statistic}: {spn.findings.format_interval(r.estimate, r.lo, r.hi)}{mde}"
            if r.verdict != spn.findings.NO_RECORD else f"run {r.notebook} first")
    print(f"Verdict: {r.paper}, {r.claim}: {r.verdict}; {what}.")
    if r.verdict != spn.findings.NO_RECORD and r.detail:
        print(f"    {r.detail}")  # seeds, sizes, per-layer verdicts: what the verdict rests on

# %% [markdown]
# ## 5. Can sparsity make a network more private?
#
# The answer below is written by `spn.findings.answer` from the records above. Its first
# sentence answers the question; a result resting on several seeds leads, and the one-seed
# results only say whether they agree with it. Then one bullet per question, strongest
# evidence first (resolved on several seeds; then resolved and not undone by its notebook's
# Holm correction; then the rest), so their order depends on the run. They cover membership
# inference across densities with the accuracy it cost, membership inference at one density,
# model inversion layer by layer, the PPB defense and masks under DP-SGD. Each bullet names the paper and its verdict, and what the
# estimate rests on (densities, seeds, Holm, the deciding part or margin). The last line
# counts the verdicts. A clause that needs a number its notebook did not record is left out.
# Nothing in it is fixed in advance: another profile, or a run with more seeds, can give
# another answer.

# %% tags=["headline"]
print("Verdict:", spn.findings.answer(findings))

# %% [markdown]
# **Reading the answer.** A "yes" from one comparison is not a law: it holds for these models,
# this data and these attacks, at this run's power. Check three things before quoting it: the
# range of densities and the number of seeds behind each verdict (the answer gives them where
# the record holds them; else its row's statistic and its notebook), whether Gonon et al.'s
# accuracy-control claim is resolved (the cell below prints its record; if it is supported,
# part of any privacy gain is the accuracy lost, which a less accurate dense model would also
# give), and whether the standard profile agrees: the repository's `FINDINGS.md` holds a
# standard run's answer and table, written by `sparsepriv-nb findings` from that run's report
# (its header names the commit it ran).

# %%
ctl = findings.set_index("claim").loc["gonon_accuracy_control"]
print(f"Accuracy control (Gonon et al., {ctl.notebook}): {ctl.verdict}.")
print(f"    {ctl.detail.rstrip('.')}.")

# %% [markdown]
# ## 6. **Exercises**
#
# Open-ended (no automatic check): pick one claim this run left "not detectable at this power". From
# its MDE, and knowing that the MDE shrinks as $1/\sqrt{n}$ in the number of attacked samples
# (or seeds), estimate how many more samples the comparison would need to detect an effect half
# as large as its MDE (`spn.power.samples_needed` does it for paired AUCs). *A good answer*
# names the claim, the MDE, the factor (about 4x for half the MDE) and says whether the
# standard profile reaches it.

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex07-intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### Graded exercises
# Each exercise asks you to write one rule of this lesson as a function, between the lines
# `# YOUR CODE HERE` and `raise NotImplementedError()` (replace both). The cell below it compares
# your function with the package's own on cases it makes up and says what it expected and what
# your function gave. The exercises need nothing above them: score them with
# `sparsepriv-nb check 07_what_we_found.ipynb`.

# %% nbgrader={"grade": false, "grade_id": "ex07-setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
from scipy import stats

from sparsepriv_nb import findings_exercises as fx

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex07-1-task", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Exercise 07.1 (2 points).** Write `my_directional_verdict(lo, hi, sign)`: the verdict on a
# claim that an effect has sign `sign` (+1 or -1), given the 95 % interval `[lo, hi]` of the
# estimate. Return one of `"supported"`, `"contradicted"`, `"not detectable at this power"` by
# the rule of section 2.

# %% nbgrader={"grade": false, "grade_id": "ex07-1-solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def my_directional_verdict(lo, hi, sign):
    ### BEGIN SOLUTION
    if sign * lo > 0 and sign * hi > 0:
        return "supported"
    if sign * lo < 0 and sign * hi < 0:
        return "contradicted"
    return "not detectable at this power"
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex07-1-check", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
fx.check_directional_verdict(my_directional_verdict)
### BEGIN HIDDEN TESTS
fx.check_directional_verdict(my_directional_verdict, hidden=True)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex07-2-task", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Exercise 07.2 (2 points).** Bagmar et al. claim *no* difference. Write
# `my_equivalence_verdict(lo, hi, margin)` by the equivalence rule of section 2.

# %% nbgrader={"grade": false, "grade_id": "ex07-2-solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def my_equivalence_verdict(lo, hi, margin):
    ### BEGIN SOLUTION
    if lo > margin or hi < -margin:
        return "contradicted"
    if -margin <= lo and hi <= margin:
        return "supported"
    return "not detectable at this power"
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex07-2-check", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
fx.check_equivalence_verdict(my_equivalence_verdict)
### BEGIN HIDDEN TESTS
fx.check_equivalence_verdict(my_equivalence_verdict, hidden=True)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex07-3-task", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Exercise 07.3 (2 points).** Write `my_mde(se, alpha=0.05, power=0.8)`: the minimum
# detectable difference of a two-sided test at level `alpha` whose estimate has standard error
# `se`, detected with probability `power` (section 2). `stats.norm.ppf` gives normal quantiles.

# %% nbgrader={"grade": false, "grade_id": "ex07-3-solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def my_mde(se, alpha=0.05, power=0.8):
    ### BEGIN SOLUTION
    return (stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex07-3-check", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
fx.check_mde_from_se(my_mde)
### BEGIN HIDDEN TESTS
fx.check_mde_from_se(my_mde, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## Where next
#
# Run the standard profile (`sparsepriv-nb run --profile standard`), or read the repository's
# `FINDINGS.md`, which holds its verdicts, and hold them against these: a claim "not
# detectable" here may be resolved there, and a verdict that flips between profiles depends on
# the regime (data, model, training) more than on sparsity. To attack pruned and DP-trained
# targets yourself, try the membership-inference challenge (`sparsepriv-nb challenge make DIR`).
