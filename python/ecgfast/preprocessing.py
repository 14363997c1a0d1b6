"""The input pipeline between a raw recording and a model: resampling, lead selection, cutting
(a fixed-length record, or one window per beat) and normalisation.

Every ecgfast dataset describes what it does to its signals as a :class:`Preprocessing`
(``dataset.preprocessing``); training stores it in the checkpoint, and
``ecgfast.torch.load`` gives it back, so a trained model can be applied to new raw recordings
exactly as it was trained::

    model, meta = ecgfast.torch.load("runs/x/model.pt")
    x = meta["preprocessing"](signal, fs=360, lead_names=["MLII", "V1"])   # model input
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ._validate import check_fs, check_positive
from .errors import InvalidParameterError, InvalidSignalError

__all__ = ["KINDS", "NORMALIZATIONS", "Preprocessing", "normalize", "resample"]

NORMALIZATIONS = ("zscore", "minmax", None)
#: Normalisations a :class:`Preprocessing` accepts: per input, or ``"record"`` (beats only:
#: each lead divided by the record's median QRS peak-to-peak amplitude).
PIPELINE_NORMALIZATIONS = (*NORMALIZATIONS, "record")
KINDS = ("record", "beat")


def _first_precordial(lead_names: Any) -> int | None:
    """Index of the first precordial lead (a name starting with "V"): the lead MIT-BIH
    pipelines call ``"V"`` (V1 in most MIT-BIH records, V2, V4 or V5 in others); None if
    there is none."""
    return next((k for k, n in enumerate(lead_names) if str(n).upper().startswith("V")), None)


def normalize(x: np.ndarray, how: str | None) -> np.ndarray:
    """Per lead over the last axis: ``"zscore"`` (mean 0, sd 1), ``"minmax"`` (to [0, 1]) or
    ``None`` (unchanged). Returns a new array; flat signals stay finite (ε in the divisor)."""
    if how not in NORMALIZATIONS:
        raise InvalidParameterError(f"normalize must be one of {NORMALIZATIONS}, not {how!r}")
    if how is None:
        return x
    if how == "zscore":
        return (x - x.mean(axis=-1, keepdims=True)) / (x.std(axis=-1, keepdims=True) + 1e-6)
    lo = x.min(axis=-1, keepdims=True)
    hi = x.max(axis=-1, keepdims=True)
    return (x - lo) / (hi - lo + 1e-6)


def resample(x: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Polyphase resampling along the last axis (``scipy.signal.resample_poly``, ratio as a
    fraction with denominator ≤ 1000); the input itself when the rates are equal."""
    if fs_in == fs_out:
        return x
    from scipy.signal import resample_poly

    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    return resample_poly(x, ratio.numerator, ratio.denominator, axis=-1)


def beat_window(window: float, fs: float) -> tuple[int, int]:
    """(samples per beat window, samples before the R peak) for a window of ``window`` s."""
    n = round(window * fs)
    return n, n // 2


def _pick_leads(x: np.ndarray, lead_names: Any, leads: Any) -> np.ndarray:
    """Rows of ``x`` named ``leads`` in ``lead_names`` (case-insensitive; ``"V"`` = the first
    precordial lead)."""
    lookup = {str(n).lower(): k for k, n in enumerate(lead_names)}
    if len(lookup) != x.shape[0]:
        raise InvalidSignalError(f"{len(lead_names)} lead names for {x.shape[0]} leads")
    precordial = _first_precordial(lead_names)
    if precordial is not None:
        lookup.setdefault("v", precordial)
    missing = [n for n in leads if n.lower() not in lookup]
    if missing:
        raise InvalidSignalError(f"leads {missing} not in {list(lead_names)}")
    return x[[lookup[n.lower()] for n in leads]]


def _checked_shape_leads(shape_leads: Any) -> tuple[str, ...] | None:
    """``shape_leads`` (of :class:`Preprocessing` and :func:`ecgfast.beatdata.read_beats`),
    checked: None (the model leads) or distinct lead names (one name may be a str)."""
    if shape_leads is None:
        return None
    out = tuple(str(v) for v in ([shape_leads] if isinstance(shape_leads, str) else shape_leads))
    if not out or len(set(out)) != len(out):
        raise InvalidParameterError(f"shape_leads must be distinct lead names, got {shape_leads!r}")
    return out


