"""Error mitigation and suppression options of estimate jobs on chips, with Qiskit
Runtime's names and meanings (``qiskit_ibm_runtime.EstimatorOptions``).

A job gives them as a nested ``options`` object::

    {"resilience_level": 2,
     "resilience": {"zne": {"noise_factors": [1, 3, 5], "extrapolator": "linear"}},
     "twirling": {"num_randomizations": 16},
     "dynamical_decoupling": {"enable": true, "sequence_type": "XY4"}}

Unknown names are refused (the 422 names them). ``resilience_level`` presets the
techniques as Qiskit Runtime does and fine-grained options override it:

- 0: no mitigation.
- 1: twirled readout error extinction (TREX): measurement twirling and a readout
  calibration learned by running calibration circuits on the chip.
- 2: level 1, Pauli twirling of the two-qubit gates and zero-noise extrapolation
  (noise factors 1, 3, 5 and extrapolators exponential then linear, as Qiskit Runtime;
  the amplifier is openqpu's ``all_gate_folding``, not Runtime's CZ-only
  ``gate_folding``: on the emulated chips the one-qubit gates' error and the relaxation
  during them are about half of what level 1 leaves on a small circuit, and folding
  only the CZs leaves them in the extrapolated value; see ``DEFAULT_AMPLIFIER``).

When ``options`` is given without ``resilience_level`` the level is 1, Qiskit
Runtime's default; a job without ``options`` is not mitigated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from openqpu.service.circuits import InvalidRequest
from openqpu.service.estimator_options import (
    AUTO_RANDOMIZATIONS,
    DEFAULT_AMPLIFIER,
    DEFAULT_EXTRAPOLATORS,
    DEFAULT_FACTORS,
    DynamicalDecouplingOptions,
    EstimatorOptions,
    MeasureNoiseLearningOptions,
    ResilienceOptions,
    TwirlingOptions,
    ZneOptions,
)


@dataclass(frozen=True)
class Resilience:
    """The techniques a job runs with, every option resolved (see ``resolve``)."""

    level: int = 0
    measure_mitigation: bool = False
    calibration_randomizations: int = AUTO_RANDOMIZATIONS
    calibration_shots_per_randomization: int | None = None  # None: the job's shots shared
    zne_mitigation: bool = False
    noise_factors: tuple[float, ...] = DEFAULT_FACTORS
    extrapolators: tuple[str, ...] = DEFAULT_EXTRAPOLATORS
    amplifier: str = DEFAULT_AMPLIFIER
    twirl_gates: bool = False
    twirl_measure: bool = False
    num_randomizations: int | None = None  # None: "auto"
    shots_per_randomization: int | None = None  # None: "auto"
    dd_enable: bool = False
    dd_sequence: str = "XX"
    seed_estimator: int | None = None

    @property
    def active(self) -> bool:
        """Whether anything differs from running the compiled circuit as it is."""
        return (
            self.measure_mitigation
            or self.zne_mitigation
            or self.twirl_gates
            or self.twirl_measure
            or self.dd_enable
        )

    @property
    def twirled(self) -> bool:
        """Whether the circuits are randomised (TREX always twirls the measurements)."""
        return self.twirl_gates or self.twirl_measure or self.measure_mitigation

    def randomizations(self, shots: int) -> list[int]:
        """The shots of each randomization for ``shots`` shots in all (Qiskit Runtime's
        "auto": 32 randomizations at most, the shots shared among them)."""
        if not self.twirled:
            return [shots]
        if self.shots_per_randomization is not None:
            count = self.num_randomizations or math.ceil(shots / self.shots_per_randomization)
            return [self.shots_per_randomization] * count
        count = min(self.num_randomizations or AUTO_RANDOMIZATIONS, shots)
        return [shots // count + (1 if r < shots % count else 0) for r in range(count)]

    def as_metadata(self) -> dict[str, Any]:
        """The resolved options, for the result's metadata."""
        return {
            "resilience_level": self.level,
            "resilience": {
                "measure_mitigation": self.measure_mitigation,
                "zne_mitigation": self.zne_mitigation,
                "zne": {
                    "noise_factors": list(self.noise_factors),
                    "extrapolator": list(self.extrapolators),
                    "amplifier": self.amplifier,
                },
            },
            "twirling": {
                "enable_gates": self.twirl_gates,
                "enable_measure": self.twirl_measure or self.measure_mitigation,
                "num_randomizations": self.num_randomizations or "auto",
                "shots_per_randomization": self.shots_per_randomization or "auto",
            },
            "dynamical_decoupling": {"enable": self.dd_enable, "sequence_type": self.dd_sequence},
            "seed_estimator": self.seed_estimator,
        }


