"""Filtering: design and zero-phase filtering against scipy.signal, errors, layout, threads."""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.signal as ss
import wfdb
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import ecgfast
from ecgfast import (
    DtypeError,
    EcgError,
    InvalidParameterError,
    InvalidSignalError,
    SignalTooShortError,
)

RNG = np.random.default_rng(20261122)


def scipy_sos(order, cutoff, fs, btype):
    return ss.butter(order, cutoff, btype=btype, fs=fs, output="sos")


def assert_close_to_scipy(ours, ref, x, sections=4, rounding=0.0):
    # two float64 implementations of the same cascade differ by rounding that accumulates
    # section by section: 2.5e-10 of the input's size per second-order section (an order-8
    # band-stop, 8 sections, differed by 1.0e-9 in a hypothesis example), or, for filters with
    # poles close to the unit circle, a few times `rounding`: how far scipy's own result moves
    # when the same sections run in another order
    tol = max(2.5e-10 * max(sections, 4) * np.abs(x).max(), 4.0 * rounding)
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() <= tol


# ----------------------------------------------------------------------------------------------
class TestButterSos:
    @pytest.mark.parametrize("order", range(1, 11))
    @pytest.mark.parametrize(
        ("btype", "cutoff"),
        [("lowpass", 40.0), ("highpass", 0.5), ("bandpass", (0.5, 40.0)), ("bandstop", (48, 52))],
    )
    def test_matches_scipy(self, order, btype, cutoff):
        ours = ecgfast.butter_sos(order, cutoff, 500.0, btype)
        ref = scipy_sos(order, cutoff, 500.0, btype)
        assert ours.shape == ref.shape
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10)

    @settings(max_examples=300, deadline=None)
    @given(
        order=st.integers(1, 16),
        fs=st.floats(50.0, 10_000.0),
        f1=st.floats(0.001, 0.998),
        f2=st.floats(0.001, 0.998),
        btype=st.sampled_from(["lowpass", "highpass", "bandpass", "bandstop"]),
    )
    def test_matches_scipy_everywhere(self, order, fs, f1, f2, btype):
        nyq = fs / 2
        if btype in ("bandpass", "bandstop"):
            lo, hi = sorted((f1, f2))
            if hi - lo < 1e-3:
                return
            cutoff = (lo * nyq, hi * nyq)
        else:
            cutoff = f1 * nyq
        ours = ecgfast.butter_sos(order, cutoff, fs, btype)
        ref = scipy_sos(order, cutoff, fs, btype)
        if btype in ("bandpass", "bandstop") and abs(sum(cutoff) - nyq) < 1e-9 * nyq:
            # band symmetric about fs/4: poles are equidistant from the zeros at +1 and -1, so
            # zpk2sos's pairing is a rounding-level tie; any pairing is the same filter
            _, h_ours = ss.sosfreqz(ours, worN=256)
            _, h_ref = ss.sosfreqz(ref, worN=256)
            np.testing.assert_allclose(h_ours, h_ref, rtol=0, atol=1e-8)
            return
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10)

    @pytest.mark.parametrize("alias", ["low", "LOWPASS", "high", "band", "stop", "pass"])
    def test_scipy_aliases(self, alias):
        cutoff = (5.0, 20.0) if alias in ("band", "stop", "pass") else 10.0
        ours = ecgfast.butter_sos(3, cutoff, 100.0, alias)
        ref = scipy_sos(3, cutoff, 100.0, alias.lower())
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10)

    @pytest.mark.parametrize(
        ("args", "match"),
        [
            ((0, 10.0, 100.0, "low"), "order"),
            ((33, 10.0, 100.0, "low"), "order"),
            ((2.5, 10.0, 100.0, "low"), "order"),
            ((True, 10.0, 100.0, "low"), "order"),
            ((4, 10.0, 0.0, "low"), "fs"),
            ((4, 10.0, -100.0, "low"), "fs"),
            ((4, 10.0, float("nan"), "low"), "fs"),
            ((4, 10.0, float("inf"), "low"), "fs"),
            ((4, 10.0, 1e9, "low"), "absurd"),
            ((4, 10.0, "500", "low"), "fs"),
            ((4, 0.0, 100.0, "low"), "cutoff"),
            ((4, -1.0, 100.0, "low"), "cutoff"),
            ((4, 50.0, 100.0, "low"), "Nyquist"),
            ((4, float("nan"), 100.0, "low"), "cutoff"),
            ((4, (20.0, 10.0), 100.0, "band"), "low < high"),
            ((4, (10.0, 10.0), 100.0, "band"), "low < high"),
            ((4, 10.0, 100.0, "band"), "pair"),
            ((4, (1.0, 10.0), 100.0, "low"), "one cutoff"),
            ((4, 10.0, 100.0, "sideways"), "btype"),
            ((4, 10.0, 100.0, None), "btype"),
        ],
    )
    def test_bad_parameters(self, args, match):
        with pytest.raises(InvalidParameterError, match=match) as info:
            ecgfast.butter_sos(*args)
        assert isinstance(info.value, ValueError)
        assert isinstance(info.value, EcgError)


