"""One way to validate: every module answers a bad argument with the same exception,
:class:`~sparsepriv_nb._checks.ParameterError` (both a ``ValueError`` and a ``TypeError``), and
one message shape naming the parameter and the value given.

For each module, a representative public function gets (a) a value of the wrong type and (b) a
value of the right type outside its range.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from sparsepriv_nb import (data, defenses, ensembles, inversion, metrics, models, plots, signals,
                           sparsity, train, widgets)
from sparsepriv_nb._checks import ParameterError


def _mlp():
    return models.build_model("mlp", input_shape=(1, 8, 8), num_classes=3, seed=0)


def _images(n=4):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(0))


def _scores():
    return np.r_[np.linspace(0, 1, 20), np.linspace(0.2, 1.2, 20)], np.r_[np.zeros(20),
                                                                          np.ones(20)]


def _ensemble(**kw):
    X, y = _images(8), torch.arange(8) % 3
    args = dict(X=X, y=y, input_shape=(1, 8, 8), num_classes=3, seeds=[0], epochs=1)
    return ensembles.train_ensemble("mlp", [np.arange(8)], **(args | kw))


def _inversion_view(index):
    results = {(1.0, "fc1"): _images(2)}
    records = pd.DataFrame(dict(k=1.0, layer="fc1", image=[0, 1], mse=0.0, psnr=30.0, ssim=1.0,
                                label=0, predicted=0))
    return widgets.inversion_view(results, records, k=1.0, layer="fc1", index=index,
                                  originals=_images(2), show=False)


# module -> (call with one argument, the argument's name, a wrong-type value, an out-of-range value)
CASES = {
    "sparsity": (lambda v: sparsity.magnitude_prune(_mlp(), v), "amount", "0.5", 1.5),
    "sparsity.apply_sparsity": (lambda v: sparsity.apply_sparsity(_mlp(), "magnitude", v),
                                "density", "0.5", 0.0),
    "sparsity.butterfly": (lambda v: sparsity.butterfly_supports(8, v), "n_factors", 2.0, 4),
    "defenses": (lambda v: defenses.defense_setup("early-stopping", {"patience": v}),
                 "patience", "3", 0),
    "defenses.ppb_loss": (lambda v: defenses.ppb_loss(torch.zeros(2, 3), torch.zeros(2).long(),
                                                      v), "lam", "4", -1.0),
    "metrics": (lambda v: metrics.bootstrap_ci(*_scores(), confidence=v, n_resamples=10),
                "confidence", "0.95", 95),
    "metrics.tpr_at_fpr": (lambda v: metrics.tpr_at_fpr(np.array([0, 1.0]), np.array([0, 1.0]),
                                                        v), "target", "0.01", 2.0),
    "ensembles": (lambda v: _ensemble(epochs=v), "epochs", "3", 0),
    "inversion": (lambda v: inversion.invert(_mlp(), "fc1", _images(), steps=v, progress=False),
                  "steps", "5", 0),
    "signals": (lambda v: signals.sensitivity(_mlp(), _images(), n_draws=v), "n_draws", "3", 0),
    "models": (lambda v: models.build_model("mlp", input_shape=(1, 8, 8), num_classes=v),
               "num_classes", "10", 1),
    "data": (lambda v: data.make_pools(v, seed=0), "n", "100", 5),
    "data.load_dataset": (lambda v: data.load_dataset("digits", max_samples=v), "max_samples",
                          "100", 1),
    "plots": (lambda v: plots.plot_member_histograms({"loss": np.arange(4.0)}, [1, 0, 1, 0],
                                                     bins=v), "bins", "30", 0),
    "widgets": (_inversion_view, "index", "0", 5),
}


def _message(call, value) -> str:
    with pytest.raises(ParameterError) as info:
        call(value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)
    return str(info.value)


@pytest.mark.parametrize("case", sorted(CASES))
def test_wrong_type_is_a_parameter_error_naming_parameter_and_value(case):
    call, name, wrong_type, _ = CASES[case]
    msg = _message(call, wrong_type)
    assert f"The '{name}' parameter of " in msg and f"Got {wrong_type!r} instead" in msg


@pytest.mark.parametrize("case", sorted(CASES))
def test_out_of_range_is_a_parameter_error_naming_parameter_and_value(case):
    call, name, _, out_of_range = CASES[case]
    msg = _message(call, out_of_range)
    assert f"The '{name}' parameter of " in msg and f"Got {out_of_range!r} instead" in msg


def test_a_string_epochs_is_the_same_exception_everywhere():
    """The issue's example: a string ``epochs`` was a ValueError in ``train`` and a TypeError in
    ``defenses``; now one exception type, one message shape."""
    errors = []
    for call in (lambda: train.fit(_mlp(), (_images(), torch.zeros(4).long()), epochs="3",
                                   progress=False),
                 lambda: _ensemble(epochs="3"),
                 lambda: defenses.defense_setup("early-stopping", {"patience": "3"})):
        with pytest.raises(ParameterError) as info:
            call()
        errors.append(str(info.value))
    assert all("must be an int in [1, inf). Got '3' instead." in e for e in errors), errors


def test_choices_are_parameter_errors_too():
    with pytest.raises(ParameterError, match=r"'name' parameter of build_model.*'vgg'"):
        models.build_model("vgg", input_shape=(1, 8, 8), num_classes=3)
    with pytest.raises(ParameterError, match=r"'signal' parameter of membership_signal.*'f1'"):
        signals.membership_signal("f1", torch.zeros(2, 3), torch.zeros(2).long())
    with pytest.raises(ParameterError, match=r"'scope' parameter of magnitude_prune.*'row'"):
        sparsity.magnitude_prune(_mlp(), 0.5, scope="row")
