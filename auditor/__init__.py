"""auditor: a release gate for Keras classifiers."""

__version__ = "0.1.0"

__all__ = ["AuditResult", "__version__", "audit"]


def __getattr__(name: str) -> object:
    # Lazy: `import auditor` stays cheap (no TensorFlow) until the API is used.
    if name in ("audit", "AuditResult"):
        from auditor import api

        return getattr(api, name)
    raise AttributeError(f"module 'auditor' has no attribute {name!r}")
