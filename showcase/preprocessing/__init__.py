"""Per-task preprocessing, used identically by training, evaluation and the app."""
