"""auditor: a release gate for Keras classifiers."""

__version__ = "0.1.0"

__all__ = ["AuditOptions", "AuditReport", "AuditResult", "__version__", "audit", "audit_and_write"]

# Lazy: `import auditor` stays cheap (no TensorFlow) until the API is used.
_LAZY = {
    "audit": "auditor.api",
    "audit_and_write": "auditor.api",
    "AuditReport": "auditor.api",
    "AuditResult": "auditor.result",
    "AuditOptions": "auditor.options",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'auditor' has no attribute {name!r}")
