"""Type stubs for the compiled Rust core (``rust/lib.rs``). Use the public wrappers in
``ecgfast`` instead: they validate inputs before calling these."""

import numpy as np
import numpy.typing as npt

__version__: str

def butter_sos(
    order: int, cutoff: list[float], fs: float, btype: str
) -> npt.NDArray[np.float64]: ...
def notch_sos(freq: float, quality: float, fs: float) -> npt.NDArray[np.float64]: ...
def sosfiltfilt(
    sos: npt.NDArray[np.float64], x: npt.NDArray[np.float32] | npt.NDArray[np.float64]
) -> npt.NDArray[np.float32] | npt.NDArray[np.float64]: ...
def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def requested_num_threads() -> int: ...
def simd_level() -> str: ...
def schema() -> dict[str, list[str]]: ...
def synthesize(
    bounds: npt.NDArray[np.float64],
    fs: float,
    n_samples: int,
    leads: list[int],
    seed: int,
    start: int,
    method: str,
    population: str,
    hearts: npt.NDArray[np.float64] | None,
    heart_jitter: float,
) -> tuple[
    npt.NDArray[np.float32],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
]: ...
def detect_rpeaks(
    x: npt.NDArray[np.float64], fs: float, skip_fibrillation: bool
) -> npt.NDArray[np.int64]: ...
def detect_rpeaks_batch(
    x: npt.NDArray[np.float64], fs: float, skip_fibrillation: bool
) -> list[npt.NDArray[np.int64]]: ...
def detect_rpeaks_leads(
    x: npt.NDArray[np.float64], fs: float, skip_fibrillation: bool
) -> npt.NDArray[np.int64]: ...
def detect_rpeaks_leads_batch(
    x: npt.NDArray[np.float64], fs: float, skip_fibrillation: bool
) -> list[npt.NDArray[np.int64]]: ...
def detect_pacing(
    x: npt.NDArray[np.float64], fs: float, min_height: float
) -> npt.NDArray[np.int64]: ...
def detect_pacing_batch(
    x: npt.NDArray[np.float64], fs: float, min_height: float
) -> list[npt.NDArray[np.int64]]: ...
def beat_table(
    x: npt.NDArray[np.float64], fs: float, rpeaks: list[int] | None = None
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]
]: ...
def beat_table_batch(
    x: npt.NDArray[np.float32] | npt.NDArray[np.float64], fs: float
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]
]: ...
def delineate(
    x: npt.NDArray[np.float64], fs: float, rpeaks: list[int] | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def delineate_batch(
    x: npt.NDArray[np.float32] | npt.NDArray[np.float64], fs: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def intervals_batch(
    x: npt.NDArray[np.float32] | npt.NDArray[np.float64], fs: float
) -> npt.NDArray[np.float64]: ...
def heart_constants() -> dict[str, list[float]]: ...
