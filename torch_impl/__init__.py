"""The same models as torch.nn.Module; the canonical<->torch mapping lives in the specs."""
