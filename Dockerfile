# The showcase app on the committed models: docker build -t tf-showcase . && docker run -p 8501:8501 tf-showcase
# It installs the hosted set (app/requirements.lock: app/requirements.txt pinned with hashes), which leaves
# TensorFlow out: importing it alone takes 540-690 MB. The pages serve TFLite and ONNX and say that SavedModel
# is not offered here (README, "Deploy").
# Python 3.13: with the hosted set it measured as fast as 3.11 and 3.12 (import, start, first pages, predictions
# all within the machine's noise) and its packages take 13 MB less than 3.11's; it is also supported the longest
# (to 2029). scripts/measure_pythons.py measures it; the figures are in the README, "Deploy".
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8501

RUN useradd --create-home --uid 1000 showcase
WORKDIR /home/showcase/app

COPY app/requirements.lock app/requirements.lock
RUN pip install --require-hashes -r app/requirements.lock

COPY --chown=showcase:showcase pyproject.toml pyproject.toml
COPY --chown=showcase:showcase showcase/ showcase/
# The project's own package, editable so that it finds models/ beside it; its requirements came above.
RUN pip install --no-deps -e .
COPY --chown=showcase:showcase app/ app/
COPY --chown=showcase:showcase models/ models/
COPY --chown=showcase:showcase samples/ samples/
COPY --chown=showcase:showcase .streamlit/ .streamlit/

USER showcase
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/_stcore/health', timeout=4)"
CMD ["sh", "-c", "exec streamlit run app/streamlit_app.py --server.port \"$PORT\" --server.address 0.0.0.0"]
