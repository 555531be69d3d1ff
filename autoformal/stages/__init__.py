"""The pipeline's stages, one module each; `base` holds the `Stage` interface and how to add one. The order
they run in is defined once, in `autoformal.pipeline.STAGES`."""

from autoformal.stages.backtranslate import BacktranslateStage
from autoformal.stages.base import Candidate, Job, Stage, run_stages
from autoformal.stages.extract import ExtractStage, ParseStage
from autoformal.stages.generate import GenerateStage
from autoformal.stages.lean import LeanStage
from autoformal.stages.names import NamesStage
from autoformal.stages.repair import RepairStage, RevisionStage
from autoformal.stages.retrieve import RetrieveStage
from autoformal.stages.safety import SafetyStage
from autoformal.stages.score import ScoreStage
from autoformal.stages.semantic import EquivalenceStage, ProbeStage

__all__ = [
    "BacktranslateStage",
    "Candidate",
    "EquivalenceStage",
    "ExtractStage",
    "GenerateStage",
    "Job",
    "LeanStage",
    "NamesStage",
    "ParseStage",
    "ProbeStage",
    "RepairStage",
    "RetrieveStage",
    "RevisionStage",
    "SafetyStage",
    "ScoreStage",
    "Stage",
    "run_stages",
]
