"""Facts about the data and the model, computed in the evaluation stage from mergeable pieces."""
