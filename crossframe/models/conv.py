"""Conv family specs (conv2d, maxpool2d, flatten, convnet)."""
