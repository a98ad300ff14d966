"""Unit tests of the ambient temperature: schema, presets, heat waves and CSV replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from helpers import SCENARIOS
from pydantic import ValidationError

from sim.errors import SimulationError
from sim.model.ambient import add_heat_waves, ambient_steps, preset_steps
from sim.rng import RandomStreams
from sim.scenario.ambient import AMBIENT_PRESETS, AmbientSpec, HeatWaveSpec
from sim.scenario.inputs import InputFiles
from sim.steps import StepSeries

START = datetime(2024, 7, 1, tzinfo=UTC)
EXAMPLE_CSV = SCENARIOS / "data" / "ambient_example.csv"
FLAT = {
    "mean_c": 20.0,
    "seasonal_amplitude_c": 0.0,
    "diurnal_amplitude_c": 0.0,
    "noise_std_c": 0.0,
}


def spec(**fields: object) -> AmbientSpec:
    return AmbientSpec.model_validate(fields)


def wave(start: datetime, end: datetime, extra_c: float) -> dict[str, object]:
    return {"start_utc": start.isoformat(), "end_utc": end.isoformat(), "extra_c": extra_c}


def rng(seed: int = 1) -> np.random.Generator:
    return RandomStreams(seed).get("ambient")


# --------------------------------------------------------------------------- schema


def test_defaults_are_the_west_texas_preset() -> None:
    ambient = AmbientSpec()
    assert ambient.model == "preset"
    assert ambient.preset == "west_texas"
    for name, value in AMBIENT_PRESETS["west_texas"].items():
        assert getattr(ambient, name) == value
    assert ambient.csv_path is None
    assert ambient.heat_waves == []


@pytest.mark.parametrize("preset", sorted(AMBIENT_PRESETS))
def test_null_fields_take_the_preset_value_and_overrides_win(preset: str) -> None:
    ambient = spec(preset=preset, mean_c=10.0, noise_std_c=None)
    assert ambient.mean_c == 10.0
    for name, value in AMBIENT_PRESETS[preset].items():
        if name != "mean_c":
            assert getattr(ambient, name) == value


def test_every_preset_sets_every_preset_field() -> None:
    fields = {
        name
        for name, info in AmbientSpec.model_fields.items()
        if info.description and "Null = the preset's value" in info.description
    }
    for values in AMBIENT_PRESETS.values():
        assert set(values) == fields


def test_presets_order_their_climates() -> None:
    texas, quebec, nordic = (AMBIENT_PRESETS[p] for p in ("west_texas", "quebec", "nordic"))
    assert texas["mean_c"] > quebec["mean_c"] > nordic["mean_c"]
    summer_high = {
        name: p["mean_c"] + p["seasonal_amplitude_c"] + p["diurnal_amplitude_c"]
        for name, p in AMBIENT_PRESETS.items()
    }
    assert summer_high["west_texas"] > 35 > summer_high["quebec"] > 25 > summer_high["nordic"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"model": "csv"}, "csv_path is required with model 'csv'"),
        ({"csv_path": "x.csv"}, "csv_path is only used with model 'csv'"),
        ({"preset": "sahara"}, "preset"),
        ({"unknown_c": 1.0}, "unknown_c"),
        ({"seasonal_amplitude_c": -1.0}, "seasonal_amplitude_c"),
        ({"hottest_hour_local": 24.0}, "hottest_hour_local"),
        ({"hottest_day_of_year": 0.0}, "hottest_day_of_year"),
        ({"noise_std_c": -0.1}, "noise_std_c"),
        ({"noise_correlation_hours": 0.0}, "noise_correlation_hours"),
        ({"utc_offset_hours": 15.0}, "utc_offset_hours"),
    ],
)
def test_invalid_sections_are_rejected_with_the_field_named(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        spec(**fields)


def test_unknown_preset_reports_only_the_preset() -> None:
    with pytest.raises(ValidationError) as info:
        spec(preset="sahara")
    assert [err["loc"] for err in info.value.errors()] == [("preset",)]


def test_heat_wave_must_end_after_it_starts() -> None:
    with pytest.raises(ValidationError, match="end_utc .* must be after start_utc"):
        spec(heat_waves=[wave(START, START, 3.0)])
    with pytest.raises(ValidationError, match="end_utc .* must be after start_utc"):
        HeatWaveSpec.model_validate(wave(START, START - timedelta(hours=1), 3.0))


@pytest.mark.parametrize("extra_c", [0.0, -2.0])
def test_heat_wave_extra_must_be_positive(extra_c: float) -> None:
    with pytest.raises(ValidationError, match="extra_c"):
        HeatWaveSpec.model_validate(wave(START, START + timedelta(hours=1), extra_c))


def test_heat_wave_times_without_zone_are_utc() -> None:
    hw = HeatWaveSpec.model_validate(
        {"start_utc": "2024-07-01T12:00:00", "end_utc": "2024-07-01T18:00:00+02:00", "extra_c": 1}
    )
    assert hw.start_utc == datetime(2024, 7, 1, 12, tzinfo=UTC)
    assert hw.end_utc == datetime(2024, 7, 1, 16, tzinfo=UTC)


def test_section_is_frozen() -> None:
    with pytest.raises(ValidationError):
        AmbientSpec().mean_c = 5.0  # type: ignore[misc]


# --------------------------------------------------------------------------- preset path


def test_steps_are_whole_utc_hours_from_the_hour_containing_the_start() -> None:
    start = datetime(2024, 7, 1, 10, 20, 30, tzinfo=UTC)
    horizon_s = 5 * 3600.0
    series = ambient_steps(AmbientSpec(), start, horizon_s, rng())
    first_boundary = 39 * 60 + 30.0  # 11:00:00 − 10:20:30
    expected = np.concatenate(([0.0], first_boundary + 3600.0 * np.arange(5)))
    np.testing.assert_array_equal(series.times_s, expected)
    assert np.all(np.diff(series.times_s) > 0)


def test_preset_draws_one_normal_per_hour_from_its_stream() -> None:
    hours = 100
    used, fresh = rng(3), rng(3)
    ambient_steps(AmbientSpec(), START, hours * 3600.0, used)
    fresh.standard_normal(hours)
    assert used.standard_normal() == fresh.standard_normal()


def test_same_seed_same_path_and_the_noise_does_not_depend_on_the_shape() -> None:
    base = preset_steps(AmbientSpec(), START, 500 * 3600.0, rng(4))
    again = preset_steps(AmbientSpec(), START, 500 * 3600.0, rng(4))
    np.testing.assert_array_equal(base.values, again.values)
    shifted = preset_steps(spec(mean_c=25.0, diurnal_amplitude_c=0.0), START, 500 * 3600.0, rng(4))
    hour = (np.arange(500) - 6 - 16) % 24  # local hour minus the hottest hour (UTC−6, 16:00)
    diurnal = 7.0 * np.cos(2 * np.pi * hour / 24)
    np.testing.assert_allclose(shifted.values - base.values, 7.0 - diurnal, atol=1e-9)


def test_flat_preset_without_noise_is_its_mean() -> None:
    series = ambient_steps(spec(**FLAT), START, 48 * 3600.0, rng())
    np.testing.assert_array_equal(series.values, 20.0)


def test_zero_noise_draws_are_still_consumed() -> None:
    used, fresh = rng(8), rng(8)
    ambient_steps(spec(**FLAT), START, 10 * 3600.0, used)
    fresh.standard_normal(10)
    assert used.standard_normal() == fresh.standard_normal()


# --------------------------------------------------------------------------- heat waves


def test_heat_wave_adds_exactly_on_its_half_open_window() -> None:
    s = START + timedelta(hours=10, minutes=20)
    e = START + timedelta(hours=13, minutes=45, seconds=30)
    series = ambient_steps(spec(**FLAT, heat_waves=[wave(s, e, 4.5)]), START, 24 * 3600.0, rng())
    t0, t1 = (s - START).total_seconds(), (e - START).total_seconds()
    assert np.all(np.diff(series.times_s) > 0)
    assert {t0, t1} <= set(series.times_s.tolist())
    probe = np.array([0.0, t0 - 1e-3, t0, t0 + 1.0, t1 - 1e-3, t1, t1 + 1.0, 86_399.0])
    np.testing.assert_array_equal(
        series.at(probe), [20.0, 20.0, 24.5, 24.5, 24.5, 20.0, 20.0, 20.0]
    )
    # Exact in time: the integral over the day gains extra × duration and nothing else.
    gained = series.integrate(np.array([0.0, 86_400.0]))[0] - 20.0 * 86_400.0
    assert gained == pytest.approx(4.5 * (t1 - t0), rel=1e-12)


def test_heat_wave_on_a_noisy_path_adds_the_indicator_only() -> None:
    s = START + timedelta(hours=30, minutes=7, seconds=11)
    e = START + timedelta(hours=80, minutes=59)
    horizon_s = 120 * 3600.0
    base = ambient_steps(AmbientSpec(), START, horizon_s, rng(5))
    hot = ambient_steps(
        AmbientSpec(heat_waves=[HeatWaveSpec.model_validate(wave(s, e, 6.0))]),
        START,
        horizon_s,
        rng(5),
    )
    t = np.linspace(0.0, horizon_s, 20_001)
    t0, t1 = (s - START).total_seconds(), (e - START).total_seconds()
    t = np.sort(np.concatenate((t, [t0, t1, t0 - 1e-3, t1 - 1e-3])))
    inside = (t >= t0) & (t < t1)
    np.testing.assert_allclose(hot.at(t) - base.at(t), np.where(inside, 6.0, 0.0), atol=1e-9)
    edges = np.array([0.0, horizon_s])
    extra = hot.integrate(edges)[0] - base.integrate(edges)[0]
    assert extra == pytest.approx(6.0 * (t1 - t0), rel=1e-9)


def test_overlapping_waves_add_and_waves_are_clipped_to_the_run() -> None:
    day = timedelta(days=1)
    waves = [
        wave(START - day, START + timedelta(hours=2), 1.0),  # under way at the start
        wave(START + timedelta(hours=1), START + timedelta(hours=3), 2.0),  # overlaps
        wave(START + timedelta(hours=20), START + 3 * day, 3.0),  # runs past the horizon
        wave(START - 2 * day, START - day, 50.0),  # before the run
        wave(START + 2 * day, START + 3 * day, 50.0),  # after the run
    ]
    series = ambient_steps(spec(**FLAT, heat_waves=waves), START, 86_400.0, rng())
    assert series.times_s[0] == 0.0
    assert series.times_s[-1] < 86_400.0
    hours = 3600.0 * np.array([0.5, 1.5, 2.5, 3.5, 19.5, 20.5, 23.5])
    np.testing.assert_array_equal(series.at(hours), [21.0, 23.0, 22.0, 20.0, 20.0, 23.0, 23.0])


def test_wave_starting_exactly_at_zero_and_ending_on_the_hour() -> None:
    ws = wave(START, START + timedelta(hours=2), 5.0)
    series = ambient_steps(spec(**FLAT, heat_waves=[ws]), START, 4 * 3600.0, rng())
    np.testing.assert_array_equal(series.times_s, 3600.0 * np.arange(4))
    np.testing.assert_array_equal(series.values, [25.0, 25.0, 20.0, 20.0])


def test_add_heat_waves_without_waves_returns_the_series() -> None:
    series = StepSeries.constant(3.0)
    assert add_heat_waves(series, [], START, 10.0) is series


# --------------------------------------------------------------------------- CSV replay


def test_csv_model_replays_the_example_file() -> None:
    ambient = spec(model="csv", csv_path=str(EXAMPLE_CSV))
    series = ambient_steps(ambient, START, 96 * 3600.0, rng())
    rows = EXAMPLE_CSV.read_text(encoding="utf-8").splitlines()[1:]
    values = np.array([float(row.split(",")[1]) for row in rows])
    assert values.size == 96
    np.testing.assert_array_equal(series.times_s, 3600.0 * np.arange(96))
    np.testing.assert_array_equal(series.values, values)


def test_csv_model_draws_nothing_and_replays_the_file_read_at_load(tmp_path: Path) -> None:
    copy = tmp_path / "ambient.csv"
    copy.write_bytes(EXAMPLE_CSV.read_bytes())
    files = InputFiles()
    files.step_series("site.ambient.csv_path", str(copy), "ambient_temp_c", positive=False)
    copy.unlink()  # the model must not need the file any more
    used, fresh = rng(2), rng(2)
    ambient = spec(model="csv", csv_path=str(copy))
    series = ambient_steps(ambient, START, 96 * 3600.0, used, files)
    assert series.values.size == 96
    assert used.standard_normal() == fresh.standard_normal()


def test_csv_accepts_negative_temperatures_and_takes_heat_waves(tmp_path: Path) -> None:
    path = tmp_path / "cold.csv"
    path.write_text(
        "timestamp_utc,ambient_temp_c\n"
        "2024-01-01T00:00:00Z,-12.5\n"
        "2024-01-01T01:00:00Z,-14.0\n"
        "2024-01-01T02:00:00Z,-3.0\n",
        encoding="utf-8",
    )
    start = datetime(2024, 1, 1, 0, 30, tzinfo=UTC)
    s = start + timedelta(minutes=45)  # 01:15
    ambient = spec(model="csv", csv_path=str(path), heat_waves=[wave(s, s + timedelta(hours=1), 2)])
    series = ambient_steps(ambient, start, 3 * 3600.0, rng())
    np.testing.assert_array_equal(series.times_s, [0.0, 1800.0, 2700.0, 5400.0, 6300.0])
    np.testing.assert_array_equal(series.values, [-12.5, -14.0, -12.0, -1.0, -3.0])


def test_csv_with_the_wrong_column_names_it(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("timestamp_utc,temp\n2024-01-01T00:00:00Z,1.0\n", encoding="utf-8")
    with pytest.raises(SimulationError, match="ambient_temp_c"):
        ambient_steps(spec(model="csv", csv_path=str(path)), START, 3600.0, rng())
