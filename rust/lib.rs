//! ecgfast's Rust core. This file holds the Python module and its thin bindings only: the maths
//! lives in plain Rust modules over ndarray views with no PyO3 types inside.

pub mod beats;
pub mod complex;
pub mod delineate;
pub mod detect;
pub mod detect_noisy;
pub mod errors;
pub mod filter_design;
pub mod filters;
pub mod pacing;
pub mod parallel;
pub mod simd;
pub mod synth;

use errors::{EcgError, Result};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use pyo3::prelude::*;

/// A panic caught at the boundary, as an `ecgfast` internal error.
fn panic_error<T>(payload: Box<dyn std::any::Any + Send>) -> Result<T> {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    Err(EcgError::Internal(format!(
        "internal error in the ecgfast core (please report): {what}"
    )))
}

/// Run `f` with the GIL released inside the ecgfast thread pool, turning a panic into an
/// `ecgfast` error instead of letting it reach Python.
pub(crate) fn run_detached<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<T> + Send,
) -> PyResult<T> {
    py.detach(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parallel::install(f)))
            .unwrap_or_else(panic_error)
    })
    .map_err(errors::to_pyerr)
}

/// Like [`run_detached`] but on the calling thread: for small single-lane work, where handing
/// the job to the pool would cost more than the work itself. `f` must not use rayon.
pub(crate) fn run_detached_inline<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<T> + Send,
) -> PyResult<T> {
    py.detach(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(panic_error)
    })
    .map_err(errors::to_pyerr)
}

#[pymodule]
mod _core {
    use super::run_detached;
    use crate::filter_design::{self, BandType, Section};
    use crate::filters::SosFilter;
    use crate::parallel;
    use numpy::{IntoPyArray, PyArray2, PyArrayDyn, PyArrayMethods, PyReadonlyArray2};
    use pyo3::exceptions::PyTypeError;
    use pyo3::prelude::*;

    #[pymodule_export]
    #[allow(non_upper_case_globals)]
    const __version__: &str = env!("CARGO_PKG_VERSION");

