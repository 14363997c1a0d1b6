"""``synthesize(method="deepfake")``: ECGs of the deepfake-ecg GAN, labelled openly by ecgfast.

The regression-pretraining paper pretrains on ECGs of the deepfake-ecg generator (Pulse2Pulse;
Thambawita et al. 2021, Sci Rep 11:21896): 8 leads (I, II, V1-V6), 10 s at 500 Hz, from uniform
noise, with intervals measured by a proprietary program (GE MUSE). Here the same generator
(its weights ship inside the ``deepfake-ecg`` wheel, nothing is downloaded) is labelled by
ecgfast's own delineator, so the labels are reproducible by anyone:

- signals: the generator's output × 6 (its µV scale of 6000, in mV); III, aVR, aVL and aVF are
  derived from I and II (Einthoven, Goldberger), so any of the 12 standard leads can be asked
  for;
- labels: :func:`ecgfast.intervals` over the 12 leads (``hr rr_std pr qrs qt qtc_bazett
  qtc_fridericia n_beats``), ``labelled`` (all four of HR, PR, QRS and QT found) and
  ``unlabelled_reason`` otherwise;
- beats: :func:`ecgfast.beat_table` on lead II at the detected R peaks.

Record ``i`` depends only on ``(seed, i)``: its input noise comes from its own generator, and
the network always runs on fixed blocks of :data:`BLOCK` consecutive records (the block holding
record ``i`` is the same whatever the request), so a record is identical for any batch split
(the same torch build and thread count are assumed: float results of convolutions may differ
across them).

Needs torch and ``deepfake-ecg`` (``pip install deepfake-ecg``).
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from .errors import InvalidParameterError

__all__ = ["BLOCK", "FS", "GAN_LEADS", "N_SAMPLES", "gan_signals", "generate", "twelve_leads"]

FS = 500.0
N_SAMPLES = 5000
#: Leads the generator makes, in its channel order.
GAN_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
#: Records generated together (one network call); requests are rounded out to whole blocks.
BLOCK = 8
_SCALE_MV = 6000 / 1000  # the generator's output × 6000 is in µV


@lru_cache(maxsize=1)
def _network(device: str) -> Any:
    try:
        import torch
        from deepfakeecg import Generator
    except ImportError as exc:
        raise InvalidParameterError(
            "method='deepfake' needs torch and the deepfake-ecg package: "
            "pip install torch deepfake-ecg"
        ) from exc
    from pathlib import Path

    import deepfakeecg

    weights = Path(deepfakeecg.__file__).parent / "checkpoints" / "g_stat.pt"
    with warnings.catch_warnings():  # the package initialises with a deprecated torch call
        warnings.simplefilter("ignore", FutureWarning)
        net = Generator()
    net.load_state_dict(torch.load(weights, map_location=device)["stat_dict"])
    return net.to(device).eval()


def _noise(seed: int, index: int) -> np.ndarray:
    """The generator input of record ``index``: uniform(-1, 1), (8, 5000), its own stream."""
    rng = np.random.default_rng([seed, index, 0xDEEF])
    return rng.uniform(-1.0, 1.0, size=(len(GAN_LEADS), N_SAMPLES)).astype(np.float32)


def gan_signals(n: int, *, seed: int, start: int, device: str = "cpu") -> np.ndarray:
    """Records ``start .. start + n - 1`` of the GAN stream: float32 ``(n, 8, 5000)`` mV."""
    import torch

    net = _network(device)
    first, last = start // BLOCK, -(-(start + n) // BLOCK)
    out = np.empty((n, len(GAN_LEADS), N_SAMPLES), dtype=np.float32)
    with torch.inference_mode():
        for b in range(first, last):
            ids = range(b * BLOCK, (b + 1) * BLOCK)
            noise = torch.from_numpy(np.stack([_noise(seed, i) for i in ids])).to(device)
            block = (net(noise) * _SCALE_MV).float().cpu().numpy()
            lo, hi = max(start, ids[0]), min(start + n, ids[-1] + 1)
            out[lo - start : hi - start] = block[lo - ids[0] : hi - ids[0]]
    return out


def twelve_leads(gan: np.ndarray) -> np.ndarray:
    """The 12 standard leads (I II III aVR aVL aVF V1-V6) from the generator's 8."""
    i, ii = gan[:, 0], gan[:, 1]
    derived = np.stack([ii - i, -(i + ii) / 2, i - ii / 2, ii - i / 2], axis=1)
    return np.concatenate([gan[:, :2], derived, gan[:, 2:]], axis=1).astype(np.float32)


def _reason(row: pd.Series) -> str:
    if row["n_beats"] < 2:
        return "fewer than 2 beats detected"
    missing = [k for k in ("hr", "pr", "qrs", "qt") if pd.isna(row[k])]
    return "no " + ", ".join(missing) if missing else ""


def generate(
    n: int, *, seed: int, start: int, lead_idx: list[int], device: str = "cpu"
) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """Signals (the leads ``lead_idx`` of the 12), record labels and beat table."""
    from .beats import beat_table
    from .delineation import intervals

    full = twelve_leads(gan_signals(n, seed=seed, start=start, device=device))
    if n == 0:  # the layout only (as for synthesize(0)): tables with their columns, no rows
        probe = twelve_leads(np.zeros((1, len(GAN_LEADS), N_SAMPLES), dtype=np.float32))
        probe[:, :, ::500] = 1.0  # something to detect, so every column exists
        labels = intervals(probe, FS).iloc[:0]
        beats = beat_table(probe[:, 1:2], FS).iloc[:0]
    else:
        labels = intervals(full, FS)
        beats = beat_table(full[:, 1:2], FS)  # lead II, as a batch of one-lead records
    # plain float64 with NaN for what was not found, as the labels of the other methods
    labels = labels.astype("float64").reset_index(drop=True)
    labels["n_beats"] = labels["n_beats"].fillna(0).astype(np.int64)
    labels.index = pd.RangeIndex(start, start + n, name="record")
    reason = labels.apply(_reason, axis=1) if n else pd.Series([], dtype=object)
    labels["labelled"] = (reason == "").to_numpy(dtype=bool)
    labels["unlabelled_reason"] = reason.to_numpy(dtype=object)
    beats = beats.assign(record=beats["record"] + start).reset_index(drop=True)
    return np.ascontiguousarray(full[:, lead_idx]), labels, beats
