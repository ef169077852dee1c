"""Config -> tree and model: one place (tnreg.train.build), every bad config named by its key."""

from __future__ import annotations

import pytest
import torch

from tnreg import trees
from tnreg.models import CP, HierarchicalTensorFactorization
from tnreg.train import build_model, build_tree
from tnreg.train.config import ConfigError, ModelConfig, apply_overrides


def test_build_model_for_each_kind():
    cp = build_model(ModelConfig(kind="cp", order=3, dims=4, widths=5, ensemble=2))
    assert isinstance(cp, CP) and cp.rank == 5 and cp.output == "ones" and cp.ensemble == 2
    htf = build_model(ModelConfig(tree=[[0, 1], [2, 3]], dims=[2, 3, 4, 5], widths=[3, 4]))
    assert isinstance(htf, HierarchicalTensorFactorization) and htf.output == "trainable"
    assert htf.params[0].dtype == torch.float64
    deep = build_model(ModelConfig(kind="deep_mf", order=2, dims=[4, 5], widths=3, depth=3))
    assert deep.num_matrices == 3


def test_build_model_errors_name_the_model_table():
    with pytest.raises(ConfigError, match="model kind 'deep_mf' needs order = 2"):
        build_model(ModelConfig(kind="deep_mf", order=3, depth=3))
    with pytest.raises(ConfigError, match="config table 'model': cannot build the model"):
        build_model(ModelConfig(dims=[2, 3], order=4))


@pytest.mark.parametrize(
    ("model", "nodes"),
    [
        ({"kind": "cp", "order": 5}, 6),
        ({"kind": "deep_mf", "order": 2}, 3),
        ({"kind": "htf", "tree": "caterpillar", "order": 4}, 7),
        ({"kind": "htf", "tree": [[0, 1, 2], [3, 4]], "order": 5}, 8),
    ],
)
def test_build_tree_by_kind(model, nodes):
    tree = build_tree(ModelConfig(**model))
    assert len(tree) == nodes and trees.order(tree) == model["order"]
    assert trees.postorder(build_tree(model)) == trees.postorder(tree)  # a dict works too


def test_build_model_uses_build_tree():
    config = ModelConfig(tree=[[0, 2], [1, 3]], dims=3, widths=2)
    model = build_model(config)
    assert trees.postorder(model.tree) == trees.postorder(build_tree(config))


def test_a_tree_with_the_wrong_order_names_both_keys_and_orders():
    with pytest.raises(
        ConfigError,
        match=r"config key 'model.tree' has 5 modes but model.order = 6; make them agree",
    ):
        apply_overrides({"model": {"order": 6}}, ["model.tree=[[0,1,2],[3,4]]"])


def test_a_nested_tree_given_as_a_string_says_nested_lists_are_valid():
    match = (
        r"'model.tree': unknown value '\[\[0, 1\], \[2, 3\]\]'; valid options: "
        r"\['balanced', 'star', 'caterpillar'\], or nested lists of modes such as "
        r"\[\[0, 1\], \[2, 3\]\] \(a list, not a string: drop the quotes\)"
    )
    with pytest.raises(ConfigError, match=match):
        ModelConfig(tree="[[0, 1], [2, 3]]").validate()


@pytest.mark.parametrize(
    ("kind", "order", "shape"), [("cp", 4, r"star\(order\)"), ("deep_mf", 2, r"star\(2\)")]
)
def test_a_tree_for_a_star_kind_is_refused(kind, order, shape):
    match = (
        rf"config key 'model.tree' applies to kind = 'htf' only; kind = '{kind}' always builds "
        rf"on the star tree {shape}; got tree = 'caterpillar': remove model.tree"
    )
    with pytest.raises(ConfigError, match=match):
        apply_overrides({"model": {"kind": kind, "order": order}}, ["model.tree=caterpillar"])
    with pytest.raises(ConfigError, match="applies to kind = 'htf' only"):
        ModelConfig(kind=kind, order=order, tree=[[0, 1], [2, 3]]).validate()
    assert ModelConfig(kind=kind, order=order, tree="star").validate().tree == "star"


def test_a_bad_nested_tree_names_the_key():
    with pytest.raises(ConfigError, match=r"config key 'model.tree': .*mode"):
        ModelConfig(tree=[[0, 1], [1, 2]], order=4).validate()


@pytest.mark.parametrize(
    ("item", "key"),
    [
        ("model.ordr=3", "model.ordr"),
        ("ordr=3", "ordr"),
        ("learning_rate=1e-3", "learning_rate"),
        ("model.tree.x=1", "model.tree.x"),
    ],
)
def test_a_typo_in_set_is_reported_as_coming_from_set(item, key):
    match = rf"unknown config key '{key}' in --set '{item}'; valid keys: \["
    with pytest.raises(ConfigError, match=match):
        apply_overrides({"lr": 1e-2}, [item])


def test_a_typo_in_the_file_is_still_reported_from_the_file():
    with pytest.raises(ConfigError, match=r"unknown config key 'model.ordr' in cp.toml"):
        apply_overrides({"model": {"ordr": 3}}, [], where="cp.toml")


def test_build_model_takes_a_dict_and_refuses_other_things():
    assert isinstance(build_model({"kind": "cp", "order": 3, "dims": 2, "widths": 2}), CP)
    with pytest.raises(ConfigError, match="expected a ModelConfig or a dict of its fields"):
        build_tree("balanced")
