"""The cloud service: accounts, persistent jobs, queue, workers and the REST API.

Server internals are imported by module path (``openqpu.service.api.app``).
"""
