"""ecgfast.hearts and synthesize(hearts=...): hearts fitted to real records."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import ecgfast
from ecgfast.errors import InvalidParameterError
from ecgfast.hearts import (
    EIGHT_LEADS,
    HEART_PARAMS,
    LEAD_GAIN_RANGE,
    LEAD_SIZE,
    SIZE_PER_R_AMP,
    check_hearts,
    fit_hearts,
    heart_beat,
    load_hearts,
    median_beats,
    read_bank,
    write_bank,
)

FS = 500.0


def _heart(**changes: float) -> np.ndarray:
    """A plausible hand-made heart (R left-inferior, T along it, a small P)."""
    scalars = {
        "onset_fraction": 0.47,
        "q_sigma": 0.08,
        "r_sigma": 0.09,
        "s_sigma": 0.1,
        "f1_sigma": 0.07,
        "f1_position": 0.3,
        "f2_sigma": 0.06,
        "f2_position": 0.6,
        "f3_sigma": 0.08,
        "f3_position": 0.9,
        "p_duration": 0.1,
        "ta_ratio": 0.3,
        "atrial_gain": 0.5,
        "tpe_fraction": 0.22,
        "u_ratio": 0.1,
    }
    vectors = {
        "p": (0.08, 0.1, 0.02),
        "q": (-0.05, -0.02, -0.1),
        "r": (0.6, 0.75, 0.28),
        "s": (-0.2, -0.1, 0.3),
        "f1": (0.1, -0.1, 0.05),
        "f2": (-0.05, 0.1, 0.1),
        "f3": (0.02, 0.05, -0.1),
        "j": (0.0, 0.0, -0.03),
        "t1": (0.05, 0.07, -0.02),
        "t2": (0.12, 0.15, -0.05),
    }
    row = dict(scalars)
    for k, v in vectors.items():
        row.update({f"{k}_x": v[0], f"{k}_y": v[1], f"{k}_z": v[2]})
    row.update(changes)
    return np.array([row[name] for name in HEART_PARAMS])


def _record(heart: np.ndarray, **kw) -> ecgfast.SynthBatch:
    opts = dict(
        fs=FS,
        duration=10,
        leads=list(EIGHT_LEADS),
        noise=0.0,
        hr=60,
        hrv=0,
        pr=160,
        qrs=95,
        qt=400,
        seed=4,
        hearts=heart[None],
        heart_jitter=0.0,
    )
    return ecgfast.synthesize(1, **(opts | kw))


def _mean_beat(b: ecgfast.SynthBatch) -> np.ndarray:
    """The first record's mean beat, 0.3 s before to 0.5 s after the generator's R peaks."""
    r = b.beats.loc[b.beats["record"] == b.labels.index[0], "r_peak"].dropna().to_numpy(int)
    r = r[(r > 0.3 * FS) & (r < b.signals.shape[-1] - 0.5 * FS)]
    return np.mean([b.signals[0, :, p - 150 : p + 250] for p in r], axis=0)


class TestSynthesizeWithHearts:
    def test_a_heart_without_jitter_is_the_beat_its_columns_describe(self):
        h = _heart()
        b = _record(h)
        beat = heart_beat(h, FS, qrs=0.095, pr=0.16, qt=0.4)
        made = _mean_beat(b)
        for lead, (x, y) in enumerate(zip(made, beat, strict=True)):
            assert np.corrcoef(x, y)[0, 1] > 0.995, EIGHT_LEADS[lead]
        # each lead's QRS has its typical size, their geometric mean set by r_amp, through
        # gains bounded to LEAD_GAIN_RANGE (respiration changes sizes by up to 8 %)
        k = b.beats.iloc[len(b.beats) // 2]
        r_peak = int(k["r_peak"])
        on, off = int(k["qrs_on"]) - r_peak + 150, int(k["qrs_off"]) - r_peak + 150
        measured = np.ptp(made[:, on : off + 1], axis=1)
        r_amp = b.labels["param_r_amplitude"].iloc[0]
        dower = r_amp * np.ptp(beat[:, on : off + 1], axis=1)  # Dower's sizes of this heart
        typical = np.array(LEAD_SIZE) / np.exp(np.log(LEAD_SIZE).mean())
        gains = np.clip(SIZE_PER_R_AMP * r_amp * typical / dower, *LEAD_GAIN_RANGE)
        np.testing.assert_allclose(measured, gains * dower, rtol=0.04)
        assert (gains == LEAD_GAIN_RANGE[1]).sum() <= 2  # the test reads the gains, mostly

    def test_intervals_and_fiducials_stay_those_of_the_parameters(self):
        b = ecgfast.synthesize(6, hearts="ludb", seed=2, noise=0.0, leads="II")
        assert np.allclose(b.labels["qrs"], b.labels["param_qrs"], atol=1.0)
        assert np.allclose(b.labels["pr"], b.labels["param_pr"], atol=1.0)

    def test_jitter_makes_records_differ_and_zero_repeats_the_heart(self):
        h = _heart()
        a = _record(h, heart_jitter=1.0, hr=(60, 60.001))
        c = _record(h, heart_jitter=1.0, seed=5)
        assert not np.allclose(a.signals, c.signals, atol=1e-3)
        same = [_mean_beat(_record(h, seed=s)) for s in (6, 7)]
        # without jitter two records differ only by size and respiration
        for x, y in zip(*same, strict=True):
            assert np.corrcoef(x, y)[0, 1] > 0.999

    def test_deterministic_whatever_the_batch_split(self):
        whole = ecgfast.synthesize(5, hearts="ludb", seed=11, duration=4).signals
        tail = ecgfast.synthesize(2, hearts="ludb", seed=11, start=3, duration=4).signals
        np.testing.assert_array_equal(whole[3:], tail)

    def test_without_hearts_records_are_unchanged_by_the_option(self):
        a = ecgfast.synthesize(3, seed=1, duration=3, population="ludb").signals
        b = ecgfast.synthesize(3, seed=1, duration=3, population="ludb", heart_jitter=0.5).signals
        np.testing.assert_array_equal(a, b)

    def test_pathology_still_applies(self):
        b = ecgfast.synthesize(
            4, hearts="ludb", seed=3, conduction={"lbbb": 1.0}, leads="II", noise=0.0
        )
        assert (b.labels["qrs"] >= 120).all()
        assert (b.beats["symbol"] == "L").all()
        v = ecgfast.synthesize(4, hearts="ludb", seed=3, ectopy={"pvc": 0.3}, duration=20)
        pvc = v.beats[v.beats["symbol"] == "V"]
        assert len(pvc) > 0 and pvc["p_peak"].isna().all()

    def test_ectopic_beats_keep_a_plausible_size(self):
        """The heart's own T1 is the sinus beat's only (a heart with a small T2 once gave the
        ectopic T waves 15 times their size), and the lead gains are bounded."""
        kw = dict(population="ludb", ectopy={"pvc": 0.3}, noise=0.0, seed=3, duration=10)
        with_bank = ecgfast.synthesize(300, hearts="ludb", **kw).signals
        without = ecgfast.synthesize(300, **kw).signals
        assert np.abs(with_bank).max() < 10.0
        assert np.percentile(np.abs(with_bank).max(axis=(1, 2)), 99) < 2.5 * np.percentile(
            np.abs(without).max(axis=(1, 2)), 99
        )

    def test_bad_banks_and_options(self):
        with pytest.raises(InvalidParameterError, match="45"):
            ecgfast.synthesize(1, hearts=np.ones((2, 10)))
        with pytest.raises(InvalidParameterError, match="p_duration"):
            ecgfast.synthesize(1, hearts=_heart(p_duration=5.0)[None])
        with pytest.raises(InvalidParameterError, match="not finite"):
            ecgfast.synthesize(1, hearts=_heart(r_x=np.nan)[None])
        with pytest.raises(InvalidParameterError, match="R wave"):
            ecgfast.synthesize(1, hearts=_heart(r_x=0.0, r_y=0.0, r_z=0.0)[None])
        with pytest.raises(InvalidParameterError, match="must be one of"):
            ecgfast.synthesize(1, hearts="nope")
        with pytest.raises(InvalidParameterError, match="dipole"):
            ecgfast.synthesize(1, hearts="ludb", method="ecgsyn")
        with pytest.raises(InvalidParameterError, match="heart_jitter"):
            ecgfast.synthesize(1, hearts="ludb", heart_jitter=-1)
        with pytest.raises(InvalidParameterError, match="numeric"):
            ecgfast.synthesize(1, hearts=np.array([["a"] * 45]))

    def test_sharded_datasets_take_a_shipped_bank_by_name(self, tmp_path):
        m = ecgfast.synthesize_to(tmp_path / "a", 4, shard_size=2, hearts="ludb", duration=2)
        assert m["params"]["hearts"] == "ludb"
        direct = ecgfast.synthesize(4, hearts="ludb", duration=2).signals
        np.testing.assert_array_equal(
            np.load(tmp_path / "a" / "shard-00001.signals.npy"), direct[2:]
        )
        with pytest.raises(InvalidParameterError, match="by name"):
            ecgfast.synthesize_to(tmp_path / "b", 4, hearts=_heart()[None])

    def test_the_bank_passed_in_is_not_modified(self):
        h = _heart()[None].copy()
        before = h.copy()
        ecgfast.synthesize(2, hearts=h, duration=2)
        np.testing.assert_array_equal(h, before)


class TestBanks:
    def test_the_shipped_bank_loads_and_names_its_records(self):
        bank = load_hearts("ludb")
        assert bank.shape[1] == len(HEART_PARAMS) and len(bank) >= 40
        assert np.allclose(np.linalg.norm(bank[:, HEART_PARAMS.index("r_x") :][:, :3], axis=1), 1)
        from importlib import resources

        path = resources.files("ecgfast") / "data" / "hearts_ludb.csv"
        with resources.as_file(path) as f:
            _, records = read_bank(f)
        assert len(records) == len(bank) and all(1 <= int(r) <= 100 for r in records)

    def test_the_shipped_bank_draws_record_1_as_it_is(self):
        """LUDB record 1 (shipped with the package) is in the bank: its heart's beat has the
        real median beat's shape in every lead, none upside down."""
        import wfdb

        from ecgfast._data import SHIPPED_LUDB

        signal, fields = wfdb.rdsamp(str(SHIPPED_LUDB / "1"))
        names = [n.upper() for n in fields["sig_name"]]
        x = signal.T[[names.index(lead) for lead in EIGHT_LEADS]][None]
        real = median_beats(x, fields["fs"], EIGHT_LEADS)[0]
        from importlib import resources

        path = resources.files("ecgfast") / "data" / "hearts_ludb.csv"
        with resources.as_file(path) as f:
            bank, records = read_bank(f)
        heart = bank[records.index("1")]
        made = heart_beat(heart, fields["fs"], qrs=0.095, pr=0.16, qt=0.4)
        for lead, (a, b) in enumerate(zip(made, real, strict=True)):
            assert np.corrcoef(a, b)[0, 1] > 0.5, EIGHT_LEADS[lead]

    def test_write_and_read_round_trip(self, tmp_path):
        bank = np.stack([_heart(), _heart(onset_fraction=0.5)])
        write_bank(tmp_path / "b.csv", bank, source="test", records=[3, 7])
        back, records = read_bank(tmp_path / "b.csv")
        np.testing.assert_allclose(back, bank, rtol=1e-5)
        assert records == ["3", "7"]

    def test_check_hearts_errors(self):
        with pytest.raises(InvalidParameterError, match="shape"):
            check_hearts(np.zeros((0, len(HEART_PARAMS))))
        with pytest.raises(InvalidParameterError, match="onset_fraction"):
            check_hearts(_heart(onset_fraction=0.95)[None])
        assert check_hearts(_heart()[None].astype(np.float32)).dtype == np.float64


