"""Rendering: the AuditResult as JSON, HTML, PDF, JUnit XML and Markdown."""
