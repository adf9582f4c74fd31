# An LSTM written as a torch Module with nn.LSTM's parameter names and call convention.
import torch
from torch import nn


class MyLSTM(nn.Module):
    """An LSTM written by hand with nn.LSTM's parameters and call convention."""

    def __init__(self, input_size, hidden_size, batch_first=True):
        super().__init__()
        H = hidden_size
        self.weight_ih_l0 = nn.Parameter(torch.empty(4 * H, input_size))
        self.weight_hh_l0 = nn.Parameter(torch.empty(4 * H, H))
        self.bias_ih_l0 = nn.Parameter(torch.empty(4 * H))
        self.bias_hh_l0 = nn.Parameter(torch.empty(4 * H))

    def forward(self, x, state):
        h, c = state[0][0], state[1][0]
        out = []
        for t in range(x.shape[1]):
            a = (x[:, t] @ self.weight_ih_l0.T + self.bias_ih_l0
                 + h @ self.weight_hh_l0.T + self.bias_hh_l0)
            i, f, g, o = a.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            out.append(h)
        return torch.stack(out, 1), (h[None], c[None])
