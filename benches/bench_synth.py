"""Synthesis: ecgfast against NeuroKit2's ECGSYN, per record, same duration and fs, same run.

Targets (issue 3): >= 1000x NeuroKit2 ``ecg_simulate(method="multileads")`` per 12-lead record
and >= 500x ``ecg_simulate(method="ecgsyn")`` per single-lead record (10 s, 500 Hz). ecgfast runs
batches of 128 records (what a DataLoader asks for); times are divided by the batch size.
"""

from __future__ import annotations

import warnings

import pytest

import ecgfast

nk = pytest.importorskip("neurokit2")
BATCH = 128


@pytest.mark.benchmark(group="synth 12-lead 10 s 500 Hz")
def test_multilead_neurokit2(benchmark):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        benchmark.pedantic(
            nk.ecg_simulate,
            kwargs=dict(
                duration=10, sampling_rate=500, heart_rate=70, method="multileads", random_state=0
            ),
            rounds=3,
            iterations=1,
        )


@pytest.mark.benchmark(group="synth 12-lead 10 s 500 Hz")
def test_multilead_ecgfast(benchmark):
    benchmark.extra_info["records"] = BATCH
    counter = iter(range(10**9))
    batch = benchmark(lambda: ecgfast.synthesize(BATCH, seed=0, start=BATCH * next(counter)))
    assert batch.signals.shape == (BATCH, 12, 5000)


def neurokit2_ecgsyn(benchmark):
    """One 10-s, 500-Hz ECGSYN lead from NeuroKit2 (its API makes one record per call)."""
    benchmark.pedantic(
        nk.ecg_simulate,
        kwargs=dict(duration=10, sampling_rate=500, heart_rate=70, method="ecgsyn", random_state=0),
        rounds=5,
        iterations=1,
    )


@pytest.mark.benchmark(group="synth 1-lead ecgsyn 10 s 500 Hz")
def test_ecgsyn_neurokit2(benchmark):
    neurokit2_ecgsyn(benchmark)


@pytest.mark.benchmark(group="synth 1-lead ecgsyn 10 s 500 Hz")
def test_ecgsyn_ecgfast(benchmark):
    benchmark.extra_info["records"] = BATCH
    benchmark(ecgfast.synthesize, BATCH, method="ecgsyn", hr=70, seed=0)


@pytest.mark.benchmark(group="synth 1-lead dipole (II) 10 s 500 Hz")
def test_lead_ii_neurokit2(benchmark):
    neurokit2_ecgsyn(benchmark)


@pytest.mark.benchmark(group="synth 1-lead dipole (II) 10 s 500 Hz")
def test_lead_ii_ecgfast(benchmark):
    benchmark.extra_info["records"] = BATCH
    benchmark(ecgfast.synthesize, BATCH, leads="II", seed=0)
