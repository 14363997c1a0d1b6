"""A trained beat classifier applied to new recordings, exactly as it was scored.

``ecgfast beats --test-records ... --save-models`` writes one :class:`BeatClassifier` per arm,
label fraction and seed: the model (or the ensemble's members: networks, and gradient-boosted
trees with ``--boosted``), the input pipeline it was trained with
(:class:`ecgfast.Preprocessing`), the beat-table features each member reads, each member's
decision offsets (fitted on its early-stopping patients) and the rhythm gate.
:meth:`BeatClassifier.predict` runs that whole chain on a raw recording: detect beats (or take
the given R peaks), build the windows and beat-table features, take each member's
probabilities through the rhythm gate and its offsets, average.

>>> from ecgfast.torch import BeatClassifier                     # doctest: +SKIP
>>> clf = BeatClassifier.load("runs/ds1_ds2/models/scratch_f1_seed0.pt")
>>> beats = clf.predict(signal, fs=360, lead_names=["MLII", "V1"])
>>> beats[["input_sample", "predicted"]].head()

Networks are stored as weights. Trees (:class:`ecgfast.boosted.BoostedBeatModel`) can only be
stored with pickle, which runs code when read: :meth:`BeatClassifier.load` reads a file that
holds trees only with ``allow_pickle=True`` (``ecgfast classify-beats --allow-pickle``), for
files you trust.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import torch

from .. import __version__
from ..errors import InvalidParameterError
from ..evaluate import MORPHOLOGY_GATE_INPUTS, apply_offsets, morphology_gate, rhythm_gate
from ..preprocessing import Preprocessing
from .engine import _atomic_save, _copy, _model_spec, _read, _rebuild
from .models import ECGModel

__all__ = ["BEAT_CLASSIFIER_FORMAT", "BeatClassifier"]

BEAT_CLASSIFIER_FORMAT = "ecgfast-beat-classifier/1"


class BeatClassifier:
    """One beat classifier or an ensemble, with the decision rule it was scored with.

    Parameters
    ----------
    models : sequence of ECGModel or BoostedBeatModel
        The members (one for a single model): networks of :mod:`ecgfast.torch` and/or
        :class:`ecgfast.boosted.BoostedBeatModel` trees.
    preprocessing : Preprocessing
        The beat pipeline the members were trained on (``kind="beat"`` with beat options); its
        features are the union of the members'.
    classes : sequence of str
        Class names of the members' outputs, in order (e.g. ``("N", "S", "V", "F")``).
    offsets : sequence of array_like, optional
        Per member, :func:`ecgfast.evaluate.decision_offsets` (default: zeros).
    rhythm_gate : float or None
        :func:`ecgfast.evaluate.rhythm_gate` threshold applied to each member's
        probabilities before its offsets (None: no gate).
    morphology_gate : bool
        Apply :func:`ecgfast.evaluate.morphology_gate` to the averaged probabilities (no V
        beat where the beat's shape is common in its recording and it comes on time, no S
        beat where it is not common).
    offsets_after_gates : bool
        With ``morphology_gate``: apply it to each member's probabilities before its offsets
        (offsets fitted on gated probabilities), not only to the mean.
    info : dict, optional
        Anything worth keeping with the models (training records, settings); JSON-able.
    member_features : sequence of (sequence of str or None), optional
        Per member, the names of the pipeline's features it reads, in its order (None, or
        not given: all of them). E.g. networks on the beat-table features beside trees that
        also read template features.
    """

    def __init__(
        self,
        models: Sequence[ECGModel],
        preprocessing: Preprocessing,
        classes: Sequence[str],
        *,
        offsets: Sequence[Any] | None = None,
        rhythm_gate: float | None = None,
        morphology_gate: bool = False,
        offsets_after_gates: bool = False,
        info: dict[str, Any] | None = None,
        member_features: Sequence[Sequence[str] | None] | None = None,
    ) -> None:
        self.models = list(models)
        self.classes = tuple(str(c) for c in classes)
        if not self.models:
            raise InvalidParameterError("a BeatClassifier needs at least one model")
        if not isinstance(preprocessing, Preprocessing) or not (
            preprocessing.kind == "beat" and preprocessing.beat_options
        ):
            raise InvalidParameterError("preprocessing must be a beat Preprocessing pipeline")
        self.preprocessing = preprocessing
        k = len(self.classes)
        if offsets is None:
            offsets = [np.zeros(k)] * len(self.models)
        self.offsets = [np.asarray(o, dtype=np.float64).ravel() for o in offsets]
        if len(self.offsets) != len(self.models) or any(o.shape != (k,) for o in self.offsets):
            raise InvalidParameterError(
                f"offsets: one array of {k} values per member ({len(self.models)} members)"
            )
        if rhythm_gate is not None and ("S" not in self.classes or "N" not in self.classes):
            raise InvalidParameterError("the rhythm gate needs classes N and S")
        self.rhythm_gate = None if rhythm_gate is None else float(rhythm_gate)
        if morphology_gate and "V" not in self.classes:
            raise InvalidParameterError("the morphology gate needs class V")
        self.morphology_gate = bool(morphology_gate)
        self.offsets_after_gates = bool(offsets_after_gates)
        self.info = dict(info or {})
        self.member_features = _member_features(member_features, self.models, preprocessing)
        for m in self.models:
            if not isinstance(m, ECGModel) and not _is_boosted(m):
                raise InvalidParameterError(
                    f"members must be ECGModel networks or BoostedBeatModel trees, got "
                    f"{type(m).__name__}"
                )
            if isinstance(m, ECGModel):
                m.eval()

    def __repr__(self) -> str:
        kinds = ", ".join(
            dict.fromkeys(m.name if isinstance(m, ECGModel) else "boosted" for m in self.models)
        )
        return (
            f"BeatClassifier({len(self.models)} member(s) {kinds}, classes "
            f"{self.classes}, leads {self.preprocessing.leads}, rhythm_gate {self.rhythm_gate}, "
            f"morphology_gate {self.morphology_gate})"
        )

    def predict(
        self,
        signal: Any,
        fs: float,
        *,
        lead_names: Sequence[str] | None = None,
        rpeaks: Any = None,
        batch_size: int = 512,
    ) -> pd.DataFrame:
        """Classify every beat of one recording.

        Parameters
        ----------
        signal : array_like, shape (leads, samples) or (samples,)
            Raw ECG in mV (NaN/inf raise), any rate (resampled to the pipeline's).
        fs : float
            Its sampling rate (Hz).
        lead_names : sequence of str, optional
            Names of ``signal``'s leads, to pick the pipeline's leads by name.
        rpeaks : array_like of int, optional
            Beat positions in ``signal``'s samples (default: :func:`ecgfast.detect_rpeaks`
            on the first pipeline lead, the other leads as ``other_leads``).
        batch_size : int
            Beats per forward pass.

        Returns
        -------
        DataFrame
            One row per beat whose window fits the recording: ``input_sample`` (in
            ``signal``'s samples), ``sample`` (at the pipeline's rate), ``predicted`` (the
            class name), ``p_<class>`` (the averaged calibrated probabilities), and the
            ``rhythm_irregularity``, ``p_local`` and ``shape_share`` the gates read.
        """
        got = self.preprocessing.beat_inputs(signal, fs, lead_names=lead_names, rpeaks=rpeaks)
        prob = self.predict_proba_inputs(got["x"], got["features"], got["meta"], batch_size)
        out = got["meta"][["input_sample", "sample"]].reset_index(drop=True)
        out["predicted"] = np.asarray(self.classes, dtype=object)[prob.argmax(axis=1)]
        for j, c in enumerate(self.classes):
            out[f"p_{c}"] = prob[:, j]
        out["rhythm_irregularity"] = got["meta"]["rhythm_irregularity"].to_numpy()
        out["p_local"] = got["meta"]["p_local"].to_numpy()
        out["shape_share"] = got["meta"]["shape_share"].to_numpy()
        return out

    def predict_proba_inputs(
        self, x: np.ndarray, features: np.ndarray, meta: pd.DataFrame, batch_size: int = 512
    ) -> np.ndarray:
        """Averaged calibrated probabilities (beats, classes) of model inputs already built
        by the pipeline (``x``, ``features``) with the gate's ``meta`` columns."""
        prob = np.zeros((len(x), len(self.classes)))
        if len(x) == 0:
            return prob
        names = self.preprocessing.features
        share, local = (
            meta[c].to_numpy(dtype=np.float64) if self.morphology_gate else None
            for c in MORPHOLOGY_GATE_INPUTS
        )
        for model, offsets, reads in zip(
            self.models, self.offsets, self.member_features, strict=True
        ):
            f = features
            if features is not None and reads != names:
                f = np.ascontiguousarray(features[:, [names.index(n) for n in reads]])
            if isinstance(model, ECGModel):
                p = _probabilities(model, x, f, batch_size)
            else:
                p = np.asarray(model.predict_proba(SimpleNamespace(x=x, features=f)))
            if self.rhythm_gate is not None:
                p = rhythm_gate(
                    p,
                    meta["rhythm_irregularity"].to_numpy(dtype=np.float64),
                    meta["p_local"].to_numpy(dtype=np.float64),
                    self.classes,
                    threshold=self.rhythm_gate,
                )
            if self.morphology_gate and self.offsets_after_gates:
                p = morphology_gate(p, share, local, self.classes)
            prob += apply_offsets(p, offsets) / len(self.models)
        if self.morphology_gate:
            prob = morphology_gate(prob, share, local, self.classes)
        return prob

    def save(self, path: str | Path) -> Path:
        """Write the classifier to one file (read back with :meth:`load`)."""
        payload = {
            "format": BEAT_CLASSIFIER_FORMAT,
            "ecgfast_version": __version__,
            "members": [
                {**_member_payload(m), "features": list(reads)}
                for m, reads in zip(self.models, self.member_features, strict=True)
            ],
            "offsets": [o.tolist() for o in self.offsets],
            "classes": list(self.classes),
            "rhythm_gate": self.rhythm_gate,
            "morphology_gate": self.morphology_gate,
            "offsets_after_gates": self.offsets_after_gates,
            "preprocessing": self.preprocessing.to_dict(),
            "info": self.info,
        }
        return _atomic_save(payload, path)

    @classmethod
    def load(
        cls, path: str | Path, map_location: str = "cpu", *, allow_pickle: bool = False
    ) -> BeatClassifier:
        """Read a classifier written by :meth:`save`.

        A file with tree members (:class:`ecgfast.boosted.BoostedBeatModel`, stored with
        pickle, which can run code when read) needs ``allow_pickle=True``: pass it only for
        files you trust. Networks are read as weights in any case."""
        payload = _read(path, map_location, BEAT_CLASSIFIER_FORMAT, "beat classifier")
        members = payload["members"]
        if any(m.get("kind") == "boosted" for m in members) and not allow_pickle:
            raise InvalidParameterError(
                f"{path} holds gradient-boosted tree members, stored with pickle, which can run "
                "code when read: load it with allow_pickle=True (ecgfast classify-beats "
                "--allow-pickle) only if you trust the file"
            )
        models = [
            _unpickle_boosted(m, path) if m.get("kind") == "boosted" else _rebuild(m)
            for m in members
        ]
        return cls(
            models,
            Preprocessing.from_dict(payload["preprocessing"]),
            payload["classes"],
            offsets=payload["offsets"],
            rhythm_gate=payload["rhythm_gate"],
            morphology_gate=bool(payload.get("morphology_gate", False)),  # older files: off
            offsets_after_gates=bool(payload.get("offsets_after_gates", False)),
            info=payload.get("info") or {},
            member_features=[m.get("features") for m in members],
        )


