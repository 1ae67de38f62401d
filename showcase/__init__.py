"""Shared code for the TensorFlow model showcase.

Training scripts and the Streamlit app both import this package. Importing it is cheap: no
submodule pulls in TensorFlow or Streamlit at import time (TensorFlow is imported lazily, only when a
SavedModel is loaded or a model is trained).
"""

__version__ = "0.1.0"
