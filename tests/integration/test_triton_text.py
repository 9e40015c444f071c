"""The text models on the real tritonserver: sentence embeddings (+ the optional head) and the concierge LM."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from serving.inference import (
    ENCODER_MODEL,
    TEXT_HEAD_FILE,
    InferenceUnavailableError,
    ModelControl,
    TextClient,
    UnavailableReason,
    model_versions,
    publish_version,
)
from tests.integration.triton_fixtures import TritonHarness, saved_torchscript, triton_session

__all__ = ["triton_session"]

pytestmark = pytest.mark.integration

SENTENCES = ["a warm red wool scarf", "a cosy knitted winter scarf", "my parcel has not arrived yet"]


class Head(torch.nn.Module):
    """The head contract: embeddings [B,384] -> {"intent_logits": [B,n], "sentiment": [B,m]}."""

    def __init__(self) -> None:
        super().__init__()
        self.intent = torch.nn.Linear(384, 4)
        self.sentiment = torch.nn.Linear(384, 1)

    def forward(self, embedding: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"intent_logits": self.intent(embedding), "sentiment": torch.tanh(self.sentiment(embedding))}


async def test_embeddings_are_normalised_and_similar_sentences_are_closer(triton_session: TritonHarness) -> None:
    client = TextClient(triton_session.server.grpc_url, embed_timeout_s=30)
    try:
        embedding = await client.embed(SENTENCES)
    finally:
        await client.aclose()
    assert embedding.shape == (3, 384)
    assert embedding.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embedding, axis=1), 1.0, rtol=1e-5)
    similarity = embedding @ embedding.T
    assert similarity[0, 1] > similarity[0, 2] + 0.3
    assert similarity[0, 1] > similarity[1, 2] + 0.3


async def test_the_head_is_served_once_deployed_with_the_encoder(triton_session: TritonHarness) -> None:
    url, repository = triton_session.server.grpc_url, triton_session.repository
    client, control = TextClient(url, embed_timeout_s=30), ModelControl(url)
    torch.manual_seed(0)
    head_bytes = saved_torchscript(Head().eval())
    head = torch.jit.load(io.BytesIO(head_bytes))
    try:
        before = await client.embed(SENTENCES)
        if not (
            repository / ENCODER_MODEL / str(model_versions(repository, ENCODER_MODEL)[-1]) / TEXT_HEAD_FILE
        ).exists():
            with pytest.raises(InferenceUnavailableError) as refused:  # asked for outputs the model cannot give
                await client.analyse(SENTENCES)
            assert refused.value.reason is UnavailableReason.SERVER_ERROR
        version = model_versions(repository, ENCODER_MODEL)[-1] + 1
        publish_version(repository, ENCODER_MODEL, version, {TEXT_HEAD_FILE: head_bytes})
        await control.load_model(ENCODER_MODEL)
        analysis = await client.analyse(SENTENCES)
    finally:
        await client.aclose()
        await control.aclose()
    np.testing.assert_allclose(analysis.embedding, before, rtol=1e-5, atol=1e-6)
    with torch.inference_mode():
        expected = head(torch.from_numpy(before))
    np.testing.assert_allclose(analysis.intent_logits, expected["intent_logits"].numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(analysis.sentiment, expected["sentiment"].numpy(), rtol=1e-4, atol=1e-5)


async def test_the_concierge_lm_answers_deterministically(triton_session: TritonHarness) -> None:
    client = TextClient(triton_session.server.grpc_url, generate_timeout_s=120)
    chat = [
        {"role": "system", "content": "You are a friendly shop assistant."},
        {"role": "user", "content": "Greet a shopper who is looking at scarves."},
    ]
    try:
        plain = await client.generate("Say hello to a shopper.", max_new_tokens=8)
        first = await client.generate(chat, max_new_tokens=8)
        second = await client.generate(chat, max_new_tokens=8)
    finally:
        await client.aclose()
    assert plain.strip()
    assert first.strip()
    assert first == second