def _extra_shape_leads(shape_leads: Any, leads: Any) -> tuple[str, ...]:
    """The leads read for the shape share only: those of ``shape_leads`` not in ``leads``."""
    return tuple(v for v in shape_leads or () if v not in leads)


def _has_lead(lead_names: Any, lead: str) -> bool:
    """Whether ``lead_names`` hold ``lead`` (as :func:`_pick_leads` finds it)."""
    if lead.lower() == "v" and _first_precordial(lead_names) is not None:
        return True
    return lead.lower() in {str(n).lower() for n in lead_names}


@dataclass(frozen=True)
class Preprocessing:
    """How raw signals become model inputs.

    Attributes
    ----------
    kind : {"record", "beat"}
        ``"record"``: one input per recording, cut from its start (or zero-padded) to
        ``length`` seconds. ``"beat"``: one input per beat, a ``length``-second window with the
        R peak at its centre (``n // 2`` samples before it).
    fs : float
        Model sampling rate (Hz); inputs are resampled to it.
    leads : tuple of str
        Lead names in model channel order.
    length : float
        Seconds per input.
    normalize : {"zscore", "minmax", "record", None}
        Per input and lead, or (beats) per record and lead.
    band : (low, high) Hz, optional
        Beats: zero-phase band-pass of the whole recording before cutting.
    before : float, optional
        Beats: seconds before the beat position (default: the window is centred on it).
    features : tuple of str
        Beats: beat-table columns given beside the signal (the model's second input).
    template : bool or {"record", "dominant"}
        Beats: add per lead the beat minus the record's median beat (True, ``"record"``) or
        minus the dominant beat around it (``"dominant"``; :func:`ecgfast.beatdata.read_beats`).
    shape_leads : tuple of str, optional
        Beats: the leads the ``shape_share`` of :meth:`beat_inputs` (for
        :func:`ecgfast.evaluate.morphology_gate`) is measured on; may name leads the model does
        not read, which a recording then needs too (by name, or as rows after ``leads``;
        without them the shape share falls back to ``leads``, with a warning). Default:
        ``leads``.

    With any of the beat options set, a recording goes through
    :func:`ecgfast.beatdata.beat_inputs`, the code that built the training beats.
    """

    kind: str
    fs: float
    leads: tuple[str, ...]
    length: float
    normalize: str | None = "zscore"
    band: tuple[float, float] | None = None
    before: float | None = None
    features: tuple[str, ...] = ()
    template: bool | str = False
    shape_leads: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidParameterError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.normalize not in PIPELINE_NORMALIZATIONS:
            raise InvalidParameterError(f"normalize must be one of {PIPELINE_NORMALIZATIONS}")
        if self.kind == "record" and self.beat_options:
            raise InvalidParameterError("band/before/features/template/record are beat options")
        object.__setattr__(self, "features", tuple(str(v) for v in self.features))
        if self.band is not None:
            object.__setattr__(self, "band", tuple(float(v) for v in self.band))
        check_fs(self.fs)
        check_positive(self.length, name="length")
        object.__setattr__(self, "leads", tuple(str(v) for v in self.leads))
        object.__setattr__(self, "shape_leads", _checked_shape_leads(self.shape_leads))

    @property
    def extra_shape_leads(self) -> tuple[str, ...]:
        """Leads read for the shape share only (in ``shape_leads``, not in ``leads``)."""
        return _extra_shape_leads(self.shape_leads, self.leads)

    @property
    def n_samples(self) -> int:
        return round(self.length * self.fs)

    @property
    def beat_options(self) -> bool:
        """Whether the beat pipeline of :mod:`ecgfast.beatdata` is used."""
        return bool(
            self.band is not None
            or self.before is not None
            or self.features
            or self.template
            or self.normalize == "record"
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["leads"] = list(self.leads)
        d["features"] = list(self.features)
        d["band"] = None if self.band is None else list(self.band)
        d["shape_leads"] = None if self.shape_leads is None else list(self.shape_leads)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Preprocessing:
        return cls(
            **{
                **d,
                "leads": tuple(d.get("leads", ())),
                "features": tuple(d.get("features", ())),
                "band": None if d.get("band") is None else tuple(d["band"]),
                "shape_leads": None if d.get("shape_leads") is None else tuple(d["shape_leads"]),
            }
        )

    def select_leads(self, x: np.ndarray, lead_names: Any = None) -> np.ndarray:
        """Rows of ``x`` (leads, samples) in this pipeline's lead order, found by name
        (case-insensitive; ``"V"`` is the first precordial lead, as in
        :func:`ecgfast.beatdata.read_beats`) when ``lead_names`` is given, else ``x`` must
        have as many leads (or those and then the :attr:`extra_shape_leads`)."""
        if lead_names is None:
            n = len(self.leads)
            if self.extra_shape_leads and x.shape[0] == n + len(self.extra_shape_leads):
                return x[:n]
            if x.shape[0] != len(self.leads):
                raise InvalidSignalError(
                    f"expected {len(self.leads)} leads ({', '.join(self.leads)}), got "
                    f"{x.shape[0]}; pass lead_names to select them by name"
                )
            return x
        return _pick_leads(x, lead_names, self.leads)

    def __call__(
        self, signal: Any, fs: float, *, lead_names: Any = None, rpeaks: Any = None
    ) -> Any:
        """Model input(s) from a raw recording.

        Parameters
        ----------
        signal : array_like, shape (leads, samples) or (samples,)
            In mV; NaN/inf raise (clean or drop those stretches first).
        fs : float
            Its sampling rate.
        lead_names : sequence of str, optional
            Names of ``signal``'s leads, to pick this pipeline's leads by name.
        rpeaks : array_like of int, optional
            ``kind="beat"``: R-peak samples of ``signal`` (default: ``ecgfast.detect_rpeaks``
            on the first selected lead).

        Returns
        -------
        ndarray, float32, or (ndarray, ndarray)
            ``(leads, n_samples)`` for a record; ``(beats, leads, n_samples)`` for beats
            (beats whose window does not fit in the recording are left out; see
            :meth:`beats`); with ``features``, ``(windows, features (beats, k))``.
        """
        if self.kind == "beat" and self.beat_options:
            return self._beat_pipeline(signal, fs, lead_names, rpeaks)
        x = self._prepare(signal, fs, lead_names)
        if self.kind == "record":
            n = self.n_samples
            out = np.zeros((x.shape[0], n), dtype=np.float64)
            out[:, : min(n, x.shape[1])] = x[:, :n]
            return normalize(out, self.normalize).astype(np.float32)
        return self.beats(x, self.fs, rpeaks=self._rpeaks(x, fs, rpeaks))[0]

    def _beat_pipeline(self, signal: Any, fs: float, lead_names: Any, rpeaks: Any) -> Any:
        got = self.beat_inputs(signal, fs, lead_names=lead_names, rpeaks=rpeaks)
        return (got["x"], got["features"]) if self.features else got["x"]

    def beat_inputs(
        self, signal: Any, fs: float, *, lead_names: Any = None, rpeaks: Any = None
    ) -> dict[str, Any]:
        """The beat pipeline's inputs with what is known of each beat (beat options only).

        Parameters are those of :meth:`__call__`. Returns a dict: ``x`` (beats, leads,
        samples) float32, ``features`` (beats, k) float32 and ``meta``, a DataFrame with one
        row per kept beat: ``sample`` (at this pipeline's rate), ``input_sample`` (in
        ``signal``'s samples), ``rhythm_irregularity`` and ``p_local`` (for
        :func:`ecgfast.evaluate.rhythm_gate`), ``shape_share`` and ``pre_rr_local`` (for
        :func:`ecgfast.evaluate.morphology_gate`).
        """
        from .beatdata import _Options, _template_kind, beat_inputs
        from .evaluate import MORPHOLOGY_GATE_INPUTS

        if not (self.kind == "beat" and self.beat_options):
            raise InvalidParameterError("beat_inputs needs a beat pipeline with beat options")
        fs, x = self._checked(signal, fs, lead_names)
        window: Any = (
            self.length if self.before is None else (self.before, self.length - self.before)
        )
        opt = _Options(
            self.leads,
            self.fs,
            window,
            self.band,
            "record" if self.normalize == "record" else None,
            self.features,
            "annotations" if rpeaks is not None else "detected",
            ("N", "S", "V", "F", "Q"),
            0.15,
            _template_kind(self.template),
            self.shape_leads,
        )
        shape_raw = self._shape_signal(signal, lead_names)
        got = beat_inputs(x, fs, opt, [] if rpeaks is None else rpeaks, None, shape_raw=shape_raw)
        if got is None:
            raise InvalidSignalError("no beat of this recording fits the pipeline's window")
        windows = normalize(
            got["x"].astype(np.float64), self.normalize if self.normalize != "record" else None
        )
        gates = ["rhythm_irregularity", "p_local", *MORPHOLOGY_GATE_INPUTS]
        meta = got["meta"][["sample", *gates]].copy()
        at = np.round(meta["sample"].to_numpy(dtype=np.float64) * fs / self.fs)
        meta.insert(1, "input_sample", at.astype(np.int64))
        return {"x": windows.astype(np.float32), "features": got["features"], "meta": meta}

    def _shape_signal(self, signal: Any, lead_names: Any) -> np.ndarray | None:
        """The :attr:`extra_shape_leads` of ``signal`` as float64 (leads, samples); None
        (with a warning) when it does not have them."""
        import warnings

        extra = self.extra_shape_leads
        if not extra:
            return None
        x = np.asarray(signal, dtype=np.float64)
        x = x[None, :] if x.ndim == 1 else x
        if lead_names is None:
            got = x[len(self.leads) :] if x.shape[0] == len(self.leads) + len(extra) else None
            lacking = list(extra) if got is None else []
        else:
            have = [v for v in extra if _has_lead(lead_names, v)]
            got = _pick_leads(x, lead_names, have) if have else None
            lacking = [v for v in extra if v not in have]
        if lacking:
            used = [v for v in self.shape_leads or () if v not in lacking]
            warnings.warn(
                f"no lead(s) {lacking} for the shape share (shape_leads); it is measured on "
                f"{used or list(self.leads)}",
                stacklevel=3,
            )
        if got is None:
            return None
        if not np.all(np.isfinite(got)):
            raise InvalidSignalError("signal contains NaN or infinity; clean or cut it first")
        return got

    def _checked(self, signal: Any, fs: float, lead_names: Any) -> tuple[float, np.ndarray]:
        """(fs, the wanted leads as float64 (leads, samples)), or a clear error."""
        fs = check_fs(fs)
        x = np.asarray(signal, dtype=np.float64)
        x = x[None, :] if x.ndim == 1 else x
        if x.ndim != 2 or x.shape[1] == 0:
            raise InvalidSignalError(f"signal must be (leads, samples), got shape {x.shape}")
        x = self.select_leads(x, lead_names)
        if not np.all(np.isfinite(x)):
            raise InvalidSignalError("signal contains NaN or infinity; clean or cut it first")
        return fs, x

    def _prepare(self, signal: Any, fs: float, lead_names: Any) -> np.ndarray:
        fs, x = self._checked(signal, fs, lead_names)
        return resample(x, fs, self.fs)

    def _rpeaks(self, x: np.ndarray, fs: float, rpeaks: Any) -> np.ndarray:
        if rpeaks is None:
            from .detect import detect_rpeaks

            return np.asarray(detect_rpeaks(x[0], self.fs))
        r = np.asarray(rpeaks, dtype=np.float64)
        return np.round(r * self.fs / float(fs)).astype(np.int64)

    def beats(self, x: np.ndarray, fs: float, *, rpeaks: Any) -> tuple[np.ndarray, np.ndarray]:
        """Beat windows of ``x`` (leads, samples) already at this pipeline's rate.

        Returns ``(windows float32 (beats, leads, n), index of each kept beat in rpeaks)``."""
        if float(fs) != self.fs:
            raise InvalidParameterError(f"x must be at {self.fs:g} Hz here, got {fs:g}")
        r = np.asarray(rpeaks, dtype=np.int64)
        n, half = beat_window(self.length, self.fs)
        keep = np.flatnonzero((r - half >= 0) & (r - half + n <= x.shape[-1]))
        idx = (r[keep] - half)[:, None] + np.arange(n)
        windows = np.moveaxis(x[:, idx], 0, 1)  # (beats, leads, n)
        return normalize(windows, self.normalize).astype(np.float32), keep
