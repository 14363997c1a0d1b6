"""Package-level contract: public names, typing files, no torch needed, error hierarchy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import ecgfast
from ecgfast import _core, errors

PKG = Path(ecgfast.__file__).parent


def test_public_names_exist_and_are_documented():
    for name in ecgfast.__all__:
        obj = getattr(ecgfast, name)
        if callable(obj):
            assert obj.__doc__, f"{name} has no docstring"


def test_version():
    assert ecgfast.__version__ == _core.__version__
    assert ecgfast.__version__.count(".") == 2


def test_typing_files_cover_the_core():
    assert (PKG / "py.typed").exists()
    stub = (PKG / "_core.pyi").read_text()
    exported = [n for n in dir(_core) if not n.startswith("_") and callable(getattr(_core, n))]
    assert exported
    for name in exported:
        assert f"def {name}(" in stub, f"_core.{name} missing from _core.pyi"


def test_import_without_torch():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import ecgfast, numpy as np\n"
        "print(ecgfast.bandpass(np.zeros(1000), 500).shape)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(1000,)"


def test_error_hierarchy():
    assert issubclass(errors.InvalidParameterError, ecgfast.EcgError)
    assert issubclass(errors.InvalidParameterError, ValueError)
    assert issubclass(errors.SignalTooShortError, errors.InvalidSignalError)
    assert issubclass(errors.DtypeError, TypeError)
    assert issubclass(errors.InternalError, ecgfast.EcgError)
    # every class the Rust core maps onto exists
    rust = (PKG.parent.parent / "rust" / "errors.rs").read_text()
    for cls in (
        "InvalidParameterError",
        "InvalidSignalError",
        "SignalTooShortError",
        "InternalError",
    ):
        assert f'"{cls}"' in rust
        assert issubclass(getattr(errors, cls), ecgfast.EcgError)
