"""Specs of the registered models and layers, one module per family."""
