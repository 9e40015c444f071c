"""Triton Python-backend model sources, copied into the model repository as ``<model>/<version>/model.py``.

These files run inside the Triton server's environment (``.venv-triton``: torch, transformers, numpy<2 and the
backend's ``triton_python_backend_utils``). Kairos never imports them; :mod:`serving.inference.repository`
reads them as text. They import nothing from Kairos, so a production Triton loads the repository as it is.
"""

__all__: list[str] = []