# ----------------------------------------------------------------------------------------------
class TestSosfiltfilt:
    sos = scipy_sos(4, (0.5, 40.0), 500.0, "bandpass")

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        order=st.integers(1, 8),
        fs=st.sampled_from([100.0, 128.0, 250.0, 360.0, 500.0, 1000.0, 2000.0]),
        lo=st.floats(0.01, 0.45),
        width=st.floats(0.05, 0.5),
        btype=st.sampled_from(["lowpass", "highpass", "bandpass", "bandstop"]),
        shape_prefix=st.lists(st.integers(1, 4), min_size=0, max_size=2),
        extra=st.integers(1, 400),
        seed=st.integers(0, 2**32 - 1),
    )
    @example(order=8, fs=100.0, lo=0.01, width=0.5, btype="bandstop", shape_prefix=[], extra=13,
             seed=0)  # fmt: skip
    @example(order=8, fs=100.0, lo=0.01, width=0.5, btype="bandstop", shape_prefix=[], extra=126,
             seed=0)  # fmt: skip
    def test_matches_scipy_random(self, order, fs, lo, width, btype, shape_prefix, extra, seed):
        nyq = fs / 2
        hi = min(lo + width, 0.95)
        cutoff = (lo * nyq, hi * nyq) if btype in ("bandpass", "bandstop") else lo * nyq
        sos = scipy_sos(order, cutoff, fs, btype)
        ntaps = 2 * len(sos) + 1 - min((sos[:, 2] == 0).sum(), (sos[:, 5] == 0).sum())
        n = 3 * ntaps + extra
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((*shape_prefix, n)) * rng.uniform(1e-3, 1e3)
        ours = ecgfast.sosfiltfilt(sos, x)
        ref = ss.sosfiltfilt(sos, x, axis=-1)
        reordered = ss.sosfiltfilt(np.ascontiguousarray(sos[::-1]), x, axis=-1)
        rounding = np.abs(reordered - ref).max()
        assert_close_to_scipy(ours, ref, x, sections=len(sos), rounding=rounding)
        assert ours.dtype == np.float64

    def test_float32_in_float32_out(self):
        x = RNG.standard_normal((5, 3000)).astype(np.float32)
        ours = ecgfast.sosfiltfilt(self.sos, x)
        assert ours.dtype == np.float32
        ref = ss.sosfiltfilt(self.sos, x.astype(np.float64), axis=-1)
        # computed in float64 and rounded once: within half an ulp of float32 (plus float64 noise)
        ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
        assert np.all(np.abs(ours.astype(np.float64) - ref) <= 0.5 * ulp + 1e-9)

    @pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64, np.uint16])
    def test_integer_input_gives_float64(self, dtype):
        x = (RNG.standard_normal((2, 1000)) * 1000).astype(dtype)
        ours = ecgfast.sosfiltfilt(self.sos, x)
        assert ours.dtype == np.float64
        ref = ss.sosfiltfilt(self.sos, x.astype(np.float64), axis=-1)
        assert_close_to_scipy(ours, ref, x.astype(np.float64))

    def test_float16_gives_float32(self):
        x = RNG.standard_normal(1000).astype(np.float16)
        assert ecgfast.sosfiltfilt(self.sos, x).dtype == np.float32

    def test_list_input(self):
        x = RNG.standard_normal(300)
        np.testing.assert_array_equal(
            ecgfast.sosfiltfilt(self.sos.tolist(), x.tolist()), ecgfast.sosfiltfilt(self.sos, x)
        )

    @pytest.mark.parametrize(
        "make_view",
        [
            lambda a: a[:, ::2],
            lambda a: a[::2, :],
            lambda a: a[:, ::-1],
            lambda a: np.asfortranarray(a),
            lambda a: a.T.copy().T,
            lambda a: a[1:-1, 3:-7],
        ],
        ids=["step2-cols", "step2-rows", "reversed", "fortran", "transposed", "sliced"],
    )
    def test_non_contiguous_equals_contiguous_copy(self, make_view):
        base = RNG.standard_normal((6, 2000))
        view = make_view(base)
        assert not view.flags.c_contiguous or view.base is not None
        ours = ecgfast.sosfiltfilt(self.sos, view)
        assert ours.flags.c_contiguous
        np.testing.assert_array_equal(ours, ecgfast.sosfiltfilt(self.sos, view.copy()))
        assert_close_to_scipy(ours, ss.sosfiltfilt(self.sos, view, axis=-1), view)

    def test_big_endian_input(self):
        x = RNG.standard_normal((2, 500))
        be = x.astype(">f8")
        np.testing.assert_array_equal(
            ecgfast.sosfiltfilt(self.sos, be), ecgfast.sosfiltfilt(self.sos, x)
        )

    def test_input_not_modified(self):
        for dtype in (np.float64, np.float32):
            x = RNG.standard_normal((4, 800)).astype(dtype)
            before = x.copy()
            y = ecgfast.sosfiltfilt(self.sos, x)
            np.testing.assert_array_equal(x, before)
            assert not np.shares_memory(x, y)

    def test_three_dimensional_batch(self):
        x = RNG.standard_normal((3, 12, 1200))
        ours = ecgfast.sosfiltfilt(self.sos, x)
        assert_close_to_scipy(ours, ss.sosfiltfilt(self.sos, x, axis=-1), x)

    def test_shortest_allowed_length(self):
        padlen = 3 * (2 * len(self.sos) + 1)
        x = RNG.standard_normal(padlen + 1)
        assert_close_to_scipy(ecgfast.sosfiltfilt(self.sos, x), ss.sosfiltfilt(self.sos, x), x)
        with pytest.raises(SignalTooShortError, match=str(padlen)):
            ecgfast.sosfiltfilt(self.sos, x[:padlen])
        with pytest.raises(ValueError):  # scipy agrees it is too short
            ss.sosfiltfilt(self.sos, x[:padlen])

    @pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
    @pytest.mark.parametrize("where", [0, 500, -1])
    def test_non_finite_samples(self, bad, where):
        x = RNG.standard_normal((3, 1000))
        x[1, where] = bad
        with pytest.raises(InvalidSignalError, match=r"NaN or infinity.*lane 1"):
            ecgfast.sosfiltfilt(self.sos, x)

    def test_first_bad_lane_is_named_whatever_the_threads(self):
        x = RNG.standard_normal((50, 600))
        x[[17, 33], 10] = np.nan
        for n in (1, 2, 3):
            with ecgfast.thread_limit(n), pytest.raises(InvalidSignalError, match="lane 17"):
                ecgfast.sosfiltfilt(self.sos, x)

    @pytest.mark.parametrize(
        "x",
        [np.array([]), np.zeros((3, 0)), np.zeros((0, 100)), np.float64(1.0)],
        ids=["empty", "no-samples", "no-rows", "scalar"],
    )
    def test_empty_or_scalar(self, x):
        with pytest.raises(InvalidSignalError):
            ecgfast.sosfiltfilt(self.sos, x)

    @pytest.mark.parametrize(
        "x",
        [
            np.ones(100, dtype=complex),
            np.ones(100, dtype=bool),
            np.array(["a"] * 100),
            np.array([object()] * 100),
        ],
        ids=["complex", "bool", "str", "object"],
    )
    def test_bad_dtypes(self, x):
        with pytest.raises(DtypeError) as info:
            ecgfast.sosfiltfilt(self.sos, x)
        assert isinstance(info.value, TypeError)

    def test_ragged_input(self):
        with pytest.raises(InvalidSignalError):
            ecgfast.sosfiltfilt(self.sos, [[1.0, 2.0], [3.0]])

    @pytest.mark.parametrize(
        "sos",
        [
            np.zeros((0, 6)),
            np.ones((2, 5)),
            np.ones((2, 3, 6)),
            [[1, 0, 0, 2, 0, 0]],
            [[np.nan, 0, 0, 1, 0, 0]],
            [["a", 0, 0, 1, 0, 0]],
        ],
        ids=["no-sections", "five-columns", "3d", "a0-not-one", "nan", "str"],
    )
    def test_bad_sos(self, sos):
        with pytest.raises(InvalidParameterError):
            ecgfast.sosfiltfilt(sos, np.zeros(200))

    def test_pole_at_one_is_rejected_by_the_core(self):
        # integrator: a = [1, -1, 0] has no steady state; the core refuses instead of dividing by 0
        with pytest.raises(InvalidParameterError, match="pole at z = 1"):
            ecgfast.sosfiltfilt([[1.0, 0.0, 0.0, 1.0, -1.0, 0.0]], np.zeros(200))


