"""crossframe: classic models written three times (NumPy from scratch, PyTorch, Keras 3) and
proven equal — forward outputs, the loss, and the gradient of the loss for every parameter and
for the input."""

__version__ = "0.1.0"