    fn sections_to_array<'py>(py: Python<'py>, sos: &[Section]) -> Bound<'py, PyArray2<f64>> {
        let flat: Vec<f64> = sos.iter().flat_map(|s| s.iter().copied()).collect();
        numpy::ndarray::Array2::from_shape_vec((sos.len(), 6), flat)
            .expect("n x 6")
            .into_pyarray(py)
    }

    fn array_to_sections(sos: &PyReadonlyArray2<'_, f64>) -> PyResult<Vec<Section>> {
        let view = sos.as_array();
        if view.ncols() != 6 {
            return Err(crate::errors::invalid_parameter(format!(
                "sos must have shape (n_sections, 6), got {:?}",
                view.shape()
            ))
            .into());
        }
        Ok(view
            .rows()
            .into_iter()
            .map(|r| [r[0], r[1], r[2], r[3], r[4], r[5]])
            .collect())
    }

    /// Butterworth filter design in second-order sections (see `ecgfast.butter_sos`).
    #[pyfunction]
    fn butter_sos<'py>(
        py: Python<'py>,
        order: usize,
        cutoff: Vec<f64>,
        fs: f64,
        btype: &str,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let btype = BandType::parse(btype)?;
        let sos = run_detached(py, || filter_design::butter_sos(order, &cutoff, fs, btype))?;
        Ok(sections_to_array(py, &sos))
    }

    /// IIR notch as one second-order section (see `ecgfast.notch`).
    #[pyfunction]
    fn notch_sos<'py>(
        py: Python<'py>,
        freq: f64,
        quality: f64,
        fs: f64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let sos = run_detached(py, || filter_design::notch_sos(freq, quality, fs))?;
        Ok(sections_to_array(py, &sos))
    }

    /// Zero-phase SOS filtering along the last axis of a float32 or float64 array.
    #[pyfunction]
    fn sosfiltfilt<'py>(
        py: Python<'py>,
        sos: PyReadonlyArray2<'py, f64>,
        x: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let filter = SosFilter::new(array_to_sections(&sos)?)?;
        if let Ok(arr) = x.cast::<PyArrayDyn<f64>>() {
            let ro = arr.readonly();
            let view = ro.as_array();
            let out = run_detached(py, || filter.filtfilt(view))?;
            Ok(out.into_pyarray(py).into_any())
        } else if let Ok(arr) = x.cast::<PyArrayDyn<f32>>() {
            let ro = arr.readonly();
            let view = ro.as_array();
            let out = run_detached(py, || filter.filtfilt(view))?;
            Ok(out.into_pyarray(py).into_any())
        } else {
            Err(PyTypeError::new_err(
                "x must be a float32 or float64 numpy array (convert in Python first)",
            ))
        }
    }

    /// Every column name of the core, by kind: `leads`, `params` (synthesis parameter order),
    /// `labels` (synthetic record labels), `fiducials`, `intervals` (record intervals),
    /// `features` (per-beat), `amplitudes` (per lead), `heart_params` (a heart bank's columns); one source for the Python side.
    #[pyfunction]
    fn schema() -> std::collections::BTreeMap<&'static str, Vec<&'static str>> {
        use crate::{beats, synth};
        [
            ("leads", synth::LEAD_NAMES.to_vec()),
            ("params", synth::PARAMS.to_vec()),
            ("labels", synth::labels()),
            ("fiducials", beats::FIDUCIALS.to_vec()),
            ("intervals", beats::INTERVALS.to_vec()),
            ("features", beats::FEATURES.to_vec()),
            ("amplitudes", beats::AMPLITUDES.to_vec()),
            ("heart_params", synth::hearts::HEART_PARAMS.to_vec()),
            ("beat_symbols", synth::pathology::BEAT_SYMBOLS.to_vec()),
        ]
        .into_iter()
        .collect()
    }

    /// The constants `ecgfast.hearts` shares with the generator: Dower's matrix (I, II, V1-V6
    /// from Frank X, Y, Z), the typical relative QRS sizes of those leads and the spread of
    /// their logs, the size per unit `r_amp`, the bounds of the lead gains, the wave edge
    /// fraction, the Ta and U waves' delay and width, and the plausible range of each scalar
    /// column of a bank (low, high pairs, in column order).
    #[pyfunction]
    fn heart_constants() -> std::collections::BTreeMap<&'static str, Vec<f64>> {
        use crate::synth::{hearts, DOWER, EDGE_FRACTION, TA_DELAY, TA_SIGMA, U_DELAY, U_SIGMA};
        [
            ("dower", DOWER.iter().flatten().copied().collect()),
            ("edge_fraction", vec![EDGE_FRACTION]),
            ("ta_u", vec![TA_DELAY, TA_SIGMA, U_DELAY, U_SIGMA]),
            (
                "scalar_limits",
                hearts::SCALAR_LIMITS
                    .iter()
                    .flat_map(|&(lo, hi)| [lo, hi])
                    .collect(),
            ),
            ("lead_size", hearts::LEAD_SIZE.to_vec()),
            ("lead_size_log_sd", hearts::LEAD_SIZE_LOG_SD.to_vec()),
            ("size_per_r_amp", vec![hearts::SIZE_PER_R_AMP]),
            (
                "lead_gain_range",
                vec![hearts::LEAD_GAIN_RANGE.0, hearts::LEAD_GAIN_RANGE.1],
            ),
        ]
        .into_iter()
        .collect()
    }

    /// `synthesize`'s `method` and `population` names as the core's enums.
    fn method_and_population(
        method: &str,
        population: &str,
    ) -> PyResult<(crate::synth::Method, crate::synth::Population)> {
        use crate::synth;
        let method = match method {
            "dipole" => synth::Method::Dipole,
            "ecgsyn" => synth::Method::Ecgsyn,
            other => {
                return Err(crate::errors::invalid_parameter(format!(
                    "method must be 'dipole' or 'ecgsyn', got {other:?}"
                ))
                .into())
            }
        };
        let population = match population {
            "standard" => synth::Population::Standard,
            "ludb" => synth::Population::Ludb,
            other => {
                return Err(crate::errors::invalid_parameter(format!(
                    "population must be 'standard' or 'ludb', got {other:?}"
                ))
                .into())
            }
        };
        Ok((method, population))
    }

    /// Generate labelled synthetic ECG (see `ecgfast.synthesize`). Returns
    /// `(signals (n, leads, samples) f32, beats (n_beats, 2 + 9 + 1) i64, labels (n, n_labels)
    /// f64, beat features (n_beats, n_features) f64)`; beats columns are record, beat, the
    /// fiducials (-1 = outside the record), then the beat kind (index into
    /// `schema()["beat_symbols"]`); features as `schema()["features"]`.
    #[allow(clippy::type_complexity, clippy::too_many_arguments)]
    #[pyfunction]
    fn synthesize<'py>(
        py: Python<'py>,
        bounds: numpy::PyReadonlyArray3<'py, f64>,
        fs: f64,
        n_samples: usize,
        leads: Vec<usize>,
        seed: u64,
        start: u64,
        method: &str,
        population: &str,
        hearts: Option<numpy::PyReadonlyArray2<'py, f64>>,
        heart_jitter: f64,
    ) -> PyResult<(
        Bound<'py, numpy::PyArray3<f32>>,
        Bound<'py, PyArray2<i64>>,
        Bound<'py, PyArray2<f64>>,
        Bound<'py, PyArray2<f64>>,
    )> {
        use crate::synth;
        let view = bounds.as_array();
        let (method, population) = method_and_population(method, population)?;
        let hearts = match hearts {
            Some(h) => synth::hearts::bank(h.as_array(), heart_jitter)?,
            None => Vec::new(),
        };
        let cfg = synth::SynthConfig {
            method,
            population,
            fs,
            n_samples,
            leads,
            seed,
            start,
            hearts,
            heart_jitter,
        };
        // Allocate the output on the calling thread, which will also free it: the allocator
        // then reuses the same memory batch after batch instead of faulting in fresh pages.
        let n_records = view.len_of(numpy::ndarray::Axis(0));
        let signals =
            numpy::ndarray::Array3::<f32>::uninit((n_records, cfg.leads.len(), cfg.n_samples));
        let (signals, beats, labels, features) = run_detached(py, move || {
            let mut signals = signals;
            let out = synth::synthesize_into(view, &cfg, signals.view_mut())?;
            // SAFETY: synthesize_into succeeded, so every sample was written.
            let signals = unsafe { signals.assume_init() };
            let total: usize = out.rows.iter().map(|b| b.len()).sum();
            let cols = 3 + synth::FIDUCIALS.len();
            let mut flat = Vec::with_capacity(total * cols);
            for (rec, (rows, kinds)) in out.rows.iter().zip(&out.kinds).enumerate() {
                for (k, (row, kind)) in rows.iter().zip(kinds).enumerate() {
                    flat.push((start as usize + rec) as i64);
                    flat.push(k as i64);
                    flat.extend_from_slice(row);
                    flat.push(*kind as i64);
                }
            }
            let beats = numpy::ndarray::Array2::from_shape_vec((total, cols), flat)
                .map_err(|e| crate::errors::EcgError::Internal(e.to_string()))?;
            Ok((signals, beats, out.labels, out.features))
        })?;
        Ok((
            signals.into_pyarray(py),
            beats.into_pyarray(py),
            labels.into_pyarray(py),
            features.into_pyarray(py),
        ))
    }

    /// R-peak detection on a 1-D float64 signal (see `ecgfast.detect_rpeaks`).
    #[pyfunction]
    fn detect_rpeaks<'py>(
        py: Python<'py>,
        x: numpy::PyReadonlyArray1<'py, f64>,
        fs: f64,
        skip_fibrillation: bool,
    ) -> PyResult<Bound<'py, numpy::PyArray1<i64>>> {
        let view = x.as_array();
        // one lead: the detector's filters run their segments as interleaved lanes, no rayon
        let peaks = super::run_detached_inline(py, || {
            crate::detect::detect_rpeaks(view, fs, skip_fibrillation)
        })?;
        Ok(numpy::PyArray1::from_vec(py, peaks))
    }

    /// R-peak detection on every row of a 2-D float64 array, rows in parallel.
    #[pyfunction]
    fn detect_rpeaks_batch<'py>(
        py: Python<'py>,
        x: numpy::PyReadonlyArray2<'py, f64>,
        fs: f64,
        skip_fibrillation: bool,
    ) -> PyResult<Vec<Bound<'py, numpy::PyArray1<i64>>>> {
        let view = x.as_array();
        let rows = run_detached(py, || {
            crate::detect::detect_rpeaks_rows(view, fs, skip_fibrillation)
        })?;
        Ok(index_arrays(py, rows))
    }

    /// R-peak detection on one record's leads (2-D float64, leads × samples) with the
    /// cross-lead check of close pairs (see `ecgfast.detect_rpeaks`, `other_leads`).
    #[pyfunction]
    fn detect_rpeaks_leads<'py>(
        py: Python<'py>,
        x: numpy::PyReadonlyArray2<'py, f64>,
        fs: f64,
        skip_fibrillation: bool,
    ) -> PyResult<Bound<'py, numpy::PyArray1<i64>>> {
        let view = x.as_array();
        let peaks = super::run_detached_inline(py, || {
            crate::detect::detect_rpeaks_leads(view, fs, skip_fibrillation)
        })?;
        Ok(numpy::PyArray1::from_vec(py, peaks))
    }

    /// The same on every record of a 3-D float64 array (records × leads × samples), records
    /// in parallel.
    #[pyfunction]
    fn detect_rpeaks_leads_batch<'py>(
        py: Python<'py>,
        x: numpy::PyReadonlyArray3<'py, f64>,
        fs: f64,
        skip_fibrillation: bool,
    ) -> PyResult<Vec<Bound<'py, numpy::PyArray1<i64>>>> {
        let view = x.as_array();
        let rows = run_detached(py, || {
            crate::detect::detect_rpeaks_leads_records(view, fs, skip_fibrillation)
        })?;
        Ok(index_arrays(py, rows))
    }

    /// Pacing spikes of a 1-D float64 signal (see `ecgfast.detect_pacing`).
    #[pyfunction]
    fn detect_pacing<'py>(
        py: Python<'py>,
        x: numpy::PyReadonlyArray1<'py, f64>,
        fs: f64,
        min_height: f64,
    ) -> PyResult<Bound<'py, numpy::PyArray1<i64>>> {
        let view = x.as_array();
        let spikes =
            super::run_detached_inline(py, || crate::pacing::detect_pacing(view, fs, min_height))?;
        Ok(numpy::PyArray1::from_vec(py, spikes))
    }

    /// Pacing spikes of every row of a 2-D float64 array, rows in parallel.
    #[pyfunction]
    fn detect_pacing_batch<'py>(
        py: Python<'py>,
        x: numpy::PyReadonlyArray2<'py, f64>,
        fs: f64,
        min_height: f64,
    ) -> PyResult<Vec<Bound<'py, numpy::PyArray1<i64>>>> {
        let view = x.as_array();
        let rows = run_detached(py, || {
            crate::pacing::detect_pacing_rows(view, fs, min_height)
        })?;
        Ok(index_arrays(py, rows))
    }

    /// One int64 array of sample indices per row.
    fn index_arrays(py: Python<'_>, rows: Vec<Vec<i64>>) -> Vec<Bound<'_, numpy::PyArray1<i64>>> {
        rows.into_iter()
            .map(|r| numpy::PyArray1::from_vec(py, r))
            .collect()
    }

    /// Run a batch kernel on a 3-D float32 or float64 array (no conversion), GIL released.
    macro_rules! on_batch3 {
        ($py:expr, $x:expr, |$view:ident| $body:expr) => {
            if let Ok(arr) = $x.cast::<numpy::PyArray3<f32>>() {
                let ro = arr.readonly();
                let $view = ro.as_array();
                run_detached($py, || $body)?
            } else {
                let arr = $x.cast::<numpy::PyArray3<f64>>().map_err(|_| {
                    PyTypeError::new_err("x must be a 3-D float32 or float64 numpy array")
                })?;
                let ro = arr.readonly();
                let $view = ro.as_array();
                run_detached($py, || $body)?
            }
        };
    }

    fn beats_to_array(beats: &[crate::delineate::Beat]) -> numpy::ndarray::Array2<i64> {
        let flat: Vec<i64> = beats.iter().flat_map(|b| b.iter().copied()).collect();
        numpy::ndarray::Array2::from_shape_vec((beats.len(), 9), flat).expect("n x 9")
    }

    /// Delineate one record `(n_leads, n_samples)` (see `ecgfast.delineate`). Returns
    /// `(per-lead fiducials (n_leads, n_beats, 9), global fiducials (n_beats, 9), beat positions)`
    /// with -1 for missing.
    #[allow(clippy::type_complexity)]
    #[pyfunction]
    #[pyo3(signature = (x, fs, rpeaks=None))]
    fn delineate<'py>(
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
        fs: f64,
        rpeaks: Option<Vec<i64>>,
    ) -> PyResult<(
        Bound<'py, numpy::PyArray3<i64>>,
        Bound<'py, PyArray2<i64>>,
        Bound<'py, numpy::PyArray1<i64>>,
    )> {
        let view = x.as_array();
        let work = || crate::delineate::delineate_record(view, fs, rpeaks.as_deref());
        // one lead never fans out (filtering runs lanes in parallel only beyond one group)
        let (per_lead, global, beats) = if view.nrows() == 1 {
            super::run_detached_inline(py, work)?
        } else {
            run_detached(py, work)?
        };
        let n_beats = global.len();
        let mut flat = Vec::with_capacity(per_lead.len() * n_beats * 9);
        for lead in &per_lead {
            for b in lead {
                flat.extend_from_slice(b);
            }
        }
        let per_lead = numpy::ndarray::Array3::from_shape_vec((per_lead.len(), n_beats, 9), flat)
            .map_err(|e| crate::errors::EcgError::Internal(e.to_string()))
            .map_err(crate::errors::to_pyerr)?;
        let beats: Vec<i64> = beats.into_iter().map(|b| b as i64).collect();
        Ok((
            per_lead.into_pyarray(py),
            beats_to_array(&global).into_pyarray(py),
            numpy::PyArray1::from_vec(py, beats),
        ))
    }

    /// Delineate a batch `(n_records, n_leads, n_samples)` in parallel. Returns
    /// `(record index per beat, global fiducials (n_total_beats, 9))`.
    #[allow(clippy::type_complexity)]
    #[pyfunction]
    fn delineate_batch<'py>(
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        fs: f64,
    ) -> PyResult<(Bound<'py, numpy::PyArray1<i64>>, Bound<'py, PyArray2<i64>>)> {
        let records = on_batch3!(py, x, |view| crate::delineate::delineate_batch(view, fs));
        let mut index = Vec::new();
        let mut all = Vec::new();
        for (i, rec) in records.iter().enumerate() {
            index.extend(std::iter::repeat_n(i as i64, rec.len()));
            all.extend_from_slice(rec);
        }
        Ok((
            numpy::PyArray1::from_vec(py, index),
            beats_to_array(&all).into_pyarray(py),
        ))
    }

    /// Record intervals of a batch `(n_records, n_leads, n_samples)`: `(n_records, 8)` float64
    /// in the order of `interval_names()`, NaN where undefined.
    #[pyfunction]
    fn intervals_batch<'py>(
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        fs: f64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let out = on_batch3!(py, x, |view| crate::delineate::intervals_batch(view, fs));
        Ok(out.into_pyarray(py))
    }

    /// A beat table as arrays: `(record index per beat, beat positions, global fiducials
    /// (n_beats, 9), features (n_beats, n_features))`.
    type BeatArrays<'py> = (
        Bound<'py, numpy::PyArray1<i64>>,
        Bound<'py, numpy::PyArray1<i64>>,
        Bound<'py, PyArray2<i64>>,
        Bound<'py, PyArray2<f64>>,
    );

    fn beat_arrays<'py>(py: Python<'py>, tables: &[crate::beats::BeatTable]) -> BeatArrays<'py> {
        let n_cols = tables.first().map_or(0, |t| t.features.ncols());
        let (mut index, mut positions, mut fiducials) = (Vec::new(), Vec::new(), Vec::new());
        let mut features = Vec::new();
        for (i, t) in tables.iter().enumerate() {
            index.extend(std::iter::repeat_n(i as i64, t.positions.len()));
            positions.extend(t.positions.iter().map(|&p| p as i64));
            fiducials.extend_from_slice(&t.fiducials);
            features.extend(t.features.iter().copied());
        }
        let n = positions.len();
        let features =
            numpy::ndarray::Array2::from_shape_vec((n, n_cols), features).expect("n x columns");
        (
            numpy::PyArray1::from_vec(py, index),
            numpy::PyArray1::from_vec(py, positions),
            beats_to_array(&fiducials).into_pyarray(py),
            features.into_pyarray(py),
        )
    }

    /// Beat table of one record `(n_leads, n_samples)` (see `ecgfast.beat_table`).
    #[pyfunction]
    #[pyo3(signature = (x, fs, rpeaks=None))]
    fn beat_table<'py>(
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
        fs: f64,
        rpeaks: Option<Vec<i64>>,
    ) -> PyResult<BeatArrays<'py>> {
        let view = x.as_array();
        let table = run_detached(py, || crate::beats::beat_table(view, fs, rpeaks.as_deref()))?;
        Ok(beat_arrays(py, &[table]))
    }

    /// Beat tables of a batch `(n_records, n_leads, n_samples)`, records in parallel.
    #[pyfunction]
    fn beat_table_batch<'py>(
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        fs: f64,
    ) -> PyResult<BeatArrays<'py>> {
        let tables = on_batch3!(py, x, |view| crate::beats::beat_table_batch(view, fs));
        Ok(beat_arrays(py, &tables))
    }

    /// The vector instruction set the synthesizer's per-record loops run with (`portable`,
    /// `avx2` or `avx512`; capped by the `ECGFAST_SIMD` environment variable): see
    /// `crate::simd`. Every level gives bitwise the same records.
    #[pyfunction]
    fn simd_level() -> &'static str {
        crate::simd::level().name()
    }

    /// Cap the number of threads used by batch kernels (0 restores the default).
    #[pyfunction]
    fn set_num_threads(n: usize) {
        parallel::set_num_threads(n);
    }

    /// Number of threads batch kernels use.
    #[pyfunction]
    fn get_num_threads() -> usize {
        parallel::num_threads()
    }

    /// The thread count set by `set_num_threads` (0: none set, the default applies).
    #[pyfunction]
    fn requested_num_threads() -> usize {
        parallel::requested_num_threads()
    }
}
