"""Bulk formalization of JSONL problem sets: resumable, shardable, crash-safe (one complete line per problem)."""

from autoformal.bulk.inputs import InputFields, InvalidLine, Problem, Shard, read_problems
from autoformal.bulk.output import BulkOutputError, JsonlAppender, Recovery, encode_record
from autoformal.bulk.runner import (
    BulkAborted,
    BulkOptions,
    BulkPlan,
    BulkSummary,
    Formalizes,
    ProblemDone,
    open_output,
    plan_bulk,
    run_bulk,
)

__all__ = [
    "BulkAborted",
    "BulkOptions",
    "BulkOutputError",
    "BulkPlan",
    "BulkSummary",
    "Formalizes",
    "InputFields",
    "InvalidLine",
    "JsonlAppender",
    "Problem",
    "ProblemDone",
    "Recovery",
    "Shard",
    "encode_record",
    "open_output",
    "plan_bulk",
    "read_problems",
    "run_bulk",
]
