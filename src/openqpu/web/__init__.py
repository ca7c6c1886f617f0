"""The web dashboard: static pages (ES modules, CSS, SVG drawn in the browser).

``create_app`` serves ``static/`` at ``/web/`` from the package's files, so this
front end has no Python code to import: the pages talk to the REST API with
``fetch`` like any other client.
"""
