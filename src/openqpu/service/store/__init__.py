"""Persistence: tables, migrations, accounts, the job store and queue, calibrations, statistics."""
