"""NumPy from scratch: Operation -> Layer -> Model, losses, optimizers."""
