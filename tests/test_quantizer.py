"""The LAM's quantizer (CategoricalQuantizer) and the batch statistics it reports (code_share)."""

import math

import pytest
import torch

from genie_play.world.quantizer import CategoricalQuantizer, QuantizerOutput, code_share


def test_ids_are_valid_and_vectors_are_their_codes():
    torch.manual_seed(0)
    q = CategoricalQuantizer(num_codes=8, dim=4).eval()
    z = torch.randn(3, 5, 4)
    out = q(z)
    assert isinstance(out, QuantizerOutput)
    assert out.ids.shape == (3, 5) and out.ids.dtype == torch.long
    assert out.ids.min() >= 0 and out.ids.max() < 8
    assert out.quantized.shape == (3, 5, 4)
    assert torch.allclose(out.quantized, q.lookup(out.ids), atol=1e-6)
    assert torch.equal(out.ids, q.classify(z).argmax(-1))  # the classifier's most likely code
    assert torch.allclose(q.codes().norm(dim=-1), torch.ones(8))  # unit code vectors
    assert 1.0 <= out.perplexity <= 8.0 and 0 < out.usage <= 1


def test_straight_through_gradient_reaches_the_encoder_and_the_codes():
    torch.manual_seed(0)
    q = CategoricalQuantizer(num_codes=8, dim=4)
    z = torch.randn(16, 4, requires_grad=True)
    (q(z).quantized * torch.randn(16, 4)).sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0  # flows through the non-differentiable argmax
    assert q.codebook.grad.abs().sum() > 0 and q.classify.weight.grad.abs().sum() > 0


def test_the_usage_penalty_is_the_entropy_deficit_of_the_mean_code_distribution():
    torch.manual_seed(0)
    q = CategoricalQuantizer(num_codes=4, dim=4, usage_weight=1.0)
    with torch.no_grad():
        q.classify.weight.zero_()
        q.classify.bias.copy_(torch.tensor([50.0, 0.0, 0.0, 0.0]))
    collapsed = q(torch.randn(32, 4))
    assert collapsed.loss.item() == pytest.approx(math.log(4), abs=1e-3)  # one code: the whole deficit
    assert collapsed.perplexity.item() == pytest.approx(1.0) and collapsed.usage.item() == 0.25
    with torch.no_grad():
        q.classify.bias.zero_()
    assert q(torch.randn(32, 4)).loss.item() == pytest.approx(0.0, abs=1e-6)  # an even spread costs nothing


def test_code_share_reports_collapse_and_an_even_spread():
    share, perplexity, usage = code_share(torch.zeros(32, dtype=torch.long), 8, torch.float32)
    assert share.tolist() == [1.0] + [0.0] * 7
    assert perplexity.item() == pytest.approx(1.0) and usage.item() == pytest.approx(1 / 8)
    share, perplexity, usage = code_share(torch.arange(8).repeat(4), 8, torch.float32)
    assert torch.allclose(share, torch.full((8,), 1 / 8))
    assert perplexity.item() == pytest.approx(8.0, rel=1e-5) and usage.item() == 1.0
    share, perplexity, usage = code_share(torch.tensor([[0, 0], [1, 1]]), 4, torch.float32)  # any shape
    assert share.tolist() == [0.5, 0.5, 0.0, 0.0] and perplexity.item() == pytest.approx(2.0) and usage.item() == 0.5