class TestFitHearts:
    def test_a_synthetic_heart_is_recovered(self):
        h = _heart()
        x = _record(h, duration=8).signals.astype(np.float64)
        fit = fit_hearts(x, FS, EIGHT_LEADS, workers=1, progress=False)
        assert fit.hearts.shape == (1, len(HEART_PARAMS))
        assert fit.explained[0] > 0.98
        assert fit.beats.shape == fit.fitted.shape == (1, 8, 400)
        assert fit.lead_correlation.shape == (1, 8) and fit.lead_correlation.min() > 0.98
        bank, kept = fit.bank()
        assert kept.tolist() == [True] and np.array_equal(bank, fit.hearts)
        # a heart whose fitted lead is upside down is left out
        flipped = dataclasses.replace(fit, fitted=fit.fitted * np.r_[-1, [1] * 7][None, :, None])
        assert flipped.bank()[1].tolist() == [False]
        qrs, pr, qt = fit.intervals[0]
        assert abs(qrs - 0.095) < 0.012 and abs(pr - 0.16) < 0.02 and abs(qt - 0.4) < 0.03
        a = heart_beat(h, FS)
        b = heart_beat(fit.hearts[0], FS)
        for lead in range(8):
            assert np.corrcoef(a[lead], b[lead])[0, 1] > 0.97, EIGHT_LEADS[lead]

    def test_bad_records(self):
        x = np.zeros((1, 8, 5000))
        with pytest.raises(InvalidParameterError, match="V6"):
            median_beats(x[:, :7], FS, EIGHT_LEADS[:7])
        with pytest.raises(InvalidParameterError, match="leads"):
            median_beats(x, FS, EIGHT_LEADS[:7])
        bad = x.copy()
        bad[0, 0, 10] = np.nan
        with pytest.raises(ecgfast.errors.EcgError):
            fit_hearts(bad, FS, workers=1, progress=False)
