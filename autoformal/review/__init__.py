"""Human review of bulk output (`autoformal review`): a local page whose verdicts become labelled data."""

from autoformal.review.store import Decision, LabelStore, ReviewProblem, labels_path_for, load_problems

__all__ = ["Decision", "LabelStore", "ReviewProblem", "labels_path_for", "load_problems"]
