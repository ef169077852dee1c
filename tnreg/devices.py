"""Devices: the one check every public entry point taking ``device=`` runs.

Vocabulary
----------
device
    Where tensors live: ``None`` (torch's default), a :class:`torch.device`, or a string torch
    reads as one (``"cpu"``, ``"cuda"``, ``"cuda:1"``). A CUDA device must exist on this
    machine: :func:`check_device` says so before torch would fail deep inside a copy with its
    own assertion ("Torch not compiled with CUDA enabled").

Used by the models' constructors (:mod:`tnreg.models`), :meth:`tnreg.data.Dataset.to`, the
targets' ``to``, :func:`tnreg.train.build_model`, :func:`tnreg.entanglement.data_entanglement`
and the locality runner (``tnreg locality --device``). The training config's ``device`` key
(``"auto"``, ``"cpu"``, ``"cuda"``) is resolved by :func:`tnreg.train.config.resolve_device`.
"""

from __future__ import annotations

from typing import Any

import torch

from tnreg.errors import TnregError

__all__ = ["DeviceError", "check_device"]


class DeviceError(TnregError, ValueError):
    """A device that torch cannot read, or one this machine does not have."""


def check_device(device: Any, where: str = "device") -> torch.device | None:
    """``device`` as a :class:`torch.device` that exists here (``None`` stays ``None``).

    Parameters
    ----------
    device
        ``None``, a :class:`torch.device` or a string such as ``"cpu"`` or ``"cuda:0"``.
    where
        The argument's name in messages.

    Raises
    ------
    DeviceError
        If torch cannot read ``device``, if it is a CUDA device and no CUDA device is
        available, or if its index is beyond the CUDA devices present.

    Examples
    --------
    >>> check_device("cpu")
    device(type='cpu')
    >>> check_device(None) is None
    True
    """
    if device is None:
        return None
    if not isinstance(device, torch.device):
        try:
            device = torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise DeviceError(
                f"{where} must be a torch.device or a string such as 'cpu' or 'cuda:0'; got "
                f"{device!r} ({err})"
            ) from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise DeviceError(
                f"{where}={str(device)!r}: no CUDA device is available on this machine "
                f"(torch.cuda.is_available() is False); use device='cpu'"
            )
        if device.index is not None and device.index >= count:
            raise DeviceError(
                f"{where}={str(device)!r}: this machine has {count} CUDA device(s), "
                f"cuda:0 to cuda:{count - 1}"
            )
    return device
