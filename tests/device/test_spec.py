"""Device spec files: shipped devices load, bad files name the bad field."""

from __future__ import annotations

from pathlib import Path

import pytest

from openqpu.device import DeviceSpec, load_device_specs

_SHIPPED = Path(__file__).parents[2] / "src" / "openqpu" / "device" / "data"


def test_spec_shipped_devices_load() -> None:
    specs = load_device_specs()
    assert set(specs) >= {"lattice72", "lattice12"}
    assert specs["lattice72"].native_gates == ("rz", "sx", "x", "cz", "measure", "reset")


@pytest.mark.parametrize(
    ("name", "num_qubits", "num_couplers"), [("lattice72", 72, 126), ("lattice12", 12, 17)]
)
def test_spec_grid_has_nearest_neighbour_couplers(
    name: str, num_qubits: int, num_couplers: int
) -> None:
    spec = load_device_specs()[name]
    assert spec.num_qubits == num_qubits
    assert len(spec.couplers) == spec.num_couplers == num_couplers
    assert len(set(spec.couplers)) == num_couplers
    for a, b in spec.couplers:
        (ra, ca), (rb, cb) = divmod(a, spec.cols), divmod(b, spec.cols)
        assert a < b and abs(ra - rb) + abs(ca - cb) == 1


def _write_variant(tmp_path: Path, old: str, new: str) -> Path:
    text = (_SHIPPED / "lattice12.toml").read_text()
    assert old in text
    path = tmp_path / "variant.toml"
    path.write_text(text.replace(old, new).replace('name = "lattice12"', 'name = "variant"'))
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("t1_us = [10.0, 30.0]", "t1_us = [30.0, 10.0]", r"calibration\.t1_us: must be \[low"),
        ("cz_fidelity = [0.95, 0.99]", "cz_fidelity = [0.95, 1.2]", r"calibration\.cz_fidelity"),
        ("readout_0to1_share = [0.2, 0.45]", "readout_0to1_share = [0.2, 0.6]", "0to1_share"),
        ("rows = 4\n", "", "rows: missing"),
        ("cols = 3", "cols = 0", "cols: must be a positive integer"),
        ('"reset"]', '"reset", "ccx"]', r"native_gates: unknown gates \['ccx'\]"),
        ("cz_ns = 60.0", "cz_ns = -1.0", r"durations\.cz_ns: must be positive"),
        ("maintenance_min = 15.0", "maintenance_mins = 15.0", r"drift\.maintenance_mins: unknown"),
        ("disabled_qubits = 0", "disabled_qubits = 12", r"calibration\.disabled_qubits"),
        ("rows = 4\n", 'rows = 4\naliases = ["a b"]\n', r"aliases: 'a b' is not a valid device"),
        ("rows = 4\n", 'rows = 4\naliases = ["variant"]\n', r"aliases: 'variant' is the device"),
        ("rows = 4\n", 'rows = 4\naliases = ["x", "x"]\n', r"aliases: \['x', 'x'\] names one"),
    ],
)
def test_spec_bad_file_names_the_field(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeviceSpec.from_file(_write_variant(tmp_path, old, new))


def test_spec_operator_directory_adds_devices(tmp_path: Path) -> None:
    _write_variant(tmp_path, "rows = 4", "rows = 5")
    specs = load_device_specs(tmp_path)
    assert specs["variant"].num_qubits == 15
    assert "lattice72" in specs


def test_spec_aliases_are_optional_and_lattice72_has_the_reference_chip_names() -> None:
    from openqpu.device import default_catalog, resolve

    specs = load_device_specs()
    assert specs["lattice12"].aliases == ()
    assert specs["lattice72"].aliases == ("origin_wukong", "72")
    catalog = default_catalog()
    assert catalog["lattice72"].aliases == ("origin_wukong", "72")
    assert [resolve(catalog, n) for n in ("origin_wukong", "72", "lattice72", "wukong")] == [
        "lattice72", "lattice72", "lattice72", None,
    ]  # fmt: skip


def test_spec_an_alias_taken_by_another_device_is_refused(tmp_path: Path) -> None:
    _write_variant(tmp_path, "rows = 4\n", 'rows = 4\naliases = ["origin_wukong"]\n')
    with pytest.raises(ValueError, match=r"variant: name or alias 'origin_wukong' is already"):
        load_device_specs(tmp_path)
