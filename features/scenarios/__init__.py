"""Built-in scenario feature views, one module each, imported lazily by ``features.registry``."""
