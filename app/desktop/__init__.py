"""The desktop shell: the pywebview window around the local server (see window.py)."""
