"""``openqpu submit``'s observable and ``--option`` parsing (no server)."""

from __future__ import annotations

import argparse

import pytest

from openqpu.cli.mitigation import estimator_options, observable, option


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ZZ", {"ZZ": 1.0}),
        ("-XX", {"XX": -1.0}),
        ("0.5*ZZ - 0.25*XI", {"ZZ": 0.5, "XI": -0.25}),
        ("1e-3 ZI + ZI", {"ZI": 1.001}),
        ('{"ZZ": 0.5, "XX": 2}', {"ZZ": 0.5, "XX": 2.0}),
    ],
)
def test_observable_reads_labels_sums_and_json(text: str, expected: dict[str, float]) -> None:
    assert observable(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ZQ", "letters I, X, Y, Z"),
        ("ZZ XX", "at character 4"),
        ("ZZ + XXX", "different lengths"),
        ('{"ZZ": "a"}', "not a {label: number} map"),
        ("", "at least one Pauli label"),
    ],
)
def test_observable_refuses_with_a_message(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        observable(text)


def test_option_values_are_json_else_text_and_commas_make_lists() -> None:
    assert option("resilience.zne.noise_factors=1,3,5")[1] == [1, 3, 5]
    assert option("resilience.zne.extrapolator=exponential,linear")[1] == [
        "exponential",
        "linear",
    ]
    assert option("resilience.zne.noise_factors=[1, 1.5]")[1] == [1, 1.5]
    assert option("dynamical_decoupling.enable=false") == (
        ["dynamical_decoupling", "enable"],
        False,
    )
    assert option("dynamical_decoupling.sequence_type=XY4")[1] == "XY4"
    assert option("twirling.num_randomizations=auto")[1] == "auto"
    with pytest.raises(argparse.ArgumentTypeError, match="give NAME=VALUE"):
        option("twirling.num_randomizations")


def test_estimator_options_nest_the_names() -> None:
    options = estimator_options(
        1,
        [
            (["resilience", "zne", "noise_factors"], [1, 3]),
            (["resilience", "zne_mitigation"], True),
            (["twirling", "enable_gates"], False),
        ],
    )
    assert options == {
        "resilience_level": 1,
        "resilience": {"zne": {"noise_factors": [1, 3]}, "zne_mitigation": True},
        "twirling": {"enable_gates": False},
    }
    assert estimator_options(None, None) is None
    with pytest.raises(ValueError, match="twirling was given a value already"):
        estimator_options(None, [(["twirling"], 1), (["twirling", "enable_gates"], True)])
    with pytest.raises(ValueError, match="also has options of its own"):
        estimator_options(None, [(["twirling", "enable_gates"], True), (["twirling"], 1)])
