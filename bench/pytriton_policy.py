"""PyTriton's own way of serving the policy, for ``bench/triton.py`` to compare against the bundled tritonserver.

Runs in the Triton server environment (``.venv-triton/bin/python -P bench/pytriton_policy.py ...``; ``-P`` keeps
``bench/`` off ``sys.path``): binds the TorchScript policy with ``pytriton.triton.Triton`` (the same inputs,
outputs and dynamic batching as ``kairos_policy``), every listener on 127.0.0.1, and serves until SIGTERM.
Not imported by Kairos.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig


def main() -> None:
    """Parse the ports and the model file, bind, serve."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--grpc-port", type=int, required=True)
    parser.add_argument("--metrics-port", type=int, required=True)
    parser.add_argument("--max-queue-delay-us", type=int, default=300)
    args = parser.parse_args()

    torch.set_num_threads(1)
    module: Any = torch.jit.load(args.model, map_location="cpu")  # type: ignore[no-untyped-call]
    module.eval()

    @batch  # type: ignore[untyped-decorator]  # argument names are Triton's tensor names
    def infer(STATE: Any, CANDIDATES: Any, MASK: Any) -> dict[str, Any]:
        with torch.inference_mode():
            scores = module(torch.from_numpy(STATE), torch.from_numpy(CANDIDATES), torch.from_numpy(MASK))
        return {"SCORES": scores.numpy().astype(np.float32)}

    config = TritonConfig(
        http_address="127.0.0.1",
        http_port=args.http_port,
        grpc_address="127.0.0.1",
        grpc_port=args.grpc_port,
        metrics_address="127.0.0.1",
        metrics_port=args.metrics_port,
        allow_gpu_metrics=False,
    )
    with Triton(config=config) as triton:
        triton.bind(
            model_name="kairos_policy",
            infer_func=infer,
            inputs=[
                Tensor(name="STATE", dtype=np.float32, shape=(-1,)),
                Tensor(name="CANDIDATES", dtype=np.float32, shape=(-1, -1)),
                Tensor(name="MASK", dtype=np.bool_, shape=(-1,)),
            ],
            outputs=[Tensor(name="SCORES", dtype=np.float32, shape=(-1,))],
            config=ModelConfig(
                max_batch_size=64,
                batcher=DynamicBatcher(
                    max_queue_delay_microseconds=args.max_queue_delay_us, preferred_batch_size=[8, 16, 32, 64]
                ),
            ),
            strict=True,
        )
        triton.serve()


if __name__ == "__main__":
    main()
