#!/usr/bin/env bash
# Install the serving requirements and start the app on the committed models: http://localhost:${PORT:-8501}
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh requirements.txt
exec "${VENV:-.venv}/bin/python" -m streamlit run app/streamlit_app.py --server.port "${PORT:-8501}" "$@"
