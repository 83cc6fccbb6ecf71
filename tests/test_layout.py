"""The package's two layers: the lesson code a student reads, and the course's machinery in ``mri_helpers.course``."""

import ast
from pathlib import Path

import pytest
import torch
from torch import nn

import mri_helpers
from mri_helpers.course.runs import architecture, layers
from mri_helpers.models import CNN0, build_model

PACKAGE = Path(mri_helpers.__file__).parent
STUDENT = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py" and "course" not in p.relative_to(PACKAGE).parts)


def _imports(path: Path) -> set[str]:
    """The package modules ``path`` imports, as dotted names relative to the package (``course.runs``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            dots = "." * node.level
            found |= {dots + a.name for a in node.names} if node.module is None else {dots + node.module}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def _machinery(path: Path) -> set[str]:
    return {name for name in _imports(path) if name.startswith((".course", "mri_helpers.course"))}


@pytest.mark.parametrize("path", STUDENT, ids=lambda p: p.stem)
def test_no_student_module_imports_the_machinery(path):
    assert not _machinery(path), f"{path.name} imports {_machinery(path)}"


def test_the_check_catches_a_module_that_imports_the_machinery(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from .course.runs import describe\nfrom . import course\nimport mri_helpers.course.files\n"
                   "from .models import build_model\n")
    assert _machinery(bad) == {".course.runs", ".course", "mri_helpers.course.files"}


def test_no_module_is_over_400_lines():
    sizes = {p.relative_to(PACKAGE).as_posix(): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert max(sizes.values()) <= 400, {k: v for k, v in sizes.items() if v > 400}


def test_the_package_root_exports_what_the_notebooks_import():
    from mri_helpers import Trainer, build_model, setup

    assert build_model.__module__ == "mri_helpers.models" and Trainer.__module__ == "mri_helpers.training"
    assert setup.__module__ == "mri_helpers.course.lesson"
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        mri_helpers.nothing  # noqa: B018


class Renamed(nn.Module):
    """CNN0's layers, written as a loop with another class name: the same architecture."""

    def __init__(self):
        super().__init__()
        widths = (3, 4, 4, 4, 4)
        for i in range(1, 5):
            setattr(self, f"conv{i}", nn.Conv2d(widths[i - 1], widths[i], 3, padding=1))
            setattr(self, f"relu{i}", nn.ReLU())
        self.pool = nn.MaxPool2d(2, 2)
        self.flatten = nn.Flatten()
        self.drop_features = nn.Dropout(0.3)
        self.fc1 = nn.Linear(4 * 16 * 16, 32)
        self.relu_fc1 = nn.ReLU()
        self.drop_hidden = nn.Dropout(0.3)
        self.fc2 = nn.Linear(32, 4)


def test_architecture_hashes_the_layers_not_how_the_class_is_written():
    assert architecture(Renamed()) == architecture(CNN0())
    assert layers(CNN0())[0] == ["conv1", "Conv2d", "3, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)",
                                 [[4, 3, 3, 3], [4]]]
    other = Renamed()
    other.drop_hidden = nn.Dropout(0.5)  # one setting changed
    assert architecture(other) != architecture(CNN0())
    assert architecture(build_model("cnn0", image_size=128)) != architecture(CNN0())  # fc1's shape follows the size
    assert architecture(build_model("bestnet", batch_norm=False)) != architecture(build_model("bestnet"))
    torch.manual_seed(0)
    assert architecture(CNN0()) == architecture(CNN0())  # weights' values do not count, only their shapes


def test_a_built_wheel_holds_every_module(tmp_path):
    """A hosted runtime installs the package from the repository, not in editable mode: nothing may be left out."""
    import shutil
    import subprocess
    import sys
    import zipfile

    source = tmp_path / "source"  # a copy: building in the repository would leave a build/ folder that hides omissions
    shutil.copytree(PACKAGE, source / "mri_helpers", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PACKAGE.parent / "pyproject.toml", source)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path),
                    str(source)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("mri_helpers-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(PACKAGE.parent).as_posix() for p in PACKAGE.rglob("*.py")}
    assert modules <= names, sorted(modules - names)
