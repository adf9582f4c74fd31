"""The tuned twins of the textbook scratch layers (im2col convolution, fused-gate recurrent
loops with kept work arrays): the same numbers, faster. Training, the report and ``bench`` run
them; the parity matrix runs the textbook layers, and a test pins the two equal in float64."""
