"""The same models as keras.Model on the TensorFlow backend."""