def _is_boosted(model: Any) -> bool:
    from ..boosted import BoostedBeatModel

    return isinstance(model, BoostedBeatModel)


def _member_features(
    given: Sequence[Sequence[str] | None] | None, models: list[Any], preprocessing: Preprocessing
) -> list[tuple[str, ...]]:
    """Per member, the pipeline feature names it reads (default: all), checked."""
    names = preprocessing.features
    if given is None:
        given = [None] * len(models)
    if len(given) != len(models):
        raise InvalidParameterError(
            f"member_features: one entry per member ({len(models)} members, got {len(given)})"
        )
    out = []
    for reads in given:
        reads = names if reads is None else tuple(str(n) for n in reads)
        missing = [n for n in reads if n not in names]
        if missing:
            raise InvalidParameterError(
                f"member features {missing} are not made by the pipeline (features {names})"
            )
        out.append(reads)
    return out


def _member_payload(model: Any) -> dict[str, Any]:
    """What :meth:`BeatClassifier.save` writes for one member: a network's spec and weights,
    or a tree model's pickle."""
    if isinstance(model, ECGModel):
        return {**_model_spec(model), "state_dict": _copy(model.state_dict())}
    return {"kind": "boosted", "pickle": pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)}


def _unpickle_boosted(member: dict[str, Any], path: Any) -> Any:
    """The :class:`ecgfast.boosted.BoostedBeatModel` of a saved member (the caller allowed
    pickle), or a clear error."""
    try:
        model = pickle.loads(member["pickle"])  # the caller allowed pickle
    except Exception as exc:  # e.g. scikit-learn missing or of an incompatible version
        raise InvalidParameterError(
            f"{path}: cannot read a boosted member ({exc}); it needs scikit-learn "
            "(pip install 'ecgfast[boosted]')"
        ) from exc
    if not _is_boosted(model):
        raise InvalidParameterError(f"{path}: a boosted member is a {type(model).__name__}")
    return model


def _probabilities(
    model: ECGModel, x: np.ndarray, features: np.ndarray, batch_size: int
) -> np.ndarray:
    """Softmax outputs of ``model`` over the windows ``x`` with their ``features``."""
    extra = model.config.get("extra_features", 0)
    dev = next(model.parameters()).device
    model.eval()
    outs = []
    with torch.no_grad():
        for lo in range(0, len(x), batch_size):
            xb = torch.as_tensor(np.ascontiguousarray(x[lo : lo + batch_size]), device=dev)
            if extra:
                fb = torch.as_tensor(
                    np.ascontiguousarray(features[lo : lo + batch_size]), device=dev
                )
                logits = model(xb, fb)
            else:
                logits = model(xb)
            outs.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
    return np.concatenate(outs).astype(np.float64)
