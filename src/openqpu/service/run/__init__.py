"""Execution: workers claim jobs and run them on the engine (one function per job kind),
in this process or fanned out over Ray."""