# ----------------------------------------------------------------------------------------------
class TestConvenienceFilters:
    x = RNG.standard_normal((4, 5000))

    def test_bandpass(self):
        ref = ss.sosfiltfilt(scipy_sos(4, [0.5, 40.0], 500, "band"), self.x, axis=-1)
        assert_close_to_scipy(ecgfast.bandpass(self.x, 500), ref, self.x)
        ref = ss.sosfiltfilt(scipy_sos(2, [1.0, 30.0], 360, "band"), self.x, axis=-1)
        assert_close_to_scipy(ecgfast.bandpass(self.x, 360, 1.0, 30.0, order=2), ref, self.x)

    def test_highpass(self):
        ref = ss.sosfiltfilt(scipy_sos(4, 0.5, 500, "high"), self.x, axis=-1)
        assert_close_to_scipy(ecgfast.highpass(self.x, 500), ref, self.x)
        ref = ss.sosfiltfilt(scipy_sos(3, 0.67, 250, "high"), self.x, axis=-1)
        assert_close_to_scipy(ecgfast.highpass(self.x, 250, 0.67, order=3), ref, self.x)

    def test_lowpass(self):
        ref = ss.sosfiltfilt(scipy_sos(4, 40.0, 500, "low"), self.x, axis=-1)
        assert_close_to_scipy(ecgfast.lowpass(self.x, 500), ref, self.x)
        ref = ss.sosfiltfilt(scipy_sos(5, 100.0, 1000, "low"), self.x, axis=-1)
        assert_close_to_scipy(ecgfast.lowpass(self.x, 1000, 100.0, order=5), ref, self.x)

    @pytest.mark.parametrize(
        ("fs", "freq", "quality"), [(500, 50, 30), (360, 60, 30), (250, 50, 5)]
    )
    def test_notch_matches_filtfilt_iirnotch(self, fs, freq, quality):
        b, a = ss.iirnotch(freq, quality, fs=fs)
        ref = ss.filtfilt(b, a, self.x, axis=-1)
        assert_close_to_scipy(ecgfast.notch(self.x, fs, freq, quality), ref, self.x)

    def test_notch_removes_powerline(self):
        fs = 500
        t = np.arange(10 * fs) / fs
        clean = np.sin(2 * np.pi * 1.2 * t)
        noisy = clean + 0.5 * np.sin(2 * np.pi * 50 * t)
        out = ecgfast.notch(noisy, fs)
        core = slice(fs, -fs)  # away from the edges
        assert np.abs(out[core] - clean[core]).max() < 0.01

    @pytest.mark.parametrize(
        ("call", "match"),
        [
            (lambda x: ecgfast.bandpass(x, 500, 40.0, 0.5), "low < high"),
            (lambda x: ecgfast.bandpass(x, 500, 0.5, 250.0), "Nyquist"),
            (lambda x: ecgfast.bandpass(x, 0), "fs"),
            (lambda x: ecgfast.highpass(x, 500, -1.0), "cutoff"),
            (lambda x: ecgfast.lowpass(x, 500, order=0), "order"),
            (lambda x: ecgfast.notch(x, 500, freq=0), "freq"),
            (lambda x: ecgfast.notch(x, 500, freq=300), "Nyquist"),
            (lambda x: ecgfast.notch(x, 500, quality=0), "quality"),
            (lambda x: ecgfast.notch(x, float("nan")), "fs"),
        ],
    )
    def test_bad_parameters(self, call, match):
        with pytest.raises(InvalidParameterError, match=match):
            call(self.x)

    def test_real_record_matches_scipy(self, shipped_mitdb):
        rec = wfdb.rdrecord(str(shipped_mitdb / "119"))
        x = rec.p_signal.T.copy()
        before = x.copy()
        ours = ecgfast.bandpass(x, rec.fs)
        ref = ss.sosfiltfilt(scipy_sos(4, [0.5, 40.0], rec.fs, "band"), x, axis=-1)
        assert_close_to_scipy(ours, ref, x)
        np.testing.assert_array_equal(x, before)


