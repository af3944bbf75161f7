"""Allows `python -m auditor`."""

from auditor.cli import run

if __name__ == "__main__":  # importing the module (a worker's spawn, a tool's scan) runs nothing
    run()
