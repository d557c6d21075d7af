"""apprentice: realistic structured data from several LLM backends, as Prefect flows.

The library is plain Python; Prefect lives in `apprentice.orchestration` and the `flows/` folder.
"""

__version__ = "0.1.0"
