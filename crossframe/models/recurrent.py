"""Recurrent family specs (rnn, lstm, gru, gru_reset_before)."""
