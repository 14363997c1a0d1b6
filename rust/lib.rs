//! ecgfast's Rust core. This file holds the Python module and its thin bindings only: the maths
//! lives in plain Rust modules over ndarray views with no PyO3 types inside.

pub mod complex;
pub mod errors;
pub mod filter_design;
pub mod filters;
pub mod parallel;

use errors::{EcgError, Result};
use pyo3::prelude::*;

/// Run `f` with the GIL released inside the ecgfast thread pool, turning a panic into an
/// `ecgfast` error instead of letting it reach Python.
pub(crate) fn run_detached<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<T> + Send,
) -> PyResult<T> {
    py.detach(|| {
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parallel::install(f)));
        match outcome {
            Ok(result) => result,
            Err(payload) => {
                let what = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_string());
                Err(EcgError::Internal(format!(
                    "internal error in the ecgfast core (please report): {what}"
                )))
            }
        }
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
}