def resolve(raw: dict[str, Any] | EstimatorOptions | None) -> Resilience:
    """The techniques ``raw`` (a job's ``options``) asks for, level presets applied.

    Raises:
        pydantic.ValidationError: an option is unknown or shaped wrongly.
    """
    if raw is None:
        return Resilience()
    options = raw if isinstance(raw, EstimatorOptions) else EstimatorOptions.model_validate(raw)
    level = 1 if options.resilience_level is None else options.resilience_level
    resilience = options.resilience or ResilienceOptions()
    learning = resilience.measure_noise_learning or MeasureNoiseLearningOptions()
    zne = resilience.zne or ZneOptions()
    twirling = options.twirling or TwirlingOptions()
    dd = options.dynamical_decoupling or DynamicalDecouplingOptions()

    def pick(value: Any, preset: Any) -> Any:
        return preset if value is None else value

    extrapolators = zne.extrapolator or DEFAULT_EXTRAPOLATORS
    calibration_shots = learning.shots_per_randomization
    return Resilience(
        level=level,
        measure_mitigation=pick(resilience.measure_mitigation, level >= 1),
        calibration_randomizations=learning.num_randomizations or AUTO_RANDOMIZATIONS,
        calibration_shots_per_randomization=(
            None if calibration_shots in (None, "auto") else int(calibration_shots)
        ),
        zne_mitigation=pick(resilience.zne_mitigation, level >= 2),
        noise_factors=tuple(zne.noise_factors or DEFAULT_FACTORS),
        extrapolators=(extrapolators,) if isinstance(extrapolators, str) else tuple(extrapolators),
        amplifier=zne.amplifier or DEFAULT_AMPLIFIER,
        twirl_gates=pick(twirling.enable_gates, level >= 2),
        twirl_measure=pick(twirling.enable_measure, level >= 1),
        num_randomizations=(
            None
            if twirling.num_randomizations in (None, "auto")
            else int(twirling.num_randomizations)
        ),
        shots_per_randomization=(
            None
            if twirling.shots_per_randomization in (None, "auto")
            else int(twirling.shots_per_randomization)
        ),
        dd_enable=pick(dd.enable, False),
        dd_sequence=dd.sequence_type or "XX",
        seed_estimator=options.seed_estimator,
    )


def check_options(
    options: EstimatorOptions,
    *,
    kind: str,
    device: str,
    is_chip: bool,
    mitigation: str | None,
    shots: int,
    max_shots: int,
) -> Resilience:
    """Refuse ``options`` where they cannot apply; return them resolved.

    Raises:
        InvalidRequest: on a sample job, an ideal simulator, beside ``mitigation``, or
            when the twirled shots of one basis at one noise factor exceed ``max_shots``.
    """
    if kind != "estimate":
        raise InvalidRequest(
            "options", "error mitigation options apply to estimate jobs (kind 'estimate')"
        )
    if not is_chip:
        raise InvalidRequest(
            "options", f"{device} is an ideal simulator: it has no noise to mitigate"
        )
    if mitigation is not None:
        raise InvalidRequest(
            "mitigation",
            "give either 'mitigation' or 'options' (options.resilience.measure_mitigation "
            "corrects readout errors)",
        )
    resolved = resolve(options)
    total = sum(resolved.randomizations(shots))
    if total > max_shots:
        raise InvalidRequest(
            "options.twirling",
            f"num_randomizations x shots_per_randomization = {total:,} shots per basis, "
            f"over the limit of {max_shots:,}",
        )
    return resolved


def cost_multiplier(resilience: Resilience, shots: int, *, per_circuit: bool) -> float:
    """How many times a basis's plain run the mitigated runs cost, roughly: the noise
    factors add their gates, and a method whose cost is per circuit rather than per
    shot (``per_circuit``: density matrix) pays once per randomization."""
    factors = sum(resilience.noise_factors) if resilience.zne_mitigation else 1.0
    runs = len(resilience.randomizations(shots)) if per_circuit else 1
    return factors * runs + (1.0 if resilience.measure_mitigation else 0.0)
