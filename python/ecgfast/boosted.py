"""Gradient-boosted trees on beat inputs: a beat classifier of another family than the CNNs.

:class:`BoostedBeatModel` reads the same inputs as the CNNs of :mod:`ecgfast.torch` — the
beat-table features and the beat window(s) of a beat dataset (e.g.
:class:`ecgfast.torch.real.MITBIHBeats`: the band-passed beat and the beat minus the record's
median beat) — and fits scikit-learn's histogram gradient boosting on them. Trees split on
thresholds of single inputs (an RR ratio, a window sample), so they err on other beats than a
network that reads the shape as a whole; averaged with a CNN they cancel each other's errors
(``ecgfast beats --boosted --combine``, BENCHMARKS.md). scikit-learn is needed
(``pip install scikit-learn``); ``import ecgfast`` works without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InvalidParameterError, InvalidSignalError

__all__ = ["BoostedBeatModel"]


def _thread_cap() -> Any:
    """A context that caps the booster's OpenMP threads at ecgfast's thread count
    (:func:`ecgfast.set_num_threads`, ``ECGFAST_NUM_THREADS``), so one setting caps both."""
    from threadpoolctl import threadpool_limits

    from ._threads import get_num_threads

    return threadpool_limits(limits=get_num_threads(), user_api="openmp")


def _sklearn_booster() -> Any:
    try:
        from sklearn.ensemble import HistGradientBoostingClassifier
    except ImportError as exc:  # pragma: no cover - scikit-learn is in the dev install
        raise ImportError("BoostedBeatModel needs scikit-learn: pip install scikit-learn") from exc
    return HistGradientBoostingClassifier


@dataclass
class BoostedBeatModel:
    """Histogram gradient boosting on a beat dataset's features and windows.

    Inputs per beat: the dataset's ``features`` (if any) and every ``window_step``-th sample of
    each window channel. Class weights ∝ frequency^-``balance_power`` (0.5: 1/√frequency, the
    CNNs' default), the same weights on the early-stopping beats.

    Parameters
    ----------
    window_step : int
        Keep every ``window_step``-th window sample (6 at 360 Hz: 60 Hz, enough below the
        0.5-40 Hz band of the default inputs).
    learning_rate, max_leaf_nodes, l2_regularization : float, int, float
        Of :class:`sklearn.ensemble.HistGradientBoostingClassifier`.
    max_iter : int
        Most boosting iterations when early stopping.
    patience : int
        Early stopping: iterations without a better loss on the validation beats.
    balance_power : float
        Class weight exponent: 0 unweighted, 0.5 ∝ 1/√frequency, 1 balanced.
    seed : int
        Random state of the booster.

    The booster's OpenMP threads follow ecgfast's cap (:func:`ecgfast.set_num_threads`);
    results do not depend on the thread count.

    Examples
    --------
    >>> model = BoostedBeatModel().fit(train, val)          # doctest: +SKIP
    >>> model.predict_proba(test).shape                      # doctest: +SKIP
    (n_test_beats, n_classes)
    """

    window_step: int = 6
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    l2_regularization: float = 1.0
    max_iter: int = 500
    patience: int = 20
    balance_power: float = 0.5
    seed: int = 0
    n_iter: int = field(default=0, init=False)
    n_classes: int = field(default=0, init=False)
    _booster: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if int(self.window_step) != self.window_step or self.window_step < 1:
            raise InvalidParameterError(
                f"window_step must be a positive integer, got {self.window_step}"
            )
        if not self.max_iter >= 1 or not self.patience >= 1:
            raise InvalidParameterError("max_iter and patience must be at least 1")
        if not 0 <= self.balance_power <= 1:
            raise InvalidParameterError(
                f"balance_power must be in [0, 1], got {self.balance_power}"
            )

    def inputs(self, beats: Any) -> np.ndarray:
        """The input matrix of ``beats`` (an object with ``x``: windows (n, channels, samples)
        and ``features``: (n, k) or None): features, then each channel's window every
        ``window_step`` samples. float32, a new array; non-finite values raise
        :class:`ecgfast.errors.InvalidSignalError`."""
        x = np.asarray(beats.x, dtype=np.float32)
        if x.ndim != 3 or x.shape[0] == 0:
            raise InvalidParameterError(
                f"beats.x must be windows (n > 0, channels, samples), got shape {x.shape}"
            )
        parts = [x[:, c, :: self.window_step] for c in range(x.shape[1])]
        features = getattr(beats, "features", None)
        if features is not None:
            f = np.asarray(features, dtype=np.float32)
            if f.ndim != 2 or f.shape[0] != len(x):
                raise InvalidParameterError(
                    f"beats.features must be (n, k) with n = {len(x)} windows, got {f.shape}"
                )
            parts.insert(0, f)
        # parts[0]: the features when given (else a window channel, already in x)
        if not (np.isfinite(x).all() and np.isfinite(parts[0]).all()):
            raise InvalidSignalError("beat windows and features must be finite (no NaN or inf)")
        return np.ascontiguousarray(np.hstack(parts))

    def _weights(self, labels: np.ndarray, n_classes: int) -> np.ndarray:
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        return np.asarray((1.0 / np.maximum(counts[labels], 1.0)) ** self.balance_power)

    def fit(self, train: Any, val: Any = None, *, n_iter: int | None = None) -> BoostedBeatModel:
        """Fit on ``train`` (a beat dataset with ``labels``): early stopping on the ``val``
        beats (other patients; those of a class absent from ``train`` are left out of the
        stopping loss) when given, else exactly ``n_iter`` iterations (e.g. the count early
        stopping chose, to refit on every training patient). Returns ``self``."""
        y = np.asarray(train.labels, dtype=np.int64)
        if y.size == 0:
            raise InvalidParameterError("no training beats")
        if (val is None) == (n_iter is None):
            raise InvalidParameterError("give either val (early stopping) or n_iter, not both")
        self.n_classes = max(int(y.max()) + 1, len(getattr(train, "classes", ())))
        options: dict[str, Any] = {}
        if val is not None:
            vy = np.asarray(val.labels, dtype=np.int64)
            known = np.isin(vy, y)  # the loss is defined on the training classes only
            if not known.any():
                raise InvalidParameterError("no validation beat of a training class")
            options = {
                "X_val": self.inputs(val)[known],
                "y_val": vy[known],
                "sample_weight_val": self._weights(vy[known], self.n_classes),
            }
            iterations, stopping = self.max_iter, True
        else:
            iterations, stopping = int(n_iter), False  # type: ignore[arg-type]
            if iterations < 1:
                raise InvalidParameterError(f"n_iter must be at least 1, got {n_iter}")
        booster = _sklearn_booster()(
            max_iter=iterations,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            l2_regularization=self.l2_regularization,
            early_stopping=stopping,
            n_iter_no_change=self.patience,
            random_state=self.seed,
        )
        weights = self._weights(y, self.n_classes)
        with _thread_cap():
            booster.fit(self.inputs(train), y, sample_weight=weights, **options)
        self._booster = booster
        self.n_iter = int(booster.n_iter_)
        return self

    def predict_proba(self, beats: Any) -> np.ndarray:
        """Class probabilities (n, n_classes) of ``beats``; a class absent from the training
        beats gets probability 0."""
        if self._booster is None:
            raise InvalidParameterError("fit the model first")
        with _thread_cap():
            got = self._booster.predict_proba(self.inputs(beats))
        out = np.zeros((got.shape[0], self.n_classes))
        out[:, self._booster.classes_.astype(np.int64)] = got
        return out
