"""Config: every key validated with a message naming it; TOML, JSON and overrides."""

from __future__ import annotations

import json

import pytest
import torch

from tnreg.train.build import build_model
from tnreg.train.config import (
    ConfigError,
    TrainConfig,
    apply_overrides,
    load_config,
    resolve_device,
    resolve_dtype,
)

TOML = """
optimizer = "adam"
lr = 1e-3
steps = 50

[model]
kind = "cp"
order = 3
dims = 4
widths = 6
init_std = 5e-3

[data]
task = "completion"
num_train = 30
target = { kind = "cp", order = 3, dims = 4, rank = 2 }
"""


def test_defaults_are_valid_and_the_papers_optimizer():
    config = TrainConfig().validate()
    assert (config.optimizer, config.eps, config.alpha, config.loss) == (
        "group_rmsprop", 1e-6, 0.99, "mse",
    )  # fmt: skip


def test_toml_loads_with_overrides(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(TOML)
    config = load_config(path, ["lr=1", "model.seed=3", "init_std=[1e-2, 2e-2]", "data.seed=4"])
    assert config.lr == 1.0 and isinstance(config.lr, float)
    assert config.model.seed == 3 and config.model.init_std == [1e-2, 2e-2]
    assert config.data["seed"] == 4 and config.data["target"]["rank"] == 2


def test_the_module_docstring_layout_loads_and_builds(tmp_path):
    import textwrap

    from tnreg.data import make_dataset
    from tnreg.train import config as module

    block = module.__doc__.split("tables::", 1)[1]
    path = tmp_path / "doc.toml"
    path.write_text(textwrap.dedent(block))
    config = load_config(path)
    assert config.model.kind == "cp" and config.steps == 20000
    assert make_dataset(config.data).train_indices.shape == (2000, 4)


def test_the_shipped_example_config_loads_and_builds():
    from pathlib import Path

    from tnreg.data import make_dataset

    path = Path(__file__).parents[2] / "examples" / "cp.toml"
    config = load_config(path, ["steps=2"])
    assert build_model(config.model).rank == 100
    assert make_dataset(config.data).train_indices.shape == (2000, 4)


def test_json_round_trip(tmp_path):
    config = apply_overrides({}, ["batch_size=16", "tolerance=1e-4", "model.kind=htf"])
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config.to_dict()))
    assert load_config(path) == config


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("optimizer=rmsprop", r"'optimizer': unknown value 'rmsprop'; valid options: \['gd'"),
        ("lr=-1", r"'lr': expected a number > 0; got -1"),
        ("lr=fast", r"'lr': expected a number > 0; got 'fast'"),
        ("momentum=1.0", r"'momentum': expected a number >= 0 and < 1"),
        ("alpha=-0.1", r"'alpha': expected a number >= 0 and < 1"),
        ("eps=-1e-6", r"'eps': expected a number >= 0"),
        ("batch_size=0", r"'batch_size': expected an int >= 1 or none; got 0"),
        ("steps=1.5", r"'steps': expected an int >= 0; got 1.5"),
        ("loss=mae", r"'loss': unknown value 'mae'; valid options: \['mse', 'l1', 'huber'\]"),
        ("huber_delta=0", r"'huber_delta': expected a number > 0"),
        ("tolerance=0", r"'tolerance': expected a number > 0 or none"),
        ("patience=0", r"'patience': expected an int >= 1; got 0"),
        ("time_limit_s=-5", r"'time_limit_s': expected a number > 0 or none"),
        ("track_every=0", r"'track_every': expected an int >= 1"),
        ("checkpoint_every=0", r"'checkpoint_every': expected an int >= 1"),
        ("trackers=['loss', 'ranks']", r"'trackers': unknown value 'ranks'; valid options"),
        ("trackers=3", r"'trackers': expected a list of names"),
        ("top_k=0", r"'top_k': expected an int >= 1"),
        ("rank_rtol=2", r"'rank_rtol': expected a number > 0 and < 1"),
        ("seed=-1", r"'seed': expected an int >= 0"),
        ("device=tpu", r"'device': unknown value 'tpu'; valid options: \['auto', 'cpu', 'cuda'\]"),
        ("dtype=float16", r"'dtype': unknown value 'float16'"),
        ("progress=3", r"'progress': expected true or false; got 3"),
        ("data=3", r"'data': expected a table of data settings"),
        ("model.kind=mlp", r"'model.kind': unknown value 'mlp'; valid options: \['htf', 'cp'"),
        ("model.tree=ring", r"'model.tree': unknown value 'ring'"),
        ("model.tree=3", r"'model.tree': expected one of \['balanced'"),
        ("model.order=1", r"'model.order': expected an int >= 2; got 1"),
        ("model.dims=[3, 0]", r"'model.dims': expected a positive int or a list"),
        ("model.widths=0", r"'model.widths': expected a positive int or a list"),
        ("model.depth=0", r"'model.depth': expected an int >= 1"),
        ("model.output=sum", r"'model.output': unknown value 'sum'"),
        ("model.init_std=0", r"'model.init_std': expected a number > 0 or a list"),
        ("model.init_mean=nan", r"'model.init_mean': expected a finite number; got nan"),
        ("max_weight=0", r"'max_weight': expected a number > 0 or none; got 0"),
        ("model.seed=x", r"'model.seed': expected an int >= 0; got 'x'"),
        ("model.ensemble=0", r"'model.ensemble': expected an int >= 1 or none"),
    ],
)
def test_every_bad_value_names_its_key(override, match):
    with pytest.raises(ConfigError, match=match):
        apply_overrides({}, [override])


def test_unknown_keys_and_bad_overrides_are_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown config key 'learning_rate' in config; valid"):
        apply_overrides({"learning_rate": 1.0}, [])
    with pytest.raises(ConfigError, match=r"unknown config key 'model.rank'"):
        apply_overrides({}, ["model.rank=3"])
    with pytest.raises(ConfigError, match=r"override 'lr': expected key=value"):
        apply_overrides({}, ["lr"])
    with pytest.raises(ConfigError, match=r"override key 'train.lr': only 'model.' and 'data.'"):
        apply_overrides({}, ["train.lr=1"])
    with pytest.raises(ConfigError, match=r"'model': expected a table"):
        TrainConfig.from_dict({"model": 3})


def test_unreadable_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("lr = = 1")
    with pytest.raises(ConfigError, match="cannot parse config file"):
        load_config(bad)


def test_device_and_dtype():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_dtype("float32") is torch.float32
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="'cuda' requested but CUDA is not available"):
            resolve_device("cuda")


def test_model_must_be_a_model_config():
    with pytest.raises(ConfigError, match=r"'model': expected a ModelConfig"):
        TrainConfig(model={"kind": "cp"}).validate()
