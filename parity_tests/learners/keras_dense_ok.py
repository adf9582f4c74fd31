# A dense layer written as a Keras layer; crossframe maps its kernel and bias by name.
import keras


class MyDense(keras.layers.Layer):
    def __init__(self, units, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.bias = self.add_weight(shape=(self.units,), name="bias")

    def call(self, x):
        return keras.ops.matmul(x, self.kernel) + self.bias
