//! The one error type of the Rust core and its mapping to the Python exception hierarchy.
//!
//! The maths modules return [`EcgError`]; only [`to_pyerr`] knows about Python. The Python
//! classes live in `ecgfast/errors.py` so that they can inherit from both `EcgError` and the
//! matching builtin (`ValueError`, `TypeError`, `RuntimeError`).

use std::fmt;

/// Everything that can go wrong inside the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EcgError {
    /// A parameter (fs, cutoff, order, ...) is out of its valid range.
    InvalidParameter(String),
    /// The signal itself is unusable (NaN/inf, empty, wrong shape).
    InvalidSignal(String),
    /// The signal is too short for the requested operation (e.g. shorter than the padding).
    SignalTooShort(String),
    /// A bug: a panic caught at the boundary or a broken invariant.
    Internal(String),
}

impl EcgError {
    /// Name of the Python class in `ecgfast.errors` this error maps to.
    pub fn python_class(&self) -> &'static str {
        match self {
            EcgError::InvalidParameter(_) => "InvalidParameterError",
            EcgError::InvalidSignal(_) => "InvalidSignalError",
            EcgError::SignalTooShort(_) => "SignalTooShortError",
            EcgError::Internal(_) => "InternalError",
        }
    }

    /// The same error with an invalid signal's message prefixed by the part of the input it
    /// is in (`"record 3"`, `"lead 1"`); other kinds are returned as they are.
    pub fn in_part(self, part: impl fmt::Display) -> Self {
        match self {
            EcgError::InvalidSignal(m) => EcgError::InvalidSignal(format!("{part}: {m}")),
            other => other,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            EcgError::InvalidParameter(m)
            | EcgError::InvalidSignal(m)
            | EcgError::SignalTooShort(m)
            | EcgError::Internal(m) => m,
        }
    }
}

impl fmt::Display for EcgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.python_class(), self.message())
    }
}

impl std::error::Error for EcgError {}

pub type Result<T> = std::result::Result<T, EcgError>;

/// Shorthand constructors used by the kernels.
pub fn invalid_parameter(msg: impl Into<String>) -> EcgError {
    EcgError::InvalidParameter(msg.into())
}

pub fn invalid_signal(msg: impl Into<String>) -> EcgError {
    EcgError::InvalidSignal(msg.into())
}

/// Convert to a Python exception of the `ecgfast.errors` hierarchy.
pub fn to_pyerr(err: EcgError) -> pyo3::PyErr {
    use pyo3::prelude::*;
    use pyo3::types::PyType;
    Python::attach(|py| {
        let class = py
            .import("ecgfast.errors")
            .and_then(|m| m.getattr(err.python_class()))
            .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
        match class {
            Ok(cls) => PyErr::from_type(cls, err.message().to_string()),
            // The Python package is always importable when the extension is; this is a fallback.
            Err(_) => pyo3::exceptions::PyValueError::new_err(err.to_string()),
        }
    })
}

impl From<EcgError> for pyo3::PyErr {
    fn from(err: EcgError) -> Self {
        to_pyerr(err)
    }
}