# ----------------------------------------------------------------------------------------------
def _filter_in_child(queue):
    try:
        ecgfast.set_num_threads(2)
        x = np.random.default_rng(1).standard_normal((16, 3000))
        queue.put(ecgfast.bandpass(x, 500))
    except Exception as exc:  # pragma: no cover - reported to the parent
        queue.put(exc)


class TestThreads:
    def test_results_do_not_depend_on_thread_count_or_batch_split(self):
        x = RNG.standard_normal((37, 2500))  # not a multiple of the lane group
        results = []
        for n in (1, 2, 3, 8):
            with ecgfast.thread_limit(n):
                assert ecgfast.get_num_threads() == n
                results.append(ecgfast.bandpass(x, 500))
        for r in results[1:]:
            np.testing.assert_array_equal(r, results[0])
        rows = np.stack([ecgfast.bandpass(row, 500) for row in x])
        np.testing.assert_array_equal(rows, results[0])
        halves = np.concatenate([ecgfast.bandpass(x[:5], 500), ecgfast.bandpass(x[5:], 500)])
        np.testing.assert_array_equal(halves, results[0])

    def test_set_num_threads_validates(self):
        for bad in (0, -1, 2.5, "2"):
            with pytest.raises(InvalidParameterError):
                ecgfast.set_num_threads(bad)

    def test_thread_limit_restores(self):
        before = ecgfast.get_num_threads()
        with ecgfast.thread_limit(1):
            assert ecgfast.get_num_threads() == 1
        assert ecgfast.get_num_threads() == before

    def test_thread_limit_restores_the_default_not_a_count(self):
        # With no count set, leaving the block must leave none set (it used to pin the count
        # that was in effect, so a later ECGFAST_NUM_THREADS or fork saw a fixed setting).
        code = (
            "import os, ecgfast\n"
            "with ecgfast.thread_limit(1):\n"
            "    pass\n"
            "print(ecgfast._core.requested_num_threads())\n"
            "ecgfast.set_num_threads(2)\n"
            "with ecgfast.thread_limit(1):\n"
            "    pass\n"
            "print(ecgfast.get_num_threads())\n"
        )
        env = dict(os.environ, ECGFAST_NUM_THREADS="3")
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert out.stdout.split() == ["0", "2"], out.stderr

    def test_environment_variable_caps_threads(self):
        code = "import ecgfast; print(ecgfast.get_num_threads())"
        env = dict(os.environ, ECGFAST_NUM_THREADS="3")
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert out.stdout.strip() == "3", out.stderr
        code = "import ecgfast; ecgfast.set_num_threads(None); print(ecgfast.get_num_threads())"
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert out.stdout.strip() == "3", out.stderr

    @pytest.mark.skipif(sys.platform == "win32", reason="fork is POSIX only")
    def test_usable_after_fork(self):
        # Use the pool in the parent first, so the child inherits a pool whose threads are gone.
        ecgfast.set_num_threads(2)
        x = np.random.default_rng(1).standard_normal((16, 3000))
        expected = ecgfast.bandpass(x, 500)
        ctx = mp.get_context("fork")
        queue = ctx.Queue()
        child = ctx.Process(target=_filter_in_child, args=(queue,))
        child.start()
        try:
            got = queue.get(timeout=60)
        finally:
            child.join(timeout=10)
            if child.is_alive():
                child.kill()
        ecgfast.set_num_threads(None)
        assert not isinstance(got, Exception), got
        np.testing.assert_array_equal(got, expected)
