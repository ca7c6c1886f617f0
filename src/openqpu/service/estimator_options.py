"""The ``options`` of an estimate job: error mitigation and suppression with Qiskit
Runtime's names and meanings (``qiskit_ibm_runtime.EstimatorOptions``), as the request
gives them. ``openqpu.service.run.resilience`` resolves them into what runs.

Unknown names are refused (the 422 names them), and so are values of the wrong type.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

# Qiskit Runtime's "auto": 32 randomizations, the shots shared among them.
AUTO_RANDOMIZATIONS = 32
MAX_RANDOMIZATIONS = 1024
MAX_NOISE_FACTOR = 15.0
EXTRAPOLATORS = ("linear", "exponential")
_POLYNOMIAL = re.compile(r"polynomial_degree_([1-7])$")
DD_SEQUENCES = ("XX", "XpXm", "XY4")
DEFAULT_FACTORS = (1.0, 3.0, 5.0)
DEFAULT_EXTRAPOLATORS = ("exponential", "linear")
# openqpu's default, where Qiskit Runtime's is "gate_folding" (CZs only): H2 at its
# optimum on lattice72 (bench/mitigation.py --only sources, 6 seeds) is 18.2 +- 1.9 mHa
# off with CZ folding (8.3 with the one-qubit gate error switched off, 11.3 with T1/T2
# off) and 1.3 +- 2.6 mHa with every noisy gate folded.
DEFAULT_AMPLIFIER = "all_gate_folding"

_Strict = ConfigDict(extra="forbid")
Auto = Literal["auto"]
Count = Annotated[int, Field(ge=1, le=MAX_RANDOMIZATIONS)]


def polynomial_degree(name: str) -> int | None:
    """``k`` of an extrapolator named ``polynomial_degree_k``; None for other names."""
    match = _POLYNOMIAL.match(name)
    return int(match.group(1)) if match else None


class ZneOptions(BaseModel):
    """``resilience.zne``: noise factors (>= 1; 1 is the circuit as compiled), the
    extrapolator(s) (with several, tried in order: the first that fits wins) and the
    amplifier: Qiskit Runtime's ``gate_folding`` (two-qubit gates), ``gate_folding_front``,
    ``gate_folding_back``, or openqpu's ``all_gate_folding`` (every noisy gate, one-qubit
    gates too; the default here, see ``DEFAULT_AMPLIFIER``)."""

    model_config = _Strict
    noise_factors: list[Annotated[float, Field(ge=1.0, le=MAX_NOISE_FACTOR)]] | None = None
    extrapolator: str | list[str] | None = None
    amplifier: (
        Literal["gate_folding", "gate_folding_front", "gate_folding_back", "all_gate_folding"]
        | None
    ) = None

    @model_validator(mode="after")
    def _check(self) -> ZneOptions:
        factors = self.noise_factors
        if factors is not None and len(set(factors)) < 2:
            raise ValueError("noise_factors: give at least two different factors")
        names = [self.extrapolator] if isinstance(self.extrapolator, str) else self.extrapolator
        for name in names or []:
            degree = polynomial_degree(name)
            if name not in EXTRAPOLATORS and degree is None:
                raise ValueError(
                    f"extrapolator: {name!r} is not one of linear, exponential, "
                    "polynomial_degree_k (k 1 to 7)"
                )
            points = len(set(factors or DEFAULT_FACTORS))
            if degree is not None and degree >= points:
                raise ValueError(
                    f"extrapolator: {name} needs at least {degree + 1} noise factors, got {points}"
                )
        return self


class MeasureNoiseLearningOptions(BaseModel):
    """``resilience.measure_noise_learning``: the TREX calibration circuits."""

    model_config = _Strict
    num_randomizations: Count | None = None
    shots_per_randomization: Count | Auto | None = None


class ResilienceOptions(BaseModel):
    """``resilience``: which mitigations run."""

    model_config = _Strict
    measure_mitigation: StrictBool | None = None
    measure_noise_learning: MeasureNoiseLearningOptions | None = None
    zne_mitigation: StrictBool | None = None
    zne: ZneOptions | None = None


class TwirlingOptions(BaseModel):
    """``twirling``: Pauli twirling of the two-qubit gates and of the measurements."""

    model_config = _Strict
    enable_gates: StrictBool | None = None
    enable_measure: StrictBool | None = None
    num_randomizations: Count | Auto | None = None
    shots_per_randomization: Annotated[int, Field(ge=1)] | Auto | None = None


class DynamicalDecouplingOptions(BaseModel):
    """``dynamical_decoupling``: pulses in the idle windows of the scheduled circuit."""

    model_config = _Strict
    enable: StrictBool | None = None
    sequence_type: Literal["XX", "XpXm", "XY4"] | None = None


class EstimatorOptions(BaseModel):
    """An estimate job's ``options``, shaped like ``qiskit_ibm_runtime.EstimatorOptions``."""

    model_config = _Strict
    resilience_level: Literal[0, 1, 2] | None = None
    default_shots: Annotated[int, Field(ge=1)] | None = None
    default_precision: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    seed_estimator: Annotated[int, Field(ge=0, lt=1 << 63)] | None = None
    resilience: ResilienceOptions | None = None
    twirling: TwirlingOptions | None = None
    dynamical_decoupling: DynamicalDecouplingOptions | None = None

    def shots(self) -> int | None:
        """Shots per measurement basis the options ask for: ``default_shots``, else
        ``ceil(1 / default_precision**2)``; None when they name neither."""
        if self.default_shots is not None:
            return self.default_shots
        if self.default_precision is not None:
            return math.ceil(1.0 / self.default_precision**2)
        return None
