"""The HTTP layer: the FastAPI app factory, middleware, dependencies, error translation
and one router per resource."""
