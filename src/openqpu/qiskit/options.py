"""``EstimatorOptions``: error mitigation and suppression options shaped like
``qiskit_ibm_runtime.EstimatorOptions``, sent to the server with each estimate job.

Set them as with Qiskit Runtime, by attribute, by nested dict, or at construction::

    options = EstimatorOptions(resilience_level=2)
    options.resilience.zne.extrapolator = "linear"
    options.twirling = {"num_randomizations": 16}
    options.dynamical_decoupling.enable = True

Unset options (None) are left to the server, which applies Qiskit Runtime's defaults
for the ``resilience_level``. A name the server does not know raises ``AttributeError``
here (or ``ValueError`` when converting another object), naming it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar


class _Options:
    """Options with a fixed set of names; nested groups are ``_Options`` themselves."""

    _path: ClassVar[str] = ""
    _leaves: ClassVar[tuple[str, ...]] = ()
    _groups: ClassVar[dict[str, type[_Options]]] = {}

    def __init__(self, **values: Any) -> None:
        for name, group in self._groups.items():
            object.__setattr__(self, name, group())
        for name in self._leaves:
            object.__setattr__(self, name, None)
        self.update(**values)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._groups:
            group = self._groups[name]
            if isinstance(value, Mapping):
                value = group(**value)
            elif not isinstance(value, group):
                value = group(**_plain(value, f"{self._path}{name}"))
        elif name not in self._leaves:
            known = ", ".join(sorted((*self._leaves, *self._groups)))
            raise AttributeError(f"{self._path}{name}: no such option (options here: {known})")
        object.__setattr__(self, name, value)

    def update(self, **values: Any) -> None:
        """Set several options at once, nested ones by dict."""
        for name, value in values.items():
            setattr(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """The options that are set, nested as the server takes them."""
        out: dict[str, Any] = {}
        for name in self._leaves:
            value = getattr(self, name)
            if value is not None:
                out[name] = list(value) if isinstance(value, tuple) else value
        for name in self._groups:
            nested = getattr(self, name).to_dict()
            if nested:
                out[name] = nested
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _Options)
            and type(other) is type(self)
            and (self.to_dict() == other.to_dict())
        )

    __hash__ = None  # type: ignore[assignment]


class ZneOptions(_Options):
    """``resilience.zne``: ``noise_factors``, ``extrapolator`` and ``amplifier``."""

    noise_factors: Any
    extrapolator: Any
    amplifier: str | None
    _path = "resilience.zne."
    _leaves = ("noise_factors", "extrapolator", "amplifier")


class MeasureNoiseLearningOptions(_Options):
    """``resilience.measure_noise_learning``: the readout calibration circuits."""

    num_randomizations: Any
    shots_per_randomization: Any
    _path = "resilience.measure_noise_learning."
    _leaves = ("num_randomizations", "shots_per_randomization")


class ResilienceOptions(_Options):
    """``resilience``: ``measure_mitigation``, ``zne_mitigation`` and their settings."""

    measure_mitigation: bool | None
    zne_mitigation: bool | None
    zne: ZneOptions
    measure_noise_learning: MeasureNoiseLearningOptions
    _path = "resilience."
    _leaves = ("measure_mitigation", "zne_mitigation")
    _groups: ClassVar[dict[str, type[_Options]]] = {
        "zne": ZneOptions,
        "measure_noise_learning": MeasureNoiseLearningOptions,
    }


class TwirlingOptions(_Options):
    """``twirling``: ``enable_gates``, ``enable_measure``, ``num_randomizations``,
    ``shots_per_randomization``."""

    enable_gates: bool | None
    enable_measure: bool | None
    num_randomizations: Any
    shots_per_randomization: Any
    _path = "twirling."
    _leaves = ("enable_gates", "enable_measure", "num_randomizations", "shots_per_randomization")


class DynamicalDecouplingOptions(_Options):
    """``dynamical_decoupling``: ``enable`` and ``sequence_type`` ("XX", "XpXm", "XY4")."""

    enable: bool | None
    sequence_type: str | None
    _path = "dynamical_decoupling."
    _leaves = ("enable", "sequence_type")


class EstimatorOptions(_Options):
    """Options of ``openqpu.qiskit.EstimatorV2``, named as Qiskit Runtime's.

    Attributes:
        resilience_level: 0 (none), 1 (TREX readout mitigation), 2 (1 and ZNE).
        default_shots: shots per measurement basis (overrides the precision).
        default_precision: target precision when a PUB gives none.
        seed_estimator: seed of the randomizations (twirling).
        resilience, twirling, dynamical_decoupling: the fine-grained groups.
    """

    resilience_level: int | None
    default_shots: int | None
    default_precision: float | None
    seed_estimator: int | None
    resilience: ResilienceOptions
    twirling: TwirlingOptions
    dynamical_decoupling: DynamicalDecouplingOptions
    _leaves = ("resilience_level", "default_shots", "default_precision", "seed_estimator")
    _groups: ClassVar[dict[str, type[_Options]]] = {
        "resilience": ResilienceOptions,
        "twirling": TwirlingOptions,
        "dynamical_decoupling": DynamicalDecouplingOptions,
    }


def as_options(value: Any) -> EstimatorOptions:
    """``value`` (None, a dict, ``EstimatorOptions``, or an object shaped like
    ``qiskit_ibm_runtime.EstimatorOptions``) as ``EstimatorOptions``.

    Raises:
        ValueError: ``value`` sets an option the server does not know; the message
            names it.
    """
    if value is None:
        return EstimatorOptions()
    if isinstance(value, EstimatorOptions):
        return value
    try:
        return EstimatorOptions(**_plain(value, ""))
    except AttributeError as error:
        raise ValueError(str(error)) from None


def _plain(value: Any, path: str) -> dict[str, Any]:
    """The options an object sets, as nested dicts; unset ones (None, Qiskit Runtime's
    ``Unset``) left out."""
    if isinstance(value, Mapping):
        items = dict(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        items = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    elif hasattr(value, "__dict__"):
        items = {k: v for k, v in vars(value).items() if not k.startswith("_")}
    else:
        raise ValueError(f"{path or 'options'}: expected options or a dict, got {value!r}")
    out: dict[str, Any] = {}
    for name, item in items.items():
        if item is None or type(item).__name__ == "UnsetType":
            continue
        if isinstance(item, Mapping) or dataclasses.is_dataclass(item) or _is_group(item):
            nested = _plain(item, f"{path}{name}.")
            if nested:
                out[name] = nested
        else:
            out[name] = item
    return out


def _is_group(value: Any) -> bool:
    return isinstance(value, _Options) or (
        hasattr(value, "__dict__") and not isinstance(value, str | int | float | bool | list)
    )
