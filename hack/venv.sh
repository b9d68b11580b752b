# Sourced by the other hack/ scripts: creates .venv once and installs the project with its dev extras.
# pip's own cache (outside the repo) keeps a fresh clone's install to a few seconds after the first.
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# shellcheck disable=SC1091
source .venv/bin/activate
if ! python -c "import scheduler_ext" 2>/dev/null || [ pyproject.toml -nt .venv/.installed ]; then
  python -m pip install --quiet --upgrade pip
  python -m pip install --quiet -e '.[dev]'
  touch .venv/.installed
fi
