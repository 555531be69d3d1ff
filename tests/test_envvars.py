"""The generated list of known `AUTOFORMAL_*` names that the command line's misspelling check reads (so that a
correctly spelled variable costs no import of the configuration models) is exactly what the models declare."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from autoformal._known_variables import FREE_FORM_PREFIXES, KNOWN_VARIABLES
from autoformal.config import FormalizerConfig
from autoformal.envvars import KNOWN_VARIABLES_FILE, known_variables, known_variables_source, unknown_variables

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_the_generated_list_is_what_the_configuration_models_declare() -> None:
    assert known_variables_source(FormalizerConfig) == KNOWN_VARIABLES_FILE.read_text(encoding="utf-8"), (
        "autoformal/_known_variables.py is out of date: run `make known-variables`"
    )
    assert known_variables(FormalizerConfig) == KNOWN_VARIABLES
    free_form = {"AUTOFORMAL_BACKEND__EXTRA_BODY__TOP_K": "5", "AUTOFORMAL_RANKER__WEIGHTS__X": "1"}
    assert all(name.startswith(FREE_FORM_PREFIXES) for name in free_form)
    assert unknown_variables(FormalizerConfig, free_form) == []


def _modules_after_root_callback(environ: dict[str, str]) -> tuple[bool, str]:
    """Whether the CLI's variable check, in a fresh process with only `environ`'s `AUTOFORMAL_*` variables set,
    imported the configuration models, and what it wrote to stderr."""
    code = (
        "import sys\n"
        "from autoformal.cli.app import _warn_unknown_variables\n"
        "_warn_unknown_variables()\n"
        "print('autoformal.config' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AUTOFORMAL_")}
    env.update(environ, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip() == "True", done.stderr


def test_known_variables_skip_the_configuration_import_and_unknown_ones_still_warn() -> None:
    imported, stderr = _modules_after_root_callback(
        {"AUTOFORMAL_MODEL": "m", "AUTOFORMAL_CHECKER__NUM_WORKERS": "2", "AUTOFORMAL_BACKEND__EXTRA_BODY__K": "1"}
    )
    assert not imported and stderr == ""
    imported, stderr = _modules_after_root_callback({"AUTOFORMAL_MODEL": "m", "AUTOFORMAL_SAMPLSE": "3"})
    assert imported and "AUTOFORMAL_SAMPLSE" in stderr and "did you mean AUTOFORMAL_SAMPLES?" in stderr
