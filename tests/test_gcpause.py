"""The collector pause: off inside, restored after (errors too), untouched if already off."""

from __future__ import annotations

import gc

import pytest
import torch

from tnreg import gcpause
from tnreg.analysis import node_spectra
from tnreg.testing import random_model


def test_paused_restores_the_collector_even_on_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gcpause.paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_caller_that_turned_it_off_keeps_it_off():
    gc.disable()
    try:
        with gcpause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_analysis_leaves_the_collector_on():
    model = random_model("htf", order=4, seed=0)
    node_spectra(model)
    assert gc.isenabled()
    assert all(torch.isfinite(s).all() for s in node_spectra(model).values())
