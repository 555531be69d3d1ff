"""Bulk formalization of JSONL problem sets: resumable, shardable, crash-safe (one complete line per problem)."""

from autoformal.bulk.inputs import InputFields, InvalidLine, Problem, Shard, read_problems
from autoformal.bulk.output import JsonlAppender, Recovery, encode_record
from autoformal.bulk.runner import (
    BulkOptions,
    BulkPlan,
    BulkSummary,
    ProblemDone,
    open_output,
    plan_bulk,
    run_bulk,
)
from autoformal.errors import BulkAborted, BulkOutputError

__all__ = [
    "BulkAborted",
    "BulkOptions",
    "BulkOutputError",
    "BulkPlan",
    "BulkSummary",
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
